package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/session/sink"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary compiles smtpbench once per test process, so signal tests hit
// a real process with real signals.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "smtpbench-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "smtpbench")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("building smtpbench: %v", binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// startSignalled runs the binary and sends it the given signals at the given
// offsets; it returns exit code, stdout and stderr.
func startSignalled(t *testing.T, args []string, signals ...time.Duration) (int, string, string) {
	t.Helper()
	cmd := exec.Command(buildBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, at := range signals {
		time.Sleep(time.Until(start.Add(at)))
		cmd.Process.Signal(syscall.SIGINT)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("smtpbench did not exit after its signals; stderr %s", errb.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func TestSignalStopsAndReports(t *testing.T) {
	srv := startTestSink(t, sink.Config{})
	jsonPath := filepath.Join(t.TempDir(), "r.json")
	code, out, stderr := startSignalled(t, []string{"run", "-c", "4", "-d", "1h", "--out", jsonPath, srv.Addr()}, 700*time.Millisecond)
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
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
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
	code, out, stderr := startSignalled(t, []string{"run", "-c", "2", "-d", "1h", "--grace", "1m", "-o", "json", "--out", jsonPath, srv.Addr()},
		500*time.Millisecond, 900*time.Millisecond)
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
