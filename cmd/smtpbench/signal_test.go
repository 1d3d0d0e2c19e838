package main

import (
	"context"
	"encoding/json"
	"fmt"
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

// testBinDir holds the binaries the tests build (goBuild). TestMain creates
// it and removes it when the tests are done, so no build is left behind.
var testBinDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "smtpbench-test-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating a directory for test binaries: %v\n", err)
		os.Exit(1)
	}
	testBinDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goBuild runs "go build" in the package directory dir (relative to
// cmd/smtpbench) and writes the binary to testBinDir/name. A build that needs
// the module proxy while offline can stall, so it is bounded.
func goBuild(dir, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(testBinDir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %v\n%s", dir, err, out)
	}
	return bin, nil
}

// smtpbenchBuilt is the once-per-process build of smtpbench.
var smtpbenchBuilt = sync.OnceValues(func() (string, error) { return goBuild(".", "smtpbench") })

// buildBinary compiles smtpbench once per test process, so signal tests hit
// a real process with real signals.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := smtpbenchBuilt()
	if err != nil {
		t.Fatalf("building smtpbench: %v", err)
	}
	return bin
}

// startSignalled runs the binary and sends it SIGINT once for each marker,
// when that text has appeared on its stderr: a readiness line rather than a
// fixed delay, so that a slow machine cannot signal the child before its
// handler is installed. It returns exit code, stdout and stderr.
func startSignalled(t *testing.T, args []string, markers ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(buildBinary(t), args...)
	var out, errb lockedBuffer
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
