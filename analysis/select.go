package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/smtpbench/smtpbench/report"
)

// SelectError says why a name (FILE or FILE#LABEL) picks no group of runs:
// the label matches no run, or the file holds several labels and none was
// given.
type SelectError struct {
	Name  string // as given, with any #LABEL
	Label string // the label asked for; empty when none was
	Holds string // what the document holds (DescribeRuns)
}

func (e *SelectError) Error() string {
	if e.Label == "" {
		return fmt.Sprintf("%s holds %s: pick one as %s#LABEL", e.Name, e.Holds, e.Name)
	}
	return fmt.Sprintf("%s has no runs labelled %q: it holds %s", e.Name, e.Label, e.Holds)
}

// SelectGroup picks one side of a comparison from d, read from name: the
// runs labelled label, or, with no label, every run when they share one.
func SelectGroup(d *report.Document, name, label string) (CompareGroup, error) {
	labels := d.Labels()
	if label == "" && len(labels) > 1 {
		return CompareGroup{}, &SelectError{Name: name, Holds: report.DescribeRuns(d)}
	}
	if label == "" {
		label = labels[0]
	}
	runs := d.RunsLabeled(label)
	if len(runs) == 0 {
		return CompareGroup{}, &SelectError{Name: name, Label: label, Holds: report.DescribeRuns(d)}
	}
	return CompareGroup{Name: name, Runs: runs}, nil
}

// ABGroups splits an ab document into its two sides, A then B; ok is false
// for any other document.
func ABGroups(d *report.Document) (a, b CompareGroup, ok bool) {
	labels := d.Labels()
	if d.Kind != report.KindAB || len(labels) != 2 {
		return a, b, false
	}
	a = CompareGroup{Name: labels[0], Runs: d.RunsLabeled(labels[0])}
	b = CompareGroup{Name: labels[1], Runs: d.RunsLabeled(labels[1])}
	return a, b, true
}

// ArgError is a refusal of what a comparison was asked to compare (the
// files and labels given), as opposed to a file that could not be read.
type ArgError struct{ Msg string }

func (e *ArgError) Error() string { return e.Msg }

// Groups reads the two sides of a comparison from args: one ab file (its
// runs labelled A and B), or two results given as FILE or FILE#LABEL. Its
// refusals of args are *ArgError (and SelectError); errors reading a file
// are in's.
func Groups(in *report.Inputs, args []string) (a, b CompareGroup, err error) {
	switch len(args) {
	case 1:
		name, label := report.SplitLabel(args[0])
		d, err := in.Read(name)
		if err != nil {
			return a, b, err
		}
		if label != "" {
			// A label picks one side; silently comparing A with B
			// instead would answer a question that was not asked.
			if _, err := SelectGroup(d, args[0], label); err != nil {
				return a, b, err
			}
			return a, b, &ArgError{fmt.Sprintf("%s is one side of a comparison: give the other as a second FILE[#LABEL], or the ab file alone to compare A with B", args[0])}
		}
		var ok bool
		if a, b, ok = ABGroups(d); !ok {
			return a, b, &ArgError{fmt.Sprintf("%s holds %s: with one file, compare wants an ab file (runs labelled A and B); give two files, or FILE#LABEL twice",
				args[0], report.DescribeRuns(d))}
		}
		return a, b, nil
	case 2:
		sides := [2]*CompareGroup{&a, &b}
		for i, arg := range args {
			name, label := report.SplitLabel(arg)
			d, err := in.Read(name)
			if err != nil {
				return a, b, err
			}
			if *sides[i], err = SelectGroup(d, arg, label); err != nil {
				return a, b, err
			}
		}
		return a, b, nil
	}
	return a, b, &ArgError{fmt.Sprintf("want one ab file or two result files, got %d arguments", len(args))}
}

// ParseSlowerRule reads a limit on how much slower B may be: PCT for
// messages/s, or LINE=PCT for a line such as message:p99=10.
func ParseSlowerRule(v string) (SlowerRule, error) {
	line, pct, ok := strings.Cut(v, "=")
	if !ok {
		line, pct = report.LineMessagesPerS, v
	}
	line, err := ParseLine(line)
	if err != nil {
		return SlowerRule{}, fmt.Errorf("%q: %v", v, err)
	}
	// NaN compares false with everything, so a check against it would
	// pass whatever the change: refused, as infinity is.
	p, err := strconv.ParseFloat(pct, 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) || p < 0 {
		return SlowerRule{}, fmt.Errorf("%q: want PCT or LINE=PCT with PCT a percentage such as 5", v)
	}
	return SlowerRule{Line: line, Pct: p}, nil
}
