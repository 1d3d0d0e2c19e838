package session

import (
	"errors"
	"fmt"
)

// Class groups failures the way a benchmark user reads them: did the server
// refuse, stall, misbehave, or say no.
type Class uint8

const (
	ClassNone       Class = iota
	ClassRefused          // could not connect: refused or unreachable
	ClassTimeout          // no reply within the per-reply timeout
	ClassProtocol         // the server sent something that is not valid SMTP here
	ClassTempReject       // 4yz reply (RFC 5321 4.2.1)
	ClassPermReject       // 5yz reply
	ClassClosed           // 421, or the connection closed or reset
	ClassAborted          // we gave up: the run was interrupted
	ClassResolve          // the target's host name did not resolve
	ClassLocalFDs         // this host is out of file descriptors (EMFILE, ENFILE)
	ClassLocalPorts       // this host is out of ephemeral ports (EADDRNOTAVAIL)

	ClassHandshake   // the TLS handshake failed: no common version or cipher, an alert, not TLS
	ClassCertificate // the server's certificate did not verify
	ClassUnsupported // the server lacks what was asked for: STARTTLS, an AUTH mechanism, TLS for AUTH
	NumClasses
)

var classNames = [NumClasses]string{"none", "refused", "timeout", "protocol", "temp_reject", "perm_reject", "closed", "aborted",
	"resolve", "local_fds", "local_ports", "handshake", "certificate", "unsupported"}

func (c Class) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", c)
}

// Sentinels for errors.Is; every *Error unwraps to the one for its class.
var (
	ErrRefused    = errors.New("connection refused or unreachable")
	ErrTimeout    = errors.New("timed out waiting for the server")
	ErrProtocol   = errors.New("protocol error")
	ErrTempReject = errors.New("temporary rejection")
	ErrPermReject = errors.New("permanent rejection")
	ErrClosed     = errors.New("connection closed by server")
	ErrAborted    = errors.New("aborted")
	ErrResolve    = errors.New("host name did not resolve")
	ErrLocalFDs   = errors.New("out of file descriptors")
	ErrLocalPorts = errors.New("out of local ports")
)

// Sentinels of the TLS and AUTH classes.
var (
	ErrHandshake   = errors.New("TLS handshake failed")
	ErrCertificate = errors.New("server certificate not trusted")
	ErrUnsupported = errors.New("not offered by the server")
	// ErrNoSMTPUTF8 is why a message with a non-ASCII address was not
	// sent: the server does not offer SMTPUTF8 (RFC 6531 3.2).
	ErrNoSMTPUTF8 = errors.New("the server does not offer SMTPUTF8")
)

var classSentinels = [NumClasses]error{nil, ErrRefused, ErrTimeout, ErrProtocol, ErrTempReject, ErrPermReject, ErrClosed, ErrAborted,
	ErrResolve, ErrLocalFDs, ErrLocalPorts, ErrHandshake, ErrCertificate, ErrUnsupported}

// Error is the one error type of an SMTP session: where it happened, how to
// count it, and what the server said.
type Error struct {
	Phase    Phase
	Class    Class
	Code     int // reply code, 0 when there was no reply
	Enhanced EnhancedCode
	Text     string // reply text, or a description for non-reply failures
	Err      error  // underlying I/O or parse error, if any
}

func (e *Error) Error() string {
	s := e.Phase.String() + ": "
	if e.Code != 0 {
		s += fmt.Sprintf("%d ", e.Code)
		if !e.Enhanced.IsZero() {
			s += e.Enhanced.String() + " "
		}
		return s + e.Text
	}
	return s + e.Class.String() + ": " + e.Explain()
}

// Temporary reports whether a retry later could succeed (4yz, RFC 5321 4.2.1).
func (e *Error) Temporary() bool {
	return e.Class == ClassTempReject || e.Class == ClassClosed || e.Class == ClassTimeout
}

// Unwrap exposes both the class sentinel and the underlying error.
func (e *Error) Unwrap() []error {
	errs := []error{classSentinels[e.Class]}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Fatal reports whether the session cannot continue after this error.
func (e *Error) Fatal() bool {
	switch e.Class {
	case ClassTempReject, ClassPermReject:
		return false
	}
	return true
}

// replyError builds the error for a negative reply. 421 always means the
// server is closing the channel (RFC 5321 3.8), whatever command it answers.
func replyError(p Phase, r Reply) *Error {
	e := &Error{Phase: p, Code: r.Code, Enhanced: r.Enhanced, Text: string(r.Text)}
	switch {
	case r.Code == CodeServiceClosing:
		e.Class = ClassClosed
	case r.Code >= 400 && r.Code < 500:
		e.Class = ClassTempReject
	case r.Code >= 500 && r.Code < 600:
		e.Class = ClassPermReject
	default:
		e.Class = ClassProtocol
		e.Text = fmt.Sprintf("unexpected reply %d %s", r.Code, r.Text)
		e.Code = 0
	}
	return e
}

// Reply codes we act on (RFC 5321 4.2.2, 4.2.3).
const (
	CodeReady          = 220
	CodeClosing        = 221
	CodeOK             = 250
	CodeWillForward    = 251
	CodeStartInput     = 354
	CodeServiceClosing = 421
	CodeSyntaxError    = 500
	CodeNotImplemented = 502
	CodeBadSequence    = 503
	CodeNoService      = 554
)
