package sink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// SelfSigned makes a certificate for hosts (DNS names or IP addresses) on a
// fresh ECDSA P-256 key, signed by that key. It is what the sink serves
// when it is given no certificate: clients trust it by adding its Leaf to
// their roots, or by not verifying.
func SelfSigned(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "smtpbench sink"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// A CA of itself, so that clients that insist on a CA in their
		// trust store (OpenSSL) accept it as one.
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// ServerTLS returns the server side TLS configuration for cert. Session
// tickets stay on (Go's default), so clients can resume.
func ServerTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// tlsStats counts completed handshakes.
type tlsStats struct {
	full, resumed atomic.Uint64
}

// Handshakes returns how many TLS handshakes completed, full and resumed.
func (s *Server) Handshakes() (full, resumed uint64) {
	return s.tlsStats.full.Load(), s.tlsStats.resumed.Load()
}

// handshakeTimeout bounds a handshake, so that a client that never sends
// its ClientHello (a plaintext client on an implicit-TLS port) does not
// hold a goroutine for ever.
const handshakeTimeout = 30 * time.Second

// implicitTLS starts TLS on a new connection when the server speaks TLS
// from the first byte (RFC 8314 3.3); false means the session is over.
func (s *Server) implicitTLS(nc net.Conn) (net.Conn, bool) {
	if !s.cfg.ImplicitTLS {
		return nc, true
	}
	if s.cfg.TLS == nil {
		return nc, false // misconfigured: nothing to serve with
	}
	tc := tls.Server(nc, s.cfg.TLS)
	return tc, s.handshake(tc)
}

func (s *Server) handshake(tc *tls.Conn) bool {
	d := handshakeTimeout
	if s.cfg.IdleTimeout > 0 {
		d = min(d, s.cfg.IdleTimeout)
	}
	tc.SetDeadline(time.Now().Add(d))
	err := tc.Handshake()
	tc.SetDeadline(time.Time{})
	if err != nil {
		return false
	}
	if tc.ConnectionState().DidResume {
		s.tlsStats.resumed.Add(1)
	} else {
		s.tlsStats.full.Add(1)
	}
	return true
}

// startTLS answers STARTTLS (RFC 3207 4) and runs the handshake; false ends
// the session.
func (c *conn) startTLS(line []byte) bool {
	switch {
	case len(line) != len("STARTTLS"):
		c.bw.WriteString("501 5.5.4 sink: STARTTLS takes no parameters\r\n")
		return true
	case c.s.cfg.TLS == nil:
		c.bw.WriteString("502 5.5.1 sink: STARTTLS not offered\r\n")
		return true
	case c.tls:
		c.bw.WriteString("503 5.5.1 sink: TLS already active\r\n")
		return true
	}
	c.bw.WriteString("220 2.0.0 sink: ready to start TLS\r\n")
	if c.flush() != nil {
		return false
	}
	// Whatever the client sent after STARTTLS came in the clear and must
	// not be taken as coming through TLS (RFC 3207 6, CVE-2011-0411).
	c.br.Discard(c.br.Buffered())
	tc := tls.Server(c.c, c.s.cfg.TLS)
	if !c.s.handshake(tc) {
		return false
	}
	// RFC 3207 4.2: forget everything learnt before TLS.
	c.c = tc
	c.br.Reset(tc)
	c.bw.Reset(tc)
	c.tls, c.authed = true, false
	c.resetTx()
	return true
}

// EHLO keywords for STARTTLS and AUTH. AUTH is offered in the clear only
// when the server does not require TLS (as Postfix's smtpd_tls_auth_only).
const (
	kwStartTLS = "250-STARTTLS\r\n"
	kwAuth     = "250-AUTH PLAIN LOGIN CRAM-MD5\r\n"
)

func (c *conn) securityKeywords() string {
	cfg := &c.s.cfg
	starttls := cfg.TLS != nil && !c.tls
	auth := cfg.Users != nil && (c.tls || !cfg.RequireTLS)
	switch {
	case starttls && auth:
		return kwStartTLS + kwAuth
	case starttls:
		return kwStartTLS
	case auth:
		return kwAuth
	}
	return ""
}

// refuseMail answers MAIL with 530 when TLS or AUTH is required and has
// not happened (RFC 3207 4, RFC 4954 6).
func (c *conn) refuseMail() bool {
	switch {
	case c.s.cfg.RequireTLS && !c.tls:
		c.bw.WriteString("530 5.7.0 sink: must issue a STARTTLS command first\r\n")
	case c.s.cfg.RequireAuth && !c.authed:
		c.bw.WriteString("530 5.7.0 sink: authentication required\r\n")
	default:
		return false
	}
	return true
}
