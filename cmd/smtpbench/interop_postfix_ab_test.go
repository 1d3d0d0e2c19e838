//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/report"
)

// postfixRegexps is how many regular expressions listener B checks on
// every RCPT: enough to make RCPT clearly the slowest command there.
const postfixRegexps = 3000

// Postfix answers a pipelined group in one write. Two listeners of one
// Postfix, A plain and B checking 3000 regular expressions on every RCPT,
// compared by "smtpbench ab" with the default pipelining: the verdict must
// name rcpt as slower on B, and neither body nor mail, which cost the same
// on both (before lock-step samples, the time of RCPT landed on body in
// the default mode and on mail in groups mode).
func TestInteropPostfixABNamesRcpt(t *testing.T) {
	dir, err := os.MkdirTemp("", "smtpbench-regexp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	file := filepath.Join(dir, "rcpt.regexp")
	var b strings.Builder
	for i := range postfixRegexps {
		// None matches the recipients smtpbench sends, so every one is
		// tried on every RCPT; unanchored, with an alternation, each costs
		// about a microsecond (a few ms per RCPT in all).
		fmt.Fprintf(&b, "/(nobody|somebody)%d[a-z]*x%d@blocked%d\\.example/ REJECT\n", i, i, i)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	pf := startPostfixListeners(t, [][]string{{"smtpd_recipient_restrictions=check_recipient_access,regexp:" + file + ",permit_mynetworks,reject"}})
	out := filepath.Join(dir, "ab.json")
	code, stdout, stderr := smtpbenchCmd(t, "ab", "-c", "2", "-d", "2s", "--warmup", "500ms", "--rounds", "6", "--timeout", "20s",
		"--out", out, pf.addr, pf.more[0])
	if code != 0 {
		t.Fatalf("smtpbench ab: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	verdict := ""
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, "B is slower") || strings.Contains(line, "B is faster") || strings.Contains(line, "no significant difference") {
			verdict = line
		}
	}
	// "B is slower on ...; faster on ...": what the verdict blames is
	// before the semicolon. B, slower, sends fewer messages a second and
	// so leaves the two shared CPUs less busy, which may truthfully make
	// its MAIL replies a little faster; that is no blame on the wrong
	// phase, so only the slower part is held to naming rcpt alone.
	slower, _, _ := strings.Cut(verdict, "; faster on")
	if !strings.Contains(slower, "rcpt p50") {
		t.Errorf("the verdict does not name rcpt p50 as slower: %q\n%s", verdict, stdout)
	}
	for _, wrong := range []string{"body ", "mail "} {
		if strings.Contains(slower, wrong) {
			t.Errorf("the verdict names %s as slower: %q\n%s", strings.TrimSpace(wrong), verdict, stdout)
		}
	}
	// Postfix answers the groups in one write, and the phases came from
	// the commands answered one by one.
	doc, err := report.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.Runs {
		p, src := r.Pipelining, r.PhaseSources["rcpt"]
		if len(p) != 1 || p[0].BatchedPct < 90 || src.Source != report.SourceLockstep || src.Timed == 0 {
			t.Errorf("%s round %d: pipelining %+v, rcpt from %+v: want the groups batched and rcpt from lock-step samples", r.Label, r.Round, p, src)
		}
	}
	t.Logf("smtpbench ab %s (A) %s (B):\n%s", pf.addr, pf.more[0], stdout)
}
