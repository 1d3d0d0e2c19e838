package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// cliRun runs Main with a time bound and returns exit code, stdout and stderr.
func cliRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Main(args, &out, &errb) }()
	select {
	case code := <-done:
		return code, out.String(), errb.String()
	case <-time.After(60 * time.Second):
		t.Fatalf("smtpbench %v did not finish in 60s", args)
		return 0, "", ""
	}
}

func startTestSink(t *testing.T, cfg sink.Config) *sink.Server {
	t.Helper()
	srv, err := sink.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // in the one-line message
	}{
		{"no command", nil, "Usage"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"run", "--bogus"}, "--bogus"},
		{"zero concurrency", []string{"run", "-c", "0"}, "--concurrency"},
		{"bad size", []string{"run", "--size", "4XB"}, "--size"},
		{"negative messages", []string{"run", "-n", "-5"}, "--messages"},
		{"bad pipelining", []string{"run", "--pipelining", "maybe"}, "--pipelining"},
		{"bad output", []string{"run", "-o", "xml", "-n", "1"}, "--output"},
		{"CRLF in from", []string{"run", "--from", "a@b\r\nRCPT TO:<x>"}, "--from"},
		{"bad placeholder", []string{"run", "--to", "{x}@b"}, "--to"},
		{"empty to", []string{"run", "--to", ""}, "--to"},
		{"empty from", []string{"run", "--from", ""}, "--from"},
		{"too many rcpts", []string{"run", "--rcpts", "5000"}, "--rcpts"},
		{"two targets", []string{"run", "a:25", "b:25"}, "at most one target"},
		{"bad target", []string{"run", "-n", "1", "a:b:c"}, "target"},
		{"bad threshold", []string{"run", "--max-p99", "nophase=1s"}, "nophase"},
		{"bad threshold value", []string{"run", "--max-p99", "message=fast"}, "--max-p99"},
		{"arrival without rate", []string{"run", "--arrival", "poisson"}, "--arrival"},
		{"sink bad reject", []string{"sink", "--reject", "rcpt=200"}, "--reject"},
		{"sink bad step", []string{"sink", "--delay", "hello=1s"}, "hello"},
		{"sink bad stall", []string{"sink", "--stall", "4s"}, "--stall"},
		{"sink bad after-dot", []string{"sink", "--after-dot", "discard"}, "--after-dot"},
		{"sink bad per-session count", []string{"sink", "--max-per-session", "0"}, "--max-per-session"},
		{"sink bad per-session code", []string{"sink", "--max-per-session", "100:250"}, "--max-per-session"},
		{"version argument", []string{"version", "x"}, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := cliRun(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tc.want)
			}
			if tc.args != nil && strings.Count(strings.TrimSpace(stderr), "\n") > 0 && tc.name != "no command" {
				t.Errorf("usage error should be one line, got %q", stderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"sink", "-h"}, {"version", "--help"}} {
		code, out, _ := cliRun(t, args...)
		if code != exitOK || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
		if args[0] != "version" && !strings.Contains(out, "Example") {
			t.Errorf("%v: help has no examples", args)
		}
	}
	code, out, _ := cliRun(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "smtpbench ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestRunAgainstBuiltinSinkTableAndJSON(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "r.json")
	code, out, stderr := cliRun(t, "run", "-c", "4", "-n", "500", "--out", jsonPath)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "built-in sink") {
		t.Errorf("no line saying the built-in sink is used: %q", stderr)
	}
	for _, want := range []string{"phase", "message", "500 ok, 0 rejected, 0 failed (500 attempted)", "errors      none"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, raw, 500)

	code, out, _ = cliRun(t, "run", "-c", "2", "-n", "100", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	checkSchema(t, []byte(out), 100)
}

// checkSchema checks the smtpbench/v1 fields the README promises.
func checkSchema(t *testing.T, raw []byte, ok int64) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	for _, k := range []string{"schema", "target", "config", "started_at", "elapsed_s", "totals", "phases", "replies", "errors", "intervals", "warnings"} {
		if _, found := doc[k]; !found {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if doc["schema"] != "smtpbench/v1" {
		t.Errorf("schema %v", doc["schema"])
	}
	totals := doc["totals"].(map[string]any)
	for _, k := range []string{"messages_attempted", "messages_ok", "messages_rejected", "messages_failed", "messages_per_s", "connections", "bytes_sent"} {
		if _, found := totals[k]; !found {
			t.Errorf("totals lack %q", k)
		}
	}
	if got := int64(totals["messages_ok"].(float64)); got != ok {
		t.Errorf("messages_ok %d, want %d", got, ok)
	}
	phases := doc["phases"].(map[string]any)
	for _, p := range []string{"connect", "banner", "ehlo", "mail", "rcpt", "data", "body", "rset", "quit", "message"} {
		s, found := phases[p].(map[string]any)
		if !found {
			t.Errorf("phases lack %q", p)
			continue
		}
		for _, k := range []string{"count", "min_ms", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "hdr"} {
			if _, found := s[k]; !found {
				t.Errorf("phase %s lacks %q", p, k)
			}
		}
	}
}

func TestThresholdsExitCodes(t *testing.T) {
	var d [8]time.Duration
	d[sink.StepBody] = 20 * time.Millisecond
	srv := startTestSink(t, sink.Config{Delay: d, Reject: func() (r [8]sink.Reject) {
		r[sink.StepRcpt] = sink.Reject{Percent: 10}
		return
	}()})
	cases := []struct {
		name     string
		args     []string
		code     int
		breaches int
	}{
		{"within limits", []string{"--max-p99", "body=5s", "--max-error-rate", "50", "--min-rate", "1"}, exitOK, 0},
		{"p99 too high", []string{"--max-p99", "body=1ms"}, exitRun, 1},
		{"p50 too high", []string{"--max-p50", "message=1ms"}, exitRun, 1},
		{"error rate", []string{"--max-error-rate", "1"}, exitRun, 1},
		{"min rate", []string{"--min-rate", "1000000"}, exitRun, 1},
		{"all three", []string{"--max-p99", "body=1ms", "--max-error-rate", "1", "--min-rate", "1000000"}, exitRun, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"run", "-c", "2", "-n", "20", "--out", filepath.Join(dir, "r.json")}, tc.args...)
			code, out, stderr := cliRun(t, append(args, srv.Addr())...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if n := strings.Count(stderr, "threshold breached"); n != tc.breaches {
				t.Errorf("%d breach lines, want %d: %q", n, tc.breaches, stderr)
			}
			if !strings.Contains(out, "messages") {
				t.Error("the report must still be printed")
			}
			if _, err := os.Stat(filepath.Join(dir, "r.json")); err != nil {
				t.Errorf("the JSON must still be written: %v", err)
			}
		})
	}
}

func TestRunCannotConnect(t *testing.T) {
	srv := startTestSink(t, sink.Config{})
	addr := srv.Addr()
	srv.Close()
	code, out, stderr := cliRun(t, "run", "-n", "5", "--timeout", "1s", addr)
	if code != exitRun {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, "could not establish any session") || !strings.Contains(out, "refused") {
		t.Errorf("stdout %q\nstderr %q", out, stderr)
	}
}

func TestUnwritableOutFile(t *testing.T) {
	code, _, stderr := cliRun(t, "run", "-n", "1", "--out", filepath.Join(t.TempDir(), "no", "such", "dir.json"))
	if code != exitRun || !strings.Contains(stderr, "--out") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = cliRun(t, "run", "-n", "1", "--data", filepath.Join(t.TempDir(), "missing"))
	if code != exitRun || !strings.Contains(stderr, "--data") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestEndlessFilesAreRefused: every flag that reads a file refuses an
// endless one at once instead of reading until memory runs out.
func TestEndlessFilesAreRefused(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	for _, flag := range []string{"--data", "--message", "--corpus", "--to-file"} {
		t.Run(flag, func(t *testing.T) {
			start := time.Now()
			code, _, stderr := cliRun(t, "run", flag, "/dev/zero", "-n", "1", "127.0.0.1:9")
			if code == exitOK || !strings.Contains(stderr, "not a regular file") {
				t.Errorf("exit %d, stderr %q: want a refusal of /dev/zero", code, stderr)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %s to refuse /dev/zero", el)
			}
		})
	}
}
