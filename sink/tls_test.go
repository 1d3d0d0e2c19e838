package sink_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// rawConn speaks SMTP line by line to the sink, for what the client
// package would never send.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func rawDial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	r := &rawConn{t: t, c: c, br: bufio.NewReader(c)}
	return r
}

// send writes lines (joined with CRLF, in one write).
func (r *rawConn) send(lines ...string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(strings.Join(lines, "\r\n") + "\r\n")); err != nil {
		r.t.Fatal(err)
	}
}

// reply reads one reply and returns it whole (lines joined by \n).
func (r *rawConn) reply() string {
	r.t.Helper()
	var lines []string
	for {
		l, err := r.br.ReadString('\n')
		if err != nil {
			r.t.Fatalf("reading a reply: %v (so far %q)", err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// expect sends one command and checks that the reply starts with want.
func (r *rawConn) expect(cmd, want string) string {
	r.t.Helper()
	r.send(cmd)
	got := r.reply()
	if !strings.HasPrefix(got, want) {
		r.t.Fatalf("%q: got %q, want %q...", cmd, got, want)
	}
	return got
}

// startTLS upgrades the connection after a 220 to STARTTLS.
func (r *rawConn) startTLS(roots *x509.CertPool) *tls.ConnectionState {
	r.t.Helper()
	tc := tls.Client(r.c, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		r.t.Fatalf("handshake: %v", err)
	}
	r.c, r.br = tc, bufio.NewReader(tc)
	st := tc.ConnectionState()
	return &st
}

func tlsSinkCfg(t *testing.T, cfg sink.Config) (sink.Config, *x509.CertPool) {
	t.Helper()
	cert, err := sink.SelfSigned("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = sink.ServerTLS(cert)
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return cfg, roots
}

var testUsers = map[string]string{"alice": "wonderland", "bob": "builder:with:colons"}

// TestRequireTLSAndAuth walks a session through what a submission server
// demands: no AUTH and no MAIL in the clear, no MAIL before AUTH.
func TestRequireTLSAndAuth(t *testing.T) {
	cfg, roots := tlsSinkCfg(t, sink.Config{Users: testUsers, RequireTLS: true, RequireAuth: true})
	srv := startSink(t, cfg)
	r := rawDial(t, srv.Addr())
	r.reply()
	ehlo := r.expect("EHLO c.test", "250-")
	if !strings.Contains(ehlo, "STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Errorf("EHLO in the clear: %q, want STARTTLS and no AUTH", ehlo)
	}
	r.expect("MAIL FROM:<a@b.test>", "530 5.7.0")
	r.expect("AUTH PLAIN "+b64("\x00alice\x00wonderland"), "538 ")
	r.expect("STARTTLS extra", "501 ")
	r.expect("STARTTLS", "220 ")
	r.startTLS(roots)
	ehlo = r.expect("EHLO c.test", "250-")
	if strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "AUTH PLAIN LOGIN CRAM-MD5") {
		t.Errorf("EHLO inside TLS: %q, want AUTH and no STARTTLS", ehlo)
	}
	r.expect("STARTTLS", "503 ")
	r.expect("MAIL FROM:<a@b.test>", "530 5.7.0")
	r.expect("AUTH PLAIN "+b64("\x00alice\x00wrong"), "535 5.7.8")
	r.expect("AUTH PLAIN "+b64("\x00alice\x00wonderland"), "235 ")
	r.expect("AUTH PLAIN "+b64("\x00alice\x00wonderland"), "503 ")
	r.expect("MAIL FROM:<a@b.test>", "250 ")
	r.expect("RCPT TO:<c@d.test>", "250 ")
	r.expect("DATA", "354 ")
	r.expect("Subject: x\r\n\r\nhi\r\n.", "250 ")
	r.expect("QUIT", "221 ")
	if full, resumed := srv.Handshakes(); full != 1 || resumed != 0 {
		t.Errorf("handshakes %d full, %d resumed; want 1, 0", full, resumed)
	}
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d", srv.Accepted())
	}
}

// TestStartTLSDiscardsPlaintext: commands pipelined behind STARTTLS came in
// the clear and must not run inside TLS (CVE-2011-0411).
func TestStartTLSDiscardsPlaintext(t *testing.T) {
	cfg, roots := tlsSinkCfg(t, sink.Config{})
	srv := startSink(t, cfg)
	r := rawDial(t, srv.Addr())
	r.reply()
	r.expect("EHLO c.test", "250-")
	r.send("STARTTLS", "MAIL FROM:<injected@b.test>")
	if got := r.reply(); !strings.HasPrefix(got, "220 ") {
		t.Fatalf("STARTTLS: %q", got)
	}
	r.startTLS(roots)
	r.expect("EHLO c.test", "250-")
	// Had the injected MAIL run, RCPT would be accepted.
	r.expect("RCPT TO:<c@d.test>", "503 ")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestAuthMechanisms runs each mechanism's exchange by hand, with its
// failures: a cancel, bad base64, an unknown mechanism, a wrong digest.
func TestAuthMechanisms(t *testing.T) {
	srv := startSink(t, sink.Config{Users: testUsers})
	r := rawDial(t, srv.Addr())
	r.reply()
	if ehlo := r.expect("EHLO c.test", "250-"); !strings.Contains(ehlo, "AUTH PLAIN LOGIN CRAM-MD5") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO %q", ehlo)
	}
	r.expect("AUTH", "501 ")
	r.expect("AUTH DIGEST-MD5", "504 ")
	r.expect("AUTH PLAIN", "334 ")
	r.expect("*", "501 ")
	r.expect("AUTH PLAIN !!!", "501 ")
	r.expect("AUTH LOGIN", "334 VXNlcm5hbWU6")
	r.expect(b64("bob"), "334 UGFzc3dvcmQ6")
	r.expect(b64("wrong"), "535 ")
	r.expect("AUTH LOGIN "+b64("nobody"), "334 UGFzc3dvcmQ6")
	r.expect(b64("builder:with:colons"), "535 ")

	ch := r.expect("AUTH CRAM-MD5", "334 ")
	challenge, err := base64.StdEncoding.DecodeString(ch[4:])
	if err != nil || !strings.HasPrefix(string(challenge), "<") {
		t.Fatalf("CRAM-MD5 challenge %q: %v", challenge, err)
	}
	digest := func(pass string) string {
		h := hmac.New(md5.New, []byte(pass))
		h.Write(challenge)
		return hex.EncodeToString(h.Sum(nil))
	}
	r.expect(b64("bob "+digest("wrong")), "535 ")
	ch = r.expect("AUTH CRAM-MD5", "334 ")
	challenge, _ = base64.StdEncoding.DecodeString(ch[4:])
	r.expect(b64("bob "+digest("builder:with:colons")), "235 ")
	r.expect("MAIL FROM:<a@b.test>", "250 ")
	r.expect("AUTH PLAIN "+b64("\x00alice\x00wonderland"), "503 ")
	r.expect("QUIT", "221 ")
}

// TestImplicitTLSSink counts full and resumed handshakes on a listener
// that speaks TLS from the first byte.
func TestImplicitTLSSink(t *testing.T) {
	cfg, roots := tlsSinkCfg(t, sink.Config{ImplicitTLS: true})
	srv := startSink(t, cfg)
	ccfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	for i := 0; i < 3; i++ {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addr(), ccfg)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := &rawConn{t: t, c: c, br: bufio.NewReader(c)}
		if g := r.reply(); !strings.HasPrefix(g, "220 ") {
			t.Fatalf("greeting %q", g)
		}
		if ehlo := r.expect("EHLO c.test", "250-"); strings.Contains(ehlo, "STARTTLS") {
			t.Errorf("implicit TLS offers STARTTLS: %q", ehlo)
		}
		r.expect("QUIT", "221 ")
		c.Close()
	}
	if full, resumed := srv.Handshakes(); full != 1 || resumed != 2 {
		t.Errorf("handshakes %d full, %d resumed; want 1 and 2", full, resumed)
	}
}

func TestSelfSigned(t *testing.T) {
	cert, err := sink.SelfSigned("mx.test", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	l := cert.Leaf
	if key, ok := l.PublicKey.(*ecdsa.PublicKey); !ok || key.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", l.PublicKey)
	}
	roots := x509.NewCertPool()
	roots.AddCert(l)
	for _, name := range []string{"mx.test", "127.0.0.1", "::1"} {
		if _, err := l.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := l.Verify(x509.VerifyOptions{Roots: roots, DNSName: "other.test"}); err == nil {
		t.Error("certificate verifies for a name it does not carry")
	}
}

func TestParseUsers(t *testing.T) {
	users, err := sink.ParseUsers(strings.NewReader("# accounts\nalice:wonderland\r\n\nbob:a:b\n"))
	if err != nil || len(users) != 2 || users["alice"] != "wonderland" || users["bob"] != "a:b" {
		t.Errorf("ParseUsers = %v, %v", users, err)
	}
	for _, bad := range []string{"", "# only a comment\n", "alice\n", ":nouser\n"} {
		if _, err := sink.ParseUsers(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseUsers(%q) accepted it", bad)
		}
	}
}
