package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"golang.org/x/perf/benchmath"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// Defaults of a comparison, as benchstat has them.
const (
	// DefaultAlpha is the chance, at most, that a comparison calls any of
	// its lines different when none is (after the Holm adjustment).
	DefaultAlpha = 0.05
	// DefaultConfidence is the level of the confidence intervals of the
	// medians.
	DefaultConfidence = 0.95
)

// CompareGroup is one side of a comparison: the runs taken as repeated
// measurements of one thing.
type CompareGroup struct {
	// Name is how the side is named: "A", "B", or a file name.
	Name string
	Runs []*report.JSONReport
}

// CompareOptions tune a comparison; zero fields take the defaults.
type CompareOptions struct {
	// Alpha: a line is significant when its adjusted p is at most Alpha.
	Alpha float64
	// Confidence is the level of the medians' intervals (0-1).
	Confidence float64
	// Lines adds lines beyond the default messages/s, errors and p50 and
	// p99 of every phase: PHASE:pNN with NN one of 50, 90, 99, 999.
	Lines []string
}

// lineQuantiles are the quantiles (percent) a Summary holds, by line name.
var lineQuantiles = map[string]func(report.Summary) float64{
	"p50":  func(s report.Summary) float64 { return s.P50MS },
	"p90":  func(s report.Summary) float64 { return s.P90MS },
	"p99":  func(s report.Summary) float64 { return s.P99MS },
	"p999": func(s report.Summary) float64 { return s.P999MS },
}

// SeriesNames lists every latency series a report may hold, in table
// order: the session phases, then the open model's own two.
func SeriesNames() []string {
	var out []string
	for p := session.Phase(0); p < session.NumPhases; p++ {
		out = append(out, p.String())
	}
	return append(out, metrics.SeriesService, metrics.SeriesLag, metrics.SeriesDelivery, metrics.SeriesEndToEnd)
}

// ParseLine checks a line name as --fail-if-slower and CompareOptions.Lines
// take it: messages/s, errors, or PHASE:pNN.
func ParseLine(s string) (string, error) {
	switch s {
	case report.LineMessagesPerS, report.LineErrors, report.LineServerCPU, report.LineServerMemory, report.LineDeliveredPerS:
		return s, nil
	case "server-cpu":
		return report.LineServerCPU, nil
	case "server-memory":
		return report.LineServerMemory, nil
	}
	phase, q, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("line %q: want messages/s, delivered/s, errors, server-cpu, server-memory or PHASE:pNN such as message:p99", s)
	}
	if !slices.Contains(SeriesNames(), phase) {
		return "", fmt.Errorf("line %q: unknown phase %q (want one of %s)", s, phase, strings.Join(SeriesNames(), ", "))
	}
	if lineQuantiles[q] == nil {
		return "", fmt.Errorf("line %q: quantile %q (want p50, p90, p99 or p999)", s, q)
	}
	return s, nil
}

// lineSpec says how to read one line's value from a run and from an interval.
type lineSpec struct {
	name         string
	unit         string
	higherBetter bool
	run          func(*report.JSONReport) (float64, bool)
	interval     func(report.JSONInterval) (float64, bool) // nil: no per-interval samples
}

func phaseLine(phase, q string) lineSpec {
	get := lineQuantiles[q]
	l := lineSpec{name: phase + ":" + q, unit: "ms", run: func(j *report.JSONReport) (float64, bool) {
		s, ok := j.Phases[phase]
		if !ok || s.Count == 0 {
			return 0, false
		}
		return get(s), true
	}}
	if phase == session.PhaseMessage.String() && (q == "p50" || q == "p99") {
		l.interval = func(iv report.JSONInterval) (float64, bool) {
			if iv.OK+iv.Failed == 0 {
				return 0, false // a second without messages has no latency
			}
			if q == "p50" {
				return iv.P50MS, true
			}
			return iv.P99MS, true
		}
	}
	return l
}

var (
	rateLine = lineSpec{name: report.LineMessagesPerS, unit: "msg/s", higherBetter: true,
		run:      func(j *report.JSONReport) (float64, bool) { return j.Totals.MessagesPerS, true },
		interval: func(iv report.JSONInterval) (float64, bool) { return iv.MessagesPerS, true }}
	// deliveredLine has no per-second samples: what a second delivered
	// belongs to messages accepted in earlier seconds.
	deliveredLine = lineSpec{name: report.LineDeliveredPerS, unit: "msg/s", higherBetter: true,
		run: func(j *report.JSONReport) (float64, bool) {
			if j.Delivery == nil {
				return 0, false
			}
			return j.Delivery.DeliveredPerS, true
		}}
	errorLine = lineSpec{name: report.LineErrors, unit: "%",
		run: func(j *report.JSONReport) (float64, bool) {
			t := j.Totals
			if t.MessagesAttempted == 0 {
				return 0, false
			}
			return 100 * float64(t.MessagesRejected+t.MessagesFailed) / float64(t.MessagesAttempted), true
		},
		interval: func(iv report.JSONInterval) (float64, bool) {
			if iv.OK+iv.Failed == 0 {
				return 0, false
			}
			return 100 * float64(iv.Failed) / float64(iv.OK+iv.Failed), true
		}}
	serverCPULine = lineSpec{name: report.LineServerCPU, unit: "µs",
		run: func(j *report.JSONReport) (float64, bool) {
			if j.Server == nil || j.Server.CPUUSPerMessage == nil {
				return 0, false
			}
			return *j.Server.CPUUSPerMessage, true
		},
		interval: func(iv report.JSONInterval) (float64, bool) {
			if iv.ServerCPUS == nil || iv.OK == 0 {
				return 0, false
			}
			return *iv.ServerCPUS * 1e6 / float64(iv.OK), true
		}}
	serverMemoryLine = lineSpec{name: report.LineServerMemory, unit: "MiB",
		run: func(j *report.JSONReport) (float64, bool) {
			if j.Server == nil {
				return 0, false
			}
			return float64(j.Server.MemoryPeakBytes) / (1 << 20), true
		},
		interval: func(iv report.JSONInterval) (float64, bool) {
			if iv.ServerMemoryBytes == nil {
				return 0, false
			}
			return float64(*iv.ServerMemoryBytes) / (1 << 20), true
		}}
)

// Compare compares group b against group a. With at least two runs on
// each side, each run is one sample; otherwise the samples are the runs'
// seconds (see report.SamplesIntervals), which understate the spread between runs,
// and the comparison says so.
func Compare(a, b CompareGroup, opt CompareOptions) (*report.Comparison, error) {
	if len(a.Runs) == 0 || len(b.Runs) == 0 {
		return nil, fmt.Errorf("nothing to compare: %s has %d runs, %s has %d", a.Name, len(a.Runs), b.Name, len(b.Runs))
	}
	if opt.Alpha == 0 {
		opt.Alpha = DefaultAlpha
	}
	if opt.Confidence == 0 {
		opt.Confidence = DefaultConfidence
	}
	if opt.Alpha <= 0 || opt.Alpha >= 1 || opt.Confidence <= 0 || opt.Confidence >= 1 {
		return nil, fmt.Errorf("alpha %g and confidence %g must lie between 0 and 1", opt.Alpha, opt.Confidence)
	}
	c := &report.Comparison{A: side(a), B: side(b), Alpha: opt.Alpha, Confidence: opt.Confidence, Warnings: []string{}}
	if len(a.Runs) >= 2 && len(b.Runs) >= 2 {
		c.Samples = report.SamplesRuns
		c.SamplesNote = "one sample per run"
	} else {
		c.Samples = report.SamplesIntervals
		c.SamplesNote = "one sample per second of each run, the only spread a single run shows; seconds of one run share its connections and " +
			"the machine's state, so they vary less than runs do and overstate significance: save several runs per side (smtpbench ab) for a verdict to rely on"
	}
	c.Warnings = append(c.Warnings, workloadDifferences(a, b)...)
	c.Warnings = append(c.Warnings, unattributedWarnings(a, b)...)

	specs, err := lineSpecs(a, b, opt.Lines)
	if err != nil {
		return nil, err
	}
	thr := benchmath.DefaultThresholds
	thr.CompareAlpha = opt.Alpha
	for _, spec := range specs {
		va, vb := values(c, spec, a.Runs), values(c, spec, b.Runs)
		line := report.CompareLine{Line: spec.name, Unit: spec.unit, HigherIsBetter: spec.higherBetter}
		if va == nil && vb == nil && c.Samples == report.SamplesIntervals {
			// No per-second figures for this line: show the runs' own
			// figures side by side, untested.
			fa, fb := runValues(spec, a.Runs), runValues(spec, b.Runs)
			line.A, line.B = plainStats(fa), plainStats(fb)
			line.ChangePct = change(line.A.Median, line.B.Median)
			line.Verdict = report.VerdictUntested
			line.Note = "no per-second samples for this line"
			c.Lines = append(c.Lines, line)
			continue
		}
		sa, sb := benchmath.NewSample(va, &thr), benchmath.NewSample(vb, &thr)
		line.A = stats(sa, opt.Confidence)
		line.B = stats(sb, opt.Confidence)
		line.ChangePct = change(line.A.Median, line.B.Median)
		if minP(len(va), len(vb)) > opt.Alpha {
			line.Verdict = report.VerdictFew
			switch {
			case len(va) == 0:
				line.Note = a.Name + " has no samples"
			case len(vb) == 0:
				line.Note = b.Name + " has no samples"
			default:
				line.Note = fmt.Sprintf("%d+%d samples cannot show a difference at alpha %g", len(va), len(vb), opt.Alpha)
			}
		} else if allEqual(va, vb) {
			// Every sample of both sides is the same figure (a phase
			// clamped at the histogram's 1 µs, say): the test could only
			// answer p = 1, so the line is left out of the adjustment
			// rather than diluting the others.
			line.Verdict = report.VerdictSame
			line.Note = "every sample is the same"
		} else {
			p := benchmath.AssumeNothing.Compare(sa, sb).P
			line.PRaw = &p
		}
		c.Lines = append(c.Lines, line)
	}
	adjust(c)
	return c, nil
}

func side(g CompareGroup) report.CompareSide {
	s := report.CompareSide{Name: g.Name, Runs: len(g.Runs), Targets: []string{}}
	for _, r := range g.Runs {
		if !slices.Contains(s.Targets, r.Target) {
			s.Targets = append(s.Targets, r.Target)
		}
	}
	return s
}

// lineSpecs lists the lines of a comparison: messages/s, errors when any
// run had some, then p50 and p99 (and any quantile asked for) of every
// series with samples on either side.
func lineSpecs(a, b CompareGroup, extra []string) ([]lineSpec, error) {
	runs := append(append([]*report.JSONReport{}, a.Runs...), b.Runs...)
	specs := []lineSpec{rateLine}
	withDelivery := false
	for _, r := range runs {
		withDelivery = withDelivery || r.Delivery != nil
	}
	if withDelivery {
		specs = append(specs, deliveredLine)
	}
	withErrors := slices.Contains(extra, report.LineErrors)
	for _, r := range runs {
		withErrors = withErrors || r.Totals.MessagesRejected+r.Totals.MessagesFailed > 0
	}
	if withErrors {
		specs = append(specs, errorLine)
	}
	measured := slices.Contains(extra, report.LineServerCPU) || slices.Contains(extra, report.LineServerMemory)
	for _, r := range runs {
		measured = measured || r.Server != nil
	}
	if measured {
		specs = append(specs, serverCPULine, serverMemoryLine)
	}
	want := map[string][]string{}
	for _, l := range extra {
		if _, err := ParseLine(l); err != nil {
			return nil, err
		}
		if phase, q, ok := strings.Cut(l, ":"); ok {
			want[phase] = append(want[phase], q)
		}
	}
	specs = append(specs, stageLines(runs)...)
	for _, phase := range SeriesNames() {
		present := false
		for _, r := range runs {
			present = present || r.Phases[phase].Count > 0
		}
		if !present {
			continue
		}
		for _, q := range []string{"p50", "p90", "p99", "p999"} {
			if q == "p50" || q == "p99" || slices.Contains(want[phase], q) {
				specs = append(specs, phaseLine(phase, q))
			}
		}
	}
	return append(specs, profileLines(runs)...), nil
}

// profileLines are the lines of a session mix's profiles (--mix): how long
// each profile's sessions lasted, p50 and p99, for profiles either side
// has; the normal sessions' figures are the lines above. They have no
// per-second samples.
func profileLines(runs []*report.JSONReport) []lineSpec {
	var names []string
	for _, r := range runs {
		for name, p := range r.Profiles {
			if name != metrics.NormalProfile && p.SessionTime != nil && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	var specs []lineSpec
	for _, name := range names {
		for _, q := range []string{"p50", "p99"} {
			get := lineQuantiles[q]
			specs = append(specs, lineSpec{name: "profile " + name + " session:" + q, unit: "ms", run: func(j *report.JSONReport) (float64, bool) {
				p, ok := j.Profiles[name]
				if !ok || p.SessionTime == nil {
					return 0, false
				}
				return get(*p.SessionTime), true
			}})
		}
	}
	return specs
}

// stageLines compares the stages of a load profile, stage by stage, when
// every run has the same number of them: each stage's messages/s and
// message p99. A stage has one figure per run, so with single runs these
// lines are shown side by side, untested.
func stageLines(runs []*report.JSONReport) []lineSpec {
	n := len(runs[0].Stages)
	for _, r := range runs {
		if len(r.Stages) != n {
			return nil
		}
	}
	var out []lineSpec
	for k := range n {
		out = append(out,
			lineSpec{name: fmt.Sprintf("stage %d msg/s", k+1), unit: "msg/s", higherBetter: true,
				run: func(j *report.JSONReport) (float64, bool) { return j.Stages[k].MessagesPerS, true }},
			lineSpec{name: fmt.Sprintf("stage %d p99", k+1), unit: "ms",
				run: func(j *report.JSONReport) (float64, bool) {
					st := j.Stages[k]
					return st.P99MS, st.MessagesOK+st.Errors > 0
				}})
	}
	return out
}

// values gathers one side's samples of a line: one per run, or one per
// measured second. It returns nil when the line has no per-second samples.
func values(c *report.Comparison, spec lineSpec, runs []*report.JSONReport) []float64 {
	if c.Samples == report.SamplesRuns {
		return runValues(spec, runs)
	}
	if spec.interval == nil {
		return nil
	}
	out := []float64{}
	for _, r := range runs {
		for _, iv := range measuredSeconds(r) {
			if v, ok := spec.interval(iv); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

func runValues(spec lineSpec, runs []*report.JSONReport) []float64 {
	out := []float64{}
	for _, r := range runs {
		if v, ok := spec.run(r); ok {
			out = append(out, v)
		}
	}
	return out
}

// measuredSeconds returns the run's whole seconds that lie after its
// warm-up and before its end: the warm-up's seconds are not in its figures,
// and the last second is cut short or holds only the messages still in
// flight after -d.
func measuredSeconds(r *report.JSONReport) []report.JSONInterval {
	warmup := r.Config.WarmupS
	end := r.ElapsedS
	if d := r.Config.DurationS; d > 0 {
		end = min(end, d)
	}
	var out []report.JSONInterval
	for _, iv := range r.Intervals {
		if iv.LengthS > 1 {
			// A folded minute (before the detail window) is an average
			// of sixty seconds, not a sample like the others.
			continue
		}
		if float64(iv.T) >= math.Ceil(warmup-1e-9) && float64(iv.T+1) <= end+1e-9 {
			out = append(out, iv)
		}
	}
	return out
}

// workloadDifferences lists config fields that differ between the two
// sides' first runs: a comparison of different workloads says little about
// the servers. What does not change the workload is left out: a seed drawn
// at random (one given with --seed is compared), the shard and the start
// instant of a distributed run.
func workloadDifferences(a, b CompareGroup) []string {
	var diffs []string
	if a.Runs[0].LoadModel != b.Runs[0].LoadModel {
		diffs = append(diffs, fmt.Sprintf("load model %s vs %s", a.Runs[0].LoadModel, b.Runs[0].LoadModel))
	}
	ca, cb := report.ConfigMembers(a.Runs[0].Config), report.ConfigMembers(b.Runs[0].Config)
	if ca != nil && cb != nil {
		ignore := map[string]bool{"shard": true, "start_at": true, "seed_given": true}
		if !givenSeed(ca) || !givenSeed(cb) {
			ignore["seed"] = true
		}
		keys := map[string]bool{}
		for k := range ca {
			keys[k] = true
		}
		for k := range cb {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			va, vb := report.CompactJSON(ca[k]), report.CompactJSON(cb[k])
			if !ignore[k] && !bytes.Equal(va, vb) {
				diffs = append(diffs, fmt.Sprintf("%s %s vs %s", k, show(va), show(vb)))
			}
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s and %s ran different workloads (%s): the comparison mixes the servers' difference with the workloads'",
		a.Name, b.Name, strings.Join(diffs, ", "))}
}

// givenSeed says whether a run's config records a seed chosen with --seed.
func givenSeed(c map[string]json.RawMessage) bool {
	return string(report.CompactJSON(c["seed_given"])) == "true"
}

// show prints a config value as the JSON has it, so integers stay exact;
// a string without its quotes.
func show(v json.RawMessage) string {
	if v == nil || string(v) == "null" {
		return "(none)"
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// adjust turns c's raw p-values into Holm-adjusted ones and sets each
// line's verdict. Holm's step-down keeps the chance of calling any line of
// the table different, when none is, at most alpha, however many lines
// there are; without it a table of twenty lines would show a false
// difference in most comparisons of identical servers.
func adjust(c *report.Comparison) {
	var tested []int
	for i, l := range c.Lines {
		if l.PRaw != nil {
			tested = append(tested, i)
		}
	}
	m := len(tested)
	c.LinesTested = m
	sort.SliceStable(tested, func(x, y int) bool { return *c.Lines[tested[x]].PRaw < *c.Lines[tested[y]].PRaw })
	running := 0.0
	for k, i := range tested {
		l := &c.Lines[i]
		adj := min(1, float64(m-k)**l.PRaw)
		running = max(running, adj)
		p := running
		l.P = &p
		switch {
		case p > c.Alpha:
			l.Verdict = report.VerdictSame
		case l.A.Median == l.B.Median:
			l.Verdict = report.VerdictSame // distributions differ but the medians agree
		case (l.B.Median > l.A.Median) == l.HigherIsBetter:
			l.Verdict = report.VerdictBetter
		default:
			l.Verdict = report.VerdictWorse
		}
	}
	// Say so when the sample sizes make every verdict "no difference" in
	// advance: the smallest p a line can reach, times the lines, is above
	// alpha.
	if m > 0 {
		best := math.Inf(1)
		for _, i := range tested {
			best = min(best, minP(c.Lines[i].A.N, c.Lines[i].B.N))
		}
		if best*float64(m) > c.Alpha {
			need := 2
			for minP(need, need)*float64(m) > c.Alpha && need < 1000 {
				need++
			}
			c.Warnings = append(c.Warnings, fmt.Sprintf("with %d+%d samples no line can show a significant difference once the %d lines are "+
				"accounted for at alpha %g: use at least %d samples a side (runs, or ab --rounds)", c.Lines[tested[0]].A.N, c.Lines[tested[0]].B.N, m, c.Alpha, need))
		}
	}
}

// allEqual reports whether every value of a and b is the same.
func allEqual(a, b []float64) bool {
	for _, s := range [][]float64{a, b} {
		for _, v := range s {
			if v != a[0] {
				return false
			}
		}
	}
	return true
}

// minP is the smallest two-sided p-value the Mann–Whitney U test can give
// for samples of n1 and n2 values: every value of one below every value of
// the other, 2 / C(n1+n2, n1).
func minP(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	// log C(n1+n2, n1) through lgamma, exact enough and never overflowing.
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return min(1, 2*math.Exp(-(lg(n1+n2)-lg(n1)-lg(n2))))
}

func stats(s *benchmath.Sample, confidence float64) report.LineStats {
	st := report.LineStats{N: len(s.Values)}
	if st.N == 0 {
		return st
	}
	sum := benchmath.AssumeNothing.Summary(s, confidence)
	st.Median = sum.Center
	if !math.IsInf(sum.Lo, 0) && !math.IsInf(sum.Hi, 0) {
		st.Lo, st.Hi = &sum.Lo, &sum.Hi
	}
	return st
}

// plainStats is the median of a few values without an interval, for lines
// shown untested.
func plainStats(v []float64) report.LineStats {
	st := report.LineStats{N: len(v)}
	if len(v) == 0 {
		return st
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		st.Median = s[len(s)/2]
	} else {
		st.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return st
}

func change(a, b float64) *float64 {
	if a == 0 {
		if b == 0 {
			z := 0.0
			return &z
		}
		return nil
	}
	v := (b/a - 1) * 100
	return &v
}

// MinRunsPerSide is the fewest runs a side (ab rounds) with which the
// Mann-Whitney U test can call a line significant at alpha: with fewer, no
// ordering of the samples reaches it, so a --fail-if-slower check would
// pass whatever the servers did. 0 when no number up to limit does.
func MinRunsPerSide(alpha float64, limit int) int {
	for n := 2; n <= limit; n++ {
		if minP(n, n) <= alpha {
			return n
		}
	}
	return 0
}

// SlowerRule is a limit on a comparison: B may be significantly slower
// than A on Line by at most Pct percent.
type SlowerRule struct {
	Line string
	Pct  float64
}

// RuleOutcome is what checking a SlowerRule found.
type RuleOutcome int

const (
	// RuleHeld: B is not significantly slower by more than allowed.
	RuleHeld RuleOutcome = iota
	// RuleNoSamples: neither side has samples of the line; not checked.
	RuleNoSamples
	// RuleUntestable: too few samples, or no test possible; not checked.
	RuleUntestable
	// RuleBroken: B is significantly slower by more than allowed.
	RuleBroken
)

// RuleResult is one rule with its outcome and the line it was checked on.
type RuleResult struct {
	SlowerRule
	Outcome RuleOutcome
	Found   report.CompareLine
}

// String says what the check found, for a line of its own; empty for a
// rule that held.
func (r RuleResult) String() string {
	switch r.Outcome {
	case RuleNoSamples:
		return fmt.Sprintf("%s: no samples of %s on either side; not checked", r.Line, r.Line)
	case RuleUntestable:
		return fmt.Sprintf("%s: %s cannot be tested (%s); not checked", r.Line, r.Line, r.Found.Note)
	case RuleBroken:
		change := "from zero"
		if r.Found.ChangePct != nil {
			change = fmt.Sprintf("%+.1f%%", *r.Found.ChangePct)
		}
		return fmt.Sprintf("B is slower than A on %s: %s (p=%.2g), more than the %g%% allowed", r.Line, change, *r.Found.P, r.Pct)
	}
	return ""
}

// CheckSlower checks each rule against the comparison c.
func CheckSlower(c *report.Comparison, rules []SlowerRule) []RuleResult {
	var out []RuleResult
	for _, r := range rules {
		l, ok := c.Line(r.Line)
		res := RuleResult{SlowerRule: r, Found: l}
		switch {
		case !ok:
			res.Outcome = RuleNoSamples
		case l.Verdict == report.VerdictFew || l.Verdict == report.VerdictUntested:
			res.Outcome = RuleUntestable
		case l.WorseBy(r.Pct):
			res.Outcome = RuleBroken
		}
		out = append(out, res)
	}
	return out
}

// unattributedWarnings names, for a comparison, the phases some run could
// not time command by command: their lines leave those runs out, and a
// phase no run of a side could time is not compared at all.
func unattributedWarnings(groups ...CompareGroup) []string {
	var out []string
	for _, g := range groups {
		count := map[string]int{}
		var names []string
		for _, r := range g.Runs {
			for _, name := range report.Unattributed(r) {
				if count[name] == 0 {
					names = append(names, name)
				}
				count[name]++
			}
		}
		for _, name := range names {
			out = append(out, fmt.Sprintf("%s: %d of %d runs of %s have no figures: the server answered pipelined commands in one write "+
				"and no message went lock-step (--lockstep-every 0), so how the time split between the commands is unknown (docs/phases.md)",
				name, count[name], len(g.Runs), g.Name))
		}
	}
	return out
}
