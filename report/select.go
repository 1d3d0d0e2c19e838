package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// This file picks runs out of saved documents: the readers of report,
// merge and compare name files on the command line, sometimes as
// FILE#LABEL, and want the runs those names stand for.

// ErrStdinTwice refuses a second "-": standard input can be read once.
var ErrStdinTwice = errors.New("FILE - (standard input) given twice")

// Inputs reads the documents named by a command's arguments. The name "-"
// is Stdin, which can be read once.
type Inputs struct {
	Stdin     io.Reader
	stdinUsed bool
}

// Read reads the document called name ("-": Stdin, with the same bound as
// a file). Errors are ErrStdinTwice, or the reason the document cannot be
// read, naming it.
func (in *Inputs) Read(name string) (*Document, error) {
	if name != "-" {
		return ReadFile(name)
	}
	if in.stdinUsed {
		return nil, ErrStdinTwice
	}
	in.stdinUsed = true
	d, err := ReadJSON(in.Stdin)
	if err != nil {
		return nil, fmt.Errorf("standard input: %v", err)
	}
	return d, nil
}

// ReadAll reads every named document, stopping at the first that cannot
// be read.
func (in *Inputs) ReadAll(names []string) ([]*Document, error) {
	var docs []*Document
	for _, name := range names {
		d, err := in.Read(name)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// SplitLabel splits NAME#LABEL into its parts; the label is split off only
// when arg itself is not an existing file, so a file whose name holds '#'
// is still read whole.
func SplitLabel(arg string) (name, label string) {
	if _, err := os.Stat(arg); errors.Is(err, os.ErrNotExist) {
		if i := strings.LastIndex(arg, "#"); i > 0 {
			return arg[:i], arg[i+1:]
		}
	}
	return arg, ""
}

// RunLabel names a run within its document: the label, and the ab round
// when there is one.
func RunLabel(r LabeledRun) string {
	if r.Round > 0 {
		return fmt.Sprintf("%s #%d", r.Label, r.Round)
	}
	return r.Label
}

// RunsOf lists every run of the documents, labelled by the document's name
// (names[i] for docs[i]) and, within a sweep or ab document, by the run's
// own label.
func RunsOf(docs []*Document, names []string) ([]*JSONReport, []string) {
	var runs []*JSONReport
	var labels []string
	for i, d := range docs {
		for _, r := range d.Runs {
			runs = append(runs, r.JSONReport)
			if len(d.Runs) > 1 {
				labels = append(labels, names[i]+" "+RunLabel(r))
			} else {
				labels = append(labels, names[i])
			}
		}
	}
	return runs, labels
}

// SameRun tells a file given twice (or a copy of it) from the results of
// two generators: the same start, target and totals.
func SameRun(a, b *JSONReport) bool {
	return a.StartedAt.Equal(b.StartedAt) && a.Target == b.Target && a.Totals == b.Totals
}

// DescribeRuns says what runs a document holds, for error messages.
func DescribeRuns(d *Document) string {
	labels := d.Labels()
	if len(labels) == 1 && labels[0] == "" {
		return fmt.Sprintf("%d unlabelled %s", len(d.Runs), map[bool]string{true: "run", false: "runs"}[len(d.Runs) == 1])
	}
	return fmt.Sprintf("%d runs labelled %s", len(d.Runs), strings.Join(labels, ", "))
}

// WriteRunJSON writes one run's report as run -o json does.
func WriteRunJSON(w io.Writer, j *JSONReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

// WriteDocumentJSON writes d as it was read: a single run as run's JSON,
// a sweep or ab document whole.
func WriteDocumentJSON(w io.Writer, d *Document) error {
	if d.Kind == KindRun {
		return WriteRunJSON(w, d.Runs[0].JSONReport)
	}
	return WriteDocument(w, d)
}

// WriteDocumentTable renders a saved document as its own command would:
// a run (or merged run) as run's table, a sweep as sweep's, an ab file as
// its comparison.
func WriteDocumentTable(w io.Writer, d *Document) error {
	switch {
	case d.Kind == KindSweep:
		return WriteSweepTable(w, d)
	case d.Kind == KindAB && d.Comparison != nil:
		return WriteCompareTable(w, d.Comparison)
	}
	for i, r := range d.Runs {
		if len(d.Runs) > 1 {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "-- %s\n", RunLabel(r))
		}
		if err := WriteRunTable(w, r.JSONReport); err != nil {
			return err
		}
	}
	return nil
}

// PhaseError refuses a phase that a run does not have.
type PhaseError struct {
	Phase string   // the phase asked for
	Run   string   // the run's label
	Has   []string // the phases it has
}

func (e *PhaseError) Error() string {
	return fmt.Sprintf("%q: %s has no samples of such a phase (it has %s)", e.Phase, e.Run, strings.Join(e.Has, ", "))
}

// sampledPhases are the phases of d with samples.
func sampledPhases(d *JSONReport) []string {
	var names []string
	for _, name := range PhaseNames(d) {
		if d.Phases[name].Count > 0 {
			names = append(names, name)
		}
	}
	return names
}

// HGRMPart is one percentile distribution: one phase of one run.
type HGRMPart struct {
	Run, Phase string
	Body       []byte // the .hgrm text
}

// HGRMFile names the file of one phase's distribution when out names
// them all: the phase before the extension (.hgrm when out has none), as
// result.message.hgrm for result.hgrm.
func HGRMFile(out, phase string) string {
	ext := filepath.Ext(out)
	return strings.TrimSuffix(out, ext) + "." + phase + cmp.Or(ext, ".hgrm")
}

// HGRMParts renders the percentile distribution of each phase of each run
// (labels[i] names runs[i]): the phases named in only, or every phase with
// samples. A phase a run lacks is a *PhaseError; no phase with samples at
// all is an error too.
func HGRMParts(runs []*JSONReport, labels, only []string) ([]HGRMPart, error) {
	var parts []HGRMPart
	var once []string // a phase named twice is one distribution
	for _, name := range only {
		if !slices.Contains(once, name) {
			once = append(once, name)
		}
	}
	only = once
	for i, d := range runs {
		names := only
		if len(names) == 0 {
			names = sampledPhases(d)
		}
		for _, name := range names {
			s, ok := d.Phases[name]
			if !ok || s.Count == 0 {
				// A phase without samples (tls in a run without TLS) has
				// no distribution to print.
				return nil, &PhaseError{Phase: name, Run: labels[i], Has: sampledPhases(d)}
			}
			h, err := s.Histogram()
			if err != nil {
				return nil, fmt.Errorf("%s: phases.%s: %v", labels[i], name, err)
			}
			var b bytes.Buffer
			if err := WriteHGRM(&b, h); err != nil {
				return nil, err
			}
			parts = append(parts, HGRMPart{Run: labels[i], Phase: name, Body: b.Bytes()})
		}
	}
	if len(parts) == 0 {
		return nil, errors.New("no phase has samples")
	}
	return parts, nil
}

// JoinHGRMs puts several distributions on one stream, each under a comment
// line saying what it is (split them to feed a plotter one at a time).
func JoinHGRMs(parts []HGRMPart) []byte {
	if len(parts) == 1 {
		return parts[0].Body
	}
	var buf bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			buf.WriteString("\n")
		}
		fmt.Fprintf(&buf, "# %s phase %s (ms)\n", p.Run, p.Phase)
		buf.Write(p.Body)
	}
	return buf.Bytes()
}

// MergeDocuments merges the single-run documents read from names (see
// Merge), refusing a sweep or ab document and the same run given twice,
// which would be counted twice.
func MergeDocuments(files []*Document, names []string) (*JSONReport, error) {
	docs := make([]*JSONReport, len(files))
	for i, d := range files {
		if d.Kind != KindRun {
			return nil, fmt.Errorf("%s is %s document: merge takes the results of single runs", names[i], Article(d.Kind))
		}
		docs[i] = d.Runs[0].JSONReport
	}
	for i := range docs {
		for j := range i {
			if SameRun(docs[i], docs[j]) {
				return nil, fmt.Errorf("%s and %s are the same run: merging them would count it twice", names[j], names[i])
			}
		}
	}
	return Merge(docs, names)
}

// Render writes the documents read from names in format (table, json, csv
// or html; hgrm has HGRMParts): several as tables one after another under
// their names, as one CSV with a file column, or overlaid in one page's
// charts; json takes one document, written as it was read.
func Render(w io.Writer, format string, docs []*Document, names []string) error {
	switch format {
	case "table":
		for i, d := range docs {
			if len(docs) > 1 {
				if i > 0 {
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "== %s\n", names[i])
			}
			if err := WriteDocumentTable(w, d); err != nil {
				return err
			}
		}
		return nil
	case "json":
		if len(docs) != 1 {
			return fmt.Errorf("json renders one document, got %d", len(docs))
		}
		return WriteDocumentJSON(w, docs[0])
	case "html":
		if len(docs) == 1 && docs[0].Kind == KindAB {
			// An ab document gets its own page: the verdict first.
			return WriteABHTML(w, docs[0])
		}
	}
	runs, labels := RunsOf(docs, names)
	switch format {
	case "csv":
		return WriteCSV(w, runs, labels)
	case "html":
		return WriteHTML(w, runs, labels)
	}
	return fmt.Errorf("format %q: want table, json, csv or html", format)
}
