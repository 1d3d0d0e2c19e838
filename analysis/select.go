package analysis

import (
	"fmt"

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
