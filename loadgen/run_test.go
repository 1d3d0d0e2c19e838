package loadgen

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

// startSink runs a built-in sink for the test and stops it at cleanup.
func startSink(t *testing.T, cfg sink.Config) *sink.Server {
	t.Helper()
	srv, err := sink.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

func testData(t *testing.T) []byte {
	t.Helper()
	return []byte("Subject: t\r\n\r\nhello\r\n.dot line\r\n.\r\n")
}

// runBounded runs cfg and fails the test if it does not end within limit.
func runBounded(t *testing.T, ctx context.Context, cfg Config, abort <-chan struct{}, limit time.Duration) *report.Result {
	t.Helper()
	type out struct {
		res *report.Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		res, err := Run(ctx, cfg, abort)
		ch <- out{res, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			t.Fatal(o.err)
		}
		return o.res
	case <-time.After(limit):
		t.Fatalf("run did not finish within %s", limit)
		return nil
	}
}

// checkInvariant asserts attempted = ok + rejected + failed and that every
// message the server accepted is counted ok exactly once.
func checkInvariant(t *testing.T, res *report.Result, srv *sink.Server) {
	t.Helper()
	tot := res.Total
	if res.WarmupTotals != nil {
		tot = metrics.NewRecorder(res.Open)
		tot.Merge(res.Total)
		tot.Merge(res.WarmupTotals)
	}
	if tot.Attempted != tot.OK+tot.Rejected+tot.Failed {
		t.Errorf("attempted %d != ok %d + rejected %d + failed %d", tot.Attempted, tot.OK, tot.Rejected, tot.Failed)
	}
	// The sink counts a message before its reply leaves, so give the last
	// replies a moment; the count can only grow towards ours.
	deadline := time.Now().Add(2 * time.Second)
	for srv.Accepted() != uint64(tot.OK) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := srv.Accepted(); got != uint64(tot.OK) {
		t.Errorf("server accepted %d, smtpbench counted %d ok", got, tot.OK)
	}
}

func TestRunCountsMatchServer(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		sink sink.Config
		// wantRejected, when >= 0, is the exact number of rejected messages.
		wantRejected int64
	}{
		{"pipelined reuse", Config{Concurrency: 8, Messages: 3000}, sink.Config{}, 0},
		{"no pipelining", Config{Concurrency: 8, Messages: 1000, Session: session.Options{Pipelining: session.PipeliningOff}}, sink.Config{}, 0},
		{"new connection per message", Config{Concurrency: 4, Messages: 300, PerConn: 1}, sink.Config{}, 0},
		{"three per connection", Config{Concurrency: 4, Messages: 301, PerConn: 3}, sink.Config{}, 0},
		{"several recipients", Config{Concurrency: 4, Messages: 500, Rcpts: 5}, sink.Config{}, 0},
		{"every rcpt rejected, DATA pipelined", Config{Concurrency: 2, Messages: 50},
			sink.Config{Reject: rejectAt(sink.StepRcpt, 100, 0)}, 50},
		{"half the recipients rejected", Config{Concurrency: 4, Messages: 400, Rcpts: 2},
			sink.Config{Reject: rejectAt(sink.StepRcpt, 50, 0)}, -1},
		{"mail rejected sometimes", Config{Concurrency: 4, Messages: 400},
			sink.Config{Reject: rejectAt(sink.StepMail, 10, 0)}, 40},
		{"body rejected sometimes", Config{Concurrency: 4, Messages: 400},
			sink.Config{Reject: rejectAt(sink.StepBody, 20, 451)}, 80},
		{"data rejected sometimes, no pipelining", Config{Concurrency: 4, Messages: 400, Session: session.Options{Pipelining: session.PipeliningOff}},
			sink.Config{Reject: rejectAt(sink.StepData, 25, 0)}, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSink(t, tc.sink)
			cfg := tc.cfg
			cfg.Target = srv.Addr()
			cfg.Data = testData(t)
			cfg.Session.Timeout = 5 * time.Second
			res := runBounded(t, context.Background(), cfg, nil, 60*time.Second)
			checkInvariant(t, res, srv)
			if res.Total.Attempted != cfg.Messages {
				t.Errorf("attempted %d, want %d", res.Total.Attempted, cfg.Messages)
			}
			if tc.wantRejected >= 0 && res.Total.Rejected != tc.wantRejected {
				t.Errorf("rejected %d, want %d (errors %v)", res.Total.Rejected, tc.wantRejected, res.Total.Errors)
			}
			if res.Total.Failed != 0 {
				t.Errorf("failed %d, want 0 (errors %v)", res.Total.Failed, res.Total.Errors)
			}
			if n := res.Total.Phases[session.PhaseMessage].TotalCount(); n != cfg.Messages {
				t.Errorf("message histogram holds %d samples, want %d", n, cfg.Messages)
			}
			if cfg.PerConn > 0 {
				want := int64(0)
				// Each worker opens ceil(its messages / per-conn) sessions;
				// at least the total over per-conn.
				want = (cfg.Messages + int64(cfg.PerConn) - 1) / int64(cfg.PerConn)
				if res.Total.Connections < want {
					t.Errorf("connections %d, want at least %d", res.Total.Connections, want)
				}
			}
		})
	}
}

func rejectAt(step sink.Step, pct float64, code int) (r [8]sink.Reject) {
	r[step] = sink.Reject{Percent: pct, Code: code}
	return r
}

func TestRunDurationAndStop(t *testing.T) {
	srv := startSink(t, sink.Config{})
	cfg := Config{Target: srv.Addr(), Concurrency: 4, Duration: 300 * time.Millisecond, Data: testData(t)}
	res := runBounded(t, context.Background(), cfg, nil, 10*time.Second)
	if res.StopReason != StopDuration {
		t.Errorf("stop reason %q, want %q", res.StopReason, StopDuration)
	}
	if res.Total.OK == 0 {
		t.Error("no messages in 300ms")
	}
	checkInvariant(t, res, srv)
	if len(res.Intervals) == 0 {
		t.Error("no intervals")
	}
	var sum int64
	for _, iv := range res.Intervals {
		sum += iv.OK
	}
	if sum != res.Total.OK {
		t.Errorf("intervals add up to %d ok, totals say %d", sum, res.Total.OK)
	}

	// A cancelled context stops the run gracefully and keeps what it measured.
	srv = startSink(t, sink.Config{})
	cfg.Target = srv.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	cfg.Duration = time.Hour
	res = runBounded(t, ctx, cfg, nil, 10*time.Second)
	if res.StopReason != StopSignal {
		t.Errorf("stop reason %q, want %q", res.StopReason, StopSignal)
	}
	if res.Total.OK == 0 || res.Total.Failed != 0 {
		t.Errorf("graceful stop: ok %d failed %d", res.Total.OK, res.Total.Failed)
	}
	checkInvariant(t, res, srv)
}

func TestRunAbortDropsStalledSessions(t *testing.T) {
	var d [8]time.Duration
	d[sink.StepBody] = 30 * time.Second
	srv := startSink(t, sink.Config{Delay: d})
	ctx, cancel := context.WithCancel(context.Background())
	abort := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { cancel() })
	time.AfterFunc(500*time.Millisecond, func() { close(abort) })
	cfg := Config{Target: srv.Addr(), Concurrency: 3, Duration: time.Hour, Data: testData(t), Grace: time.Hour}
	start := time.Now()
	res := runBounded(t, ctx, cfg, abort, 10*time.Second)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("abort took %s", el)
	}
	// Each session that got going has one message waiting for its
	// end-of-data reply and, pipelined behind it, the next one's envelope:
	// both fail as aborted, the second at MAIL. How many sessions got going
	// by the signal depends on the machine, so the counts are bounds.
	checkAllAborted(t, res, cfg.Concurrency, session.ClassAborted)
	checkInvariant(t, res, srv)
}

// checkAllAborted asserts that nothing was accepted and every message in
// flight, at most two per session, failed as class: in body, or at MAIL
// for an envelope pipelined behind a content.
func checkAllAborted(t *testing.T, res *report.Result, sessions int, class session.Class) {
	t.Helper()
	if res.Total.OK != 0 || res.Total.Failed < 1 || res.Total.Failed > int64(2*sessions) {
		t.Errorf("ok %d failed %d, want 0 and 1 to %d (at most two in flight per session)", res.Total.OK, res.Total.Failed, 2*sessions)
	}
	var body, mail int64
	for k, n := range res.Total.Errors {
		switch {
		case k.Class != class:
			t.Errorf("error %v x%d, want every one %v", k, n, class)
		case k.Phase == session.PhaseBody:
			body += n
		case k.Phase == session.PhaseMail:
			mail += n
		default:
			t.Errorf("aborted in %s x%d, want body or mail", k.Phase, n)
		}
	}
	if body+mail != res.Total.Failed || body > int64(sessions) || mail > body {
		t.Errorf("aborted %d in body and %d at mail for %d failed: want at most one of each per session, and no envelope ahead without a content", body, mail, res.Total.Failed)
	}
}

// TestRunGraceExpiryIsATimeout: when --grace runs out after the run's end
// the server had not answered in the time allowed: the messages dropped
// then fail as timeouts, and the warning does not speak of an abort (no
// one aborted the run).
func TestRunGraceExpiryIsATimeout(t *testing.T) {
	var d [8]time.Duration
	d[sink.StepBody] = 30 * time.Second
	srv := startSink(t, sink.Config{Delay: d})
	cfg := Config{Target: srv.Addr(), Concurrency: 2, Duration: 200 * time.Millisecond, Data: testData(t), Grace: 200 * time.Millisecond}
	start := time.Now()
	res := runBounded(t, context.Background(), cfg, nil, 10*time.Second)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the grace period of 200 ms took %s to end the run", el)
	}
	checkAllAborted(t, res, cfg.Concurrency, session.ClassTimeout)
	checkInvariant(t, res, srv)
	w := strings.Join(res.Warnings, "\n")
	if strings.Contains(w, "aborted") || !strings.Contains(w, "--grace 200ms ran out") {
		t.Errorf("warnings %q: want the grace that ran out, and no abort", w)
	}
}

func TestRunRefusedIsReported(t *testing.T) {
	srv := startSink(t, sink.Config{})
	addr := srv.Addr()
	srv.Close()
	cfg := Config{Target: addr, Concurrency: 4, Messages: 1000, Data: testData(t), Session: session.Options{Timeout: time.Second}}
	res := runBounded(t, context.Background(), cfg, nil, 10*time.Second)
	if res.StopReason != StopConnect {
		t.Errorf("stop reason %q, want %q", res.StopReason, StopConnect)
	}
	if res.Total.Connections != 0 || res.Total.OK != 0 {
		t.Errorf("connections %d ok %d", res.Total.Connections, res.Total.OK)
	}
	if res.Total.Attempted != res.Total.Failed {
		t.Errorf("attempted %d failed %d", res.Total.Attempted, res.Total.Failed)
	}
}

// TestOpenModelSeesStall is the coordinated-omission test: the server holds
// every reply for S seconds in the middle of a T-second run at a fixed rate.
// Messages due during the stall wait until it ends, so their latency from the
// due time is spread evenly over (0, S]; they are S/T of all messages, and the
// q-quantile of the run is S - (1-q)·T (see docs/load-models.md). The service time and a
// closed loop see only the few messages in flight when the stall began.
func TestOpenModelSeesStall(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 6 s")
	}
	const (
		runFor  = 3 * time.Second
		stall   = 500 * time.Millisecond
		stallAt = time.Second
		rate    = 300
	)
	srv := startSink(t, sink.Config{StallAt: stallAt, StallFor: stall})
	cfg := Config{Target: srv.Addr(), Concurrency: 4, Duration: runFor, Rate: rate, Data: testData(t)}
	res := runBounded(t, context.Background(), cfg, nil, 20*time.Second)
	checkInvariant(t, res, srv)
	p99 := time.Duration(res.Total.Phases[session.PhaseMessage].ValueAtQuantile(99)) * time.Microsecond
	want := stall - runFor/100 // S - (1-0.99)·T
	if p99 < want*7/10 || p99 > want*13/10 {
		t.Errorf("open-model message p99 %s, theory says about %s", p99, want)
	}
	svc := time.Duration(res.Total.Service.ValueAtQuantile(99)) * time.Microsecond
	if svc > stall/4 {
		t.Errorf("service-time p99 %s should stay far below the stall of %s", svc, stall)
	}
	// Only the schedule warning could blame the stall on the generator.
	// "woke late" measures how promptly this machine runs an idle worker,
	// which no server stall affects, and a loaded test machine can trip it.
	for _, w := range res.Warnings {
		if strings.Contains(w, "could not keep the rate") {
			t.Errorf("a server stall must not be blamed on the generator: %s", w)
		}
	}

	// The same stall under a closed loop: only the messages in flight wait.
	srv2 := startSink(t, sink.Config{StallAt: stallAt, StallFor: stall})
	cfg = Config{Target: srv2.Addr(), Concurrency: 4, Duration: runFor, Data: testData(t)}
	res = runBounded(t, context.Background(), cfg, nil, 20*time.Second)
	checkInvariant(t, res, srv2)
	closed := time.Duration(res.Total.Phases[session.PhaseMessage].ValueAtQuantile(99)) * time.Microsecond
	if closed > stall/4 {
		t.Errorf("closed-loop p99 %s: coordinated omission should hide the stall", closed)
	}
}

func TestOpenModelWarnsWhenBehind(t *testing.T) {
	srv := startSink(t, sink.Config{})
	// No machine sends a million messages a second through two sessions.
	for _, cfg := range []Config{
		{Concurrency: 2, Duration: 500 * time.Millisecond, Rate: 1e6},
		{Concurrency: 2, Messages: 3000, Rate: 1e6},
	} {
		cfg.Target, cfg.Data = srv.Addr(), testData(t)
		res := runBounded(t, context.Background(), cfg, nil, 20*time.Second)
		found := false
		for _, w := range res.Warnings {
			found = found || strings.Contains(w, "could not keep the rate")
		}
		if !found {
			t.Errorf("messages=%d: no lag warning; warnings %q", cfg.Messages, res.Warnings)
		}
		if res.Total.Lag.TotalCount() == 0 {
			t.Error("no start-lag samples")
		}
	}
}

func TestWarmupIsCountedApart(t *testing.T) {
	srv := startSink(t, sink.Config{})
	cfg := Config{Target: srv.Addr(), Concurrency: 2, Duration: 600 * time.Millisecond, Warmup: 300 * time.Millisecond, Data: testData(t)}
	res := runBounded(t, context.Background(), cfg, nil, 10*time.Second)
	if res.WarmupTotals == nil || res.WarmupTotals.OK == 0 || res.Total.OK == 0 {
		t.Fatalf("warm-up and main period should both have messages: %+v", res.WarmupTotals)
	}
	if n := res.Total.Phases[session.PhaseMessage].TotalCount(); n != res.Total.OK {
		t.Errorf("message histogram %d samples, main-period ok %d: warm-up leaked in", n, res.Total.OK)
	}
	checkInvariant(t, res, srv)
}

// TestPhaseLatencyIsServerShare checks that each phase reports the time the
// server spent on it, with and without pipelining: the sink takes 2 ms on
// MAIL, 5 ms on RCPT and 20 ms on the end of data. Pipelined, the next
// envelope goes out behind the content, so its clocks would otherwise start
// while the server is still on the previous message's 20 ms.
func TestPhaseLatencyIsServerShare(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 3 s")
	}
	var delay [8]time.Duration
	delay[sink.StepMail] = 2 * time.Millisecond
	delay[sink.StepRcpt] = 5 * time.Millisecond
	delay[sink.StepBody] = 20 * time.Millisecond
	want := map[session.Phase]time.Duration{
		session.PhaseMail: 2 * time.Millisecond, session.PhaseRcpt: 5 * time.Millisecond,
		session.PhaseBody: 20 * time.Millisecond, session.PhaseMessage: 27 * time.Millisecond,
	}
	for _, mode := range []session.Pipelining{session.PipeliningOn, session.PipeliningOff} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := startSink(t, sink.Config{Delay: delay})
			cfg := Config{Target: srv.Addr(), Concurrency: 4, Messages: 200, Data: testData(t)}
			cfg.Session.Pipelining = mode
			res := runBounded(t, context.Background(), cfg, nil, 30*time.Second)
			checkInvariant(t, res, srv)
			// The sink writes a delayed reply apart from those before it,
			// so pipelined replies are each command's own time.
			if src := report.Figures(res).PhaseSources["rcpt"].Source; mode == session.PipeliningOn && src != report.SourcePipelined {
				t.Errorf("rcpt figures from %q, want %q", src, report.SourcePipelined)
			}
			for p, d := range want {
				// A sleep is never short, and on loopback the rest of the
				// round trip is well under a millisecond. The sink shares
				// this (race-instrumented) process, so the bounds are wider
				// than cmd/smtpbench's test against a sink of its own; the
				// old attribution gave RCPT about 28 ms pipelined.
				slack := 3 * time.Millisecond
				if p == session.PhaseMessage {
					slack = 5 * time.Millisecond
				}
				// The lower bound holds only for body, timed from our own
				// write: the others start at the previous reply's arrival
				// as this process saw it, and on a loaded machine a late
				// read of that one shortens them (cmd/smtpbench checks
				// both bounds against a sink in its own process).
				got := time.Duration(report.Figures(res).Phases[p.String()].P50MS * float64(time.Millisecond))
				lo := d
				if p != session.PhaseBody {
					lo = 0
				}
				if got < lo || got > d+slack {
					t.Errorf("%s p50 %s, want %s to %s", p, got, lo, d+slack)
				}
			}
		})
	}
}

// TestWarmupBoundaryIsExact checks that with pipelining, where the next
// message's envelope is answered while the current one finishes, every
// phase sample lands on the same side of the warm-up's end as its message.
func TestWarmupBoundaryIsExact(t *testing.T) {
	var delay [8]time.Duration
	delay[sink.StepBody] = time.Millisecond
	srv := startSink(t, sink.Config{Delay: delay})
	cfg := Config{Target: srv.Addr(), Concurrency: 3, Duration: 600 * time.Millisecond, Warmup: 300 * time.Millisecond, Data: testData(t)}
	cfg.Session.Pipelining = session.PipeliningOn
	res := runBounded(t, context.Background(), cfg, nil, 10*time.Second)
	for _, r := range []*metrics.Recorder{res.Total, res.WarmupTotals} {
		if r == nil || r.OK == 0 {
			t.Fatal("warm-up and main period should both have messages")
		}
		for _, p := range []session.Phase{session.PhaseMail, session.PhaseRcpt, session.PhaseData, session.PhaseBody, session.PhaseMessage} {
			n := r.Phases[p].TotalCount()
			if h := r.Pipelined[p]; h != nil {
				n += h.TotalCount() // replies to pipelined commands are kept apart
			}
			// An envelope pipelined ahead when -d ran out was answered but
			// its message abandoned (not attempted): its MAIL, RCPT and
			// DATA replies are real and counted, its content never sent.
			want := r.Attempted
			if p != session.PhaseBody && p != session.PhaseMessage && n == want+r.Abandoned {
				want = n
			}
			if n != want {
				t.Errorf("%s: %d samples for %d messages (%d abandoned)", p, n, r.Attempted, r.Abandoned)
			}
		}
	}
	checkInvariant(t, res, srv)
}

func TestPacerDue(t *testing.T) {
	p := ConstantPacer{Rate: 100}
	if d := p.Due(100); d != time.Second {
		t.Errorf("constant: message 100 due at %s, want 1s", d)
	}
	r := ConstantPacer{Rate: 100, Ramp: 2 * time.Second}
	// Over a 2 s ramp to 100/s, 100 messages are sent (area of the triangle).
	if d := r.Due(100); d < 1990*time.Millisecond || d > 2010*time.Millisecond {
		t.Errorf("ramp: message 100 due at %s, want 2s", d)
	}
	if d := r.Due(200); d < 2990*time.Millisecond || d > 3010*time.Millisecond {
		t.Errorf("ramp: message 200 due at %s, want 3s", d)
	}
	pp := NewPoissonPacer(1000, 0, 7)
	last := pp.Due(9999)
	if last < 9*time.Second || last > 11*time.Second {
		t.Errorf("poisson: 10000 messages at 1000/s end at %s", last)
	}
	for i := uint64(1); i < 1000; i++ {
		if pp.Due(i) < pp.Due(i-1) {
			t.Fatalf("poisson schedule goes backwards at %d", i)
		}
	}
	// Message 0: at once on the constant schedule, after a first gap on
	// the Poisson one; DueBy counts accordingly.
	if p.Due(0) != 0 || p.DueBy(0) != 1 || p.DueBy(time.Second) != 101 {
		t.Errorf("constant: Due(0) %s, DueBy(0) %g, DueBy(1s) %g; want 0, 1, 101", p.Due(0), p.DueBy(0), p.DueBy(time.Second))
	}
	if pp.Due(0) <= 0 || pp.DueBy(0) != 0 || pp.DueBy(time.Second) != 1000 || pp.ExpectedDue(0) != time.Millisecond {
		t.Errorf("poisson: Due(0) %s, DueBy(0) %g, DueBy(1s) %g, ExpectedDue(0) %s; want >0, 0, 1000, 1ms",
			pp.Due(0), pp.DueBy(0), pp.DueBy(time.Second), pp.ExpectedDue(0))
	}
}

// TestIdle421IsNotChargedToAMessage: a server that closes idle sessions
// with 421 between two messages must cost a reconnect, not a message.
func TestIdle421IsNotChargedToAMessage(t *testing.T) {
	srv := startSink(t, sink.Config{IdleTimeout: 150 * time.Millisecond})
	cfg := Config{Target: srv.Addr(), Concurrency: 1, Messages: 3, Rate: 2, Data: testData(t)}
	res := runBounded(t, context.Background(), cfg, nil, 10*time.Second)
	checkInvariant(t, res, srv)
	if res.Total.OK != 3 || res.Total.Failed != 0 {
		t.Errorf("ok %d failed %d (errors %v), want 3 and 0", res.Total.OK, res.Total.Failed, res.Total.Errors)
	}
	if res.Total.IdleCloses != 2 || res.Total.Connections != 3 {
		t.Errorf("idle closes %d, connections %d; want 2 and 3", res.Total.IdleCloses, res.Total.Connections)
	}
}

// TestIntervalsAddUpWhenWorkersSleep: with every worker asleep between
// messages, the current second must stay open for them.
func TestIntervalsAddUpWhenWorkersSleep(t *testing.T) {
	srv := startSink(t, sink.Config{})
	cfg := Config{Target: srv.Addr(), Concurrency: 1, Duration: 2600 * time.Millisecond, Rate: 2, Data: testData(t)}
	res := runBounded(t, context.Background(), cfg, nil, 10*time.Second)
	var sum int64
	for _, iv := range res.Intervals {
		sum += iv.OK
	}
	if sum != res.Total.OK || res.Total.OK != 6 {
		t.Errorf("intervals add up to %d, totals %d ok (want 6): %+v", sum, res.Total.OK, res.Intervals)
	}
	if res.StopReason != StopDuration {
		t.Errorf("stop reason %q, want %q", res.StopReason, StopDuration)
	}
}

// TestOpenModelDeadTargetStops: at a low rate workers dial one by one; the
// run must still give up after the first few refusals.
func TestOpenModelDeadTargetStops(t *testing.T) {
	srv := startSink(t, sink.Config{})
	addr := srv.Addr()
	srv.Stop()
	cfg := Config{Target: addr, Concurrency: 20, Duration: 10 * time.Second, Rate: 10, Data: testData(t)}
	start := time.Now()
	res := runBounded(t, context.Background(), cfg, nil, 20*time.Second)
	if res.StopReason != StopConnect || time.Since(start) > 3*time.Second {
		t.Errorf("stop %q after %s, want %q within a few messages", res.StopReason, time.Since(start), StopConnect)
	}
}

// TestCountEndsRampAndStages: a closed loop bounded by -n ends when its
// last message is decided, not when the workers still waiting for their
// turn in a ramp or a stage would have joined (it once waited 3 s for a
// 4 s ramp, and reported the wait as time in flight).
func TestCountEndsRampAndStages(t *testing.T) {
	srv := startSink(t, sink.Config{})
	for _, tc := range []struct {
		name   string
		ramp   time.Duration
		stages []Stage
	}{
		{"ramp", 4 * time.Second, nil},
		{"stages", 0, []Stage{{Duration: 0, Target: 1}, {Duration: 8 * time.Second, Target: 1}, {Duration: 0, Target: 4}}},
	} {
		cfg := Config{Target: srv.Addr(), Concurrency: 4, Messages: 10, Ramp: tc.ramp, Stages: tc.stages}
		res := runBounded(t, context.Background(), cfg, nil, 20*time.Second)
		if res.Total.OK != 10 || res.Elapsed > 2*time.Second {
			t.Errorf("%s: %d ok in %s; want 10 in well under the ramp's or stages' length", tc.name, res.Total.OK, res.Elapsed)
		}
	}
}

// TestGraceDropCountsHeldMessages: a server that stalls until after the
// run's end holds a message on each session; when --grace runs out the run
// drops those connections, and the messages must count as failed by
// timeout, not vanish, nor the drop pass for the server ending its
// sessions. In the open model and in the closed loop, whose sessions each
// carried messages before the stall (so a close at MAIL could be mistaken
// for the server's limit of messages per session).
func TestGraceDropCountsHeldMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 3 s")
	}
	for _, rate := range []float64{100, 0} {
		srv := startSink(t, sink.Config{StallAt: 400 * time.Millisecond, StallFor: time.Minute})
		cfg := Config{Target: srv.Addr(), Concurrency: 4, Duration: 800 * time.Millisecond, Rate: rate,
			Data: testData(t), Grace: 200 * time.Millisecond}
		res := runBounded(t, context.Background(), cfg, nil, 10*time.Second)
		// Not checkInvariant: the sink counts a message before its held
		// reply, which never leaves.
		if tot := res.Total; tot.Attempted != tot.OK+tot.Rejected+tot.Failed {
			t.Errorf("rate %g: attempted %d != ok %d + rejected %d + failed %d", rate, tot.Attempted, tot.OK, tot.Rejected, tot.Failed)
		}
		var timeouts int64
		for k, n := range res.Total.Errors {
			if k.Class == session.ClassTimeout {
				timeouts += n
			}
		}
		if res.Total.OK == 0 || timeouts == 0 || timeouts != res.Total.Failed {
			t.Errorf("rate %g: ok %d, failed %d, of which %d timeouts (errors %v); want some ok and every failure a timeout",
				rate, res.Total.OK, res.Total.Failed, timeouts, res.Total.Errors)
		}
		if e := res.Total.Ended; e.Sessions != 0 {
			t.Errorf("rate %g: %d sessions counted as ended by the server (%q); smtpbench dropped them", rate, e.Sessions, e.Text)
		}
	}
}

// TestDueByEndsBeforeDuration: a message due at exactly -d is not part of
// the run (claim refuses it), so it must not count as due and not started:
// --rate 1 -d 5s sends messages 0 to 4 and warned "5 of 6 due messages
// started".
func TestDueByEndsBeforeDuration(t *testing.T) {
	r := &run{cfg: Config{Duration: 5 * time.Second}, pacer: ConstantPacer{Rate: 1}}
	for _, c := range []struct {
		at   time.Duration
		want int64
	}{{2500 * time.Millisecond, 3}, {5 * time.Second, 5}, {6 * time.Second, 5}} {
		if got := r.dueBy(c.at); got != c.want {
			t.Errorf("dueBy(%s) = %d, want %d", c.at, got, c.want)
		}
	}
}
