package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/hgrm"
	"github.com/smtpbench/smtpbench/metrics"
)

// TestHGRMGivesTheJSONPercentiles reads the hgrm text back with ParseHGRM and
// finds the JSON summary's percentiles in it, for every phase.
func TestHGRMGivesTheJSONPercentiles(t *testing.T) {
	d := roundTrip(t, fixedResult())
	for _, name := range PhaseNames(d) {
		s := d.Phases[name]
		if s.Count == 0 {
			continue
		}
		h, err := s.Histogram()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteHGRM(&b, h); err != nil {
			t.Fatal(err)
		}
		dist, err := hgrm.Parse(&b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b.String())
		}
		if err := checkHGRM(dist, s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestHGRMEmptyHistogram(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHGRM(&b, metrics.NewHistogram()); err != nil {
		t.Fatal(err)
	}
	dist, err := hgrm.Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(dist.Rows) != 0 || dist.TotalCount != 0 {
		t.Errorf("empty histogram gave %+v", dist)
	}
}

func TestWriteCSV(t *testing.T) {
	d := roundTrip(t, fixedResult())
	var b bytes.Buffer
	if err := WriteCSV(&b, []*JSONReport{d}, []string{"r.json"}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"t", "ok", "failed", "messages_per_s", "p50_ms", "p99_ms", "length_s"},
		{"0", "600", "0", "600.000", "1.000", "2.000", "1"},
		{"1", "390", "10", "390.000", "", "", "1"}, // no latency recorded that second: no figure
	}
	if !equalRows(rows, want) {
		t.Errorf("csv rows %q, want %q", rows, want)
	}
	b.Reset()
	if err := WriteCSV(&b, []*JSONReport{d, d}, []string{"a.json", "b.json"}); err != nil {
		t.Fatal(err)
	}
	rows, _ = csv.NewReader(&b).ReadAll()
	if len(rows) != 5 || rows[0][0] != "file" || rows[1][0] != "a.json" || rows[4][0] != "b.json" {
		t.Errorf("two files: rows %q, want a file column", rows)
	}
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], ",") != strings.Join(b[i], ",") {
			return false
		}
	}
	return true
}

// TestWriteHTMLSelfContained checks the page's structure without a browser
// (.ci/browser opens it in Chromium): a chart per phase with samples and
// three timelines, each an inline SVG with lines in it, and nothing that
// could make a request.
func TestWriteHTMLSelfContained(t *testing.T) {
	a := roundTrip(t, fixedResult())
	res := fixedResult()
	res.StartedAt = res.StartedAt.Add(time.Minute)
	b := roundTrip(t, res)
	for _, tc := range []struct {
		name   string
		docs   []*JSONReport
		legend bool
	}{
		{"one result", []*JSONReport{a}, false},
		{"two results", []*JSONReport{a, b}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			labels := []string{"before.json", "after.json"}[:len(tc.docs)]
			var out bytes.Buffer
			if err := WriteHTML(&out, tc.docs, labels); err != nil {
				t.Fatal(err)
			}
			page := out.String()
			phases := 0
			for _, s := range a.Phases {
				if s.Count > 0 {
					phases++
				}
			}
			figures := regexp.MustCompile(`(?s)<figure class="chart" id="chart-([a-z0-9_-]+)">(.*?)</figure>`).FindAllStringSubmatch(page, -1)
			if len(figures) != phases+3 {
				t.Fatalf("%d charts, want %d (one per phase with samples, and 3 timelines)", len(figures), phases+3)
			}
			for _, f := range figures {
				if !strings.Contains(f[2], "<svg") || !strings.Contains(f[2], "<path") {
					t.Errorf("chart %s has no SVG drawing", f[1])
				}
			}
			if !strings.Contains(page, `id="chart-percentiles-message"`) || !strings.Contains(page, `id="chart-rate"`) {
				t.Errorf("message percentile or rate chart missing")
			}
			for _, bad := range []string{"<script", "<link", "<img", "src=", "url(", "@import", "href="} {
				if strings.Contains(strings.ToLower(page), bad) {
					t.Errorf("page contains %q: it must not load anything", bad)
				}
			}
			if got := strings.Contains(page, "after.json</text>"); got != tc.legend {
				t.Errorf("legend with the second file's name present = %v, want %v", got, tc.legend)
			}
		})
	}
}

// checkHGRM compares a distribution with the JSON summary of the same
// histogram: its percentiles and count.
func checkHGRM(d *hgrm.Distribution, s Summary) error {
	for _, c := range []struct {
		pct  float64
		want float64
	}{{50, s.P50MS}, {90, s.P90MS}, {99, s.P99MS}, {99.9, s.P999MS}} {
		got, ok := d.ValueAt(c.pct)
		if !ok {
			return fmt.Errorf("no row at %g%%", c.pct)
		}
		// Both print microseconds as milliseconds with three decimals.
		if math.Abs(got-c.want) > 0.0005 {
			return fmt.Errorf("%g%%: hgrm %.3f ms, JSON %.3f ms", c.pct, got, c.want)
		}
	}
	if d.TotalCount != s.Count {
		return fmt.Errorf("total count %d, JSON count %d", d.TotalCount, s.Count)
	}
	if n := len(d.Rows); n == 0 || d.Rows[n-1].TotalCount != s.Count || d.Rows[n-1].Percentile != 1 {
		return fmt.Errorf("last row does not reach 100%% of %d samples", s.Count)
	}
	return nil
}
