package loadgen

import (
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// TestNothingAcceptedCountsInWords: one message is not "all 1", nor "1 times".
func TestNothingAcceptedCountsInWords(t *testing.T) {
	rec := metrics.NewRecorder(false)
	rec.Message(&session.Result{Outcome: session.OutcomeFailed, Err: &session.Error{Phase: session.PhaseBanner, Class: session.ClassTimeout}})
	w := nothingAccepted(&report.Result{Total: rec})
	if !strings.Contains(w, "the one attempted was rejected or failed; once at banner") || strings.Contains(w, "all 1") || strings.Contains(w, "1 times") {
		t.Errorf("%q", w)
	}
	rec.Message(&session.Result{Outcome: session.OutcomeFailed, Err: &session.Error{Phase: session.PhaseBanner, Class: session.ClassTimeout}})
	if w := nothingAccepted(&report.Result{Total: rec}); !strings.Contains(w, "all 2 were rejected or failed; most often (2 times)") {
		t.Errorf("%q", w)
	}
	warm := metrics.NewRecorder(false)
	warm.Message(&session.Result{Outcome: session.OutcomeOK})
	if w := nothingAccepted(&report.Result{Total: metrics.NewRecorder(false), WarmupTotals: warm}); !strings.Contains(w, "the one message fell within") {
		t.Errorf("%q", w)
	}
}
