package report

import (
	"errors"
	"fmt"
	"sort"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/metrics"
)

// Histogram decodes the interval's message histogram. An interval written
// before intervals carried one, or with no message, has none: with no
// message that is an empty histogram, otherwise an error.
func (iv JSONInterval) Histogram() (*hdrhistogram.Histogram, error) {
	if iv.HDR == "" {
		if iv.OK+iv.Failed == 0 {
			return metrics.NewHistogram(), nil
		}
		return nil, errors.New("interval has messages but no hdr histogram")
	}
	h, err := hdrhistogram.Decode([]byte(iv.HDR))
	if err != nil {
		return nil, fmt.Errorf("decoding the hdr histogram: %v", err)
	}
	return h, nil
}

// DecodeHistogram decodes a histogram written by EncodeHistogram.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decoding the hdr histogram: %v", err)
	}
	return h, nil
}

// Seconds is how many seconds the interval covers: 1 for a second of the
// detail window, more for a folded row.
func (iv JSONInterval) Seconds() int { return max(1, iv.LengthS) }

// PhaseNames lists the phases of j in report order: the session phases in
// the order a message meets them, the open model's series, then any other
// phase (from a newer smtpbench) by name.
func PhaseNames(j *JSONReport) []string { return orderedPhases(j.Phases) }

func orderedPhases[V any](m map[string]V) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range phaseOrder() {
		if _, ok := m[name]; ok {
			out = append(out, name)
			seen[name] = true
		}
	}
	for _, name := range sortedKeys(m) {
		if !seen[name] {
			out = append(out, name)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
