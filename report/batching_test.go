package report

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/metricstest"
	"github.com/smtpbench/smtpbench/session"
)

// batchResult is a run of 100 messages with one recipient each whose RCPT
// took 5 ms: pipelined replies timed as a batching server makes them look
// (RCPT free) or as a server writing apart does (5 ms), and lock-step
// samples of the true 5 ms.
func batchResult(batched int64, pipelined time.Duration, lockstep int) *Result {
	return &Result{Target: "127.0.0.1:2525", StartedAt: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), Elapsed: time.Second,
		StopReason: "messages", Total: metricstest.Batched(pipelined, lockstep),
		Pipelining: []PipeliningOutcome{{Target: "127.0.0.1:2525", Mode: session.ModeGroups, Reason: "set to groups",
			Groups: 100 - int64(lockstep), Batched: batched}}}
}

func TestPhaseSources(t *testing.T) {
	for _, tc := range []struct {
		name         string
		res          *Result
		source       string
		rcptCount    int64
		rcptP50      float64 // ms; ignored without figures
		mailReplies  int64
		unattributed bool
	}{
		{"apart", batchResult(2, 5*time.Millisecond, 0), SourcePipelined, 100, 5, 100, false},
		{"batched, lock-step samples", batchResult(96, time.Microsecond, 4), SourceLockstep, 4, 5, 100, false},
		{"batched, no sample", batchResult(100, time.Microsecond, 0), SourceUnattributed, 0, 0, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := BuildJSON(tc.res)
			src, rcpt := j.PhaseSources["rcpt"], j.Phases["rcpt"]
			if src.Source != tc.source || rcpt.Count != tc.rcptCount || src.Timed != tc.rcptCount || src.Replies != 100 {
				t.Errorf("rcpt: source %+v, %d figures; want %s, %d of 100", src, rcpt.Count, tc.source, tc.rcptCount)
			}
			if tc.rcptCount > 0 && math.Abs(rcpt.P50MS-tc.rcptP50) > 0.05 {
				t.Errorf("rcpt p50 %.3f ms, want %.1f", rcpt.P50MS, tc.rcptP50)
			}
			if b := j.PhaseSources["body"]; b.Source != SourceOneByOne || j.Phases["body"].Count != 100 {
				t.Errorf("body (never pipelined here): %+v, %d figures", b, j.Phases["body"].Count)
			}
			if j.Replies["rcpt"]["250"] != 100 {
				t.Errorf("rcpt replies %v: every reply is counted whatever its timing", j.Replies["rcpt"])
			}
			if got := len(Unattributed(j)) > 0; got != tc.unattributed {
				t.Errorf("Unattributed = %v", Unattributed(j))
			}
			var table bytes.Buffer
			if err := WriteRunTable(&table, j); err != nil {
				t.Fatal(err)
			}
			wantRow := "rcpt      -"
			if got := strings.Contains(table.String(), wantRow); got != tc.unattributed {
				t.Errorf("table shows rcpt as %q: %v, want %v\n%s", wantRow, got, tc.unattributed, table.String())
			}
			if !strings.Contains(table.String(), "pipelined groups in one write") {
				t.Errorf("table does not give the share of groups answered together:\n%s", table.String())
			}
			var page bytes.Buffer
			if err := WriteHTML(&page, []*JSONReport{j}, []string{"run"}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(page.String(), "Where each phase") || !strings.Contains(page.String(), sourceWords(src)) {
				t.Errorf("HTML page lacks the phase sources")
			}
			th := UnattributedBreach(j, "rcpt")
			if (th != "") != tc.unattributed {
				t.Errorf("UnattributedBreach = %q", th)
			}
		})
	}
}

// Merged results add their groups and replies; a phase is attributed when
// any part's is.
func TestMergePhaseSources(t *testing.T) {
	a, b := BuildJSON(batchResult(96, time.Microsecond, 4)), BuildJSON(batchResult(100, time.Microsecond, 0))
	m, err := Merge([]*JSONReport{a, b}, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	if src := m.PhaseSources["rcpt"]; src.Source != SourceLockstep || src.Replies != 200 || src.Timed != 4 || m.Phases["rcpt"].Count != 4 {
		t.Errorf("merged rcpt: %+v, %d figures", src, m.Phases["rcpt"].Count)
	}
	if p := m.Pipelining; len(p) != 1 || p[0].Groups != 196 || p[0].GroupsBatched != 196 || p[0].BatchedPct != 100 {
		t.Errorf("merged pipelining %+v", p)
	}
}
