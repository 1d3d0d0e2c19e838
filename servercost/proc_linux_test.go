//go:build linux

package servercost

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fakeProc is a /proc of made-up processes, to follow the accounting of
// children that come and go between readings.
type fakeProc struct {
	t   *testing.T
	dir string
}

// set writes process pid's stat: parent, own CPU ticks, reaped children's
// ticks, resident pages.
func (f fakeProc) set(pid, ppid int, self, children uint64, rss int64) {
	d := filepath.Join(f.dir, strconv.Itoa(pid))
	if err := os.MkdirAll(d, 0o755); err != nil {
		f.t.Fatal(err)
	}
	// Fields 3-24 of proc(5); the name holds a space and a parenthesis.
	stat := fmt.Sprintf("%d (a (b) c) S %d 0 0 0 -1 0 0 0 0 0 %d 0 %d 0 20 0 1 0 %d 1000 %d\n",
		pid, ppid, self, children, 1000+pid, rss)
	if err := os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f fakeProc) gone(pid int) { os.RemoveAll(filepath.Join(f.dir, strconv.Itoa(pid))) }

func TestTreeCountsChildrenThatComeAndGo(t *testing.T) {
	f := fakeProc{t, t.TempDir()}
	f.set(10, 1, 100, 50, 10) // the master, with CPU before the run
	f.set(11, 10, 30, 0, 5)   // a child already running
	f.set(99, 1, 500, 0, 5)   // not in the tree
	tr, err := openTree(f.dir, []int{10})
	if err != nil {
		t.Fatal(err)
	}
	step := func(want time.Duration, wantProcs int) {
		t.Helper()
		cpu, mem, procs, gone, err := tr.read()
		if err != nil || gone {
			t.Fatalf("read: %v, gone %v", err, gone)
		}
		if cpu != want || procs != wantProcs || mem <= 0 {
			t.Fatalf("cpu %s, %d processes, memory %d; want %s and %d", cpu, procs, mem, want, wantProcs)
		}
	}
	// Reading 1: the master +5 ticks, the child +10, a new grandchild
	// (born since the baseline) with 7.
	f.set(10, 1, 105, 50, 10)
	f.set(11, 10, 40, 0, 5)
	f.set(12, 11, 7, 0, 5)
	step(22*clockTick, 3)
	// Reading 2: the grandchild used 3 more and exited; the child reaped
	// it, so its cutime grew by the grandchild's 10 ticks, 7 of which
	// were counted already. A child born and reaped between the two
	// readings shows only in the master's cutime: 20 ticks.
	f.gone(12)
	f.set(11, 10, 40, 10, 5)
	f.set(10, 1, 105, 70, 10)
	step((22+3+20)*clockTick, 2)
	// Reading 3: the child exits with 5 more ticks and the master reaps
	// it: its cutime grows by 40+5 own and 10 of the grandchild's.
	f.gone(11)
	f.set(10, 1, 105, 70+55, 10)
	step((45+5)*clockTick, 1)
	// The master is gone: the tree is gone, its CPU stays counted.
	f.gone(10)
	cpu, _, _, gone, err := tr.read()
	if err != nil || !gone || cpu != 50*clockTick {
		t.Fatalf("after the master: cpu %s gone %v err %v", cpu, gone, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	if _, err := openTree(t.TempDir(), []int{4242}); err == nil {
		t.Error("a PID without a /proc entry was accepted")
	}
	if _, err := openCgroup(t.TempDir()); err == nil {
		t.Error("an empty directory was taken for a cgroup")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := openCgroup(f); err == nil {
		t.Error("a file was taken for a cgroup")
	}
}

// BenchmarkSampleTree500 reads a tree of 500 real processes, as the
// sampler does once a second: at under 10 ms a reading, sampling takes
// under 1% of one core.
func BenchmarkSampleTree500(b *testing.B) {
	const n = 500
	var kids []*exec.Cmd
	b.Cleanup(func() {
		for _, c := range kids {
			c.Process.Signal(syscall.SIGKILL)
			c.Wait()
		}
	})
	for range n - 1 {
		c := exec.Command("sleep", "600")
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		kids = append(kids, c)
	}
	tr, err := openTree("/proc", []int{os.Getpid()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for b.Loop() {
		_, _, procs, _, err := tr.read()
		if err != nil || procs < n {
			b.Fatalf("read: %d processes, %v", procs, err)
		}
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	// CPU time, not wall time: on a busy machine the wall clock also
	// counts the time the reader waited for a processor.
	cpu := time.Duration(after.Utime.Nano() - before.Utime.Nano() + after.Stime.Nano() - before.Stime.Nano())
	perRead := cpu / time.Duration(b.N)
	b.ReportMetric(float64(perRead.Microseconds()), "cpu-µs/read")
	b.ReportMetric(100*perRead.Seconds()/DefaultInterval.Seconds(), "%core")
}

// TestTreeRootPIDReused: the server exits and its PID goes to an unrelated
// process (PIDs wrap within seconds on a busy machine); that process, with
// another start time, is not the server: the tree is gone.
func TestTreeRootPIDReused(t *testing.T) {
	f := fakeProc{t, t.TempDir()}
	f.set(10, 1, 100, 0, 10)
	tr, err := openTree(f.dir, []int{10})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, procs, gone, err := tr.read(); err != nil || gone || procs != 1 {
		t.Fatalf("the server: %d processes, gone %v, %v", procs, gone, err)
	}
	stat := "10 (other) S 1 0 0 0 -1 0 0 0 0 0 3 0 0 0 20 0 1 0 987654 1000 4\n"
	if err := os.WriteFile(filepath.Join(f.dir, "10", "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, procs, gone, err := tr.read(); err != nil || !gone || procs != 0 {
		t.Fatalf("PID 10 reused: %d processes, gone %v, %v; want the tree gone", procs, gone, err)
	}
}
