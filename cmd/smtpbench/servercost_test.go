//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/syncbuf"
	"github.com/smtpbench/smtpbench/report"
)

// startCPUSink runs the built-in sink in its own process, spending cpu of
// CPU time on each message.
func startCPUSink(t *testing.T, cpu string) (*process, string) {
	t.Helper()
	var addr string
	p := startOnFreePorts(t, buildBinary(t), func() []string {
		addr = freeAddr(t)
		return []string{"sink", "--listen", addr, "--cpu", cpu}
	})
	return p, addr
}

// serverCPUPerMessage runs four sessions back to back against the sink at
// addr with --server-pid and returns the report. The generator is the
// built binary in a process of its own (not this test binary, which may be
// built with the race detector and would be the slow side), and four
// sessions keep the sink busy: a sink that waits for its client between
// messages spends more per message on waking up than one that always has
// the next message at hand, and that part would differ between --cpu 0
// and --cpu 200us.
func serverCPUPerMessage(t *testing.T, p *process, addr string) *report.JSONReport {
	t.Helper()
	out, err := exec.Command(buildBinary(t), "run", "-o", "json", "-c", "4", "-d", "2s", "--warmup", "500ms", "--timeout", "10s",
		"--server-pid", strconv.Itoa(p.cmd.Process.Pid), addr).Output()
	if err != nil {
		t.Fatalf("smtpbench run: %v", err)
	}
	var r report.JSONReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.Server == nil || r.Server.CPUUSPerMessage == nil {
		t.Fatalf("no server figures: %+v", r.Server)
	}
	if r.Server.Method != "process_tree" {
		t.Errorf("method %q", r.Server.Method)
	}
	return &r
}

// The measurement against a known truth: a sink that spends 200 µs of CPU
// on each message must be reported within 10% of 200 µs plus what the same
// sink costs with no extra work. The two sinks are measured in turn three
// times and the median of the three ratios is checked: on a busy machine a
// sink that others keep off the processor spends more on each message than
// its 200 µs (it is preempted mid-way and starts again with cold caches),
// and one such burst should not decide the test.
func TestServerCPUPerMessageKnownTruth(t *testing.T) {
	p0, a0 := startCPUSink(t, "0")
	p200, a200 := startCPUSink(t, "200us")
	var ratios []float64
	var r *report.JSONReport
	for range 3 {
		base := serverCPUPerMessage(t, p0, a0)
		r = serverCPUPerMessage(t, p200, a200)
		b, got := *base.Server.CPUUSPerMessage, *r.Server.CPUUSPerMessage
		ratios = append(ratios, got/(200+b))
		t.Logf("server cpu/msg: --cpu 0 %.1f µs, --cpu 200us %.1f µs (%+.1f%% from %.1f); cores %.2f; memory peak %d",
			b, got, 100*(got/(200+b)-1), 200+b, r.Server.Cores, r.Server.MemoryPeakBytes)
	}
	slices.Sort(ratios)
	if m := ratios[1]; m < 0.9 || m > 1.1 {
		t.Errorf("median of server cpu/msg over 200 µs plus the base: %.3f, want within 10%% of 1", m)
	}
	if r.Server.MemoryPeakBytes < 1<<20 {
		t.Errorf("memory peak %d bytes: a Go process holds more than 1 MiB", r.Server.MemoryPeakBytes)
	}
	// Per second: the seconds from the warm-up's end hold the total, and
	// those wholly after it hold no more than it.
	var all, after float64
	for _, iv := range r.Intervals {
		if iv.ServerCPUS == nil || iv.ServerMemoryBytes == nil {
			t.Fatalf("interval %d has no server figures", iv.T)
		}
		all += *iv.ServerCPUS
		if iv.T >= 1 {
			after += *iv.ServerCPUS
		}
	}
	if total := r.Server.CPUS; all < 0.95*total || after > 1.05*total {
		t.Errorf("per-second server CPU: %.3f s in all seconds, %.3f s from second 1; the measured window holds %.3f s", all, after, total)
	}
}

func TestServerCostBadInput(t *testing.T) {
	notCgroup := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no such PID", []string{"--server-pid", "2147483647"}, "no such process"},
		{"negative PID", []string{"--server-pid", "-3"}, "want a process ID"},
		{"not a cgroup", []string{"--server-cgroup", notCgroup}, "not a cgroup"},
		{"missing cgroup", []string{"--server-cgroup", filepath.Join(notCgroup, "nope")}, "no such file"},
		{"both", []string{"--server-pid", "1", "--server-cgroup", notCgroup}, "one or the other"},
	} {
		var stdout, stderr strings.Builder
		code := Main(append([]string{"run", "-n", "10", "--timeout", "5s"}, c.args...), &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), c.want) || strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line with %q", c.name, code, stderr.String(), exitUsage, c.want)
		}
	}
}

// A server that exits during the run: the run goes on and says when.
func TestServerPIDExitsDuringRun(t *testing.T) {
	short := exec.Command("sleep", "1")
	if err := short.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { short.Wait(); close(reaped) }()
	defer func() { short.Process.Kill(); <-reaped }()
	r := runBench(t, "-c", "1", "-n", "100000", "-d", "3s", "--timeout", "5s", "--server-pid", strconv.Itoa(short.Process.Pid))
	if r.Code != 0 || r.Report.Totals.MessagesOK == 0 {
		t.Fatalf("%s: the run should go on: %s", r, r.Stderr)
	}
	s := r.Report.Server
	if s == nil || s.GoneAtS == nil || *s.GoneAtS < 0.5 || *s.GoneAtS > 2.9 {
		t.Fatalf("%s: server %+v: want gone_at_s about 1-2", r, s)
	}
	found := false
	for _, w := range r.Report.Warnings {
		found = found || strings.Contains(w, "was gone")
	}
	if !found {
		t.Errorf("%s: no warning says the server was gone: %q", r, r.Report.Warnings)
	}
}

// A cgroup v1 group, as this kind of machine mounts them: the root of the
// cpuacct hierarchy is a group every process belongs to.
func TestServerCgroupV1(t *testing.T) {
	const root = "/sys/fs/cgroup/cpuacct"
	if _, err := os.Stat(filepath.Join(root, "cpuacct.usage")); err != nil {
		t.Skip("no cgroup v1 cpuacct hierarchy here")
	}
	r := runBench(t, "-c", "1", "-n", "100000", "-d", "1500ms", "--timeout", "5s", "--server-cgroup", root)
	s := r.Report.Server
	if r.Code != 0 || s == nil || s.Method != "cgroup_v1" || s.CPUS <= 0 {
		t.Fatalf("%s: server %+v\n%s", r, s, r.Stderr)
	}
}

// treeCPU sums utime+stime+cutime+cstime over pid and its descendants, as
// ps would show them: an independent reading of what servercost measures.
func treeCPU(t *testing.T, root int) time.Duration {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	type st struct {
		ppid int
		cpu  uint64
	}
	all := map[int]st{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		ppid, _ := strconv.Atoi(f[1])
		var cpu uint64
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseUint(f[i], 10, 64)
			cpu += v
		}
		all[pid] = st{ppid, cpu}
	}
	var sum uint64
	var walk func(int)
	walk = func(pid int) {
		sum += all[pid].cpu
		for p, s := range all {
			if s.ppid == pid && p != pid {
				walk(p)
			}
		}
	}
	walk(root)
	return time.Duration(sum) * 10 * time.Millisecond
}

// Postfix's tree: a master with smtpd, cleanup, qmgr and more below it.
func TestInteropPostfixServerCost(t *testing.T) {
	pf := startPostfix(t)
	pid := pf.cmd.Process.Pid
	before := treeCPU(t, pid)
	r := runBench(t, "-c", "4", "-n", "3000", "--timeout", "30s", "--server-pid", strconv.Itoa(pid), pf.addr)
	after := treeCPU(t, pid)
	s := r.Report.Server
	if r.Code != 0 || s == nil || s.CPUUSPerMessage == nil {
		t.Fatalf("%s: server %+v\n%s", r, s, r.Stderr)
	}
	ps := float64((after - before).Microseconds()) / float64(r.Report.Totals.MessagesOK)
	t.Logf("Postfix: %.1f µs per message reported, %.1f from /proc before and after; %d processes at most", *s.CPUUSPerMessage, ps, s.ProcessesPeak)
	if *s.CPUUSPerMessage <= 0 || *s.CPUUSPerMessage < ps/2 || *s.CPUUSPerMessage > ps*2 {
		t.Errorf("reported %.1f µs per message, /proc says %.1f: want within a factor of two", *s.CPUUSPerMessage, ps)
	}
	if s.ProcessesPeak < 3 {
		t.Errorf("processes peak %d: Postfix runs a master, smtpd, cleanup and qmgr at least", s.ProcessesPeak)
	}
}

// abServers runs ab with --a-cmd and --b-cmd starting sinks of the given
// CPU costs on one port.
func abServers(t *testing.T, cpuA, cpuB string, extra ...string) *benchRun {
	t.Helper()
	bin := buildBinary(t)
	addr := freeAddr(t)
	cmd := func(cpu string) string { return "exec " + bin + " sink --listen " + addr + " --cpu " + cpu }
	args := append([]string{"ab", "--rounds", "6", "-c", "1", "-n", "1000000", "-d", "300ms", "--warmup", "100ms", "--timeout", "5s",
		"--server-log-dir", t.TempDir(), "--a-cmd", cmd(cpuA), "--b-cmd", cmd(cpuB), "-o", "json"}, extra...)
	r := mainRun(t, append(args, addr))
	return r
}

// 100 µs against 300 µs of server CPU per message: six runs a side, all of
// B's far above all of A's, give p = 0.002 before the adjustment. The same
// build twice fails only if all six runs of B land above all six of A (a
// chance of 1 in 924 with no difference, before the adjustment for the
// other lines, which makes it rarer still) and their median is 20% higher
// besides: runs that each count about a thousand messages, at 10 ms a CPU
// tick, put the medians within a few percent of each other.
func TestABServerCommandsCPUVerdict(t *testing.T) {
	r := abServers(t, "100us", "300us", "--fail-if-slower", "server-cpu=20")
	if r.Code != exitRun || !strings.Contains(r.Stderr, "B is slower than A on server cpu/msg") {
		t.Fatalf("%s: want exit 1 for server cpu/msg; stderr %s", r, r.Stderr)
	}
	var doc report.Document
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatal(err)
	}
	l, ok := doc.Comparison.Line(report.LineServerCPU)
	if !ok || l.Verdict != report.VerdictWorse || l.B.Median < 2*l.A.Median {
		t.Fatalf("server cpu/msg line %+v", l)
	}
	if doc.AB.ACmd == "" || len(doc.Runs) != 12 {
		t.Errorf("a_cmd %q, %d runs", doc.AB.ACmd, len(doc.Runs))
	}
	same := abServers(t, "100us", "100us", "--fail-if-slower", "server-cpu=20", "--fail-if-slower", "server-memory=50")
	if same.Code != 0 {
		t.Fatalf("%s: the same build twice failed: %s", same, same.Stderr)
	}
}

// groupGone reports whether no process of group pgid is left.
func groupGone(pgid int) bool { return syscall.Kill(-pgid, 0) == syscall.ESRCH }

// waitFile waits for a file the server command writes, and returns its
// content.
func waitFile(t *testing.T, name string, done <-chan struct{}) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if b, err := os.ReadFile(name); err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b))
		}
		select {
		case <-deadline:
			t.Fatalf("%s never appeared", name)
		case <-done:
			t.Fatalf("smtpbench exited before %s appeared", name)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestABServerCommandFails(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	for _, c := range []struct {
		name, cmd, want string
		within          time.Duration
	}{
		{"exits at once", "echo the config is broken; exit 3", "the config is broken", 5 * time.Second},
		{"never listens", "echo $$ > " + pidFile + "; echo starting up; exec sleep 60", "starting up", 10 * time.Second},
	} {
		addr := freeAddr(t)
		start := time.Now()
		r := mainRun(t, []string{"ab", "--rounds", "1", "-n", "10", "--timeout", "5s", "--server-start-timeout", "2s",
			"--a-cmd", c.cmd, "--b-cmd", c.cmd, addr})
		if r.Code != exitRun || !strings.Contains(r.Stderr, c.want) || time.Since(start) > c.within {
			t.Errorf("%s: exit %d after %s, stderr %q; want exit 1 with the server's output", c.name, r.Code, time.Since(start), r.Stderr)
		}
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid <= 0 || !groupGone(pid) {
		t.Errorf("the server that never listened (group %s) is still running", b)
	}
}

// SIGINT while a server starts, and while one stops: smtpbench stops the
// server's process group and exits; nothing is left running.
func TestABSignalWhileServerStartsOrStops(t *testing.T) {
	bin := buildBinary(t)
	t.Run("starting", func(t *testing.T) {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "pid")
		cmd := "echo $$ > " + pidFile + "; exec sleep 60"
		code, pgid := signalAB(t, bin, pidFile, freeAddr(t), cmd, nil)
		if code == 0 || !groupGone(pgid) {
			t.Errorf("exit %d; group %d gone: %v", code, pgid, groupGone(pgid))
		}
	})
	t.Run("stopping", func(t *testing.T) {
		dir := t.TempDir()
		pidFile, sinkFile := filepath.Join(dir, "pid"), filepath.Join(dir, "sink")
		addr := freeAddr(t)
		// The shell ignores SIGTERM and lingers after the sink has gone,
		// so the stop waits for its grace: the signal comes then.
		cmd := "trap '' TERM; " + bin + " sink --listen " + addr + " & echo $! > " + sinkFile + "; echo $$ > " + pidFile + "; wait; exec sleep 60"
		code, pgid := signalAB(t, bin, pidFile, addr, cmd, func(done <-chan struct{}) {
			sink, _ := strconv.Atoi(waitFile(t, sinkFile, done))
			deadline := time.Now().Add(20 * time.Second)
			for syscall.Kill(sink, 0) == nil && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		})
		if !groupGone(pgid) {
			t.Errorf("exit %d; group %d still running", code, pgid)
		}
	})
}

// signalAB starts ab with cmd as both builds, waits for pidFile (and for
// ready, if given), sends SIGINT and returns the exit code and the server's
// process group.
func signalAB(t *testing.T, bin, pidFile, addr, cmd string, ready func(done <-chan struct{})) (int, int) {
	t.Helper()
	ab := exec.Command(bin, "ab", "--rounds", "1", "-c", "1", "-d", "1s", "--warmup", "0s", "--server-start-timeout", "20s",
		"--server-stop-grace", "3s", "--a-cmd", cmd, "--b-cmd", cmd, addr)
	var errb syncbuf.Buffer
	ab.Stderr = &errb
	if err := ab.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ab.Wait(); close(done) }()
	defer func() { ab.Process.Kill(); <-done }()
	pgid, _ := strconv.Atoi(waitFile(t, pidFile, done))
	t.Cleanup(func() {
		if pgid > 0 && !groupGone(pgid) {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	})
	if ready != nil {
		ready(done)
	}
	ab.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("smtpbench ab did not exit after SIGINT; stderr %s", errb.String())
	}
	t.Logf("stderr: %s", errb.String())
	return ab.ProcessState.ExitCode(), pgid
}

// sweep --server-cmd --restart-each-step starts a server for each step and
// measures it: two steps, two starts, server figures in every step.
func TestSweepServerCommand(t *testing.T) {
	bin := buildBinary(t)
	addr := freeAddr(t)
	logs := t.TempDir()
	var stdout, stderr strings.Builder
	code := Main([]string{"sweep", "-c", "1,2", "-d", "500ms", "--warmup", "200ms", "-o", "json", "--server-log-dir", logs,
		"--server-cmd", "exec " + bin + " sink --listen " + addr + " --cpu 50us", "--restart-each-step", addr}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var doc report.Document
	if err := json.Unmarshal([]byte(stdout.String()), &doc); err != nil {
		t.Fatal(err)
	}
	for _, st := range doc.Sweep.Steps {
		if st.ServerCPUUSPerMessage == nil || *st.ServerCPUUSPerMessage < 50 {
			t.Errorf("step %s: server cpu/msg %v, want at least the sink's 50 µs", st.Label, st.ServerCPUUSPerMessage)
		}
	}
	if started, _ := filepath.Glob(filepath.Join(logs, "server-*.log")); len(started) != 2 {
		t.Errorf("server logs %q: want one start per step", started)
	}
}
