package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/syncbuf"

	"github.com/smtpbench/smtpbench/sink"
)

// startSignalled runs the binary and sends it SIGINT once for each marker,
// when that text has appeared on its stderr: a readiness line rather than a
// fixed delay, so that a slow machine cannot signal the child before its
// handler is installed. It returns exit code, stdout and stderr.
func startSignalled(t *testing.T, args []string, markers ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(buildBinary(t), args...)
	var out, errb syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for _, m := range markers {
	wait:
		for !strings.Contains(errb.String(), m) {
			select {
			case <-done:
				t.Fatalf("smtpbench exited before printing %q; stderr %s", m, errb.String())
			case <-deadline:
				cmd.Process.Kill()
				<-done
				t.Fatalf("smtpbench did not print %q; stderr %s", m, errb.String())
			case <-time.After(10 * time.Millisecond):
				continue wait
			}
		}
		cmd.Process.Signal(syscall.SIGINT)
	}
	select {
	case <-done:
	case <-deadline:
		cmd.Process.Kill()
		<-done
		t.Fatalf("smtpbench did not exit after its signals; stderr %s", errb.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// progressLine is in every --progress line; the first one comes after the
// signal handler is installed and the run has started.
const progressLine = " msg/s "

func TestSignalStopsAndReports(t *testing.T) {
	srv := startTestSink(t, sink.Config{})
	jsonPath := filepath.Join(t.TempDir(), "r.json")
	code, out, stderr := startSignalled(t, []string{"run", "-c", "4", "-d", "1h", "--progress", "--out", jsonPath, srv.Addr()}, progressLine)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(out, "stopped by signal") {
		t.Errorf("table does not say it was stopped by a signal:\n%s", out)
	}
	var doc struct {
		StopReason string `json:"stop_reason"`
		Totals     struct {
			OK     int64 `json:"messages_ok"`
			Failed int64 `json:"messages_failed"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(readFile(t, jsonPath)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.StopReason != "signal" || doc.Totals.OK == 0 || doc.Totals.Failed != 0 {
		t.Errorf("stop %q ok %d failed %d", doc.StopReason, doc.Totals.OK, doc.Totals.Failed)
	}
	// Graceful: every message the sink accepted was counted, and no more.
	deadline := time.Now().Add(2 * time.Second)
	for srv.Accepted() != uint64(doc.Totals.OK) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Accepted() != uint64(doc.Totals.OK) {
		t.Errorf("sink accepted %d, report says %d ok", srv.Accepted(), doc.Totals.OK)
	}
}

func TestSecondSignalAborts(t *testing.T) {
	var d [8]time.Duration
	d[sink.StepBody] = time.Minute
	srv := startTestSink(t, sink.Config{Delay: d})
	jsonPath := filepath.Join(t.TempDir(), "r.json")
	start := time.Now()
	code, out, stderr := startSignalled(t, []string{"run", "-c", "2", "-d", "1h", "--grace", "1m", "--progress", "-o", "json", "--out", jsonPath, srv.Addr()},
		progressLine, "signal again to abort")
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("second signal took %s to end the run", el)
	}
	if code != exitOK {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(stderr, "aborting") {
		t.Errorf("stderr %q", stderr)
	}
	for _, doc := range []string{out, readFile(t, jsonPath)} {
		if !strings.Contains(doc, `"class": "aborted"`) {
			t.Errorf("report does not count the aborted messages:\n%s", doc)
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
