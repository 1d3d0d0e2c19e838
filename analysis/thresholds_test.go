package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/report"
)

// TestThresholdsRunRules checks the evaluator with run's rules, beside
// TestSLO's capacity rules on the same kind of run: only the message phase
// must have samples, no messages is not itself a breach, the minimum rate
// counts, and each breach is worded as run prints it.
func TestThresholdsRunRules(t *testing.T) {
	j := fakeRun("a:25", 400, 40, nil) // message p99 48 ms
	th := Thresholds{
		Latency:     []LatencyLimit{{"message", "p99", 40 * time.Millisecond}, {"rset", "p50", time.Second}, {"message", "p50", time.Second}},
		MaxErrorPct: 1, MinRate: 1e9,
	}
	j.Totals.MessagesFailed, j.Totals.MessagesAttempted = 20, 1020
	var got []string
	for _, b := range th.Check(j) {
		got = append(got, b.String())
	}
	want := []string{"p99 of message is 48.0 ms, above the limit of 40ms", "error rate is 1.96% (20 of 1020 messages), above the limit of 1%", "rate is "}
	if len(got) != len(want) {
		t.Fatalf("breaches %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("breach %d = %q, want it to start %q", i, got[i], want[i])
		}
	}
	if !strings.HasSuffix(got[2], "below the minimum of 1e+09") {
		t.Errorf("min rate breach %q", got[2])
	}

	// No message decided: the message limit cannot be shown met, yet the
	// error rate and a missing RSET are not breaches under run's rules.
	empty := fakeRun("a:25", 0, 0, nil)
	empty.Phases = map[string]report.Summary{}
	empty.Totals.MessagesAttempted = 0
	b := Thresholds{Latency: th.Latency[:2], MaxErrorPct: 1}.Check(empty)
	if len(b) != 1 || b[0].String() != "p99 of message: no samples to check against 40ms" {
		t.Errorf("empty run: %v", b)
	}
	b = Thresholds{Latency: th.Latency[:2], MaxErrorPct: 1, SamplesRequired: true, MessagesRequired: true}.Check(empty)
	if len(b) != 3 || b[2].Kind != BreachNoMessages {
		t.Errorf("empty run under SLO rules: %v", b)
	}
}
