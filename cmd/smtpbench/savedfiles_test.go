package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/sink"
)

// smallRun saves one short run against an in-process sink to name.
func smallRun(t *testing.T, name string) {
	t.Helper()
	srv := startTestSink(t, sink.Config{})
	code, _, stderr := cliRun(t, "run", "-c", "1", "-n", "50", "--out", name, srv.Addr())
	if code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
}

// deadAddr is a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	srv := startTestSink(t, sink.Config{})
	addr := srv.Addr()
	srv.Close()
	return addr
}

// TestOutputThatIsAnInputIsRefused: an output path that is also an input,
// or another output, is a usage error before anything is read or sent, and
// the file is left as it was.
func TestOutputThatIsAnInputIsRefused(t *testing.T) {
	dir := t.TempDir()
	c1, c2 := filepath.Join(dir, "c1.json"), filepath.Join(dir, "c2.json")
	smallRun(t, c1)
	smallRun(t, c2)
	same := filepath.Join(dir, "same.out")
	os.WriteFile(same, []byte("precious"), 0o644)
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(c1, link); err != nil {
		link = c1 // no symbolic links here: the plain path still checks the rule
	}
	dead := deadAddr(t)
	// Another spelling of c1's path.
	c1Other := filepath.Join(dir, ".", "sub", "..", "c1.json")
	for _, tc := range []struct {
		name string
		args []string
		file string // must be unchanged
		want string
	}{
		{"run out=html", []string{"run", "-n", "10", "--out", same, "--html", same, dead}, same, "--html"},
		{"run cpuprofile=out", []string{"run", "-n", "10", "--cpuprofile", same, "--out", same, dead}, same, "--cpuprofile"},
		{"run out=data", []string{"run", "-n", "10", "--data", same, "--out", same, dead}, same, "--data"},
		{"run html=message", []string{"run", "-n", "10", "--message", same, "--html", same, dead}, same, "--message"},
		{"run live=data", []string{"run", "-n", "10", "--data", same, "--live", same, dead}, same, "--data"},
		{"run live=out", []string{"run", "-n", "10", "--out", same, "--live", same, dead}, same, "--live"},
		{"sweep out=to-file", []string{"sweep", "-c", "1", "-d", "1s", "--to-file", same, "--out", same, dead}, same, "--to-file"},
		{"ab out=data", []string{"ab", "-d", "1s", "--data", same, "--out", same, dead, dead}, same, "--data"},
		{"report html over its input", []string{"report", "-o", "html", "--out", c1, c1}, c1, "input"},
		{"report through a link", []string{"report", "-o", "html", "--out", link, c1}, c1, "input"},
		{"report hgrm per phase", []string{"report", "-o", "hgrm", "--out", filepath.Join(dir, "c1.hgrm"), c1Other}, c1, ""},
		{"merge over an input", []string{"merge", "--out", c1Other, c1, c2}, c1, "input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(tc.file)
			start := time.Now()
			code, _, stderr := cliRun(t, tc.args...)
			if tc.want == "" {
				// c1.hgrm splits into c1.<phase>.hgrm, none of which is c1.json.
				if code != exitOK {
					t.Errorf("exit %d, stderr %q", code, stderr)
				}
			} else if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want a usage error naming %s", code, stderr, tc.want)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("took %s: the refusal must come before any load", el)
			}
			if after, _ := os.ReadFile(tc.file); string(after) != string(before) {
				t.Errorf("%s changed (%d bytes, was %d)", tc.file, len(after), len(before))
			}
		})
	}
}

// TestFailedRunKeepsTheOldResult: a run whose other output cannot be
// written exits 1 and leaves the earlier --out file as it was.
func TestFailedRunKeepsTheOldResult(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.json")
	smallRun(t, precious)
	before, _ := os.ReadFile(precious)
	srv := startTestSink(t, sink.Config{})
	for _, bad := range [][]string{
		{"--html", filepath.Join(dir, "nonexistent", "x.html")},
		{"--cpuprofile", filepath.Join(dir, "nonexistent", "p")},
	} {
		args := append([]string{"run", "-c", "2", "-d", "1s", "--out", precious}, bad...)
		code, _, stderr := cliRun(t, append(args, srv.Addr())...)
		if code != exitRun || !strings.Contains(stderr, bad[0]) {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr)
		}
		if after, _ := os.ReadFile(precious); string(after) != string(before) {
			t.Errorf("%v: precious.json is now %d bytes, was %d", bad, len(after), len(before))
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files left in the directory, want only precious.json", len(ents))
	}
}

// TestStartAtInterruptKeepsTheOldResult: SIGINT during --start-at's wait
// ends the run with nothing measured and the old file intact.
func TestStartAtInterruptKeepsTheOldResult(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to a child on Windows")
	}
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.json")
	smallRun(t, precious)
	before, _ := os.ReadFile(precious)
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, _, stderr := startSignalled(t, []string{"run", "-n", "10", "--start-at", at, "--out", precious, "--html", filepath.Join(dir, "p.html")}, "waiting until")
	if code != exitRun || !strings.Contains(stderr, "nothing was measured") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if after, _ := os.ReadFile(precious); string(after) != string(before) {
		t.Errorf("precious.json is now %d bytes, was %d", len(after), len(before))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files left in the directory, want only precious.json", len(ents))
	}
}

// TestSweepAndABWriteWhatTheyMeasuredOfADeadTarget: as run does, sweep and
// ab save their runs when no session could be established.
func TestSweepAndABWriteWhatTheyMeasuredOfADeadTarget(t *testing.T) {
	dir := t.TempDir()
	dead := deadAddr(t)
	for _, tc := range []struct {
		cmd  string
		args []string
	}{
		{"sweep", []string{"sweep", "-c", "1,2", "-d", "1s", "--warmup", "0s", "--timeout", "1s", dead}},
		{"ab", []string{"ab", "--rounds", "1", "-d", "1s", "--warmup", "0s", "--timeout", "1s", dead, dead}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			out := filepath.Join(dir, tc.cmd+".json")
			code, _, stderr := cliRun(t, append([]string{tc.args[0], "--out", out}, tc.args[1:]...)...)
			if code != exitRun || !strings.Contains(stderr, "could not establish any session") {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			d, err := report.ReadFile(out)
			if err != nil {
				t.Fatalf("the --out file: %v", err)
			}
			if len(d.Runs) != 1 || d.Runs[0].Totals.Connections != 0 {
				t.Errorf("want the one run that found no server; got %d runs: %+v", len(d.Runs), d.Runs)
			}
		})
	}
}
