package analysis

// Results to compare, built as a run builds them and read back as compare
// reads a saved file.

import (
	"bytes"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/metricstest"
	"github.com/smtpbench/smtpbench/report"
)

// roundTrip writes res as the JSON document and reads it back, as merge and
// report see a saved result.
func roundTrip(t *testing.T, res *report.Result) *report.JSONReport {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	d, err := report.ReadJSON(&b)
	if err != nil {
		t.Fatalf("reading back: %v", err)
	}
	return d.Runs[0].JSONReport
}

// generatorResult is one generator's result holding the given message
// latencies (µs), all accepted, in interval 0.
func generatorResult(start time.Time, us []int64, cfg report.RunConfig) *report.Result {
	rec, iv := metricstest.Accepted(us)
	return &report.Result{
		Target: "127.0.0.1:2525", Config: cfg, StartedAt: start, Elapsed: time.Second, StopReason: "messages", Total: rec,
		Intervals: []report.Interval{{T: 0, OK: int64(len(us)),
			P50: time.Duration(iv.ValueAtQuantile(50)) * time.Microsecond,
			P99: time.Duration(iv.ValueAtQuantile(99)) * time.Microsecond, HDR: report.EncodeHistogram(iv)}},
	}
}

// withDelivery adds a delivery object: accepted messages in the seconds
// given, delivered a second later, and deliveries of 200 ms each.
func withDelivery(res *report.Result, accepted []int64, lost int64) *report.Result {
	res.Delivery = metricstest.Delivery(accepted, lost)
	return res
}

// withServer is a run whose server cost cpuUS per message and mem bytes at
// its peak.
func withServer(cpuUS float64, mem int64, ok int64) *report.JSONReport {
	v := cpuUS
	return &report.JSONReport{Totals: report.Totals{MessagesOK: ok, MessagesAttempted: ok, MessagesPerS: float64(ok)},
		Phases: map[string]report.Summary{}, Server: &report.ServerJSON{Method: "process_tree", CPUS: cpuUS * float64(ok) / 1e6,
			CPUUSPerMessage: &v, MemoryPeakBytes: mem}}
}
