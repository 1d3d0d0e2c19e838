package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/metricstest"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// batchResult is a run of 100 messages with one recipient each whose RCPT
// took 5 ms: pipelined replies timed as a batching server makes them look
// (RCPT free) or as a server writing apart does (5 ms), and lock-step
// samples of the true 5 ms.
func batchResult(batched int64, pipelined time.Duration, lockstep int) *report.Result {
	return &report.Result{Target: "127.0.0.1:2525", StartedAt: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), Elapsed: time.Second,
		StopReason: "messages", Total: metricstest.Batched(pipelined, lockstep),
		Pipelining: []report.PipeliningOutcome{{Target: "127.0.0.1:2525", Mode: session.ModeGroups, Reason: "--pipelining groups",
			Groups: 100 - int64(lockstep), Batched: batched}}}
}

// A sweep objective on a phase that could not be timed is not met, and
// says why; on a phase timed apart or by lock-step samples it is.
func TestSLOOnUnattributedPhase(t *testing.T) {
	for _, tc := range []struct {
		name         string
		res          *report.Result
		unattributed bool
	}{
		{"apart", batchResult(2, 5*time.Millisecond, 0), false},
		{"batched, lock-step samples", batchResult(96, time.Microsecond, 4), false},
		{"batched, no sample", batchResult(100, time.Microsecond, 0), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := report.BuildJSON(tc.res)
			slo, err := ParseSLO("rcpt:p50=1s")
			if err != nil {
				t.Fatal(err)
			}
			breaches := CheckSLO(j, []SLO{slo}, 100)
			if got := len(breaches) == 1 && strings.Contains(breaches[0], "not measured apart"); got != tc.unattributed {
				t.Errorf("CheckSLO = %q", breaches)
			}
		})
	}
}

// A comparison never calls a difference on a phase one side could not
// attribute, and says why it is missing.
func TestCompareSkipsUnattributed(t *testing.T) {
	var a, b []*report.JSONReport
	for i := range 6 {
		ra := report.BuildJSON(batchResult(100, time.Microsecond, 0))
		rb := report.BuildJSON(batchResult(100, time.Duration(i+1)*time.Microsecond, 0))
		ra.Totals.MessagesPerS, rb.Totals.MessagesPerS = 100, 100
		a, b = append(a, ra), append(b, rb)
	}
	c, err := Compare(group("A", a...), group("B", b...), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Lines {
		if strings.HasPrefix(l.Line, "rcpt:") || strings.HasPrefix(l.Line, "mail:") {
			t.Errorf("line %s compared: %+v", l.Line, l)
		}
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "rcpt: 6 of 6 runs of A have no figures") {
		t.Errorf("warnings %q do not say why rcpt is missing", c.Warnings)
	}
}
