package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/sink"
)

// TestRefusedBeforeAnything: values that would send something malformed,
// or expose a server, are usage errors in one line.
func TestRefusedBeforeAnything(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sink", "--listen", ""}, `--listen "": want HOST:PORT`},
		{[]string{"sink", "--listen", " "}, `--listen " ": want HOST:PORT`},
		{[]string{"run", "-n", "1", "--from", "{r}@x.y"}, "{r} is the recipient's number"},
	} {
		code, _, stderr := cliRun(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%q: exit %d, stderr %q; want one usage line with %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestMergeNamesTheKindWithItsArticle: "an ab document", not "a ab".
func TestMergeNamesTheKindWithItsArticle(t *testing.T) {
	dir := t.TempDir()
	ab := filepath.Join(dir, "ab.json")
	a, b := startTestSink(t, sink.Config{}), startTestSink(t, sink.Config{})
	if code, _, stderr := cliRun(t, "ab", "--rounds", "1", "-n", "20", "-c", "1", "--warmup", "0s", "--out", ab, a.Addr(), b.Addr()); code != exitOK {
		t.Fatalf("ab: exit %d: %s", code, stderr)
	}
	code, _, stderr := cliRun(t, "merge", ab)
	if code != exitRun || !strings.Contains(stderr, "is an ab document") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestCertificateFailureAfterEHLO: sessions that passed EHLO and then
// failed the certificate check are not said never to have reached EHLO,
// and the certificate's reason is whole.
func TestCertificateFailureAfterEHLO(t *testing.T) {
	addr := startSinkProcess(t) // STARTTLS with a self-signed certificate
	code, out, stderr := cliRun(t, "run", "-n", "2", "--tls", "starttls", addr)
	if code != exitRun {
		t.Errorf("exit %d, want 1; stderr %q", code, stderr)
	}
	if strings.Contains(out, "no session got as far as EHLO") || !strings.Contains(out, "past EHLO") {
		t.Errorf("the pipelining line does not say the sessions passed EHLO:\n%s", out)
	}
	if !strings.Contains(out, "certificate signed by unknown authority") || strings.Contains(out, "x509:") {
		t.Errorf("the x509 reason is not shown whole and plain:\n%s", out)
	}
}
