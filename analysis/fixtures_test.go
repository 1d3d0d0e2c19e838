package analysis

// Results to compare, built as a run builds them and read back as compare
// reads a saved file.

import (
	"bytes"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
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
	rec := metrics.NewRecorder(false)
	iv := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2) // as the timeline keeps
	for _, v := range us {
		metrics.RecordDuration(rec.Phases[session.PhaseMessage], time.Duration(v)*time.Microsecond)
		rec.Observe(session.PhaseBody, 250, time.Duration(v)*time.Microsecond)
		rec.Message(&session.Result{Outcome: session.OutcomeOK, RcptAccepted: 1})
		iv.RecordValue(v)
	}
	rec.Connections, rec.ConnectAttempts, rec.BytesSent = 2, 2, int64(1000*len(us))
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
	d := &metrics.Delivery{Receiver: "127.0.0.1:2631", DeliveryHist: metrics.NewHistogram(), EndToEndHist: metrics.NewHistogram(), Lost: lost}
	var acc int64
	for t, n := range accepted {
		acc += n
		d.Accepted += n
		if len(d.Seconds) <= t+1 {
			d.Seconds = append(d.Seconds, make([]metrics.DeliverySecond, t+2-len(d.Seconds))...)
		}
		d.Seconds[t].T, d.Seconds[t].Accepted = t, n
		d.Seconds[t+1].T, d.Seconds[t+1].Delivered = t+1, n-lost
		for range n - lost {
			metrics.RecordDuration(d.DeliveryHist, 200*time.Millisecond)
			metrics.RecordDuration(d.EndToEndHist, 210*time.Millisecond)
		}
		d.Delivered += n - lost
	}
	var a, del int64
	for i := range d.Seconds {
		a += d.Seconds[i].Accepted
		del += d.Seconds[i].Delivered
		d.Seconds[i].Backlog = a - del
		d.BacklogMax = max(d.BacklogMax, a-del)
	}
	d.LastArrival = time.Duration(len(d.Seconds)) * time.Second
	res.Delivery = d
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
