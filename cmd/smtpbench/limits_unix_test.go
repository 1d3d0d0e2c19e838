//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// runWithFileLimit runs the binary under a shell that first sets the
// open-file limits (soft first: a hard limit below the soft one is refused);
// hard 0 leaves the hard limit as it is.
func runWithFileLimit(t *testing.T, soft, hard uint64, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	script := "ulimit -Sn " + strconv.FormatUint(soft, 10)
	if hard > 0 {
		script += " && ulimit -Hn " + strconv.FormatUint(hard, 10)
	}
	script += ` && exec "$0" "$@"`
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", script, buildBinary(t)}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func TestConcurrencyMustFitTheFileLimit(t *testing.T) {
	// -c 100 with the built-in sink needs 100 + 100 + 64 descriptors.
	code, stdout, stderr := runWithFileLimit(t, 200, 200, "run", "-c", "100", "-n", "100")
	if code != exitUsage || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want a refusal with exit 2", code, stdout, stderr)
	}
	line := strings.TrimSpace(stderr)
	for _, want := range []string{"-c 100 with the built-in sink", "264", "limit is 200", "ulimit -n"} {
		if !strings.Contains(line, want) {
			t.Errorf("refusal %q does not say %q", line, want)
		}
	}
	if strings.Contains(line, "\n") {
		t.Errorf("refusal is not one line: %q", line)
	}

	// Against a separate server only our own end counts: 164 fits, and the
	// run goes ahead (and fails to connect to a port nobody listens on).
	code, _, stderr = runWithFileLimit(t, 200, 200, "run", "-c", "100", "-n", "1", freeAddr(t))
	if code != exitRun || !strings.Contains(stderr, "could not establish") {
		t.Errorf("with a target: exit %d, stderr %q; want the run to start", code, stderr)
	}
}

func TestSoftFileLimitIsRaised(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if uint64(rl.Max) < 1000 {
		t.Skipf("hard open-file limit %d is below what this test needs", rl.Max)
	}
	// A soft limit of 100 cannot hold 150 sessions and the sink's 150 ends;
	// the hard limit can, so the soft one is raised (by Go's os package at
	// start, and by smtpbench before its check) and the run completes.
	code, stdout, stderr := runWithFileLimit(t, 100, 0, "run", "-c", "150", "-n", "300", "-o", "json")
	if code != exitOK || !strings.Contains(stdout, `"messages_ok": 300`) {
		t.Fatalf("exit %d, stderr %q, stdout %.300q", code, stderr, stdout)
	}
}

// TestDueTimersFitTheFileLimit: an open-model worker takes a timerfd for
// its due times only where the limit holds one besides its session; where
// it does not, the run still goes ahead on Go timers, and says so.
func TestDueTimersFitTheFileLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("timerfd is Linux's")
	}
	srv := startTestSink(t, sink.Config{})
	for _, c := range []struct {
		sessions int
		warned   bool
	}{{60, false}, {80, true}} { // 2·60+64 = 184 fits under 200; 2·80+64 = 224 does not
		code, stdout, stderr := runWithFileLimit(t, 200, 200, "run", "-c", strconv.Itoa(c.sessions), "--rate", "200", "-d", "1s", "-o", "json", srv.Addr())
		if code != exitOK || !strings.Contains(stdout, `"messages_ok": 200`) {
			t.Fatalf("-c %d: exit %d, stderr %q, stdout %.300q", c.sessions, code, stderr, stdout)
		}
		if got := strings.Contains(stdout, "no room for a precise timer"); got != c.warned {
			t.Errorf("-c %d: warned about Go timers: %v, want %v", c.sessions, got, c.warned)
		}
	}
}
