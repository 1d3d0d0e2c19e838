package session

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuthMech is a SASL mechanism for SMTP AUTH (RFC 4954).
type AuthMech uint8

const (
	AuthAuto    AuthMech = iota // the strongest the server offers of CRAM-MD5, PLAIN, LOGIN
	AuthPlain                   // RFC 4616
	AuthLogin                   // the de-facto LOGIN mechanism: user and password after two 334 prompts
	AuthCRAMMD5                 // RFC 2195: the password never crosses the wire
	AuthXOAUTH2                 // a bearer token instead of a password (Gmail, Microsoft 365)
)

var authMechNames = [...]string{"auto", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"}

func (m AuthMech) String() string {
	if int(m) < len(authMechNames) {
		return authMechNames[m]
	}
	return fmt.Sprintf("authmech(%d)", m)
}

// ParseAuthMech reads a mechanism name, in any case.
func ParseAuthMech(s string) (AuthMech, error) {
	for i, n := range authMechNames {
		if strings.EqualFold(n, s) {
			return AuthMech(i), nil
		}
	}
	return 0, fmt.Errorf("AUTH mechanism %q: want plain, login, cram-md5 or xoauth2", s)
}

// authPreference is what AuthAuto tries, strongest first. XOAUTH2 is never
// chosen by itself: it takes a token, not the password the others take.
var authPreference = [...]AuthMech{AuthCRAMMD5, AuthPlain, AuthLogin}

// Secret is a password or token. However it is formatted it prints as
// <redacted>, so it cannot reach a log line, a trace or a report by mistake.
type Secret string

const redacted = "<redacted>"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) Format(f fmt.State, _ rune)   { io.WriteString(f, redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) appendTo(dst []byte) []byte { return append(dst, s...) }
func (s Secret) hmacMD5(challenge []byte) []byte {
	h := hmac.New(md5.New, []byte(s))
	h.Write(challenge)
	return h.Sum(nil)
}

// AuthOptions configure AUTH for a session.
type AuthOptions struct {
	Mech AuthMech
	// User is the user name; {w} in it becomes Options.Worker, so that
	// each load worker can log in as its own account.
	User   string
	Secret Secret
	// AllowPlaintext permits AUTH on a session without TLS, which RFC
	// 4954 4 advises against for mechanisms that reveal the password.
	AllowPlaintext bool
}

// Format prints the options with the secret redacted, whatever the verb:
// fmt ignores the Secret's own methods when it reports a bad verb.
func (a AuthOptions) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "{Mech:%s User:%s Secret:%s AllowPlaintext:%t}", a.Mech, a.User, redacted, a.AllowPlaintext)
}

// CheckUserTemplate checks a user name template: only {w} may be used, and
// no CR, LF or NUL, which would inject commands or break SASL PLAIN.
func CheckUserTemplate(s string) error {
	if s == "" {
		return fmt.Errorf("user name is empty")
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return fmt.Errorf("user name %q must not contain CR, LF or NUL", s)
	}
	for rest := s; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return nil
		}
		if !strings.HasPrefix(rest[i:], "{w}") {
			return fmt.Errorf("user name %q: unknown placeholder at %q (use {w}, the worker number)", s, rest[i:])
		}
		rest = rest[i+3:]
	}
}

// UserFor returns the user name of worker w.
func (a *AuthOptions) UserFor(w int) string {
	return strings.ReplaceAll(a.User, "{w}", strconv.Itoa(w))
}

// Reply codes of AUTH (RFC 4954 4, 6) and of refusals that ask for it.
const (
	CodeAuthOK                 = 235
	CodeAuthChallenge          = 334
	CodeAuthTemporary          = 454 // also STARTTLS's "TLS not available" (RFC 3207 4)
	CodeAuthRequired           = 530 // also "must issue STARTTLS first" at some servers
	CodeAuthTooWeak            = 534
	CodeAuthInvalid            = 535
	CodeAuthEncryptionRequired = 538
)

// maxAuthSteps bounds the challenges one AUTH may take; LOGIN needs two.
const maxAuthSteps = 4

// authenticate runs AUTH after EHLO (and after STARTTLS, if any). The auth
// phase runs from the AUTH write to its final reply and is observed once,
// with that reply's code.
func (c *Client) authenticate() error {
	a := c.opts.Auth
	if a == nil {
		return nil
	}
	if !c.tls.active() && !a.AllowPlaintext {
		return c.fail(&Error{Phase: PhaseAuth, Class: ClassUnsupported,
			Text: "refusing to send credentials on a connection without TLS (RFC 4954 4)"})
	}
	mech, err := c.authMech(a.Mech)
	if err != nil {
		return err
	}
	t0 := time.Now()
	code, err := c.sasl(mech, a.UserFor(c.opts.Worker), a.Secret, &t0)
	observe(c.opts.Observer, PhaseAuth, code, time.Since(t0), nil)
	return err
}

// authMech picks the mechanism: the one asked for if the server offers it,
// or the strongest offered.
func (c *Client) authMech(want AuthMech) (AuthMech, error) {
	offers := "nothing"
	if len(c.caps.Auth) > 0 {
		offers = strings.Join(c.caps.Auth, " ")
	}
	if want != AuthAuto {
		if slices.Contains(c.caps.Auth, want.String()) {
			return want, nil
		}
		return 0, c.fail(&Error{Phase: PhaseAuth, Class: ClassUnsupported,
			Text: fmt.Sprintf("the server does not offer AUTH %s (it offers %s)", want, offers)})
	}
	for _, m := range authPreference {
		if slices.Contains(c.caps.Auth, m.String()) {
			return m, nil
		}
	}
	return 0, c.fail(&Error{Phase: PhaseAuth, Class: ClassUnsupported,
		Text: fmt.Sprintf("the server offers no AUTH mechanism smtpbench supports (it offers %s)", offers)})
}

// sasl runs one AUTH exchange and returns the final reply code (0 when
// none came). *t0 is set to when the AUTH command was written.
func (c *Client) sasl(mech AuthMech, user string, secret Secret, t0 *time.Time) (int, error) {
	// Credentials are built in a scratch buffer that is cleared after use,
	// as is the write buffer that carried them.
	var scratch []byte
	defer func() { clear(scratch) }()
	c.wbuf = append(c.wbuf[:0], "AUTH "...)
	c.wbuf = append(c.wbuf, mech.String()...)
	switch mech {
	case AuthPlain:
		// RFC 4616 2: authzid NUL authcid NUL passwd, sent as the initial
		// response (RFC 4954 4) to save a round trip.
		scratch = append(scratch, 0)
		scratch = append(scratch, user...)
		scratch = append(scratch, 0)
		scratch = secret.appendTo(scratch)
		c.wbuf = base64.StdEncoding.AppendEncode(append(c.wbuf, ' '), scratch)
	case AuthXOAUTH2:
		scratch = append(scratch, "user="...)
		scratch = append(scratch, user...)
		scratch = append(scratch, "\x01auth=Bearer "...)
		scratch = secret.appendTo(scratch)
		scratch = append(scratch, "\x01\x01"...)
		c.wbuf = base64.StdEncoding.AppendEncode(append(c.wbuf, ' '), scratch)
	}
	t, err := c.authWrite()
	*t0 = t
	if err != nil {
		return 0, err
	}
	for step := 0; ; step++ {
		r, err := c.stepReply(PhaseAuth)
		if err != nil {
			return 0, err
		}
		if r.Code == CodeAuthOK {
			return r.Code, nil
		}
		if r.Code != CodeAuthChallenge {
			return r.Code, c.fail(replyError(PhaseAuth, r))
		}
		if step >= maxAuthSteps {
			return r.Code, c.fail(&Error{Phase: PhaseAuth, Class: ClassProtocol, Text: "AUTH did not end after " + strconv.Itoa(maxAuthSteps) + " challenges"})
		}
		clear(scratch)
		scratch = scratch[:0]
		switch {
		case mech == AuthPlain && step == 0:
			// A server that ignored the initial response asks for it.
			scratch = append(scratch, 0)
			scratch = append(scratch, user...)
			scratch = append(scratch, 0)
			scratch = secret.appendTo(scratch)
		case mech == AuthLogin && step == 0:
			scratch = append(scratch, user...)
		case mech == AuthLogin && step == 1:
			scratch = secret.appendTo(scratch)
		case mech == AuthCRAMMD5 && step == 0:
			// RFC 2195 2: user SP hex(HMAC-MD5(password, challenge)).
			challenge, derr := base64.StdEncoding.DecodeString(string(r.Text))
			if derr != nil || len(challenge) == 0 {
				return c.cancelAuth("the server's CRAM-MD5 challenge is not base64")
			}
			scratch = append(scratch, user...)
			scratch = append(scratch, ' ')
			scratch = hex.AppendEncode(scratch, secret.hmacMD5(challenge))
		case mech == AuthXOAUTH2 && step == 0:
			// The challenge is an error report in JSON; an empty response
			// lets the server send its final refusal.
		default:
			return c.cancelAuth("unexpected AUTH challenge")
		}
		c.wbuf = base64.StdEncoding.AppendEncode(c.wbuf[:0], scratch)
		if _, err := c.authWrite(); err != nil {
			return 0, err
		}
	}
}

// authWrite sends the AUTH line in the write buffer, then clears it.
func (c *Client) authWrite() (time.Time, error) {
	c.wbuf = append(c.wbuf, '\r', '\n')
	n := len(c.wbuf)
	t, err := c.flush(PhaseAuth)
	clear(c.wbuf[:n])
	return t, err
}

// cancelAuth ends an exchange the client cannot go on with (RFC 4954 4:
// a "*" line) and fails the session.
func (c *Client) cancelAuth(why string) (int, error) {
	c.wbuf = append(c.wbuf[:0], '*')
	c.authWrite()
	return 0, c.fail(&Error{Phase: PhaseAuth, Class: ClassProtocol, Text: why})
}

// stepReply reads the reply to a STARTTLS or AUTH step. Unlike readReply it
// observes nothing, because the caller times the whole exchange as one
// sample, and it accepts 334, which carries AUTH's challenges.
func (c *Client) stepReply(p Phase) (Reply, error) {
	if c.err != nil {
		return Reply{}, c.err
	}
	c.renewDeadline(&c.rdl, c.last, c.conn.SetReadDeadline)
	r, err := c.rr.ReadReply()
	c.last = time.Now()
	c.lastReply = c.last
	if err != nil {
		return Reply{}, c.fail(ioError(p, err))
	}
	if r.Code == CodeServiceClosing {
		return r, c.fail(replyError(p, r))
	}
	return r, nil
}

// secure runs what follows the first EHLO when asked for: STARTTLS (and
// EHLO again), then AUTH.
func (c *Client) secure() error {
	if err := c.startTLS(); err != nil {
		return err
	}
	return c.authenticate()
}
