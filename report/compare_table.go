package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteCompareTable renders a comparison the way benchstat does: each
// side's median with its interval, the change or "~" when it is not
// significant, the p-value and sample counts, and a verdict.
func WriteCompareTable(w io.Writer, c *Comparison) error {
	b := &strings.Builder{}
	for _, s := range []struct {
		tag  string
		side CompareSide
	}{{"A", c.A}, {"B", c.B}} {
		name := ""
		if s.side.Name != s.tag {
			name = s.side.Name + ": "
		}
		fmt.Fprintf(b, "%s  %s%s (%d %s)\n", s.tag, name, strings.Join(s.side.Targets, ", "), s.side.Runs, plural(s.side.Runs, "run", "runs"))
	}
	wrap(b, "samples: "+c.SamplesNote)
	wrap(b, fmt.Sprintf("medians with %g%% confidence intervals; p from the Mann-Whitney U test, adjusted (Holm) for the %d %s tested; ~ means no significant difference at alpha %g",
		c.Confidence*100, c.LinesTested, plural(c.LinesTested, "line", "lines"), c.Alpha))
	b.WriteString("\n")

	table := &strings.Builder{}
	tw := tabwriter.NewWriter(table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "line\tA\tB\tchange\tp, n\tverdict")
	for _, l := range c.Lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", lineLabel(l), sideCell(l, l.A), sideCell(l, l.B), changeCell(l), pCell(l), verdictCell(l))
	}
	tw.Flush()
	// Rows with an empty verdict would end in the padding of the column
	// before it.
	for _, row := range strings.SplitAfter(table.String(), "\n") {
		b.WriteString(strings.TrimRight(row, " \n"))
		if strings.HasSuffix(row, "\n") {
			b.WriteString("\n")
		}
	}
	for _, l := range c.Lines {
		if l.Verdict == VerdictUntested {
			b.WriteString("\n\"not tested\": a line with no per-second samples (only messages/s, errors, the message p50 and p99 and the server lines have them);\nits figures are the runs' own, side by side\n")
			break
		}
	}
	fmt.Fprintf(b, "\nverdict: %s\n", c.Summary())
	for _, warn := range c.Warnings {
		fmt.Fprintf(b, "\nWARNING: %s\n", warn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary says in one sentence what the comparison found.
func (c *Comparison) Summary() string {
	var worse, better []string
	for _, l := range c.Lines {
		if !l.Significant() {
			continue
		}
		s := strings.ReplaceAll(l.Line, ":", " ")
		if l.ChangePct != nil {
			s += fmt.Sprintf(" %+.1f%%", *l.ChangePct)
		}
		if l.Verdict == VerdictWorse {
			worse = append(worse, s)
		} else {
			better = append(better, s)
		}
	}
	switch {
	case c.LinesTested == 0:
		return "nothing could be tested: too few samples"
	case len(worse) == 0 && len(better) == 0:
		return fmt.Sprintf("no significant difference on any of the %d %s tested", c.LinesTested, plural(c.LinesTested, "line", "lines"))
	case len(better) == 0:
		return "B is slower: " + strings.Join(worse, ", ")
	case len(worse) == 0:
		return "B is faster: " + strings.Join(better, ", ")
	default:
		return "B is slower on " + strings.Join(worse, ", ") + "; faster on " + strings.Join(better, ", ")
	}
}

func lineLabel(l CompareLine) string {
	switch l.Unit {
	case "ms":
		return strings.ReplaceAll(l.Line, ":", " ") + " (ms)"
	case "%":
		return l.Line + " (%)"
	case "µs", "MiB":
		return l.Line + " (" + l.Unit + ")"
	}
	return l.Line
}

func sideCell(l CompareLine, s LineStats) string {
	if s.N == 0 {
		return "-"
	}
	v := fmtValue(l.Unit, s.Median)
	if l.Verdict == VerdictUntested {
		return v
	}
	return v + " ±" + pctRange(s)
}

// pctRange is the interval's half-width in percent of the median, as
// benchstat prints it: the larger of the two sides.
func pctRange(s LineStats) string {
	if s.Lo == nil || s.Hi == nil {
		return "∞"
	}
	if s.Median == 0 {
		if *s.Lo == 0 && *s.Hi == 0 {
			return "0%"
		}
		return "?"
	}
	r := math.Max(*s.Hi/s.Median-1, 1-*s.Lo/s.Median)
	return strconv.FormatFloat(100*r, 'f', 0, 64) + "%"
}

func changeCell(l CompareLine) string {
	switch l.Verdict {
	case VerdictBetter, VerdictWorse:
		if l.ChangePct == nil {
			return "?"
		}
		return fmt.Sprintf("%+.2f%%", *l.ChangePct)
	case VerdictSame:
		return "~"
	case VerdictUntested:
		return ""
	}
	return "?"
}

func pCell(l CompareLine) string {
	n := strconv.Itoa(l.A.N)
	if l.A.N != l.B.N {
		n += "+" + strconv.Itoa(l.B.N)
	}
	if l.P == nil {
		if l.Verdict == VerdictUntested {
			return ""
		}
		return "n=" + n
	}
	if *l.P < 0.001 {
		return "p<0.001 n=" + n
	}
	return fmt.Sprintf("p=%.3f n=%s", *l.P, n)
}

func verdictCell(l CompareLine) string {
	switch l.Verdict {
	case VerdictWorse, VerdictBetter:
		word := map[bool]string{true: "B faster", false: "B slower"}[l.Verdict == VerdictBetter]
		switch l.Line {
		case LineErrors:
			word = map[bool]string{true: "B fewer errors", false: "B more errors"}[l.Verdict == VerdictBetter]
		case LineServerCPU:
			word = map[bool]string{true: "B less CPU", false: "B more CPU"}[l.Verdict == VerdictBetter]
		case LineServerMemory:
			word = map[bool]string{true: "B less memory", false: "B more memory"}[l.Verdict == VerdictBetter]
		}
		return word
	case VerdictFew:
		return "too few samples"
	case VerdictUntested:
		return "not tested"
	}
	return ""
}

func fmtValue(unit string, v float64) string {
	switch unit {
	case "ms":
		return ms3(v)
	case "%", "µs", "MiB":
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// wrap writes text in lines of at most 80 columns, at spaces.
func wrap(b *strings.Builder, text string) {
	line := 0
	for i, word := range strings.Fields(text) {
		if i > 0 && line+1+len(word) > 80 {
			b.WriteString("\n")
			line = 0
		} else if i > 0 {
			b.WriteString(" ")
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	b.WriteString("\n")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
