package promexport

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/metrics"
)

// A phase histogram carries classic and native buckets that agree with the
// HdrHistogram it came from, value by value.
func TestPhaseHistogramBuckets(t *testing.T) {
	h := metrics.NewHistogram()
	values := map[int64]int64{90: 3, 95: 1, 1200: 10, 1310: 5, 5000: 2, 70_000_000: 1} // µs
	var n int64
	for v, c := range values {
		h.RecordValues(v, c)
		n += c
	}
	d := hdrToDTO(h)
	if d.GetSampleCount() != uint64(n) || d.GetSchema() != NativeSchema {
		t.Fatalf("count %d schema %d, want %d and %d", d.GetSampleCount(), d.GetSchema(), n, NativeSchema)
	}
	// Classic: cumulative, and 70 s is above the last bound (in +Inf only).
	want := map[float64]uint64{0.0001: 4, 0.001: 4, 0.0025: 19, 0.005: 19, 0.01: 21, 60: 21}
	for _, b := range d.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("classic bucket le=%g: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	// Native: decode spans and deltas back to index → count, and check
	// that each value lies in its bucket (2^((i-1)/8), 2^(i/8)].
	got := map[int]int64{}
	idx, count, di := 0, int64(0), 0
	for si, s := range d.GetPositiveSpan() {
		if si == 0 {
			idx = int(s.GetOffset())
		} else {
			idx += int(s.GetOffset())
		}
		for range s.GetLength() {
			count += d.GetPositiveDelta()[di]
			di++
			got[idx] = count
			idx++
		}
	}
	var total int64
	for i, c := range got {
		total += c
		lo, hi := math.Pow(2, float64(i-1)/8), math.Pow(2, float64(i)/8)
		var in int64
		for _, b := range h.Distribution() {
			// Each value counts at the top of its HdrHistogram bucket.
			if s := float64(b.To) / 1e6; b.Count > 0 && s > lo && s <= hi {
				in += b.Count
			}
		}
		if in != c {
			t.Errorf("native bucket %d (%g, %g]: %d, want %d", i, lo, hi, c, in)
		}
	}
	if total != n {
		t.Errorf("native buckets hold %d values, want %d", total, n)
	}
}

// Before a run starts the collector still answers, with zeros, and the
// registry accepts every metric (no duplicate or inconsistent series).
func TestRunCollectorBeforeRun(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewRunCollector(loadgen.NewWatch()))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"smtpbench_messages_total", "smtpbench_recipients_total", "smtpbench_phase_duration_seconds",
		"smtpbench_sessions_open", "smtpbench_generator_cpu_seconds_total", "smtpbench_generator_sched_delay_seconds"} {
		if !names[n] {
			t.Errorf("no %s before the run", n)
		}
	}
}
