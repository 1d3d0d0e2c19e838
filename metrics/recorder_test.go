package metrics_test

import (
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/metricstest"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

func TestRecordDurationClamps(t *testing.T) {
	h := metrics.NewHistogram()
	metrics.RecordDuration(h, 0)
	metrics.RecordDuration(h, 5*time.Hour)
	if h.TotalCount() != 2 || h.Min() != 1 || h.Max() < int64(time.Hour/time.Microsecond)*99/100 {
		t.Errorf("count %d min %d max %d", h.TotalCount(), h.Min(), h.Max())
	}
}

func TestMerge(t *testing.T) {
	a, b := metricstest.Sample(), metricstest.Sample()
	a.Merge(b)
	if a.Attempted != 2000 || a.OK != 1980 || a.Codes[session.PhaseMail][250] != 2000 ||
		a.Errors[metrics.ErrorKey{session.PhaseRcpt, session.ClassPermReject, 550}] != 20 ||
		a.Phases[session.PhaseMail].TotalCount() != 2000 {
		t.Errorf("merge: attempted %d ok %d", a.Attempted, a.OK)
	}
}
