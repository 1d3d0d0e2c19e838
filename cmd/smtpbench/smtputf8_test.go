package main

import (
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// TestSMTPUTF8: a non-ASCII --from goes out with SMTPUTF8 (RFC 6531) to a
// server that offers it (Mailpit), and is refused, at once and saying why,
// by a server that does not (the built-in sink); an ASCII address never
// declares it.
func TestSMTPUTF8(t *testing.T) {
	const from = "ünï@exämple.com"
	m := startMailpit(t)
	code, _, stderr := cliRun(t, "run", "-n", "2", "--from", from, "--to", "rcpt@exämple.com", "--trace", "1", m.SMTP)
	if code != exitOK {
		t.Fatalf("against Mailpit: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "C: MAIL FROM:<"+from+">") || !strings.Contains(stderr, " SMTPUTF8\n") {
		t.Errorf("MAIL does not declare SMTPUTF8:\n%s", stderr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.info(t).RuntimeStats.SMTPAccepted < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := m.info(t).RuntimeStats.SMTPAccepted; n != 2 {
		t.Errorf("Mailpit accepted %d messages, want 2", n)
	}
	code, _, stderr = cliRun(t, "run", "-n", "1", "--trace", "1", m.SMTP)
	if code != exitOK {
		t.Fatalf("ASCII addresses: exit %d: %s", code, stderr)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "C: MAIL FROM:") && strings.Contains(line, "SMTPUTF8") {
			t.Errorf("an ASCII address declared SMTPUTF8: %s", line)
		}
	}

	srv := startTestSink(t, sink.Config{})
	start := time.Now()
	code, out, stderr := cliRun(t, "run", "-c", "2", "-d", "5s", "--from", from, srv.Addr())
	if code != exitRun || !strings.Contains(stderr, "does not offer SMTPUTF8") {
		t.Errorf("against a server without SMTPUTF8: exit %d, stderr %q", code, stderr)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %s: the run must stop at the first refusal", el)
	}
	if srv.Accepted() != 0 || strings.Contains(out, " ok,") && !strings.Contains(out, "0 ok,") {
		t.Errorf("the sink accepted %d messages:\n%s", srv.Accepted(), out)
	}
}
