package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/sink"
)

// The first case: a server that serves 20 sessions at once and
// drops a session idle for 2 s, 30 idle clients and 10 normal ones. The
// idle clients hold the 20 sessions, so a normal connection waits for one
// of them to time out: the normal sessions' greeting (banner) shows the
// wait, and the idle sessions end by the server's 421 after about 2 s.
// Which clients get the 20 sessions first is a race (on a loaded machine
// the normal ones may win all ten of their first connections), so the run
// sends 40 messages: at most the first 10 greetings go without a wait,
// and the median is one that waited, whoever wins.
func TestMixIdleHoldsSinkSessions(t *testing.T) {
	addr := startSinkProcess(t, "--max-sessions", "20", "--idle-timeout", "2s")
	r := runBench(t, "-c", "40", "-n", "40", "--per-conn", "1", "--mix", "idle:30,normal:10", "--timeout", "20s", addr)
	if r.Code != exitOK {
		t.Fatalf("%s\nstderr: %s", r, r.Stderr)
	}
	j := r.Report
	if j.Totals.MessagesOK != 40 || j.Totals.MessagesAttempted != 40 {
		t.Errorf("normal messages: %+v, want 40 ok of 40", j.Totals)
	}
	// Without the idle clients the greeting takes well under a
	// millisecond; with them most normal connections wait about 2 s.
	if b := j.Phases["banner"]; b.Count != 40 || b.P50MS < 1000 {
		t.Errorf("normal sessions' banner: %+v, want 40 greetings, p50 at least 1 s (the wait for a free session)", b)
	}
	idle, ok := j.Profiles["idle"]
	if !ok {
		t.Fatalf("no idle profile in %v", j.Profiles)
	}
	if idle.Workers != 30 || j.Profiles["normal"].Workers != 10 {
		t.Errorf("workers: idle %d, normal %d; want 30 and 10", idle.Workers, j.Profiles["normal"].Workers)
	}
	if idle.Ended[metrics.EndServer421] < 20 {
		t.Errorf("idle sessions ended %v, want at least 20 by the server's 421", idle.Ended)
	}
	if s := idle.SessionTime; s == nil || s.P50MS < 1800 || s.P50MS > 4000 {
		t.Errorf("idle session time %+v, want a p50 of about 2 s (the idle timeout)", s)
	}
	if j.MixTotals == nil || j.MixTotals.Connections < idle.Sessions {
		t.Errorf("mix_totals %+v should count the idle sessions too (%d)", j.MixTotals, idle.Sessions)
	}
}

// abort-dot: the end of data is written and the connection dropped before
// its reply. Those messages are counted as unanswered, not as failures the
// server caused, and the sink's accepted count is exactly what the report
// says may have been delivered: every accepted normal message plus every
// unanswered one.
func TestMixAbortDotCountedApart(t *testing.T) {
	srv := startTestSink(t, sink.Config{})
	r := runBench(t, "-c", "4", "-n", "200", "--mix", "normal:2,abort-dot:2", "--timeout", "10s", srv.Addr())
	if r.Code != exitOK {
		t.Fatalf("%s\nstderr: %s", r, r.Stderr)
	}
	j := r.Report
	ad := j.Profiles["abort-dot"]
	if ad.MessagesUnanswered == 0 {
		t.Fatalf("abort-dot: %+v, want unanswered messages", ad)
	}
	if ad.MessagesFailed != 0 || ad.MessagesAttempted != 0 {
		t.Errorf("abort-dot counted %d failed of %d attempted; unanswered messages are neither", ad.MessagesFailed, ad.MessagesAttempted)
	}
	if ad.Ended[metrics.EndDropped]+ad.Ended[metrics.EndRunEnd] < ad.MessagesUnanswered {
		t.Errorf("abort-dot ended %v, want a drop per unanswered message (%d)", ad.Ended, ad.MessagesUnanswered)
	}
	mayHave := j.MixTotals.MessagesOK + ad.MessagesUnanswered
	// The sink may still be reading the last dropped session.
	deadline := time.Now().Add(5 * time.Second)
	for int64(srv.Accepted()) != mayHave && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := int64(srv.Accepted()); got != mayHave {
		t.Errorf("sink accepted %d, report says %d ok + %d unanswered = %d may have been delivered",
			got, j.MixTotals.MessagesOK, ad.MessagesUnanswered, mayHave)
	}
}

// slow at 200 bytes/s: a content of 1000 bytes on the wire takes about 5 s
// to write, and the body phase, timed from the start of that write to its
// reply, shows it. No normal session: -n counts the slow sessions, and the
// report says there is no good mail to measure.
func TestMixSlowWritesAtRate(t *testing.T) {
	srv := startTestSink(t, sink.Config{})
	// 997 bytes of content and the final ".\r\n": 1000 bytes on the wire.
	line := strings.Repeat("x", 98) + "\r\n" // 100 bytes
	content := "Subject: slow\r\n\r\n" + strings.Repeat(line, 9) + strings.Repeat("y", 78) + "\r\n"
	if len(content) != 997 {
		t.Fatalf("content is %d bytes, want 997", len(content))
	}
	data := filepath.Join(t.TempDir(), "slow.eml")
	if err := os.WriteFile(data, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBench(t, "-c", "1", "-n", "1", "--mix", "slow:1", "--slow-rate", "200", "--data", data, "--timeout", "20s", srv.Addr())
	if r.Code != exitOK {
		t.Fatalf("%s\nstderr: %s", r, r.Stderr)
	}
	j := r.Report
	slow := j.Profiles["slow"]
	if slow.MessagesOK != 1 || slow.Ended[metrics.EndQuit] != 1 {
		t.Fatalf("slow: %+v, want one message accepted and a QUIT", slow)
	}
	if b := slow.Phases["body"]; b.P50MS < 4500 || b.P50MS > 7000 {
		t.Errorf("slow body phase %.0f ms, want about 5000 (1000 bytes at 200 bytes/s)", b.P50MS)
	}
	if j.Totals.MessagesAttempted != 0 || !hasWarning(j.Warnings, "no good mail to measure") {
		t.Errorf("with no normal session: totals %+v, warnings %q", j.Totals, j.Warnings)
	}
}

func hasWarning(ws []string, s string) bool {
	for _, w := range ws {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

// Bad --mix values are one-line usage errors; the unknown name lists the
// profiles; authfail needs AUTH.
func TestMixUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--mix", "lazy:3"}, []string{`unknown profile "lazy"`, "idle", "abort-dot", "handshake"}},
		{[]string{"--mix", "idle:x"}, []string{"--mix", "idle weight"}},
		{[]string{"--mix", "idle:-1"}, []string{"--mix", "idle weight"}},
		{[]string{"--mix", "idle"}, []string{"NAME:WEIGHT", "normal"}},
		{[]string{"--mix", "idle:0,normal:0"}, []string{"every weight is 0"}},
		{[]string{"--mix", "authfail:1,normal:1"}, []string{"authfail needs AUTH"}},
		{[]string{"--slow-rate", "10"}, []string{"--slow-rate needs --mix"}},
		{[]string{"--mix", "slow:1", "--slow-rate", "0"}, []string{"--slow-rate 0"}},
	}
	for _, tc := range cases {
		args := append([]string{"run", "-n", "1"}, tc.args...)
		code, _, stderr := cliRun(t, append(args, "127.0.0.1:1")...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %q", tc.args, code, exitUsage, stderr)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: usage error should be one line, got %q", tc.args, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q does not mention %q", tc.args, stderr, w)
			}
		}
	}
}

// Every profile runs against the sink without breaking the normal
// sessions or the report's invariants, and its row shows in the table.
// The idle sessions wait 5 ms, far less than the 300 normal messages take
// even on a loaded machine, so some end by their own timeout.
func TestMixEveryProfile(t *testing.T) {
	srv := startTestSink(t, sink.Config{})
	mix := "normal:4,idle:1,slow:1,abort-mail:1,abort-rcpt:1,abort-data:1,abort-dot:1,badcmd:1,harvest:1,handshake:1"
	r := runBenchTable(t, "-c", "13", "-n", "300", "--mix", mix, "--slow-rate", "100000", "--idle-for", "5ms", "--timeout", "10s", srv.Addr())
	if r.Code != exitOK {
		t.Fatalf("%s\nstderr: %s", r, r.Stderr)
	}
	j := r.Report
	if j.Totals.MessagesOK != 300 {
		t.Errorf("normal: %+v, want 300 ok", j.Totals)
	}
	for _, name := range strings.Split(mix, ",") {
		name = strings.Split(name, ":")[0]
		p, ok := j.Profiles[name]
		if !ok || p.Sessions == 0 {
			t.Errorf("profile %s: %+v, want sessions", name, p)
			continue
		}
		if !strings.Contains(r.Stdout, "  "+name+"  ") {
			t.Errorf("table has no row for %s:\n%s", name, r.Stdout)
		}
		if p.MessagesAttempted != p.MessagesOK+p.MessagesRejected+p.MessagesFailed {
			t.Errorf("profile %s: counts do not add up: %+v", name, p)
		}
	}
	if p := j.Profiles["idle"]; p.Ended[metrics.EndOwnTimeout] == 0 {
		t.Errorf("idle with --idle-for 5ms against a sink without an idle timeout: ended %v, want own_timeout", p.Ended)
	}
	if p := j.Profiles["harvest"]; p.RecipientsAccepted == 0 {
		t.Errorf("harvest: %+v; the sink accepts every recipient", p)
	}
	if p := j.Profiles["badcmd"]; len(p.BadCommandReplies) == 0 || p.MessagesOK == 0 {
		t.Errorf("badcmd: %+v, want bad command replies and accepted messages", p)
	}
	for _, name := range []string{"abort-mail", "abort-rcpt", "abort-data"} {
		if p := j.Profiles[name]; p.MessagesDropped == 0 || p.MessagesFailed != 0 {
			t.Errorf("%s: %+v, want dropped transactions and no failures", name, p)
		}
	}
}

// sweep --abuse: the normal load fixed, a step without abuse and one with
// more idle clients than the sink serves at once; the line after the table
// names the step from which the good mail suffers.
func TestSweepAbuseIdle(t *testing.T) {
	srv := startTestSink(t, sink.Config{MaxSessions: 10, IdleTimeout: time.Second})
	code, out, stderr := cliRun(t, "sweep", "--abuse", "idle:0,20", "-c", "2", "--per-conn", "1", "-d", "2s", "--warmup", "0s", "--timeout", "10s", srv.Addr())
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	for _, want := range []string{"abuse sweep of", "idle  messages/s", "abuse hurts the good mail from 20 idle sessions", "<- hurts"} {
		if !strings.Contains(out, want) {
			t.Errorf("sweep table lacks %q:\n%s", want, out)
		}
	}
	code, _, stderr = cliRun(t, "sweep", "--abuse", "normal:10", "127.0.0.1:1")
	if code != exitUsage || !strings.Contains(stderr, "unknown abusive profile") {
		t.Errorf("--abuse normal: exit %d, %q", code, stderr)
	}
}

// The HTML page draws a run with the mix beside a saved run without it,
// and compare shows the profiles' session times beside the normal lines.
func TestMixHTMLBaselineAndCompare(t *testing.T) {
	srv := startTestSink(t, sink.Config{})
	dir := t.TempDir()
	base, mixed, page := filepath.Join(dir, "base.json"), filepath.Join(dir, "mix.json"), filepath.Join(dir, "page.html")
	if code, _, stderr := cliRun(t, "run", "-n", "200", "-c", "2", "--out", base, srv.Addr()); code != exitOK {
		t.Fatalf("baseline: exit %d: %s", code, stderr)
	}
	code, _, stderr := cliRun(t, "run", "-n", "200", "-c", "4", "--mix", "normal:2,handshake:2", "--out", mixed,
		"--html", page, "--html-baseline", base, srv.Addr())
	if code != exitOK {
		t.Fatalf("mix: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"base.json", "this run", `id="mix"`, "normal:2,handshake:2", ">none<"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("HTML page lacks %q", want)
		}
	}
	code, out, stderr := cliRun(t, "compare", base, mixed)
	if code != exitOK || !strings.Contains(out, "profile handshake session p50") || !strings.Contains(out, "mix (none) vs normal:2,handshake:2") {
		t.Errorf("compare: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, stderr := cliRun(t, "run", "-n", "1", "--html-baseline", base, srv.Addr()); code != exitUsage {
		t.Errorf("--html-baseline without --html: exit %d (%s), want a usage error", code, stderr)
	}
}
