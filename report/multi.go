package report

import (
	"encoding/json"
	"io"
	"time"
)

// Kinds of saved document. A "run" document is one run's JSONReport as
// WriteJSON writes it; "sweep" and "ab" documents hold several runs in a
// Document.
const (
	KindRun   = "run"
	KindSweep = "sweep"
	KindAB    = "ab"
)

// Document is a saved smtpbench file holding one or several runs. Sweeps
// and ab comparisons are written in this layout; ReadJSON returns every
// kind in it, a single run as a document of kind "run" with one unlabelled
// run, so readers handle one shape.
type Document struct {
	// Schema is "smtpbench/v1", as for a single run.
	Schema string `json:"schema"`
	// Kind is "sweep" or "ab" ("run" only for what ReadJSON returns for a
	// single-run file).
	Kind string `json:"kind"`
	// StartedAt is the wall-clock start of the first run.
	StartedAt time.Time `json:"started_at"`
	// Sweep describes a sweep: what varied, the knee, the capacity search.
	Sweep *SweepJSON `json:"sweep,omitempty"`
	// AB describes an ab comparison: the two targets and the rounds.
	AB *ABJSON `json:"ab,omitempty"`
	// Comparison is the verdict of an ab document, as compare prints it.
	Comparison *Comparison `json:"comparison,omitempty"`
	// Runs holds every run's full report, histograms included, in the
	// order they ran.
	Runs []LabeledRun `json:"runs"`
}

// LabeledRun is one run of a Document: its own complete JSON report, plus
// where it belongs.
type LabeledRun struct {
	// Label names the run's group within the document: "A" or "B" in an ab
	// file, the step ("c=8", "rate=500") in a sweep, empty for a single run.
	// compare takes runs with the same label as repeated samples.
	Label string `json:"label"`
	// Round is the ab round the run belongs to, from 1; 0 elsewhere.
	Round int `json:"round,omitempty"`
	*JSONReport
}

// ABJSON is the "ab" object of an ab document.
type ABJSON struct {
	// A and B are the two targets, as dialed.
	A string `json:"a"`
	B string `json:"b"`
	// Rounds is how many rounds were asked for; each round runs A, then B.
	Rounds int `json:"rounds"`
	// WarmupS is each run's warm-up, DurationS its measured length after
	// the warm-up (seconds; 0 when the runs were bounded by -n).
	WarmupS   float64 `json:"warmup_s"`
	DurationS float64 `json:"duration_s"`
	// Completed is how many rounds finished (fewer after a signal).
	Completed int `json:"completed"`
	// ACmd and BCmd are the shell commands that started each build before
	// each of its runs (ab --a-cmd, --b-cmd); absent when ab ran against
	// servers already running.
	ACmd string `json:"a_cmd,omitempty"`
	BCmd string `json:"b_cmd,omitempty"`
}

// WriteDocument renders d as one indented JSON document.
func WriteDocument(w io.Writer, d *Document) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// Labels lists the distinct labels of d's runs in the order they first
// appear.
func (d *Document) Labels() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range d.Runs {
		if !seen[r.Label] {
			seen[r.Label] = true
			out = append(out, r.Label)
		}
	}
	return out
}

// RunsLabeled returns the reports of d's runs with the given label.
func (d *Document) RunsLabeled(label string) []*JSONReport {
	var out []*JSONReport
	for _, r := range d.Runs {
		if r.Label == label {
			out = append(out, r.JSONReport)
		}
	}
	return out
}
