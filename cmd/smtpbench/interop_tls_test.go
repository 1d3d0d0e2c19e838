package main

// TLS and AUTH against Mailpit: STARTTLS required (--smtp-require-starttls)
// and implicit TLS (--smtp-require-tls), each with an auth file, and a
// certificate from a CA of the test's own. What Mailpit stored, read through
// its HTTP API, must equal what smtpbench counted as delivered.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mailpitAuthFile writes Mailpit's --smtp-auth-file: user1 to user10, all
// with testPassword (plain text is one of the formats it reads).
func mailpitAuthFile(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "user%d:%s\n", i, testPassword)
	}
	f := filepath.Join(t.TempDir(), "smtp-auth")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

var phaseRow = regexp.MustCompile(`(?m)^ +(tls|auth) +(\d+) `)

// checkTLSDelivered asserts a run that should have delivered n messages
// over c sessions, each with a handshake and an AUTH.
func checkTLSDelivered(t *testing.T, m *mailpit, before mailpitInfo, r *benchRun, n, c int64) {
	t.Helper()
	checkInvariants(t, r)
	tot := r.Report.Totals
	if r.Code != exitOK || tot.MessagesOK != n || tot.Connections != c || len(r.Report.Errors) != 0 {
		t.Fatalf("%s: exit %d, ok %d, connections %d, errors %+v; want %d ok over %d sessions\nstderr: %.2000s",
			r, r.Code, tot.MessagesOK, tot.Connections, r.Report.Errors, n, c, r.Stderr)
	}
	after := m.waitStored(t, before.Messages+tot.MessagesOK)
	if got := after.Messages - before.Messages; got != tot.MessagesOK {
		t.Errorf("%s: Mailpit stored %d messages, smtpbench messages_ok=%d", r, got, tot.MessagesOK)
	}
	if got := after.RuntimeStats.SMTPAccepted - before.RuntimeStats.SMTPAccepted; got != tot.MessagesOK {
		t.Errorf("%s: Mailpit SMTPAccepted rose by %d, smtpbench messages_ok=%d", r, got, tot.MessagesOK)
	}
	tl := r.Report.TLS
	if tl == nil || tl.HandshakesFull+tl.HandshakesResumed != c || r.Report.Phases["tls"].Count != c {
		t.Errorf("%s: tls %+v, tls phase %d samples; want %d handshakes", r, tl, r.Report.Phases["tls"].Count, c)
	}
	if got := r.Report.Replies["auth"]["235"]; got != c || r.Report.Phases["auth"].Count != c {
		t.Errorf("%s: auth 235 x%d, auth phase %d samples; want %d", r, got, r.Report.Phases["auth"].Count, c)
	}
	rows := map[string]string{}
	for _, m := range phaseRow.FindAllStringSubmatch(r.Stdout, -1) {
		if _, seen := rows[m[1]]; !seen { // the phase table comes before the replies
			rows[m[1]] = m[2]
		}
	}
	if rows["tls"] != fmt.Sprint(c) || rows["auth"] != fmt.Sprint(c) {
		t.Errorf("%s: table rows tls=%q auth=%q, want %d each:\n%s", r, rows["tls"], rows["auth"], c, r.Stdout)
	}
	if !strings.Contains(r.Stdout, fmt.Sprintf("tls         %d handshakes:", c)) {
		t.Errorf("%s: table lacks the tls line:\n%s", r, r.Stdout)
	}
	checkNoPassword(t, "stdout", r.Stdout)
	checkNoPassword(t, "stderr", r.Stderr)
}

func TestInteropTLSMailpit(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	users := mailpitAuthFile(t)
	pw := secretFile(t, testPassword+"\n", 0o600)
	wrong := secretFile(t, "not-the-password\n", 0o600)
	tlsArgs := []string{"--smtp-tls-cert", pki.Cert, "--smtp-tls-key", pki.Key, "--smtp-auth-file", users}
	starttls := startMailpit(t, append(tlsArgs, "--smtp-require-starttls")...)
	implicit := startMailpit(t, append(tlsArgs, "--smtp-require-tls")...)

	const n, c = 1000, 10
	for _, tc := range []struct {
		name string
		m    *mailpit
		args []string
	}{
		{"STARTTLS+PLAIN", starttls, []string{"--tls", "starttls", "--auth", "plain", "--user", "user1"}},
		{"STARTTLS+LOGIN", starttls, []string{"--tls", "starttls", "--auth", "login", "--user", "user{w}"}},
		{"implicit+AUTH", implicit, []string{"--tls", "implicit", "--user", "user3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.m.info(t)
			args := append([]string{"-c", fmt.Sprint(c), "-n", fmt.Sprint(n), "--timeout", "10s", "--trace", "1",
				"--password-file", pw, "--ca", pki.CA}, tc.args...)
			r := runBenchTable(t, append(args, tc.m.SMTP)...)
			checkTLSDelivered(t, tc.m, before, r, n, c)
			if strings.Contains(tc.name, "PLAIN") && !strings.Contains(r.Stderr, "[1] C: AUTH PLAIN <redacted>") {
				t.Errorf("trace lacks AUTH PLAIN <redacted>:\n%.3000s", r.Stderr)
			}
			if strings.HasPrefix(tc.name, "STARTTLS") && !strings.Contains(r.Stderr, "[1] C: STARTTLS") {
				t.Errorf("trace lacks STARTTLS:\n%.3000s", r.Stderr)
			}
		})
	}

	t.Run("per-conn 1 resumes", func(t *testing.T) {
		before := starttls.info(t)
		r := runBenchTable(t, "-c", "2", "-n", "20", "--per-conn", "1", "--timeout", "10s", "--tls", "starttls",
			"--user", "user1", "--password-file", pw, "--ca", pki.CA, starttls.SMTP)
		checkTLSDelivered(t, starttls, before, r, 20, 20)
		if tl := r.Report.TLS; tl == nil || tl.HandshakesResumed < 18 {
			t.Errorf("%s: tls %+v, want at least 18 resumed handshakes", r, tl)
		}
		r = runBenchTable(t, "-c", "2", "-n", "10", "--per-conn", "1", "--timeout", "10s", "--tls", "starttls", "--tls-resume=false",
			"--user", "user1", "--password-file", pw, "--ca", pki.CA, starttls.SMTP)
		if tl := r.Report.TLS; r.Code != exitOK || tl == nil || tl.HandshakesResumed != 0 || tl.HandshakesFull != 10 {
			t.Errorf("%s: tls %+v, want 10 full handshakes and none resumed", r, tl)
		}
	})

	// Failures: each fails every session at the same place, so the run
	// stops after the first sessions with exit 1 and one line on stderr.
	for _, tc := range []struct {
		name  string
		m     *mailpit
		args  []string
		err   errorKey
		hint  string
		limit time.Duration
	}{
		{"wrong password", starttls, []string{"--tls", "starttls", "--user", "user1", "--password-file", wrong, "--ca", pki.CA},
			ek("auth", "perm_reject", 535), "auth: 535", 10 * time.Second},
		{"unknown CA, STARTTLS", starttls, []string{"--tls", "starttls", "--user", "user1", "--password-file", pw},
			ek("tls", "certificate", 0), "--ca FILE", 10 * time.Second},
		{"unknown CA, implicit", implicit, []string{"--tls", "implicit", "--user", "user1", "--password-file", pw},
			ek("tls", "certificate", 0), "--ca FILE", 10 * time.Second},
		{"plaintext on the implicit port", implicit, []string{"--timeout", "1s"},
			ek("banner", "timeout", 0), "--tls implicit", 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.m.info(t)
			args := append([]string{"-c", "2", "-n", "10"}, tc.args...)
			if !hasFlag(args, "--timeout") {
				args = append(args, "--timeout", "5s")
			}
			r := runBenchTable(t, append(args, tc.m.SMTP)...)
			checkInvariants(t, r)
			checkOnTime(t, r, tc.limit)
			lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
			if r.Code != exitRun || r.Report.Totals.MessagesOK != 0 || r.errorCounts()[tc.err] == 0 || len(r.Report.Errors) != 1 {
				t.Errorf("%s: exit %d, errors %v; want exit 1 and only %s", r, r.Code, r.errorKeys(), tc.err)
			}
			if last := lines[len(lines)-1]; !strings.Contains(last, tc.hint) {
				t.Errorf("%s: last line %q does not mention %q", r, last, tc.hint)
			}
			checkTableMatchesJSON(t, r)
			if got := tc.m.info(t).RuntimeStats.SMTPAccepted - before.RuntimeStats.SMTPAccepted; got != 0 {
				t.Errorf("%s: Mailpit accepted %d messages", r, got)
			}
			checkNoPassword(t, "output", r.Stdout+r.Stderr)
		})
	}

	t.Run("--insecure", func(t *testing.T) {
		before := implicit.info(t)
		r := runBenchTable(t, "-c", "2", "-n", "20", "--timeout", "10s", "--tls", "implicit", "--insecure",
			"--user", "user2", "--password-file", pw, implicit.SMTP)
		checkTLSDelivered(t, implicit, before, r, 20, 2)
		if !strings.Contains(r.Stdout, "WARNING: --insecure") || len(r.Report.Warnings) == 0 {
			t.Errorf("%s: the report does not say certificates went unchecked:\n%s", r, r.Stdout)
		}
	})

	t.Run("no STARTTLS: 530 at MAIL", func(t *testing.T) {
		// A connection per message: Mailpit refuses RSET with 530 too,
		// which would end a reused session after its first message.
		r := runBenchTable(t, "-c", "1", "-n", "3", "--per-conn", "1", "--timeout", "5s", starttls.SMTP)
		checkInvariants(t, r)
		// Nothing accepted: exit 1, with the reason in a warning.
		if got := r.errorCounts()[ek("mail", "perm_reject", 530)]; r.Code != exitRun || got != 3 || r.Report.Totals.MessagesRejected != 3 {
			t.Errorf("%s: errors %v, want 3 rejected with 530 at mail", r, r.errorKeys())
		}
		if !strings.Contains(r.Stdout, "the server wants authentication, or TLS, first") {
			t.Errorf("%s: the 530 row has no meaning:\n%s", r, r.Stdout)
		}
	})
}
