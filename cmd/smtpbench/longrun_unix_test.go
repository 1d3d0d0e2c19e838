//go:build unix

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// A live file whose writes start failing during the run (a full disk, a
// lost mount) stops, says so once, and the run goes on to its full report.
// A named pipe whose reader goes away after two seconds makes the failure
// happen on cue: every later write gets EPIPE, as a full disk gets ENOSPC.
func TestLiveFileWriteFails(t *testing.T) {
	live := filepath.Join(t.TempDir(), "run.live")
	if err := syscall.Mkfifo(live, 0o600); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	read := make(chan int, 1)
	go func() {
		f, err := os.Open(live) // blocks until the run opens it to write
		if err != nil {
			read <- -1
			return
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		n := 0
		for n < 3 && sc.Scan() { // the header and two seconds
			n++
		}
		f.Close()
		read <- n
	}()
	srv := startTestSink(t, sink.Config{})
	r := runBench(t, "-c", "4", "--rate", "200", "-n", "100000", "-d", "5s", "--timeout", "5s", "--live", live, srv.Addr())
	if n := <-read; n != 3 {
		t.Fatalf("the reader got %d lines", n)
	}
	if r.Code != 0 || r.Report.Totals.MessagesOK < 800 || len(r.Report.Intervals) < 5 {
		t.Fatalf("%s: %s", r, r.Stderr)
	}
	if n := strings.Count(r.Stderr, "stopped at second"); n != 1 || !strings.Contains(r.Stderr, "broken pipe") {
		t.Fatalf("want one line saying the live file stopped, got %d:\n%s", n, r.Stderr)
	}
}

// The same with a real full disk, where the test may mount a tiny tmpfs
// (root): the live file is the only thing on it, and it runs out of room.
func TestLiveFileDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	// One page (4 KiB): the header and a few seconds of lines fit, and a
	// run of this rate overflows it within its 13 seconds. A line's size
	// is mostly its histogram's: on schedule the latencies are so alike
	// that a line takes about 300 bytes; the stall of 3 s spreads them
	// (messages queue for sessions during it, and the backlog after it),
	// which makes each line from then on about 400 bytes (4 KiB after 10 to
	// 11 s here).
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	srv := startTestSink(t, sink.Config{StallAt: time.Second, StallFor: 3 * time.Second})
	r := runBench(t, "-c", "8", "--rate", "3000", "-n", "1000000", "-d", "13s", "--timeout", "5s", "--live", filepath.Join(dir, "run.live"), srv.Addr())
	if r.Code != 0 || r.Report.Totals.MessagesOK < 1000 {
		t.Fatalf("%s: %s", r, r.Stderr)
	}
	if n := strings.Count(r.Stderr, "stopped at second"); n != 1 || !strings.Contains(r.Stderr, "no space left") {
		b, _ := os.ReadFile(filepath.Join(dir, "run.live"))
		var sizes []int
		for _, l := range strings.Split(string(b), "\n") {
			sizes = append(sizes, len(l))
		}
		t.Fatalf("want one line saying the live file stopped, got %d (live file %d bytes, lines %v):\n%s", n, len(b), sizes, r.Stderr)
	}
}
