package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/internal/readlimit"
	"github.com/smtpbench/smtpbench/metrics"
)

// ReadJSON reads a saved smtpbench document: a single run (as run -o json or
// --out writes it), a sweep or an ab file. Whatever the kind, it returns a
// Document; a single run comes back as kind "run" with one run whose label
// is empty. It refuses a document of another schema rather than guess what
// its fields mean, one larger than MaxDocumentBytes, and one whose figures
// cannot be a measurement (negative counts or durations, totals that do not
// add up, a histogram that does not decode).
func ReadJSON(r io.Reader) (*Document, error) {
	raw, err := readlimit.Reader(r, "", MaxDocumentBytes)
	if err != nil {
		return nil, err
	}
	return parseDocument(raw)
}

func parseDocument(raw []byte) (*Document, error) {
	if isLive(raw) {
		// A --live file: a header line and one line per second.
		j, err := readLive(raw)
		if err != nil {
			return nil, err
		}
		if err := j.check(); err != nil {
			return nil, err
		}
		return &Document{Schema: Schema, Kind: KindRun, StartedAt: j.StartedAt, Runs: []LabeledRun{{JSONReport: j}}}, nil
	}
	switch first := bytes.TrimLeft(raw, " \t\r\n"); {
	case len(first) == 0:
		return nil, errors.New("empty: not a smtpbench report")
	case first[0] == '[':
		return nil, errors.New("a JSON array: a smtpbench report is one JSON object")
	case first[0] != '{':
		if !json.Valid(raw) {
			var v any
			return nil, fmt.Errorf("not a JSON document: %v", jsonErr(json.Unmarshal(raw, &v)))
		}
		return nil, errors.New("not a smtpbench report: want a JSON object")
	}
	var head struct {
		Schema *string          `json:"schema"`
		Kind   string           `json:"kind"`
		Runs   *json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("not a JSON document: %v", jsonErr(err))
	}
	if head.Schema == nil {
		return nil, errors.New(`not a smtpbench report: no "schema" field`)
	}
	if *head.Schema != Schema {
		return nil, fmt.Errorf("schema %q: this smtpbench reads %s", *head.Schema, Schema)
	}
	if err := checkNumbers(raw); err != nil {
		return nil, err
	}
	if head.Runs == nil {
		// One run, as WriteJSON writes it.
		var j JSONReport
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, fmt.Errorf("reading the run: %v", jsonErr(err))
		}
		if err := j.check(); err != nil {
			return nil, err
		}
		return &Document{Schema: Schema, Kind: KindRun, StartedAt: j.StartedAt, Runs: []LabeledRun{{JSONReport: &j}}}, nil
	}
	var d Document
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("reading the %s document: %v", head.Kind, jsonErr(err))
	}
	switch d.Kind {
	case KindSweep, KindAB:
	default:
		return nil, fmt.Errorf("kind %q: want %s or %s for a document with runs", d.Kind, KindSweep, KindAB)
	}
	for i, r := range d.Runs {
		if r.JSONReport == nil || r.Schema != Schema {
			return nil, fmt.Errorf("run %d of the %s document is not a %s report", i+1, d.Kind, Schema)
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("runs[%d]: %v", i, err)
		}
	}
	return &d, nil
}

// ReadFile is ReadJSON on a named file; errors name the file. A device
// (such as /dev/zero) is refused at once, a pipe read up to the bound.
func ReadFile(name string) (*Document, error) {
	b, err := readlimit.File(name, MaxDocumentBytes)
	if err != nil {
		return nil, err
	}
	d, err := parseDocument(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return d, nil
}

// Histogram decodes the summary's "hdr" field: the phase's full histogram
// of microsecond values, for merging runs exactly or reading any quantile.
// A summary without one (count 0 in an old file) gives an empty histogram.
func (s Summary) Histogram() (*hdrhistogram.Histogram, error) {
	if s.HDR == "" {
		if s.Count != 0 {
			return nil, errors.New("summary has samples but no hdr histogram")
		}
		return metrics.NewHistogram(), nil
	}
	h, err := hdrhistogram.Decode([]byte(s.HDR))
	if err != nil {
		return nil, fmt.Errorf("decoding the hdr histogram: %v", err)
	}
	if h.TotalCount() != s.Count {
		return nil, fmt.Errorf("hdr histogram holds %d values but count is %d", h.TotalCount(), s.Count)
	}
	return h, nil
}
