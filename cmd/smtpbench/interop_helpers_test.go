package main

// Helpers shared by the interoperability suites: free ports, processes
// started and stopped by PID, smtpbench runs through Main under a watchdog,
// and the checks of counts, errors and resources. Each server's own helpers
// are beside it: interop_smtpsink_helpers_test.go, interop_mailpit_helpers_test.go.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/syncbuf"

	"github.com/smtpbench/smtpbench/report"
)

// benchWatchdog bounds one smtpbench run. Every run also passes a small -n
// and a --timeout, so reaching it means smtpbench hung.
const benchWatchdog = 60 * time.Second

// freeAddr returns a 127.0.0.1:PORT address whose port was free a moment
// ago, for servers that must be told their address on the command line.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return fmt.Sprintf("127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port)
}

// skipOrFailInCI skips the test on a developer's machine but fails it in CI
// (CI=true), where .ci/run installs every server and the module proxy is
// reachable: a silently skipped interop test would look green while proving
// nothing.
func skipOrFailInCI(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// gopathBins lists $(go env GOPATH)/bin for every GOPATH entry.
var gopathBins = sync.OnceValue(func() []string {
	gopath := build.Default.GOPATH
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		gopath = string(bytes.TrimSpace(out))
	}
	var dirs []string
	for _, p := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	return dirs
})

// findServer looks for an SMTP server binary in PATH, /usr/sbin and
// $(go env GOPATH)/bin. A missing server skips the test, or fails it in CI
// (skipOrFailInCI).
func findServer(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range append([]string{"/usr/sbin", "/usr/local/sbin"}, gopathBins()...) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	skipOrFailInCI(t, fmt.Sprintf("%s not found in PATH, /usr/sbin or $(go env GOPATH)/bin; .ci/run shows how to install it", name))
	return ""
}

// process is a server started by a test.
type process struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr syncbuf.Buffer
	done           chan struct{} // closed when the process has exited
	stopOnce       sync.Once
}

// loopbackAddr finds the 127.0.0.1:PORT addresses in a command line, so that
// startProcess knows which ports to wait for without a separate argument.
var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:([0-9]+)`)

// startProcess starts a server, waits until every 127.0.0.1:PORT address
// named in its arguments accepts connections, and stops it by PID in
// t.Cleanup. The readiness probe is one TCP connection per port that is
// closed at once; smtp-sink counts it as a session (sess=), never as a
// message.
func startProcess(t testing.TB, name string, args ...string) *process {
	t.Helper()
	p, err := startProcessErr(t, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func startProcessErr(t testing.TB, name string, args ...string) (*process, error) {
	t.Helper()
	var ports []string
	for _, m := range loopbackAddr.FindAllStringSubmatch(strings.Join(args, " "), -1) {
		ports = append(ports, m[1])
	}
	return startProcessPorts(t, ports, name, args...)
}

// startProcessPorts is startProcessErr for a server whose addresses are not
// on its command line (they are in a configuration file): it waits for the
// given ports.
func startProcessPorts(t testing.TB, ports []string, name string, args ...string) (*process, error) {
	t.Helper()
	p := &process{name: filepath.Base(name), done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	// Its own process group, so a ^C in the terminal reaches only the test
	// binary, which then stops the server itself.
	p.cmd.SysProcAttr = ownProcessGroup()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)

	deadline := time.Now().Add(10 * time.Second)
	for _, port := range ports {
		for {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.done:
				return nil, fmt.Errorf("%s exited before listening on port %s (%v)\nargs: %q\nstdout: %s\nstderr: %s",
					p.name, port, p.cmd.ProcessState, args, p.stdout.String(), p.stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				p.stop()
				return nil, fmt.Errorf("%s did not listen on port %s within 10s\nstderr: %s", p.name, port, p.stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return p, nil
}

// startOnFreePorts starts the server bin with the arguments args returns,
// as startProcess does. args is called before each attempt and picks fresh
// free addresses (freeAddr): another process can take a port between our
// probe and the server's listen, so a failed start is retried on new ports,
// three times in all.
func startOnFreePorts(t testing.TB, bin string, args func() []string) *process {
	t.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var p *process
		if p, err = startProcessErr(t, bin, args()...); err == nil {
			return p
		}
	}
	t.Fatal(err)
	return nil
}

// stop ends the process by its PID: SIGTERM, then SIGKILL if it has not
// exited within three seconds. It is idempotent and also runs in t.Cleanup.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// exited reports whether the process has ended on its own or been stopped.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// benchRun is the outcome of one smtpbench invocation through Main.
type benchRun struct {
	Args    []string
	Code    int // Main's exit code
	Stdout  string
	Stderr  string
	Report  report.JSONReport
	Elapsed time.Duration // wall time of the whole Main call
}

// runBench runs "smtpbench run -o json ARGS..." in-process and decodes the
// report from stdout. ARGS must bound the run (-n and --timeout), and a
// watchdog fails the test if Main has not returned within benchWatchdog.
func runBench(t testing.TB, args ...string) *benchRun {
	t.Helper()
	r := mainRun(t, append([]string{"run", "-o", "json"}, args...))
	if err := json.Unmarshal([]byte(r.Stdout), &r.Report); err != nil {
		t.Fatalf("smtpbench %q (exit %d): JSON report does not decode: %v\nstdout: %.2000s\nstderr: %.2000s",
			args, r.Code, err, r.Stdout, r.Stderr)
	}
	return r
}

// runBenchTable runs "smtpbench run -o table --out FILE ARGS...": the table
// goes to stdout and the same run's JSON report is decoded from FILE, so one
// run shows both renderings.
func runBenchTable(t testing.TB, args ...string) *benchRun {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	r := mainRun(t, append([]string{"run", "-o", "table", "--out", out}, args...))
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("smtpbench %q (exit %d): --out file: %v\nstderr: %.2000s", args, r.Code, err, r.Stderr)
	}
	if err := json.Unmarshal(b, &r.Report); err != nil {
		t.Fatalf("smtpbench %q: --out JSON does not decode: %v\n%.2000s", args, err, b)
	}
	return r
}

// mainRun calls Main in its own goroutine under the watchdog.
func mainRun(t testing.TB, args []string) *benchRun {
	t.Helper()
	if !hasFlag(args, "-n", "--messages") || !hasFlag(args, "--timeout") {
		t.Fatalf("smtpbench %q: interop runs must bound themselves with -n and --timeout", args)
	}
	r := &benchRun{Args: args}
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	start := time.Now()
	go func() { done <- Main(args, &stdout, &stderr) }()
	select {
	case r.Code = <-done:
	case <-time.After(benchWatchdog):
		// stdout and stderr are still being written: do not read them.
		t.Fatalf("smtpbench %q did not return within %s: it hangs", args, benchWatchdog)
	}
	r.Elapsed = time.Since(start)
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	return r
}

func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if a == n || strings.HasPrefix(a, n+"=") || (len(n) == 2 && strings.HasPrefix(a, n) && len(a) > 2) {
				return true
			}
		}
	}
	return false
}

// String names the run in failure messages.
func (r *benchRun) String() string {
	return fmt.Sprintf("smtpbench %s (exit %d)", strings.Join(r.Args, " "), r.Code)
}

// checkOnTime asserts that a run ended within limit by its own clock
// (elapsed_s: the run from start until every session finished) and that
// the whole Main call, setup and report included, did not take much longer.
// The wall-clock bound is looser because CI machines are shared: a parallel
// "go build" can starve the test process for seconds.
func checkOnTime(t testing.TB, r *benchRun, limit time.Duration) {
	t.Helper()
	if ran := time.Duration(r.Report.ElapsedS * float64(time.Second)); ran > limit {
		t.Errorf("%s: the run took %s (elapsed_s), want under %s", r, ran.Round(time.Millisecond), limit)
	}
	if r.Elapsed > limit+10*time.Second {
		t.Errorf("%s: Main took %s, want under %s", r, r.Elapsed.Round(time.Millisecond), limit+10*time.Second)
	}
}

// errorKey is one row of the report's errors list without its count.
type errorKey struct {
	Phase, Class string
	Code         int
}

func ek(phase, class string, code int) errorKey { return errorKey{phase, class, code} }

// anyCount in an expected error table means "this bucket, any count".
const anyCount = -1

func (k errorKey) String() string { return fmt.Sprintf("%s/%s/%d", k.Phase, k.Class, k.Code) }

// errorCounts returns the report's errors keyed by phase, class and code.
func (r *benchRun) errorCounts() map[errorKey]int64 {
	m := map[errorKey]int64{}
	for _, e := range r.Report.Errors {
		m[errorKey{e.Phase, e.Class, e.Code}] += e.Count
	}
	return m
}

// errorKeys lists the report's error keys, sorted.
func (r *benchRun) errorKeys() []errorKey {
	var keys []errorKey
	for k := range r.errorCounts() {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

var (
	knownPhases  = map[string]bool{"connect": true, "banner": true, "ehlo": true, "tls": true, "auth": true, "mail": true, "rcpt": true, "data": true, "bdat": true, "body": true, "rset": true, "quit": true, "message": true}
	knownClasses = map[string]bool{"refused": true, "timeout": true, "protocol": true, "temp_reject": true, "perm_reject": true, "closed": true, "aborted": true,
		"handshake": true, "certificate": true, "unsupported": true}
)

// checkInvariants asserts what must hold for every report, whatever the
// server did: attempted = ok + rejected + failed; every message that was not
// accepted left exactly one error; errors use the documented phase and class
// names; the class agrees with the code; and an error that names a reply
// code was caused by a reply of that code in that phase, so such errors
// never outnumber those replies.
func checkInvariants(t testing.TB, r *benchRun) {
	t.Helper()
	checkTotalsAddUp(t, r)
	tot := r.Report.Totals
	var sum int64
	for _, e := range r.Report.Errors {
		sum += e.Count
		if !knownPhases[e.Phase] || !knownClasses[e.Class] {
			t.Errorf("%s: error bucket with unknown phase or class: %+v", r, e)
		}
		switch {
		case e.Class == "temp_reject" && (e.Code < 400 || e.Code > 499 || e.Code == 421),
			e.Class == "perm_reject" && (e.Code < 500 || e.Code > 599),
			(e.Class == "timeout" || e.Class == "refused") && e.Code != 0:
			t.Errorf("%s: class and code disagree: %+v", r, e)
		}
	}
	for k, n := range r.errorCounts() {
		if k.Code == 0 {
			continue
		}
		if got := r.Report.Replies[k.Phase][strconv.Itoa(k.Code)]; n > got {
			t.Errorf("%s: %d errors %s, but only %d %d replies in phase %s: a reply is charged to more than one message",
				r, n, k, got, k.Code, k.Phase)
		}
	}
	if sum != tot.MessagesRejected+tot.MessagesFailed {
		t.Errorf("%s: errors add up to %d, want rejected %d + failed %d = %d (one error per message not accepted)",
			r, sum, tot.MessagesRejected, tot.MessagesFailed, tot.MessagesRejected+tot.MessagesFailed)
	}
	if r.Report.Schema != report.Schema {
		t.Errorf("%s: schema %q, want %q", r, r.Report.Schema, report.Schema)
	}
}

// checkTotalsAddUp asserts attempted = ok + rejected + failed.
func checkTotalsAddUp(t testing.TB, r *benchRun) {
	t.Helper()
	tot := r.Report.Totals
	if tot.MessagesAttempted != tot.MessagesOK+tot.MessagesRejected+tot.MessagesFailed {
		t.Errorf("%s: invariant broken: attempted %d != ok %d + rejected %d + failed %d",
			r, tot.MessagesAttempted, tot.MessagesOK, tot.MessagesRejected, tot.MessagesFailed)
	}
}

// tableErrorRows parses the "errors" block of the table report into
// phase/class/code keys with counts; "-" stands for code 0.
func tableErrorRows(t testing.TB, table string) map[errorKey]int64 {
	t.Helper()
	rows := map[errorKey]int64{}
	sc := bufio.NewScanner(strings.NewReader(table))
	in := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "errors") {
			in = true
			continue
		}
		if !in {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(line, "WARNING") {
			break
		}
		// phase, class, code, count, then the explanation's words.
		// The lines under the rows: "hint (class): ..." and, for TLS and
		// AUTH errors, "meaning (phase code): ...".
		if len(f) < 4 || f[0] == "phase" || f[0] == "hint" || f[0] == "meaning" {
			continue
		}
		code := 0
		if f[2] != "-" {
			code, _ = strconv.Atoi(f[2])
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			t.Errorf("table errors row %q: count is not a number", line)
		}
		rows[errorKey{f[0], f[1], code}] += n
	}
	return rows
}

// checkTableMatchesJSON asserts that the table printed the same error
// buckets and message counts as the JSON of the same run.
func checkTableMatchesJSON(t testing.TB, r *benchRun) {
	t.Helper()
	got := tableErrorRows(t, r.Stdout)
	want := r.errorCounts()
	if fmt.Sprint(sortedCounts(got)) != fmt.Sprint(sortedCounts(want)) {
		t.Errorf("%s: table errors %v, JSON errors %v\ntable:\n%s", r, sortedCounts(got), sortedCounts(want), r.Stdout)
	}
	if len(want) == 0 && !strings.Contains(r.Stdout, "errors      none") {
		t.Errorf("%s: no errors in JSON but the table does not say \"errors none\":\n%s", r, r.Stdout)
	}
	tot := r.Report.Totals
	line := fmt.Sprintf("messages    %d ok, %d rejected, %d failed (%d attempted)", tot.MessagesOK, tot.MessagesRejected, tot.MessagesFailed, tot.MessagesAttempted)
	if !strings.Contains(r.Stdout, line) {
		t.Errorf("%s: table lacks %q:\n%s", r, line, r.Stdout)
	}
}

func sortedCounts(m map[errorKey]int64) []string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(out)
	return out
}

// crlf returns content the way smtpbench puts it on the wire before
// dot-stuffing (RFC 5321 2.3.8): CRLF, bare CR and bare LF all become CRLF,
// and a last line without a line break gets one. It is written here again,
// not taken from package message, so the test states the rule itself.
func crlf(content []byte) []byte {
	s := strings.ReplaceAll(string(content), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return []byte(s)
}

// ---- resource checks ----

// heapWatcher samples HeapInuse while smtpbench runs and keeps the peak.
type heapWatcher struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

func watchHeap() *heapWatcher {
	h := &heapWatcher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			h.peak = max(h.peak, ms.HeapInuse)
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// Peak stops sampling and returns the largest HeapInuse seen.
func (h *heapWatcher) Peak() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}

// wantCounts is what a fault or hostile-server run must report.
type wantCounts struct {
	ok, rejected, failed int64
	errors               map[errorKey]int64 // exact buckets; anyCount for "some"
	connectFails         bool               // no session ever: stop connect_failed, exit 1
	conns                int64              // exact connections, or -1
}

// checkCounts compares the report with w; n is the run's -n when its
// arguments do not give one.
func checkCounts(t *testing.T, r *benchRun, n int64, w wantCounts) {
	t.Helper()
	tot := r.Report.Totals
	for i, a := range r.Args[:max(len(r.Args)-1, 0)] {
		if a == "-n" { // the last one wins, as in flag parsing
			n, _ = strconv.ParseInt(r.Args[i+1], 10, 64)
		}
	}
	wantAttempted, wantExit, wantStop := n, exitOK, "messages"
	if w.ok == 0 {
		// A run in which the server accepted nothing measured nothing.
		wantExit = exitRun
	}
	wantConns := w.conns
	if w.connectFails {
		// One failed connection stops the run when no session was ever
		// established.
		wantAttempted, wantExit, wantStop, wantConns = 1, exitRun, "connect_failed", 0
	}
	if tot.MessagesAttempted != wantAttempted || r.Code != wantExit || r.Report.StopReason != wantStop {
		t.Errorf("%s: attempted %d, exit %d, stop %q; want %d, %d, %q",
			r, tot.MessagesAttempted, r.Code, r.Report.StopReason, wantAttempted, wantExit, wantStop)
	}
	if tot.MessagesOK != w.ok || tot.MessagesRejected != w.rejected || tot.MessagesFailed != w.failed {
		t.Errorf("%s: ok %d rejected %d failed %d; want %d %d %d",
			r, tot.MessagesOK, tot.MessagesRejected, tot.MessagesFailed, w.ok, w.rejected, w.failed)
	}
	got := r.errorCounts()
	for k, want := range w.errors {
		if g := got[k]; g == 0 || (want != anyCount && g != want) {
			t.Errorf("%s: error %s counted %d, want %d", r, k, g, want)
		}
	}
	for k, g := range got {
		if _, ok := w.errors[k]; !ok {
			t.Errorf("%s: unexpected error %s x%d", r, k, g)
		}
	}
	if wantConns >= 0 && tot.Connections != wantConns {
		t.Errorf("%s: %d connections, want %d", r, tot.Connections, wantConns)
	}
}

// timedReplies is how many replies to phase's commands a run timed. Where
// the server answered pipelined commands in one write, the phase's figures
// are made of only some of them (phase_sources, docs/phases.md).
func timedReplies(j *report.JSONReport, phase string) int64 {
	if src, ok := j.PhaseSources[phase]; ok {
		return src.Replies
	}
	return j.Phases[phase].Count
}
