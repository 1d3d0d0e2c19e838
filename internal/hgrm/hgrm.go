// Package hgrm reads HdrHistogram's percentile distribution text (".hgrm"),
// so that tests can hold what smtpbench writes to what HdrHistogram's tools
// read. Only tests use it; smtpbench itself only writes the format.
package hgrm

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Distribution is a percentile distribution read back from hgrm text.
type Distribution struct {
	Rows []Row
	// TotalCount is the footer's "Total count".
	TotalCount int64
}

// Row is one line of the distribution: Value in the text's unit
// (milliseconds for smtpbench), Percentile as a fraction (0–1).
type Row struct {
	Value      float64
	Percentile float64
	TotalCount int64
}

// Parse reads HdrHistogram's percentile distribution text (ours, or any
// HdrHistogram tool's, such as wrk2's): the header line, the rows, and the
// "#[...]" footer.
func Parse(r io.Reader) (*Distribution, error) {
	out := &Distribution{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "" || strings.HasPrefix(text, "Value"):
			continue
		case strings.HasPrefix(text, "#[Max"):
			if _, err := fmt.Sscanf(strings.ReplaceAll(text, " ", ""), "#[Max=%f,Totalcount=%d]", new(float64), &out.TotalCount); err != nil {
				return nil, fmt.Errorf("line %d: %q: %v", line, text, err)
			}
			continue
		case strings.HasPrefix(text, "#"):
			continue
		}
		f := strings.Fields(text)
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: %q: want 4 columns", line, text)
		}
		var row Row
		var err error
		if row.Value, err = strconv.ParseFloat(f[0], 64); err != nil {
			return nil, fmt.Errorf("line %d: value %q", line, f[0])
		}
		if row.Percentile, err = strconv.ParseFloat(f[1], 64); err != nil || row.Percentile < 0 || row.Percentile > 1 {
			return nil, fmt.Errorf("line %d: percentile %q", line, f[1])
		}
		if row.TotalCount, err = strconv.ParseInt(f[2], 10, 64); err != nil {
			return nil, fmt.Errorf("line %d: total count %q", line, f[2])
		}
		if n := len(out.Rows); n > 0 && (row.Percentile < out.Rows[n-1].Percentile || row.Value < out.Rows[n-1].Value) {
			return nil, fmt.Errorf("line %d: rows go backwards", line)
		}
		out.Rows = append(out.Rows, row)
	}
	return out, sc.Err()
}

// ValueAt returns the value of the row at percentile pct (0–100).
func (d *Distribution) ValueAt(pct float64) (float64, bool) {
	for _, r := range d.Rows {
		if math.Abs(r.Percentile-pct/100) < 1e-12 {
			return r.Value, true
		}
	}
	return 0, false
}
