package main

// End-to-end tests of sweep, ab and compare: built-in sinks in their own
// processes (so the server under test never shares the Go runtime of the
// load), and smtpbench run as the built binary, as a user runs it. The
// tests run in parallel with one another; each is bounded by -d, --rounds
// or --probes and by a watchdog, and they assert ranges and verdicts, never
// timings.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/sink"
)

// analysisWatchdog bounds one smtpbench command of these tests.
const analysisWatchdog = 2 * time.Minute

// startSinkProcess runs "smtpbench sink" with args on a free loopback port
// in its own process, stopped when the test ends; it returns the address.
func startSinkProcess(t *testing.T, args ...string) string {
	t.Helper()
	var addr string
	startOnFreePorts(t, buildBinary(t), func() []string {
		addr = freeAddr(t)
		return append([]string{"sink", "--listen", addr}, args...)
	})
	return addr
}

// smtpbenchCmd runs the built smtpbench with args and returns its exit code,
// stdout and stderr. A command still running at the watchdog is killed (by
// its PID) and fails the test.
func smtpbenchCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), analysisWatchdog)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("smtpbench %s did not finish within %s\nstderr: %s", strings.Join(args, " "), analysisWatchdog, errb.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("smtpbench %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func readSaved(t *testing.T, name string) *report.Document {
	t.Helper()
	d, err := report.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// lineVerdicts maps each line of a comparison to its verdict.
func lineVerdicts(c *report.Comparison) map[string]string {
	m := map[string]string{}
	for _, l := range c.Lines {
		m[l.Line] = l.Verdict
	}
	return m
}

// TestABFindsTheSlowerSink: B spends 15 ms on each message's content where
// A spends 10 ms, so B has about 50% more message latency and a third fewer
// messages/s, which ab must call significant; then compare, reading the
// saved file, must agree and apply --fail-if-slower the same way.
//
// It runs once, with no second try. Ten rounds a side give a smallest
// Mann–Whitney p of 1.1e-5, far below alpha 0.05 after Holm's adjustment
// for the lines tested; a third fewer messages/s puts all ten B runs below
// all ten A runs unless a single run loses a third of its messages to
// stalls of the machine, and then one overlap still leaves p near 2e-5.
// The latency medians move even less between runs. We estimate the chance
// of a false failure below one in a thousand.
func TestABFindsTheSlowerSink(t *testing.T) {
	t.Parallel()
	a := startSinkProcess(t, "--delay", "body=10ms")
	b := startSinkProcess(t, "--delay", "body=15ms")
	const rounds = 10
	out := filepath.Join(t.TempDir(), "ab.json")
	code, stdout, stderr := smtpbenchCmd(t, "ab", "-c", "4", "-d", "600ms", "--warmup", "200ms", "--rounds", strconv.Itoa(rounds),
		"--timeout", "5s", "--out", out, "--fail-if-slower", "5", a, b)
	d := readSaved(t, out)
	if d.Kind != report.KindAB || d.AB.Completed != rounds || len(d.Runs) != 2*rounds || d.Comparison == nil {
		t.Fatalf("ab document: kind %q, %+v, %d runs", d.Kind, d.AB, len(d.Runs))
	}
	for i, r := range d.Runs {
		if want := "AB"[i%2 : i%2+1]; r.Label != want || r.Round != i/2+1 {
			t.Errorf("run %d is %s of round %d, want %s of round %d: rounds must alternate A B A B", i, r.Label, r.Round, want, i/2+1)
		}
		if r.Phases["body"].HDR == "" || r.Totals.MessagesOK == 0 {
			t.Errorf("run %d has no histogram or no messages", i)
		}
	}
	c := d.Comparison
	if c.Samples != report.SamplesRuns || c.A.Runs != rounds || c.B.Runs != rounds {
		t.Errorf("samples %q from %d+%d runs, want one per run from %d+%d", c.Samples, c.A.Runs, c.B.Runs, rounds, rounds)
	}
	v := lineVerdicts(c)
	// The lines the end-of-data delay drives must never call B faster.
	// Others may, truthfully: a slower B sends fewer messages a second,
	// loads the shared CPUs less, and the microsecond tails of its other
	// phases (mail p99, say) can come out shorter.
	for _, line := range []string{"messages/s", "body:p50", "body:p99", "message:p50", "message:p99"} {
		if v[line] == report.VerdictBetter {
			t.Fatalf("B is called faster on %s:\n%s", line, stdout)
		}
	}
	for _, line := range []string{"messages/s", "body:p50", "message:p50"} {
		if v[line] != report.VerdictWorse {
			t.Fatalf("%s: verdict %q, want worse (significant)\n%s", line, v[line], stdout)
		}
	}
	if code != exitRun || !strings.Contains(stderr, "B is slower than A on messages/s") {
		t.Errorf("ab --fail-if-slower 5: exit %d, stderr %q; want 1 and the breach named", code, stderr)
	}
	for _, want := range []string{"B slower", "body p50 (ms)", "message p50 (ms)", "verdict: B is slower"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if l, _ := c.Line("body:p50"); l.ChangePct == nil || *l.ChangePct < 35 || *l.ChangePct > 65 {
		t.Errorf("body p50 change %v, want about +50%%", l.ChangePct)
	}

	// compare re-reads the file and reaches the same verdicts.
	code, stdout, stderr = smtpbenchCmd(t, "compare", "-o", "json", out)
	var c2 report.Comparison
	if err := json.Unmarshal([]byte(stdout), &c2); code != exitOK || err != nil {
		t.Fatalf("compare -o json: exit %d, %v, stderr %s", code, err, stderr)
	}
	for line, verdict := range v {
		if got := lineVerdicts(&c2)[line]; got != verdict {
			t.Errorf("compare says %s for %s, ab said %s", got, line, verdict)
		}
	}
	if code, _, stderr = smtpbenchCmd(t, "compare", "--fail-if-slower", "90", out); code != exitOK {
		t.Errorf("compare --fail-if-slower 90: exit %d (%s), want 0: the change is below 90%%", code, stderr)
	}
	code, _, stderr = smtpbenchCmd(t, "compare", "--fail-if-slower", "body:p50=10", out+"#A", out+"#B")
	if code != exitRun || !strings.Contains(stderr, "on body:p50") {
		t.Errorf("compare --fail-if-slower body:p50=10 FILE#A FILE#B: exit %d, stderr %q; want 1", code, stderr)
	}
}

// TestABIdenticalSinks: two sinks alike in every way. ab must find no
// significant difference on any line, so that a tool that raises false
// alarms shows it. Holm's adjustment holds the chance of any false alarm
// in one run of ab at alpha, here 0.0005: below one in a thousand. Ten
// rounds still let a real difference show (the smallest p with 10+10
// samples, 1.1e-5, stays below alpha after the adjustment for up to 40
// lines), which the test checks through ab's own warning.
func TestABIdenticalSinks(t *testing.T) {
	t.Parallel()
	a := startSinkProcess(t, "--delay", "body=10ms")
	b := startSinkProcess(t, "--delay", "body=10ms")
	out := filepath.Join(t.TempDir(), "ab.json")
	code, stdout, stderr := smtpbenchCmd(t, "ab", "-c", "4", "-d", "400ms", "--warmup", "200ms", "--rounds", "10", "--alpha", "0.0005",
		"--timeout", "5s", "--out", out, "--fail-if-slower", "0", a, b)
	if code != exitOK {
		t.Errorf("exit %d, stderr %q: identical sinks must not fail --fail-if-slower 0", code, stderr)
	}
	c := readSaved(t, out).Comparison
	if c.LinesTested < 5 {
		t.Errorf("only %d lines tested", c.LinesTested)
	}
	for _, w := range c.Warnings {
		if strings.Contains(w, "no line can show") {
			t.Errorf("the test cannot fail: %s", w)
		}
	}
	for _, l := range c.Lines {
		if l.Significant() {
			t.Errorf("identical sinks differ on %s (%s, p=%.4f)\n%s", l.Line, l.Verdict, *l.P, stdout)
		}
	}
	if !strings.Contains(stdout, "verdict: no significant difference") {
		t.Errorf("table verdict:\n%s", stdout)
	}
}

// TestCompareSavedRuns compares two saved single runs: the samples are their
// seconds, the table says so, and the 10 ms vs 12 ms sinks still tell apart.
func TestCompareSavedRuns(t *testing.T) {
	t.Parallel()
	a := startSinkProcess(t, "--delay", "body=10ms")
	b := startSinkProcess(t, "--delay", "body=12ms")
	dir := t.TempDir()
	done := make(chan struct{}, 2)
	for _, s := range []struct{ addr, file string }{{a, "a.json"}, {b, "b.json"}} {
		go func() {
			defer func() { done <- struct{}{} }()
			if code, _, stderr := smtpbenchCmd(t, "run", "-c", "4", "-d", "5s", "--timeout", "5s", "-o", "json", "--out", filepath.Join(dir, s.file), s.addr); code != exitOK {
				t.Errorf("run against %s: exit %d, %s", s.addr, code, stderr)
			}
		}()
	}
	<-done
	<-done
	code, stdout, stderr := smtpbenchCmd(t, "compare", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"))
	if code != exitOK {
		t.Fatalf("compare: exit %d, %s", code, stderr)
	}
	for _, want := range []string{"one sample per second", "B slower", "\"not tested\": a line with no per-second samples"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("compare of two single runs lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = smtpbenchCmd(t, "compare", "-o", "json", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"))
	var c report.Comparison
	if err := json.Unmarshal([]byte(stdout), &c); code != exitOK || err != nil {
		t.Fatalf("compare -o json: %d, %v", code, err)
	}
	if v := lineVerdicts(&c); c.Samples != report.SamplesIntervals || v["message:p50"] != report.VerdictWorse || v["body:p50"] != report.VerdictUntested {
		t.Errorf("samples %q, verdicts %v", c.Samples, v)
	}
}

// sweepDoc runs a sweep with --out and returns its document.
func sweepDoc(t *testing.T, args ...string) *report.Document {
	t.Helper()
	out := filepath.Join(t.TempDir(), "sweep.json")
	code, stdout, stderr := smtpbenchCmd(t, append([]string{"sweep", "--timeout", "5s", "--out", out}, args...)...)
	if code != exitOK {
		t.Fatalf("sweep %q: exit %d, stderr %s\n%s", args, code, stderr, stdout)
	}
	d := readSaved(t, out)
	if d.Kind != report.KindSweep || d.Sweep == nil || len(d.Sweep.Steps) != len(d.Runs) {
		t.Fatalf("sweep document: kind %q, %d steps, %d runs", d.Kind, len(d.Sweep.Steps), len(d.Runs))
	}
	for i, r := range d.Runs {
		if r.Label != d.Sweep.Steps[i].Label || r.Phases["message"].HDR == "" || r.Totals.MessagesOK == 0 {
			t.Fatalf("run %d: label %q, want %q, with messages and histograms", i, r.Label, d.Sweep.Steps[i].Label)
		}
	}
	t.Logf("sweep %s:\n%s", strings.Join(args, " "), stdout)
	return d
}

// TestSweep runs its three sweeps one after another, not in parallel with
// each other: each loads the machine far more than the ab tests (up to
// 3200 messages/s), and two at once would measure each other.
func TestSweep(t *testing.T) {
	t.Parallel()
	t.Run("linear", testSweepLinear)
	t.Run("knee", testSweepKnee)
	t.Run("capacity", testCapacitySearch)
}

// The sweeps below run once each, with no second try: the sinks serve at
// most 400 messages/s, a load a busy 2-core machine keeps, and each bound is
// several times wider than the scatter seen between runs of a step there
// (a few percent), so we estimate a false failure below one in a thousand.

// testSweepLinear: against a sink that spends 20 ms per message on each
// session, throughput grows with the sessions: each step from 60% to 115%
// of C / 20 ms. The sink's delay makes the upper bound firm; the lower one
// leaves room for 0.8 s of stalls in a step of 2 s, more than the worst
// seen with the machine's load average at 15 (a 255 ms p99).
func testSweepLinear(t *testing.T) {
	addr := startSinkProcess(t, "--delay", "body=20ms")
	d := sweepDoc(t, "-c", "1,2,4,8", "-d", "2s", "--warmup", "300ms", addr)
	if len(d.Sweep.Steps) != 4 {
		t.Fatalf("%d steps, want 4", len(d.Sweep.Steps))
	}
	for _, s := range d.Sweep.Steps {
		want := float64(s.Concurrency) / 0.020
		if s.MessagesPerS < 0.6*want || s.MessagesPerS > 1.15*want || s.Errors != 0 {
			t.Errorf("%s: %.1f messages/s (%d errors), want 60%% to 115%% of %.0f and no errors", s.Label, s.MessagesPerS, s.Errors, want)
		}
	}
}

// testSweepKnee: a sink whose end-of-data work goes through 4 workers of
// 20 ms serves at most 200 messages/s, so the sweep's knee is at 4
// sessions, give or take a step.
func testSweepKnee(t *testing.T) {
	addr := startSinkProcess(t, "--delay", "body=20ms", "--workers", "4")
	d := sweepDoc(t, "-c", "1,2,4,8,16", "-d", "1s", "--warmup", "300ms", addr)
	if last := d.Sweep.Steps[len(d.Sweep.Steps)-1]; last.MessagesPerS > 200*1.1 {
		t.Fatalf("16 sessions got %.0f messages/s from a sink that serves 200 at most", last.MessagesPerS)
	}
	if k := d.Sweep.Knee; k == nil || k.Value < 2 || k.Value > 8 {
		t.Errorf("knee %+v, want 4 sessions (2 to 8)", k)
	}
}

// testCapacitySearch: against the same 200 messages/s sink, the capacity
// search finds a rate within 15% of 200. The objective is on the median:
// below capacity the message p50 is the 20 ms of a worker, above it the
// backlog grows by every message over 200 a second and the median follows
// within a probe. A p99 objective would be at the mercy of one stall of a
// busy machine in a probe of 1 s.
func testCapacitySearch(t *testing.T) {
	addr := startSinkProcess(t, "--delay", "body=20ms", "--workers", "4")
	d := sweepDoc(t, "--slo", "message:p50=80ms", "--rate-max", "500", "-c", "32", "-d", "1s", "--warmup", "300ms", "--probes", "8", addr)
	q := d.Sweep.Search
	if q == nil || q.Method != "bisection" || len(d.Sweep.Steps) > 8 || d.Sweep.Steps[0].Rate != 500 {
		t.Fatalf("search %+v with %d probes, first at %g", q, len(d.Sweep.Steps), d.Sweep.Steps[0].Rate)
	}
	for _, s := range d.Sweep.Steps {
		if s.SLOMet == nil || *s.SLOMet != (s.Rate <= q.Capacity) {
			t.Errorf("probe at %g: met %v, capacity %g", s.Rate, s.SLOMet, q.Capacity)
		}
	}
	if q.Capacity < 170 || q.Capacity > 230 {
		t.Errorf("capacity %g (failed at %g), want 200 ± 15%%", q.Capacity, q.FailedAt)
	}
}

// TestAnalysisUsageErrors: the new commands' bad command lines exit 2 with
// one line, without running anything.
func TestAnalysisUsageErrors(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "x.json")
	os.WriteFile(notJSON, []byte("hello"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sweep", "-c", "1,2"}, exitUsage, "want one target"},
		{[]string{"sweep", "-c", "4,2", "h:25"}, exitUsage, "values must increase"},
		{[]string{"sweep", "-c", "1..8x1", "h:25"}, exitUsage, "factor must be above 1"},
		{[]string{"sweep", "-c", "1..1000+1", "h:25"}, exitUsage, "more than 100 steps"},
		{[]string{"sweep", "-c", "1.5", "h:25"}, exitUsage, "whole number"},
		{[]string{"sweep", "--rate", "100..50+10", "h:25"}, exitUsage, "end is below the start"},
		{[]string{"sweep", "-c", "1,2", "--rate", "100", "h:25"}, exitUsage, "varies one thing"},
		{[]string{"sweep", "--slo", "message:p99=50ms", "h:25"}, exitUsage, "--rate-max"},
		{[]string{"sweep", "--slo", "message=50ms", "--rate-max", "100", "h:25"}, exitUsage, "PHASE:pNN=DURATION"},
		{[]string{"sweep", "--slo", "message:p99=50ms", "--rate-max", "100", "--rate", "5", "h:25"}, exitUsage, "exclude each other"},
		{[]string{"sweep", "--probes", "3", "h:25"}, exitUsage, "capacity search"},
		{[]string{"sweep", "-o", "xml", "h:25"}, exitUsage, "--output"},
		{[]string{"ab", "h:25"}, exitUsage, "want two targets"},
		{[]string{"ab", "--rounds", "0", "a:25", "b:25"}, exitUsage, "--rounds"},
		{[]string{"ab", "--alpha", "2", "a:25", "b:25"}, exitUsage, "--alpha"},
		{[]string{"ab", "--fail-if-slower", "fast", "a:25", "b:25"}, exitUsage, "--fail-if-slower"},
		{[]string{"ab", "--fail-if-slower", "nophase:p99=5", "a:25", "b:25"}, exitUsage, "unknown phase"},
		{[]string{"compare"}, exitUsage, "want one ab file or two"},
		{[]string{"compare", filepath.Join(dir, "missing.json"), notJSON}, exitRun, "missing.json"},
		{[]string{"compare", notJSON, notJSON}, exitRun, "not a JSON document"},
		{[]string{"sink", "--workers", "4"}, exitUsage, "--workers needs --delay body"},
		{[]string{"sink", "--workers", "-1", "--delay", "body=1ms"}, exitUsage, "--workers"},
	}
	for _, c := range cases {
		code, _, stderr := cliRun(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, stderr, c.code, c.want)
		}
	}
	for _, cmd := range []string{"sweep", "ab", "compare"} {
		code, out, _ := cliRun(t, cmd, "--help")
		if code != exitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "smtpbench "+cmd+" ") {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, out)
		}
	}
}

// TestCompareLabels: compare picks runs by FILE#LABEL and says what a file
// holds when the choice is ambiguous or wrong. The files are written here,
// so nothing runs.
func TestCompareLabels(t *testing.T) {
	dir := t.TempDir()
	fake := func(rate float64) *report.JSONReport {
		// A histogram to match the count: reading refuses one without.
		h := metrics.NewHistogram()
		for i := range 100 {
			metrics.RecordDuration(h, time.Millisecond+time.Duration(i)*10*time.Microsecond)
		}
		j := &report.JSONReport{Schema: report.Schema, Target: "127.0.0.1:2525", LoadModel: "closed", ElapsedS: 6,
			Config: report.RunConfig{DurationS: 6}, Totals: report.Totals{MessagesAttempted: 100, MessagesOK: 100, MessagesPerS: rate},
			Phases: map[string]report.Summary{"message": report.Summarize(h)}}
		for s := range 6 {
			j.Intervals = append(j.Intervals, report.JSONInterval{T: s, OK: 10, MessagesPerS: rate + float64(s), P50MS: 1, P99MS: 2})
		}
		return j
	}
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sweep := write("sweep.json", &report.Document{Schema: report.Schema, Kind: report.KindSweep, Sweep: &report.SweepJSON{Varies: report.VariesConcurrency},
		Runs: []report.LabeledRun{{Label: "c=1", JSONReport: fake(100)}, {Label: "c=2", JSONReport: fake(200)}}})
	run := write("run.json", fake(100))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compare", sweep}, exitUsage, "2 runs labelled c=1, c=2"},
		{[]string{"compare", sweep, run}, exitUsage, "pick one as " + sweep + "#LABEL"},
		{[]string{"compare", sweep + "#c=3", run}, exitUsage, `no runs labelled "c=3"`},
		{[]string{"compare", run}, exitUsage, "1 unlabelled run"},
		{[]string{"compare", sweep + "#c=1", sweep + "#c=2"}, exitOK, ""},
		{[]string{"compare", run, sweep + "#c=2", "--fail-if-slower", "5"}, exitOK, ""},
	}
	for _, c := range cases {
		code, out, stderr := cliRun(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q\n%s", c.args, code, stderr, c.code, c.want, out)
		}
		if code == exitOK && !strings.Contains(out, "B faster") {
			t.Errorf("%q: 100 vs 200 messages/s over 6 seconds each is not B faster:\n%s", c.args, out)
		}
	}
}

// TestABStoppedBySignal: a first signal ends ab early; it still compares
// and saves the complete rounds, and drops the one the signal cut short.
func TestABStoppedBySignal(t *testing.T) {
	t.Parallel()
	a := startSinkProcess(t)
	b := startSinkProcess(t)
	out := filepath.Join(t.TempDir(), "ab.json")
	// The signal comes once round 2's A run has printed its line, so it
	// cuts round 2's B run short: round 1 is the only complete one.
	code, stdout, stderr := startSignalled(t, []string{"ab", "-c", "2", "-d", "1s", "--warmup", "100ms", "--rounds", "50", "--progress", "--out", out, a, b},
		"round 2/50 A")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	d := readSaved(t, out)
	n := d.AB.Completed
	if n != 1 || len(d.Runs) != 2 || d.Comparison == nil || d.Comparison.A.Runs != 1 || d.Runs[1].Label != "B" {
		t.Fatalf("%d rounds completed, %d runs saved, comparison %+v; want round 1 only", n, len(d.Runs), d.Comparison)
	}
	if !strings.Contains(stdout, fmt.Sprintf("stopped by a signal after %d of 50 rounds", n)) || !strings.Contains(stdout, "verdict:") {
		t.Errorf("table after a signal:\n%s", stdout)
	}
}

// TestSweepAcceptedNothing: as run does, a sweep in which the server
// accepted no message still prints its table, then exits 1.
func TestSweepAcceptedNothing(t *testing.T) {
	var cfg sink.Config
	cfg.Reject[sink.StepRcpt] = sink.Reject{Percent: 100}
	srv := startTestSink(t, cfg)
	code, stdout, stderr := cliRun(t, "sweep", "-c", "1,2", "-d", "300ms", "--warmup", "100ms", "--timeout", "5s", srv.Addr())
	if code != exitRun || !strings.Contains(stderr, "accepted no message in c=1, c=2") || !strings.Contains(stdout, "(100.00%)") {
		t.Errorf("exit %d, stderr %q\n%s", code, stderr, stdout)
	}
}
