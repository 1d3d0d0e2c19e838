package metrics

import (
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/session"
)

// fixedRecorder holds 1,000 messages whose figures are known: replies of
// 1 µs to 1 ms to every command, one rejected recipient in a hundred.
func fixedRecorder() *Recorder {
	rec := NewRecorder(false)
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		rec.Observe(session.PhaseMail, 250, d)
		rec.Observe(session.PhaseRcpt, 250, d)
		rec.Observe(session.PhaseData, 354, d)
		rec.Observe(session.PhaseBody, 250, 2*d)
		RecordDuration(rec.Phases[session.PhaseMessage], 3*d)
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

func TestRecordDurationClamps(t *testing.T) {
	h := NewHistogram()
	RecordDuration(h, 0)
	RecordDuration(h, 5*time.Hour)
	if h.TotalCount() != 2 || h.Min() != 1 || h.Max() < int64(time.Hour/time.Microsecond)*99/100 {
		t.Errorf("count %d min %d max %d", h.TotalCount(), h.Min(), h.Max())
	}
}

func TestMerge(t *testing.T) {
	a, b := fixedRecorder(), fixedRecorder()
	a.Merge(b)
	if a.Attempted != 2000 || a.OK != 1980 || a.Codes[session.PhaseMail][250] != 2000 ||
		a.Errors[ErrorKey{session.PhaseRcpt, session.ClassPermReject, 550}] != 20 ||
		a.Phases[session.PhaseMail].TotalCount() != 2000 {
		t.Errorf("merge: attempted %d ok %d", a.Attempted, a.OK)
	}
}
