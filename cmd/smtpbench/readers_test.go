package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// TestReadersRefuseDevices: report, merge, compare and report -o html
// refuse /dev/zero at once instead of reading it until memory runs out.
func TestReadersRefuseDevices(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	smallRun(t, good)
	for _, args := range [][]string{
		{"report", "/dev/zero"},
		{"report", "-o", "html", "--out", filepath.Join(dir, "x.html"), "/dev/zero"},
		{"merge", good, "/dev/zero"},
		{"compare", "/dev/zero", good},
		{"compare", "/dev/zero"},
	} {
		start := time.Now()
		code, _, stderr := cliRun(t, args...)
		if code != exitRun || !strings.Contains(stderr, "/dev/zero: not a regular file") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("%q took %s", args, el)
		}
	}
}

// endlessInput feeds a child's standard input until it stops reading.
type endlessInput struct{}

func (endlessInput) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestStdinIsBoundedAndCompareReadsIt: "-" is standard input for report,
// merge and compare alike, read with the same bound as a file.
func TestStdinIsBoundedAndCompareReadsIt(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	smallRun(t, a)
	smallRun(t, b)
	bin := buildBinary(t)
	run := func(stdin any, args ...string) (int, string, string, *os.ProcessState) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		switch in := stdin.(type) {
		case string:
			f, err := os.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.Stdin = f
		case endlessInput:
			cmd.Stdin = in
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		if ctx.Err() != nil {
			t.Fatalf("%q did not finish", args)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errb.String(), cmd.ProcessState
	}
	code, out, stderr, _ := run(b, "compare", a, "-")
	if code != exitOK || !strings.Contains(out, "messages/s") {
		t.Errorf("compare a.json - < b.json: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, _, stderr, _ = run(b, "compare", "-", "-")
	if code != exitUsage || !strings.Contains(stderr, "given twice") {
		t.Errorf("compare - -: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"report", "-"}, {"merge", a, "-"}, {"compare", a, "-"}} {
		start := time.Now()
		code, _, stderr, ps := run(endlessInput{}, args...)
		if code != exitRun || !strings.Contains(stderr, "standard input: longer than") {
			t.Errorf("%q on endless input: exit %d, stderr %q", args, code, stderr)
		}
		t.Logf("%q on endless input: refused after %s, %s", args, time.Since(start).Round(time.Millisecond), peakMemory(ps))
		checkPeakMemory(t, ps, 1<<30)
	}
}

// TestCompareGates: --fail-if-slower refuses values a check could not
// fail with, ab refuses rounds that cannot show a difference before any
// load, and a label with one file is refused rather than ignored.
func TestCompareGates(t *testing.T) {
	dir := t.TempDir()
	ab := filepath.Join(dir, "ab.json")
	a, b := startTestSink(t, sink.Config{}), startTestSink(t, sink.Config{})
	code, _, stderr := cliRun(t, "ab", "--rounds", "2", "-n", "30", "-c", "1", "--warmup", "0s", "--out", ab, a.Addr(), b.Addr())
	if code != exitOK {
		t.Fatalf("ab: exit %d: %s", code, stderr)
	}
	one := filepath.Join(dir, "one.json")
	smallRun(t, one)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "--fail-if-slower", "NaN", ab}, "--fail-if-slower"},
		{[]string{"compare", "--fail-if-slower", "Inf", ab}, "--fail-if-slower"},
		{[]string{"compare", "--fail-if-slower", "-Inf", ab}, "--fail-if-slower"},
		{[]string{"compare", "--fail-if-slower", "message:p50=NaN", ab}, "--fail-if-slower"},
		{[]string{"ab", "--fail-if-slower", "NaN", a.Addr(), b.Addr()}, "--fail-if-slower"},
		{[]string{"ab", "--rounds", "2", "--fail-if-slower", "5", a.Addr(), b.Addr()}, "--rounds 4"},
		{[]string{"ab", "--rounds", "3", "--fail-if-slower", "5", a.Addr(), b.Addr()}, "--rounds 4"},
		{[]string{"ab", "--rounds", "4", "--alpha", "0.01", "--fail-if-slower", "5", a.Addr(), b.Addr()}, "--rounds 5"},
		{[]string{"compare", ab + "#C"}, `no runs labelled "C"`},
		{[]string{"compare", ab + "#A"}, "one side"},
		{[]string{"compare", ab + "#C", one}, `no runs labelled "C"`},
	} {
		start := time.Now()
		code, _, stderr := cliRun(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want a usage error with %q", tc.args, code, stderr, tc.want)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("%q took %s: refused after load", tc.args, el)
		}
	}
	// The same gate with a real number still checks.
	if code, _, stderr := cliRun(t, "compare", "--fail-if-slower", "5", ab); code == exitUsage {
		t.Errorf("compare --fail-if-slower 5: usage error %q", stderr)
	}
}
