package main

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// A server that answers each pipelined group in one write, as Postfix does
// (sink --batch-replies), with 4 ms spent on every RCPT: with the defaults
// each phase's p50 is within 1.5 ms of the truth in both pipelining modes
// that pipeline by default, because the phases come from the messages sent
// lock-step; the batching is counted and said. Without lock-step samples
// rcpt has no figures rather than wrong ones, and a server that writes its
// delayed replies apart keeps its pipelined figures.
func TestBatchedRepliesPhases(t *testing.T) {
	const rcptMS = 4.0
	truth := map[string]float64{"mail": 0, "rcpt": rcptMS, "data": 0, "body": 0}
	batching := startSinkProcess(t, "--delay", "rcpt=4ms", "--batch-replies")
	apart := startSinkProcess(t, "--delay", "rcpt=4ms")

	checkPhases := func(t *testing.T, r *benchRun, wantSource string) {
		t.Helper()
		if r.Code != 0 || r.Report.Totals.MessagesOK == 0 {
			t.Fatalf("%s: %d ok\n%s", r, r.Report.Totals.MessagesOK, r.Stderr)
		}
		for phase, want := range truth {
			s := r.Report.Phases[phase]
			src := r.Report.PhaseSources[phase]
			if s.Count == 0 || math.Abs(s.P50MS-want) > 1.5 {
				t.Errorf("%s: %s p50 %.3f ms over %d replies (source %+v), want %.1f ± 1.5 ms", r, phase, s.P50MS, s.Count, src, want)
			}
		}
		for _, phase := range []string{"mail", "rcpt", "data"} {
			if got := r.Report.PhaseSources[phase].Source; got != wantSource {
				t.Errorf("%s: phase_sources.%s = %q, want %q", r, phase, got, wantSource)
			}
		}
	}

	for _, mode := range []string{"auto", "groups"} {
		t.Run("batching/"+mode, func(t *testing.T) {
			r := runBench(t, "-c", "4", "-n", "800", "--timeout", "10s", "--pipelining", mode, batching)
			checkPhases(t, r, report.SourceLockstep)
			if p := r.Report.Pipelining; len(p) != 1 || p[0].Groups < 400 || p[0].BatchedPct < 90 {
				t.Errorf("%s: pipelining %+v: want most of the groups counted as answered together", r, p)
			}
		})
	}

	t.Run("batching/no-lockstep", func(t *testing.T) {
		r := runBenchTable(t, "-c", "4", "-n", "400", "--timeout", "10s", "--lockstep-every", "0", batching)
		if r.Code != 0 {
			t.Fatalf("%s\n%s", r, r.Stderr)
		}
		for _, phase := range []string{"mail", "rcpt", "data"} {
			if s, src := r.Report.Phases[phase], r.Report.PhaseSources[phase]; s.Count != 0 || src.Source != report.SourceUnattributed || src.Replies == 0 {
				t.Errorf("%s: %s has %d figures, source %+v: want none, unattributed", r, phase, s.Count, src)
			}
		}
		if !regexp.MustCompile(`(?m)^\s+rcpt\s+-\s*$`).MatchString(r.Stdout) || !strings.Contains(r.Stdout, "not measured apart") {
			t.Errorf("%s: the table does not show rcpt as not measured apart:\n%s", r, r.Stdout)
		}
		// A threshold on a phase that could not be timed cannot pass.
		th := runBench(t, "-c", "2", "-n", "100", "--timeout", "10s", "--lockstep-every", "0", "--max-p50", "rcpt=1s", batching)
		if th.Code != 1 || !strings.Contains(th.Stderr, "not measured apart") {
			t.Errorf("%s: a threshold on an unattributed rcpt: exit %d, stderr %s", th, th.Code, th.Stderr)
		}
	})

	t.Run("apart", func(t *testing.T) {
		r := runBench(t, "-c", "4", "-n", "400", "--timeout", "10s", "--pipelining", "groups", apart)
		checkPhases(t, r, report.SourcePipelined)
		if p := r.Report.Pipelining; len(p) != 1 || p[0].Groups == 0 || p[0].BatchedPct >= 100*session.BatchedShare {
			t.Errorf("%s: pipelining %+v: want groups counted, few answered together", r, p)
		}
	})
}
