package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

const testPassword = "s3cret-p@ss"

// testPKI is a CA and a server certificate for 127.0.0.1 signed by it,
// written as PEM files, as an operator would have them.
type testPKI struct {
	CA, Cert, Key string // file names
	ClientCert    string
	ClientKey     string
}

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtpbench test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, usage x509.ExtKeyUsage) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		c := writePEM(t, dir, name+".pem", "CERTIFICATE", der)
		k := writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", kder)
		return c, k
	}
	p := testPKI{CA: writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)}
	p.Cert, p.Key = leaf("server", x509.ExtKeyUsageServerAuth)
	p.ClientCert, p.ClientKey = leaf("client", x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// secretFile writes a password file with the given mode.
func secretFile(t testing.TB, content string, mode os.FileMode) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(f, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(f, mode) // past the umask
	return f
}

// checkNoPassword fails when the password, or what AUTH sends for it,
// shows anywhere in a run's output.
func checkNoPassword(t testing.TB, what, out string) {
	t.Helper()
	for _, f := range []string{testPassword, base64.StdEncoding.EncodeToString([]byte(testPassword))} {
		if strings.Contains(out, f) {
			t.Errorf("%s shows the password (%q)", what, f)
		}
	}
	// What the client sent with AUTH and after a 334 is hidden in traces.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if _, cmd, ok := strings.Cut(l, " C: AUTH "); ok {
			if f := strings.Fields(cmd); len(f) > 1 && f[1] != "<redacted>" {
				t.Errorf("%s shows AUTH's argument: %q", what, l)
			}
		}
		if strings.Contains(l, " S: 334") && i+1 < len(lines) && strings.Contains(lines[i+1], " C: ") &&
			!strings.HasSuffix(lines[i+1], " C: <redacted>") {
			t.Errorf("%s shows the answer to a challenge: %q", what, lines[i+1])
		}
	}
}

func TestTLSUsageErrors(t *testing.T) {
	t.Setenv(passwordEnv, "")
	pw := secretFile(t, testPassword, 0o600)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad mode", []string{"--tls", "ssl"}, "--tls"},
		{"ca without tls", []string{"--ca", "x.pem"}, "--ca needs --tls"},
		{"insecure without tls", []string{"--insecure"}, "--insecure needs --tls"},
		{"sni without tls", []string{"--sni", "mx.test"}, "--sni needs --tls"},
		{"resume without tls", []string{"--tls-resume=false"}, "--tls-resume needs --tls"},
		{"bad tls-min", []string{"--tls", "starttls", "--tls-min", "1.1"}, "--tls-min"},
		{"bad tls-max", []string{"--tls", "starttls", "--tls-max", "1.4"}, "--tls-max"},
		{"max below min", []string{"--tls", "starttls", "--tls-min", "1.3", "--tls-max", "1.2"}, "below --tls-min"},
		{"tls-max without tls", []string{"--tls-max", "1.2"}, "--tls-max needs --tls"},
		{"ca and insecure", []string{"--tls", "starttls", "--insecure", "--ca", pw}, "exclude each other"},
		{"cert without key", []string{"--tls", "starttls", "--cert", pw}, "--cert and --key"},
		{"bad sni", []string{"--tls", "starttls", "--sni", "a b"}, "--sni"},
		{"auth without user", []string{"--tls", "starttls", "--auth", "plain"}, "--auth needs --user"},
		{"password file without user", []string{"--tls", "starttls", "--password-file", pw}, "--password-file needs --user"},
		{"bad mechanism", []string{"--tls", "starttls", "--user", "u", "--password-file", pw, "--auth", "digest-md5"}, "--auth"},
		{"user without secret", []string{"--tls", "starttls", "--user", "u"}, "needs a password"},
		{"auth over plaintext", []string{"--user", "u", "--password-file", pw}, "--auth-plaintext"},
		{"bad user template", []string{"--tls", "starttls", "--user", "u{n}", "--password-file", pw}, "--user"},
		{"sink cert without key", []string{"sink", "--cert", pw}, "--cert and --key"},
		{"sink require-auth without users", []string{"sink", "--require-auth"}, "--require-auth needs --users"},
		{"sink no-tls and implicit", []string{"sink", "--no-tls", "--implicit-tls"}, "--no-tls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-n", "1", "--timeout", "2s"}, tc.args...)
			if tc.args[0] == "sink" {
				args = tc.args
			}
			code, _, stderr := cliRun(t, args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("exit %d, stderr %q; want exit %d and one line mentioning %q", code, stderr, exitUsage, tc.want)
			}
			checkNoPassword(t, "stderr", stderr)
		})
	}
}

// TestTLSFileErrors: files that cannot be read stop the run with exit 1,
// files that can be read but hold nothing usable are usage errors, and a
// password file everyone can read draws a warning but works.
func TestTLSFileErrors(t *testing.T) {
	t.Setenv(passwordEnv, "")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	junk := secretFile(t, "not a certificate\n", 0o600)
	empty := secretFile(t, "\n", 0o600)
	pki := newTestPKI(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing CA", []string{"--tls", "starttls", "--ca", missing}, exitRun, "--ca: open " + missing},
		{"CA without certificates", []string{"--tls", "starttls", "--ca", junk}, exitUsage, "no PEM certificate"},
		{"missing client cert", []string{"--tls", "starttls", "--cert", missing, "--key", pki.ClientKey}, exitRun, "--cert: open"},
		{"missing client key", []string{"--tls", "starttls", "--cert", pki.ClientCert, "--key", missing}, exitRun, "--key: open"},
		{"key of another cert", []string{"--tls", "starttls", "--cert", pki.ClientCert, "--key", pki.Key}, exitUsage, "--cert"},
		{"missing password file", []string{"--tls", "starttls", "--user", "u", "--password-file", missing}, exitRun, "--password-file:"},
		{"empty password file", []string{"--tls", "starttls", "--user", "u", "--password-file", empty}, exitUsage, "is empty"},
		{"sink missing users", []string{"sink", "--users", missing}, exitRun, "--users: open"},
		{"sink missing cert", []string{"sink", "--cert", missing, "--key", pki.Key}, exitRun, "--cert: open"},
	}
	if _, err := os.Stat(os.DevNull); err == nil && os.DevNull == "/dev/null" {
		cases = append(cases, struct {
			name string
			args []string
			code int
			want string
		}{"endless password file", []string{"--tls", "starttls", "--user", "u", "--password-file", "/dev/zero"}, exitRun, "longer than"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-n", "1", "--timeout", "2s"}, tc.args...)
			if tc.args[0] == "sink" {
				args = append(tc.args, "--listen", "127.0.0.1:0")
			}
			code, _, stderr := cliRun(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("exit %d, stderr %q; want exit %d and one line with %q", code, stderr, tc.code, tc.want)
			}
		})
	}

	open := secretFile(t, testPassword+"\n", 0o644)
	code, stdout, stderr := cliRun(t, "run", "-n", "2", "--timeout", "5s", "--tls", "starttls", "--user", "u", "--password-file", open)
	if code != exitOK || !strings.Contains(stderr, "can be read by every user") || !strings.Contains(stdout, "2 ok") {
		t.Errorf("world-readable password file: exit %d, stderr %q", code, stderr)
	}
	checkNoPassword(t, "output", stdout+stderr)
}

// TestBuiltinSinkTLSModes runs every mode against the built-in sink with a
// connection per message, so every session does its handshake and AUTH:
// handshakes are counted (resumed ones too, unless --tls-resume=false), the
// tls and auth phases have a sample per session, and the password never
// shows, trace included.
func TestBuiltinSinkTLSModes(t *testing.T) {
	t.Setenv(passwordEnv, testPassword)
	const n, c = 30, 3
	for _, tc := range []struct {
		mode   string
		auth   string
		resume bool
	}{
		{"none", "", true}, {"none", "login", true},
		{"starttls", "", true}, {"starttls", "plain", true}, {"starttls", "plain", false},
		{"opportunistic", "cram-md5", true},
		{"implicit", "", true}, {"implicit", "plain", false}, {"implicit", "login", true},
	} {
		name := tc.mode + "/" + tc.auth
		if !tc.resume {
			name += "/no-resume"
		}
		t.Run(name, func(t *testing.T) {
			args := []string{"run", "-o", "json", "-n", "30", "-c", "3", "--per-conn", "1", "--timeout", "5s", "--trace", "1", "--tls", tc.mode}
			if tc.mode != "none" {
				args = append(args, "--tls-resume="+map[bool]string{true: "true", false: "false"}[tc.resume])
			}
			if tc.auth != "" {
				args = append(args, "--auth", tc.auth, "--user", "load{w}@example.com")
				if tc.mode == "none" {
					args = append(args, "--auth-plaintext")
				}
			}
			code, stdout, stderr := cliRun(t, args...)
			var j report.JSONReport
			if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != exitOK {
				t.Fatalf("exit %d: %v\nstderr: %s", code, err, stderr)
			}
			if j.Totals.MessagesOK != n || j.Totals.Connections != n {
				t.Fatalf("ok %d, connections %d; want %d each (errors %+v)", j.Totals.MessagesOK, j.Totals.Connections, n, j.Errors)
			}
			tlsOn := tc.mode != "none"
			switch {
			case !tlsOn && (j.TLS != nil || j.Phases["tls"].Count != 0):
				t.Errorf("plaintext run reports TLS: %+v, tls phase %d", j.TLS, j.Phases["tls"].Count)
			case tlsOn && j.TLS == nil:
				t.Fatalf("no tls block")
			case tlsOn && (j.TLS.HandshakesFull+j.TLS.HandshakesResumed != n || j.Phases["tls"].Count != n):
				t.Errorf("handshakes %+v, tls phase %d; want %d", j.TLS, j.Phases["tls"].Count, n)
			case tlsOn && tc.resume && (j.TLS.HandshakesResumed < n-c || j.TLS.HandshakesFull < 1):
				t.Errorf("with resumption: %d full, %d resumed; want at least 1 full and %d resumed", j.TLS.HandshakesFull, j.TLS.HandshakesResumed, n-c)
			case tlsOn && !tc.resume && j.TLS.HandshakesResumed != 0:
				t.Errorf("--tls-resume=false: %d resumed handshakes", j.TLS.HandshakesResumed)
			case tlsOn && j.TLS.Versions["TLS 1.3"] != n:
				t.Errorf("versions %v", j.TLS.Versions)
			}
			if want := map[bool]int64{true: n, false: 0}[tc.auth != ""]; j.Phases["auth"].Count != want || j.Replies["auth"]["235"] != want {
				t.Errorf("auth phase %d samples, 235 x%d; want %d", j.Phases["auth"].Count, j.Replies["auth"]["235"], want)
			}
			if tc.mode == "starttls" && !strings.Contains(stderr, "[1] C: STARTTLS") {
				t.Errorf("trace lacks the STARTTLS exchange:\n%s", stderr)
			}
			if tc.auth == "plain" && !strings.Contains(stderr, "[1] C: AUTH PLAIN <redacted>") {
				t.Errorf("trace lacks AUTH PLAIN <redacted>:\n%s", stderr)
			}
			checkNoPassword(t, "stdout", stdout)
			checkNoPassword(t, "stderr", stderr)
			if strings.Contains(stdout, `"secret_from"`) == (tc.auth == "") {
				t.Errorf("config.auth present=%v with --auth %q", strings.Contains(stdout, `"secret_from"`), tc.auth)
			}
		})
	}
}

// TestTLSTargetPort: no port means 25, or 465 with --tls implicit.
func TestTLSTargetPort(t *testing.T) {
	for _, tc := range []struct {
		mode session.TLSMode
		in   string
		want string
	}{
		{session.TLSImplicit, "127.0.0.1", "127.0.0.1:465"},
		{session.TLSImplicit, "[::1]", "[::1]:465"},
		{session.TLSImplicit, "mx.test", "mx.test:465"},
		{session.TLSImplicit, "mx.test:2465", "mx.test:2465"},
		{session.TLSStartTLS, "mx.test", "mx.test:25"},
		{session.TLSNone, "mx.test", "mx.test:25"},
	} {
		var f secFlags
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse([]string{"--tls", tc.mode.String()}); err != nil {
			t.Fatal(err)
		}
		sec, err := f.load(fs, 1, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sec.ParseTarget(tc.in, false)
		if err != nil || got != tc.want {
			t.Errorf("%v %q: %q, %v; want %q", tc.mode, tc.in, got, err, tc.want)
		}
		if sec.TLS != nil && sec.TLS.ServerName != "" {
			t.Errorf("%v %q: server name %q fixed for every target; each session should verify the host it dials", tc.mode, tc.in, sec.TLS.ServerName)
		}
	}
}

// TestWrongTLSModeForPort: plaintext against an implicit-TLS port gives up
// at --timeout, implicit TLS against a plaintext port at once; each says
// what to do in one line.
func TestWrongTLSModeForPort(t *testing.T) {
	cert, err := sink.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	implicit := startTestSink(t, sink.Config{TLS: sink.ServerTLS(cert), ImplicitTLS: true})
	plain := startTestSink(t, sink.Config{})
	for _, tc := range []struct {
		args  []string
		want  string
		limit time.Duration
	}{
		{[]string{"--timeout", "1s", implicit.Addr()}, "use --tls implicit", 4 * time.Second},
		{[]string{"--timeout", "10s", "--tls", "implicit", plain.Addr()}, "plain SMTP", 3 * time.Second},
		{[]string{"--timeout", "10s", "--tls", "starttls", plain.Addr()}, "does not offer STARTTLS", 3 * time.Second},
	} {
		start := time.Now()
		code, _, stderr := cliRun(t, append([]string{"run", "-n", "5"}, tc.args...)...)
		if took := time.Since(start); took > tc.limit {
			t.Errorf("%v: took %s, want under %s", tc.args, took, tc.limit)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != exitRun || !strings.Contains(lines[len(lines)-1], tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestCertificateChecks: a certificate from an unknown CA fails in phase
// tls, with the reason in the errors table, unless --ca names the CA or
// --insecure skips the check (which the report says).
func TestCertificateChecks(t *testing.T) {
	pki := newTestPKI(t)
	pair := loadPair(t, pki.Cert, pki.Key)
	srv := startTestSink(t, sink.Config{TLS: sink.ServerTLS(pair)})
	code, stdout, stderr := cliRun(t, "run", "-n", "3", "-c", "1", "--timeout", "5s", "--tls", "starttls", srv.Addr())
	if code != exitRun || !strings.Contains(stderr, "tls: certificate") || !strings.Contains(stderr, "--ca FILE") {
		t.Errorf("unknown CA: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "tls    certificate  -     1      the server's certificate did not verify: certificate signed by unknown authority") ||
		!strings.Contains(stdout, "  meaning (tls certificate): ") {
		t.Errorf("errors table lacks the certificate row:\n%s", stdout)
	}
	code, stdout, _ = cliRun(t, "run", "-n", "3", "--timeout", "5s", "--tls", "starttls", "--ca", pki.CA, srv.Addr())
	if code != exitOK || !strings.Contains(stdout, "3 ok") || strings.Contains(stdout, "--insecure") {
		t.Errorf("--ca: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = cliRun(t, "run", "-n", "3", "--timeout", "5s", "--tls", "starttls", "--insecure", srv.Addr())
	if code != exitOK || !strings.Contains(stdout, "WARNING: --insecure: the server's certificate was not verified") {
		t.Errorf("--insecure: exit %d\n%s", code, stdout)
	}
	// --sni names the server to verify: a name the certificate lacks fails.
	code, _, stderr = cliRun(t, "run", "-n", "1", "--timeout", "5s", "--tls", "starttls", "--ca", pki.CA, "--sni", "mx.example.org", srv.Addr())
	if code != exitRun || !strings.Contains(stderr, "mx.example.org") {
		t.Errorf("--sni with a name the certificate lacks: exit %d, %q", code, stderr)
	}
	// --tls-min 1.3 against a server that stops at 1.2.
	old := sink.ServerTLS(pair)
	old.MaxVersion = 0x0303
	srv12 := startTestSink(t, sink.Config{TLS: old})
	code, stdout, stderr = cliRun(t, "run", "-n", "1", "--timeout", "5s", "--tls", "starttls", "--ca", pki.CA, "--tls-min", "1.3", srv12.Addr())
	if code != exitRun || !strings.Contains(stderr, "tls: handshake") || !strings.Contains(stdout, "tls    handshake") {
		t.Errorf("--tls-min 1.3 against TLS 1.2: exit %d, %q\n%s", code, stderr, stdout)
	}
	code, stdout, _ = cliRun(t, "run", "-n", "2", "--timeout", "5s", "--tls", "starttls", "--ca", pki.CA, "--cert", pki.ClientCert, "--key", pki.ClientKey, srv12.Addr())
	if code != exitOK || !strings.Contains(stdout, "TLS 1.2 x") {
		t.Errorf("TLS 1.2 with a client certificate: exit %d\n%s", code, stdout)
	}
}

// TestStartTLSInjectionReport: against a server that injects a reply
// after its 220 to STARTTLS, the run reports a protocol error in phase tls
// and the client sends nothing more on that connection.
func TestStartTLSInjectionReport(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ after string }
	got := make(chan seen, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				io.WriteString(c, "220 mx.test ESMTP\r\n")
				br.ReadString('\n')
				io.WriteString(c, "250-mx.test\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n")
				if l, _ := br.ReadString('\n'); l != "STARTTLS\r\n" {
					got <- seen{"unexpected " + l}
					return
				}
				io.WriteString(c, "220 ready\r\n250 2.0.0 injected\r\n")
				rest, _ := io.ReadAll(br)
				got <- seen{string(rest)}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	t.Setenv(passwordEnv, testPassword)
	code, stdout, stderr := cliRun(t, "run", "-n", "2", "-c", "1", "--timeout", "5s", "--tls", "starttls", "--insecure",
		"--user", "u", ln.Addr().String())
	if code != exitRun || !strings.Contains(stderr, "response injection") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "tls    protocol  -     1      server sent 20 bytes after its 220 to STARTTLS") ||
		!strings.Contains(stdout, "  meaning (tls protocol): the STARTTLS exchange broke the protocol") {
		t.Errorf("errors table lacks the injection row:\n%s", stdout)
	}
	select {
	case s := <-got:
		if s.after != "" {
			t.Errorf("client sent %q after the injected reply, want nothing", s.after)
		}
	case <-time.After(10 * time.Second):
		t.Error("server saw no STARTTLS")
	}
}

func loadPair(t testing.TB, cert, key string) tls.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// TestTLSAndAuthThresholds: the new phases take --max-p50/--max-p99 like
// any other.
func TestTLSAndAuthThresholds(t *testing.T) {
	t.Setenv(passwordEnv, testPassword)
	base := []string{"run", "-n", "6", "--per-conn", "1", "--timeout", "5s", "--tls", "implicit", "--user", "u{w}"}
	code, _, stderr := cliRun(t, append(base, "--max-p99", "tls=1us", "--max-p50", "auth=1us")...)
	if code != exitRun || !strings.Contains(stderr, "p99 of tls is") || !strings.Contains(stderr, "p50 of auth is") {
		t.Errorf("tight limits: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = cliRun(t, append(base, "--max-p99", "tls=10s", "--max-p99", "auth=10s")...)
	if code != exitOK {
		t.Errorf("loose limits: exit %d, stderr %q", code, stderr)
	}
}
