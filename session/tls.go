package session

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// TLSMode says whether and how a session uses TLS.
type TLSMode uint8

const (
	TLSNone          TLSMode = iota // plaintext only
	TLSStartTLS                     // STARTTLS (RFC 3207); a server that does not offer it fails the session
	TLSOpportunistic                // STARTTLS when the server offers it, plaintext otherwise
	TLSImplicit                     // TLS from the first byte (RFC 8314 3.3), usually port 465
)

var tlsModeNames = [...]string{"none", "starttls", "opportunistic", "implicit"}

func (m TLSMode) String() string {
	if int(m) < len(tlsModeNames) {
		return tlsModeNames[m]
	}
	return fmt.Sprintf("tlsmode(%d)", m)
}

// ParseTLSMode reads none, starttls, opportunistic or implicit.
func ParseTLSMode(s string) (TLSMode, error) {
	for i, n := range tlsModeNames {
		if n == s {
			return TLSMode(i), nil
		}
	}
	return 0, fmt.Errorf("TLS mode %q: want none, starttls, opportunistic or implicit", s)
}

// ImplicitTLSPort is the submission port with TLS from the first byte
// (RFC 8314 7.3), the default target port with TLSImplicit.
const ImplicitTLSPort = "465"

// TLSOptions configure TLS for a session.
type TLSOptions struct {
	Mode TLSMode
	// Config is shared by every session of a run, so that its
	// ClientSessionCache lets later sessions resume (RFC 8446 2.2). When it
	// names no server (ServerName), the host Dial connected to is the name
	// verified in the certificate and sent as SNI.
	Config *tls.Config

	host string // the host Dial connected to
}

// dialed records the host Dial connected to.
func (o *TLSOptions) dialed(network, address string) {
	if host, _, err := net.SplitHostPort(address); err == nil && strings.HasPrefix(network, "tcp") {
		o.host = host
	}
}

// config is the configuration for one handshake: Config, naming the
// dialed host when it names no server. The copy shares Config's session
// cache, so resumption still spans the run.
func (o *TLSOptions) config() *tls.Config {
	cfg := o.Config
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" && o.host != "" {
		cfg = cfg.Clone()
		cfg.ServerName = o.host
	}
	return cfg
}

// TLSInfo describes one completed handshake.
type TLSInfo struct {
	Version     uint16 // tls.VersionTLS12, tls.VersionTLS13
	CipherSuite uint16
	Resumed     bool // an abbreviated handshake from a cached session
}

// TLSObserver, when an Options.Observer also implements it, is told about
// every completed handshake, on the session's goroutine.
type TLSObserver interface {
	ObserveTLS(TLSInfo)
}

// tlsLayer sits between a session and its TCP connection when TLS may be
// used: until a handshake it passes bytes through, afterwards it is the TLS
// connection. The session keeps one connection value for its lifetime, and
// the trace above it shows what goes through TLS, decrypted.
type tlsLayer struct {
	net.Conn // the TCP connection (busy-poll wrapped)
	opts     TLSOptions
	// tc is set once, by the session's goroutine; Close may read it from
	// another (Abort).
	tc atomic.Pointer[tls.Conn]
}

func newTLSLayer(conn net.Conn, opts TLSOptions) *tlsLayer {
	if opts.Mode == TLSNone {
		return nil
	}
	return &tlsLayer{Conn: conn, opts: opts}
}

func (l *tlsLayer) Read(p []byte) (int, error) {
	if tc := l.tc.Load(); tc != nil {
		return tc.Read(p)
	}
	return l.Conn.Read(p)
}

func (l *tlsLayer) Write(p []byte) (int, error) {
	if tc := l.tc.Load(); tc != nil {
		return tc.Write(p)
	}
	return l.Conn.Write(p)
}

// Close sends close_notify when TLS is up (RFC 8446 6.1) and closes the
// socket. tls.Conn.Close skips the alert when a write is in progress, so
// Abort never waits for a stalled server.
func (l *tlsLayer) Close() error {
	if tc := l.tc.Load(); tc != nil {
		return tc.Close()
	}
	return l.Conn.Close()
}

// active reports whether the session is inside TLS.
func (l *tlsLayer) active() bool { return l != nil && l.tc.Load() != nil }

// implicitTLS runs the handshake of an implicit-TLS session before the
// greeting (RFC 8314 3.3); the tls phase runs from here, just after the
// connect, to the end of the handshake.
func (c *Client) implicitTLS() error {
	if c.tls == nil || c.tls.opts.Mode != TLSImplicit {
		return nil
	}
	t0 := time.Now()
	err := c.handshake()
	observe(c.opts.Observer, PhaseTLS, 0, time.Since(t0), nil)
	return err
}

// startTLS runs STARTTLS when the mode asks for it and the server offers
// it, then says EHLO again: RFC 3207 4.2 makes the client forget what it
// learnt before the handshake. The tls phase runs from the STARTTLS write
// to the end of the handshake and is observed once, with the reply code.
func (c *Client) startTLS() error {
	if c.tls == nil || c.tls.opts.Mode == TLSImplicit || c.tls.active() {
		return nil
	}
	if !c.caps.StartTLS {
		if c.tls.opts.Mode == TLSOpportunistic {
			return nil
		}
		return c.fail(&Error{Phase: PhaseTLS, Class: ClassUnsupported, Text: "the server does not offer STARTTLS"})
	}
	c.wbuf = append(c.wbuf[:0], "STARTTLS\r\n"...)
	t0, err := c.flush(PhaseTLS)
	if err != nil {
		observe(c.opts.Observer, PhaseTLS, 0, time.Since(t0), nil)
		return err
	}
	r, err := c.stepReply(PhaseTLS)
	if err != nil {
		observe(c.opts.Observer, PhaseTLS, 0, time.Since(t0), nil)
		return err
	}
	if r.Code != CodeReady {
		observe(c.opts.Observer, PhaseTLS, r.Code, time.Since(t0), nil)
		if c.tls.opts.Mode == TLSOpportunistic && r.Code/100 == 4 {
			// RFC 3207 4: after a 454 the client may go on without TLS,
			// which is what opportunistic means.
			return nil
		}
		return c.fail(replyError(PhaseTLS, r))
	}
	if c.rr.Buffered() > 0 {
		// Response injection: whatever followed the 220 in the clear
		// would be read as if it had come through TLS (RFC 3207 6;
		// CVE-2011-0411 for the server side). Nothing more is sent.
		observe(c.opts.Observer, PhaseTLS, r.Code, time.Since(t0), nil)
		return c.fail(&Error{Phase: PhaseTLS, Class: ClassProtocol,
			Text: fmt.Sprintf("server sent %d bytes after its 220 to STARTTLS, before the handshake (response injection)", c.rr.Buffered())})
	}
	err = c.handshake()
	observe(c.opts.Observer, PhaseTLS, r.Code, time.Since(t0), nil)
	if err != nil {
		return err
	}
	r, _, err = c.command(PhaseEHLO, c.helloVerb(), c.opts.Hostname)
	if err != nil {
		return err
	}
	if r.Code != CodeOK {
		return c.fail(replyError(PhaseEHLO, r))
	}
	c.caps = parseEHLO(r.Text)
	return nil
}

// handshake runs the TLS client handshake on the session's connection
// within one --timeout, and reports it to a TLSObserver.
func (c *Client) handshake() error {
	if c.err != nil {
		return c.err
	}
	l := c.tls
	tc := tls.Client(l.Conn, l.opts.config())
	l.tc.Store(tc) // from here an Abort closes the TLS connection, ending the handshake
	dl := time.Now().Add(c.opts.Timeout)
	l.Conn.SetDeadline(dl)
	c.rdl, c.wdl = dl, dl
	err := tc.Handshake()
	c.last = time.Now()
	if err != nil {
		return c.fail(handshakeError(err))
	}
	// The reply reader held nothing (checked by the caller), so it can
	// read through TLS from here on.
	c.rr.br.Reset(c.conn)
	st := tc.ConnectionState()
	info := TLSInfo{Version: st.Version, CipherSuite: st.CipherSuite, Resumed: st.DidResume}
	if o, ok := c.opts.Observer.(TLSObserver); ok {
		o.ObserveTLS(info)
	}
	if t, ok := c.conn.(*traceConn); ok {
		t.note("TLS established: " + info.String())
	}
	return nil
}

func (i TLSInfo) String() string {
	kind := "full handshake"
	if i.Resumed {
		kind = "resumed session"
	}
	return fmt.Sprintf("%s %s, %s", tls.VersionName(i.Version), tls.CipherSuiteName(i.CipherSuite), kind)
}

// handshakeError classifies a failed handshake: a certificate that did not
// verify, a timeout, or any other failure of the handshake itself.
func handshakeError(err error) *Error {
	e := &Error{Phase: PhaseTLS, Class: ClassHandshake, Err: err}
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
		rerr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &verr), errors.As(err, &uerr), errors.As(err, &herr), errors.As(err, &cerr):
		e.Class, e.Text = ClassCertificate, "the server's certificate did not verify"
		if verr != nil && verr.Err != nil {
			// The x509 reason (unknown authority, wrong name, expired) is
			// what the user acts on; the report shows Text, not Err.
			e.Text += ": " + x509Reason(verr.Err)
		}
	case isTimeout(err):
		e.Class, e.Text = ClassTimeout, "no TLS handshake within the timeout"
	case errors.As(err, &rerr):
		e.Text = "the server does not speak TLS on this connection"
		if bytes.HasPrefix(rerr.RecordHeader[:], []byte("220")) || bytes.HasPrefix(rerr.RecordHeader[:], []byte("554")) {
			e.Text = "the server sent an SMTP greeting: it speaks plain SMTP here, not implicit TLS"
		}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		e.Text = "the server closed the connection during the handshake"
	}
	return e
}

// x509Reason is crypto/x509's reason without its package prefix and its
// parenthesised afterthought ("possibly because of ..."), which would push
// the reason itself past the report's line.
func x509Reason(err error) string {
	s := strings.TrimPrefix(err.Error(), "x509: ")
	if i := strings.Index(s, " (possibly because"); i > 0 {
		s = s[:i]
	}
	return s
}

// idlePeek is ClosedWhileIdle's look at an idle session. Inside TLS,
// bytes waiting on the socket may be a reply, a close_notify, or records
// that carry no data (a session ticket, a key update): so when the socket
// has something, it is read through TLS with a short deadline, and a
// session is waiting only when reply bytes arrived.
func (c *Client) idlePeek() (waiting, closed bool) {
	waiting, closed = c.peek()
	if !waiting || !c.tls.active() {
		return waiting, closed
	}
	return c.peekByDeadline()
}
