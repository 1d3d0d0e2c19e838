package session

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/syncbuf"

	"github.com/smtpbench/smtpbench/sink"
)

const testSecret = Secret("correct horse battery staple")

// tlsSink starts the sink with a fresh certificate and returns it with a
// client configuration that trusts that certificate.
func tlsSink(t *testing.T, cfg sink.Config) (*sink.Server, *tls.Config) {
	t.Helper()
	cert, err := sink.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = sink.ServerTLS(cert)
	srv, err := sink.Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return srv, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
}

// phaseLog records what a session observed.
type phaseLog struct {
	mu     sync.Mutex
	phases []Phase
	codes  []int
	tls    []TLSInfo
}

func (l *phaseLog) Observe(p Phase, code int, d time.Duration, _ *Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phases = append(l.phases, p)
	l.codes = append(l.codes, code)
}

func (l *phaseLog) ObserveTLS(i TLSInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tls = append(l.tls, i)
}

// codesOf lists the codes observed for p, in order.
func (l *phaseLog) codesOf(p Phase) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for i, q := range l.phases {
		if q == p {
			out = append(out, l.codes[i])
		}
	}
	return out
}

// checkNoSecret fails if the secret, or any base64 form an AUTH exchange
// would carry, appears in s.
func checkNoSecret(t *testing.T, what, s, user string) {
	t.Helper()
	forms := []string{string(testSecret),
		base64.StdEncoding.EncodeToString([]byte(testSecret)),
		base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + string(testSecret))),
		base64.StdEncoding.EncodeToString([]byte(user))}
	for _, f := range forms {
		if strings.Contains(s, f) {
			t.Errorf("%s contains the credentials (%q):\n%s", what, f, s)
		}
	}
}

func sendOne(t *testing.T, c *Client) {
	t.Helper()
	res := c.Send(&Message{Seq: 1, From: testFrom, To: testTo, Rcpts: 1, Data: []byte(wireContent)}, nil)
	if res.Outcome != OutcomeOK {
		t.Fatalf("Send: %v %v", res.Outcome, res.Err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("Quit: %v", err)
	}
}

// TestStartTLSAndAuth runs STARTTLS and each mechanism against the sink,
// which refuses MAIL without both, and checks the phases, the trace and
// that the credentials never show.
func TestStartTLSAndAuth(t *testing.T) {
	srv, ccfg := tlsSink(t, sink.Config{Users: map[string]string{"user7": string(testSecret)}, RequireTLS: true, RequireAuth: true})
	for _, mech := range []AuthMech{AuthAuto, AuthPlain, AuthLogin, AuthCRAMMD5} {
		t.Run(mech.String(), func(t *testing.T) {
			var log phaseLog
			var trace syncbuf.Buffer
			c, err := Dial(t.Context(), srv.Addr(), Options{Hostname: testHost, Timeout: 5 * time.Second, Observer: &log,
				Trace: NewTraceWriter(&trace), TraceID: 1, Worker: 7,
				TLS:  TLSOptions{Mode: TLSStartTLS, Config: ccfg},
				Auth: &AuthOptions{Mech: mech, User: "user{w}", Secret: testSecret}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Hello(); err != nil {
				t.Fatalf("Hello: %v\n%s", err, trace.String())
			}
			sendOne(t, c)
			if got := log.codesOf(PhaseTLS); len(got) != 1 || got[0] != 220 {
				t.Errorf("tls phase observed %v, want one sample with 220", got)
			}
			if got := log.codesOf(PhaseAuth); len(got) != 1 || got[0] != 235 {
				t.Errorf("auth phase observed %v, want one sample with 235", got)
			}
			if got := log.codesOf(PhaseEHLO); len(got) != 2 {
				t.Errorf("ehlo observed %v, want two EHLOs (before and after STARTTLS)", got)
			}
			if len(log.tls) != 1 || log.tls[0].Version != tls.VersionTLS13 {
				t.Errorf("handshakes %+v, want one TLS 1.3", log.tls)
			}
			tr := trace.String()
			want := mech
			if mech == AuthAuto {
				want = AuthCRAMMD5 // the strongest of what the sink offers
			}
			for _, line := range []string{"[1] C: STARTTLS\n", "[1] S: 220 ", "[1] -- TLS established: TLS 1.3",
				"[1] C: AUTH " + want.String(), "[1] S: 235 "} {
				if !strings.Contains(tr, line) {
					t.Errorf("trace lacks %q:\n%s", line, tr)
				}
			}
			if mech == AuthPlain && !strings.Contains(tr, "[1] C: AUTH PLAIN <redacted>\n") {
				t.Errorf("trace does not show AUTH PLAIN <redacted>:\n%s", tr)
			}
			// The EHLO after the handshake went through TLS: it follows the
			// handshake line in the trace.
			if i, j := strings.Index(tr, "TLS established"), strings.LastIndex(tr, "C: EHLO"); i < 0 || j < i {
				t.Errorf("no EHLO after the handshake:\n%s", tr)
			}
			checkNoSecret(t, "trace", tr, "user7")
		})
	}
}

// TestImplicitTLS checks RFC 8314: the handshake comes first, the greeting
// inside TLS, and the tls phase has no reply code.
func TestImplicitTLS(t *testing.T) {
	srv, ccfg := tlsSink(t, sink.Config{ImplicitTLS: true, Users: map[string]string{"u": string(testSecret)}})
	var log phaseLog
	var trace syncbuf.Buffer
	c, err := Dial(t.Context(), srv.Addr(), Options{Hostname: testHost, Timeout: 5 * time.Second, Observer: &log,
		Trace: NewTraceWriter(&trace), TraceID: 3,
		TLS: TLSOptions{Mode: TLSImplicit, Config: ccfg}, Auth: &AuthOptions{Mech: AuthPlain, User: "u", Secret: testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello(); err != nil {
		t.Fatalf("Hello: %v", err)
	}
	sendOne(t, c)
	if got := log.codesOf(PhaseTLS); len(got) != 1 || got[0] != 0 {
		t.Errorf("tls phase observed %v, want one sample without a code", got)
	}
	if log.phases[1] != PhaseTLS || log.phases[2] != PhaseBanner {
		t.Errorf("phases %v: want connect, tls, banner first", log.phases)
	}
	if c.Capabilities().StartTLS {
		t.Error("an implicit-TLS server offered STARTTLS")
	}
	tr := trace.String()
	if !strings.HasPrefix(tr, "[3] -- TLS established") || strings.Contains(tr, "STARTTLS") {
		t.Errorf("trace should start with the handshake:\n%s", tr)
	}
	checkNoSecret(t, "trace", tr, "u")
}

// TestResumption: with a shared session cache the second session resumes;
// without one, every handshake is full. Each sink counts the same.
func TestResumption(t *testing.T) {
	for _, resume := range []bool{true, false} {
		srv, ccfg := tlsSink(t, sink.Config{})
		if resume {
			ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
		}
		var log phaseLog
		for i := 0; i < 3; i++ {
			c, err := Dial(t.Context(), srv.Addr(), Options{Timeout: 5 * time.Second, Observer: &log,
				TLS: TLSOptions{Mode: TLSStartTLS, Config: ccfg}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Hello(); err != nil {
				t.Fatal(err)
			}
			sendOne(t, c)
		}
		var resumed uint64
		for i, h := range log.tls {
			if h.Resumed {
				resumed++
			}
			if want := resume && i > 0; h.Resumed != want {
				t.Errorf("resume=%v: handshake %d resumed=%v, want %v", resume, i, h.Resumed, want)
			}
		}
		if full, r := srv.Handshakes(); full+r != 3 || r != resumed {
			t.Errorf("resume=%v: sink counted %d full, %d resumed; client %d resumed", resume, full, r, resumed)
		}
	}
}

// TestHandshakeFailures classifies what goes wrong in the tls phase.
func TestHandshakeFailures(t *testing.T) {
	srv, good := tlsSink(t, sink.Config{})
	plainSrv := startPlainSink(t)
	cases := []struct {
		name  string
		addr  string
		mode  TLSMode
		cfg   *tls.Config
		class Class
		is    error
	}{
		{"unknown CA", srv.Addr(), TLSStartTLS, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}, ClassCertificate, ErrCertificate},
		{"wrong name", srv.Addr(), TLSStartTLS, &tls.Config{RootCAs: good.RootCAs, ServerName: "mx.example.org"}, ClassCertificate, ErrCertificate},
		{"client offers only TLS 1.1", srv.Addr(), TLSStartTLS, &tls.Config{RootCAs: good.RootCAs, ServerName: "127.0.0.1", MaxVersion: tls.VersionTLS11}, ClassHandshake, ErrHandshake},
		{"implicit against plaintext", plainSrv.Addr(), TLSImplicit, good, ClassHandshake, ErrHandshake},
		{"STARTTLS not offered", plainSrv.Addr(), TLSStartTLS, good, ClassUnsupported, ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log phaseLog
			c, err := Dial(t.Context(), tc.addr, Options{Timeout: 5 * time.Second, Observer: &log, TLS: TLSOptions{Mode: tc.mode, Config: tc.cfg}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			err = c.Hello()
			var se *Error
			if !errors.As(err, &se) || se.Phase != PhaseTLS || se.Class != tc.class || !errors.Is(err, tc.is) {
				t.Fatalf("Hello: %v (%#v), want phase tls, class %v", err, se, tc.class)
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("failing took %s: a failed handshake must not wait for the timeout", time.Since(start))
			}
			if tc.mode == TLSImplicit && !strings.Contains(se.Text, "plain SMTP") {
				t.Errorf("error %q does not say the server speaks plain SMTP", err)
			}
			if len(log.tls) != 0 {
				t.Errorf("a failed handshake was counted: %+v", log.tls)
			}
		})
	}
}

func startPlainSink(t *testing.T) *sink.Server {
	t.Helper()
	srv, err := sink.Start("127.0.0.1:0", sink.Config{Users: map[string]string{"u": string(testSecret)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

// TestPlaintextAgainstImplicitTLS: a session without TLS waits for a
// greeting that never comes, and gives up at its timeout, not later.
func TestPlaintextAgainstImplicitTLS(t *testing.T) {
	srv, _ := tlsSink(t, sink.Config{ImplicitTLS: true})
	c, err := Dial(t.Context(), srv.Addr(), Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = c.Hello()
	var se *Error
	if !errors.As(err, &se) || se.Phase != PhaseBanner || se.Class != ClassTimeout {
		t.Fatalf("Hello: %v, want a banner timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s, want about the 300ms timeout", d)
	}
}

// TestOpportunistic goes on in plaintext without STARTTLS, but still will
// not send credentials in the clear unless allowed.
func TestOpportunistic(t *testing.T) {
	plain := startPlainSink(t)
	var trace syncbuf.Buffer
	opts := Options{Timeout: 5 * time.Second, Trace: NewTraceWriter(&trace), TraceID: 1, TLS: TLSOptions{Mode: TLSOpportunistic}}
	c, err := Dial(t.Context(), plain.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(); err != nil {
		t.Fatalf("opportunistic without STARTTLS: %v", err)
	}
	sendOne(t, c)

	opts.Auth = &AuthOptions{Mech: AuthPlain, User: "u", Secret: testSecret}
	c, err = Dial(t.Context(), plain.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Hello()
	var se *Error
	if !errors.As(err, &se) || se.Phase != PhaseAuth || se.Class != ClassUnsupported {
		t.Fatalf("AUTH without TLS: %v, want phase auth, class unsupported", err)
	}
	if strings.Contains(trace.String(), "AUTH") && strings.Contains(trace.String(), "C: AUTH") {
		t.Errorf("AUTH was sent without TLS:\n%s", trace.String())
	}

	// Allowed: AUTH goes out in the clear and works.
	opts.Auth.AllowPlaintext = true
	c2, err := Dial(t.Context(), plain.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Hello(); err != nil {
		t.Fatalf("AUTH with AllowPlaintext: %v", err)
	}
	sendOne(t, c2)
}

// TestAuthRefused covers the replies that refuse AUTH, and mechanisms the
// server does not offer.
func TestAuthRefused(t *testing.T) {
	srv, ccfg := tlsSink(t, sink.Config{Users: map[string]string{"u": "other"}})
	cases := []struct {
		name  string
		addr  string
		mode  TLSMode
		mech  AuthMech
		class Class
		code  int
	}{
		{"wrong password PLAIN", srv.Addr(), TLSStartTLS, AuthPlain, ClassPermReject, CodeAuthInvalid},
		{"wrong password LOGIN", srv.Addr(), TLSStartTLS, AuthLogin, ClassPermReject, CodeAuthInvalid},
		{"wrong password CRAM-MD5", srv.Addr(), TLSStartTLS, AuthCRAMMD5, ClassPermReject, CodeAuthInvalid},
		{"XOAUTH2 not offered", srv.Addr(), TLSStartTLS, AuthXOAUTH2, ClassUnsupported, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log phaseLog
			c, err := Dial(t.Context(), tc.addr, Options{Timeout: 5 * time.Second, Observer: &log,
				TLS:  TLSOptions{Mode: tc.mode, Config: ccfg},
				Auth: &AuthOptions{Mech: tc.mech, User: "u", Secret: testSecret}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Hello()
			var se *Error
			if !errors.As(err, &se) || se.Phase != PhaseAuth || se.Class != tc.class || se.Code != tc.code {
				t.Fatalf("Hello: %v (%+v), want phase auth, class %v, code %d", err, se, tc.class, tc.code)
			}
			if tc.code != 0 {
				if got := log.codesOf(PhaseAuth); len(got) != 1 || got[0] != tc.code {
					t.Errorf("auth observed %v, want one %d", got, tc.code)
				}
			}
			if strings.Contains(err.Error(), string(testSecret)) {
				t.Errorf("error text shows the secret: %v", err)
			}
		})
	}
}

// TestAuthTranscripts compares the exact bytes of each mechanism against
// scripted servers: RFC 4616 PLAIN, LOGIN, RFC 2195's CRAM-MD5 example and
// XOAUTH2, including a refusal that comes as a 334 with an error report.
func TestAuthTranscripts(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	ehloAuth := "250-mx.test\r\n250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2\r\n"
	cases := []struct {
		name   string
		mech   AuthMech
		user   string
		secret Secret
		steps  []step
		code   int
	}{
		{"PLAIN", AuthPlain, "tim", "tanstaaftanstaaf", []step{
			{recv: "AUTH PLAIN " + b64("\x00tim\x00tanstaaftanstaaf") + "\r\n", send: "235 2.7.0 ok\r\n"}}, 0},
		{"PLAIN asked again", AuthPlain, "tim", "x", []step{
			{recv: "AUTH PLAIN " + b64("\x00tim\x00x") + "\r\n", send: "334 \r\n"},
			{recv: b64("\x00tim\x00x") + "\r\n", send: "235 2.7.0 ok\r\n"}}, 0},
		{"LOGIN", AuthLogin, "tim", "tanstaaftanstaaf", []step{
			{recv: "AUTH LOGIN\r\n", send: "334 VXNlcm5hbWU6\r\n"},
			{recv: b64("tim") + "\r\n", send: "334 UGFzc3dvcmQ6\r\n"},
			{recv: b64("tanstaaftanstaaf") + "\r\n", send: "235 2.7.0 ok\r\n"}}, 0},
		{"CRAM-MD5 RFC 2195", AuthCRAMMD5, "tim", "tanstaaftanstaaf", []step{
			{recv: "AUTH CRAM-MD5\r\n", send: "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"},
			{recv: "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n", send: "235 2.7.0 ok\r\n"}}, 0},
		{"CRAM-MD5 bad challenge", AuthCRAMMD5, "tim", "x", []step{
			{recv: "AUTH CRAM-MD5\r\n", send: "334 %%%\r\n"},
			{recv: "*\r\n", hangup: true}}, -1},
		{"XOAUTH2", AuthXOAUTH2, "someone@example.com", "ya29.token", []step{
			{recv: "AUTH XOAUTH2 " + b64("user=someone@example.com\x01auth=Bearer ya29.token\x01\x01") + "\r\n", send: "235 2.7.0 ok\r\n"}}, 0},
		{"XOAUTH2 refused", AuthXOAUTH2, "someone@example.com", "expired", []step{
			{recv: "AUTH XOAUTH2 " + b64("user=someone@example.com\x01auth=Bearer expired\x01\x01") + "\r\n",
				send: "334 " + b64(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`) + "\r\n"},
			{recv: "\r\n", send: "535 5.7.8 Username and Password not accepted\r\n"}}, CodeAuthInvalid},
		{"454", AuthPlain, "tim", "x", []step{
			{recv: "AUTH PLAIN " + b64("\x00tim\x00x") + "\r\n", send: "454 4.7.0 try later\r\n"}}, CodeAuthTemporary},
		{"538", AuthPlain, "tim", "x", []step{
			{recv: "AUTH PLAIN " + b64("\x00tim\x00x") + "\r\n", send: "538 5.7.11 encryption required\r\n"}}, CodeAuthEncryptionRequired},
		{"534", AuthPlain, "tim", "x", []step{
			{recv: "AUTH PLAIN " + b64("\x00tim\x00x") + "\r\n", send: "534 5.7.9 too weak\r\n"}}, CodeAuthTooWeak},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startScript(t, append(hello(ehloAuth), tc.steps...))
			var log phaseLog
			c := NewClient(s.conn, Options{Hostname: testHost, Timeout: time.Second, Observer: &log,
				Auth: &AuthOptions{Mech: tc.mech, User: tc.user, Secret: tc.secret, AllowPlaintext: true}})
			err := c.Hello()
			c.Close()
			s.check(t)
			var se *Error
			switch {
			case tc.code == 0 && err != nil:
				t.Errorf("Hello: %v", err)
			case tc.code > 0 && (!errors.As(err, &se) || se.Code != tc.code || se.Phase != PhaseAuth):
				t.Errorf("Hello: %v, want code %d in phase auth", err, tc.code)
			case tc.code < 0 && (!errors.As(err, &se) || se.Class != ClassProtocol || se.Phase != PhaseAuth):
				t.Errorf("Hello: %v, want a protocol error in phase auth", err)
			}
		})
	}
}

// TestStartTLSResponseInjection: a server that sends a reply after its 220
// to STARTTLS, before the handshake, must not have it read as if it came
// through TLS (RFC 3207 6; GHSA-vxj7-4xrp-5vr4 in aiosmtplib). In one
// segment: a protocol error and no handshake at all. In a later segment it
// lands in the handshake, which then fails. Either way nothing is sent in
// the clear after STARTTLS.
func TestStartTLSResponseInjection(t *testing.T) {
	for _, split := range []bool{false, true} {
		name := "same segment"
		if split {
			name = "later segment"
		}
		t.Run(name, func(t *testing.T) {
			after := make(chan []byte, 1)
			addr := serveOnce(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				io.WriteString(c, greeting)
				br.ReadString('\n') // EHLO
				io.WriteString(c, "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
				if l, _ := br.ReadString('\n'); l != "STARTTLS\r\n" {
					after <- []byte("got " + l)
					return
				}
				if split {
					io.WriteString(c, "220 2.0.0 go ahead\r\n")
					time.Sleep(50 * time.Millisecond)
					io.WriteString(c, "250-mx.test\r\n250 AUTH PLAIN\r\n")
				} else {
					io.WriteString(c, "220 2.0.0 go ahead\r\n250-mx.test\r\n250 AUTH PLAIN\r\n")
				}
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				rest, _ := io.ReadAll(br)
				after <- rest
			})
			_, ccfg := tlsSink(t, sink.Config{})
			c, err := Dial(t.Context(), addr, Options{Timeout: 2 * time.Second,
				TLS:  TLSOptions{Mode: TLSStartTLS, Config: ccfg},
				Auth: &AuthOptions{Mech: AuthPlain, User: "u", Secret: testSecret}})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Hello()
			c.Close()
			var se *Error
			wantClass := ClassProtocol
			if split {
				wantClass = ClassHandshake
			}
			if !errors.As(err, &se) || se.Phase != PhaseTLS || se.Class != wantClass {
				t.Errorf("Hello: %v, want phase tls, class %v", err, wantClass)
			}
			rest := <-after
			switch {
			case !split && len(rest) != 0:
				t.Errorf("client sent %q after an injected STARTTLS reply, want nothing", rest)
			case split && (len(rest) == 0 || rest[0] != 0x16 || bytes.Contains(rest, []byte("AUTH")) || bytes.Contains(rest, []byte("EHLO"))):
				t.Errorf("client sent %q after STARTTLS, want only a TLS ClientHello", rest)
			}
		})
	}
}

// serveOnce serves one connection on a loopback port with handle.
func serveOnce(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		handle(c)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// TestStartTLSStalled: a server that answers 220 and then never handshakes
// costs one timeout, in phase tls; an Abort ends the wait at once.
func TestStartTLSStalled(t *testing.T) {
	for _, abort := range []bool{false, true} {
		release := make(chan struct{})
		addr := serveOnce(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			io.WriteString(c, greeting)
			br.ReadString('\n')
			io.WriteString(c, "250-mx.test\r\n250 STARTTLS\r\n")
			br.ReadString('\n')
			io.WriteString(c, "220 go ahead\r\n")
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		})
		timeout := 300 * time.Millisecond
		if abort {
			timeout = 5 * time.Second
		}
		c, err := Dial(t.Context(), addr, Options{Timeout: timeout,
			TLS: TLSOptions{Mode: TLSStartTLS, Config: &tls.Config{InsecureSkipVerify: true}}})
		if err != nil {
			t.Fatal(err)
		}
		if abort {
			time.AfterFunc(200*time.Millisecond, c.Abort)
		}
		start := time.Now()
		err = c.Hello()
		took := time.Since(start)
		close(release)
		c.Close()
		var se *Error
		if !errors.As(err, &se) || se.Phase != PhaseTLS {
			t.Errorf("abort=%v: Hello: %v, want a failure in phase tls", abort, err)
		}
		if !abort && se != nil && se.Class != ClassTimeout {
			t.Errorf("Hello: %v, want a timeout", err)
		}
		if took > 2*time.Second {
			t.Errorf("abort=%v: Hello took %s", abort, took)
		}
	}
}

// TestIdleTLSSession: the idle check sees a 421 that arrives through TLS,
// and on a quiet TLS session reports nothing and costs no wait.
func TestIdleTLSSession(t *testing.T) {
	srv, ccfg := tlsSink(t, sink.Config{IdleTimeout: 150 * time.Millisecond})
	dial := func() *Client {
		c, err := Dial(t.Context(), srv.Addr(), Options{Timeout: 5 * time.Second, TLS: TLSOptions{Mode: TLSStartTLS, Config: ccfg}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Hello(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := dial()
	start := time.Now()
	if c.ClosedWhileIdle() {
		t.Fatalf("fresh TLS session reported closed: %v", c.Err())
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("idle check on a quiet TLS session took %s", d)
	}
	time.Sleep(400 * time.Millisecond) // the sink says 421 after 150 ms
	if !c.ClosedWhileIdle() {
		t.Fatal("a 421 sent through TLS on an idle session was not seen")
	}
	c.Close()

	c = dial()
	defer c.Close()
	if c.ClosedWhileIdle() {
		t.Fatal("fresh session reported closed")
	}
	sendOne(t, c)
}

func TestSecretNeverFormats(t *testing.T) {
	a := AuthOptions{User: "u", Secret: testSecret}
	for _, s := range []string{
		fmtAll(a.Secret), fmtAll(a), fmtAll(&a), fmtAll(Options{Auth: &a}),
	} {
		if strings.Contains(s, string(testSecret)) {
			t.Errorf("formatted secret leaks: %s", s)
		}
	}
}

func TestParseAndCheck(t *testing.T) {
	for _, s := range []string{"plain", "LOGIN", "cram-md5", "XOAuth2", "auto"} {
		if _, err := ParseAuthMech(s); err != nil {
			t.Errorf("ParseAuthMech(%q): %v", s, err)
		}
	}
	if _, err := ParseAuthMech("digest-md5"); err == nil {
		t.Error("ParseAuthMech accepted DIGEST-MD5")
	}
	for _, s := range []string{"none", "starttls", "opportunistic", "implicit"} {
		if m, err := ParseTLSMode(s); err != nil || m.String() != s {
			t.Errorf("ParseTLSMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseTLSMode("ssl"); err == nil {
		t.Error("ParseTLSMode accepted ssl")
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{{"user{w}@example.com", true}, {"plain", true}, {"", false}, {"a\r\nQUIT", false}, {"a\x00b", false}, {"user{n}", false}} {
		if err := CheckUserTemplate(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckUserTemplate(%q) = %v", tc.in, err)
		}
	}
	if got := (&AuthOptions{User: "load{w}-{w}"}).UserFor(12); got != "load12-12" {
		t.Errorf("UserFor = %q", got)
	}
}

// fmtAll formats v with every verb a log line might use.
func fmtAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s %q %x %X %d", v, v, v, v, v, v, v, v)
}

// TestServerNameFromDial: a configuration that names no server verifies the
// host the session dialed, so one configuration serves several targets.
func TestServerNameFromDial(t *testing.T) {
	srv, ccfg := tlsSink(t, sink.Config{})
	ccfg.ServerName = ""
	c, err := Dial(t.Context(), srv.Addr(), Options{Timeout: 5 * time.Second, TLS: TLSOptions{Mode: TLSStartTLS, Config: ccfg}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(); err != nil {
		t.Fatalf("Hello: %v", err)
	}
	sendOne(t, c)
	if ccfg.ServerName != "" {
		t.Errorf("the shared configuration was changed: ServerName %q", ccfg.ServerName)
	}
	// The certificate is for 127.0.0.1 only: dialing it as localhost fails.
	_, port, _ := net.SplitHostPort(srv.Addr())
	c, err = Dial(t.Context(), net.JoinHostPort("localhost", port), Options{Timeout: 5 * time.Second, TLS: TLSOptions{Mode: TLSStartTLS, Config: ccfg}})
	if err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	defer c.Close()
	var se *Error
	if err := c.Hello(); !errors.As(err, &se) || se.Class != ClassCertificate || !strings.Contains(se.Text, "localhost") {
		t.Errorf("Hello as localhost: %v, want a certificate error naming localhost", err)
	}
}
