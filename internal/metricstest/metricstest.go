// Package metricstest builds recorders and delivery figures whose values
// are known, for the tests of the packages that report and compare them
// (metrics, report, analysis). It imports only metrics and session, so
// that report's own tests can use it without an import cycle.
package metricstest

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// Sample holds 1,000 messages whose figures are known: replies of 1 µs to
// 1 ms to every command, one rejected recipient in a hundred.
func Sample() *metrics.Recorder {
	rec := metrics.NewRecorder(false)
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		rec.Observe(session.PhaseMail, 250, d)
		rec.Observe(session.PhaseRcpt, 250, d)
		rec.Observe(session.PhaseData, 354, d)
		rec.Observe(session.PhaseBody, 250, 2*d)
		metrics.RecordDuration(rec.Phases[session.PhaseMessage], 3*d)
		res := session.Result{Outcome: session.OutcomeOK, RcptAccepted: 1}
		if i%100 == 0 {
			res = session.Result{Outcome: session.OutcomeRejected, RcptRejected: 1,
				Err: &session.Error{Phase: session.PhaseRcpt, Class: session.ClassPermReject, Code: 550, Text: "no such user"}}
		}
		rec.Message(&res)
	}
	rec.Observe(session.PhaseConnect, 0, 100*time.Microsecond)
	rec.Connections, rec.ConnectAttempts, rec.BytesSent = 1, 1, 1_500_000
	return rec
}

// Accepted holds one accepted message per latency in us (µs), with two
// connections and 1000 bytes a message, and returns beside it those
// latencies in a histogram as the timeline keeps one second's.
func Accepted(us []int64) (*metrics.Recorder, *hdrhistogram.Histogram) {
	rec := metrics.NewRecorder(false)
	iv := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)
	for _, v := range us {
		metrics.RecordDuration(rec.Phases[session.PhaseMessage], time.Duration(v)*time.Microsecond)
		rec.Observe(session.PhaseBody, 250, time.Duration(v)*time.Microsecond)
		rec.Message(&session.Result{Outcome: session.OutcomeOK, RcptAccepted: 1})
		iv.RecordValue(v)
	}
	rec.Connections, rec.ConnectAttempts, rec.BytesSent = 2, 2, int64(1000*len(us))
	return rec, iv
}

// Batched holds 100 messages with one recipient each whose RCPT took 5
// ms: pipelined replies timed as a batching server makes them look (RCPT
// free, pipelined 0) or as a server writing apart does (5 ms), and
// lockstep of them sent one command at a time, with the true 5 ms.
func Batched(pipelined time.Duration, lockstep int) *metrics.Recorder {
	rec := metrics.NewRecorder(false)
	for range 100 - lockstep {
		rec.ObservePipelined(session.PhaseMail, 250, time.Millisecond)
		rec.ObservePipelined(session.PhaseRcpt, 250, pipelined)
		rec.Observe(session.PhaseBody, 250, time.Millisecond)
	}
	for range lockstep {
		rec.Observe(session.PhaseMail, 250, time.Millisecond)
		rec.Observe(session.PhaseRcpt, 250, 5*time.Millisecond)
		rec.Observe(session.PhaseBody, 250, time.Millisecond)
	}
	for range 100 {
		metrics.RecordDuration(rec.Phases[session.PhaseMessage], 7*time.Millisecond)
		rec.Message(&session.Result{Outcome: session.OutcomeOK, RcptAccepted: 1})
	}
	return rec
}

// Delivery is what a receiver saw of messages accepted in the seconds
// given (accepted[t] in second t): each delivered a second later, lost of
// them never, deliveries taking 200 ms (210 ms end to end).
func Delivery(accepted []int64, lost int64) *metrics.Delivery {
	d := &metrics.Delivery{Receiver: "127.0.0.1:2631", DeliveryHist: metrics.NewHistogram(), EndToEndHist: metrics.NewHistogram(), Lost: lost}
	for t, n := range accepted {
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
	return d
}
