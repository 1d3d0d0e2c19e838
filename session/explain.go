package session

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"unicode/utf8"
)

// maxExplain bounds an explanation: a report line, not the server's essay.
const maxExplain = 120

// Explain says in one line, in a user's words, why the command failed: the
// server's reply text when it replied, otherwise what happened to the
// connection. Go's own error wording ("use of closed network connection")
// never shows through; errors.Is still reaches it through Unwrap. A setting
// is named in plain words ("the timeout", "the data timeout", "the local
// source address"), never by a command-line flag; which Options field
// applied follows from Class and Phase (a timeout in PhaseBody is
// DataTimeout's, any other Timeout's), for a caller that words it its own
// way.
func (e *Error) Explain() string {
	s := e.explain()
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = shorten(s, maxExplain)
	if e.Phase == PhaseBanner && e.Code == 0 && (e.Class == ClassTimeout || e.Class == ClassProtocol) {
		s += " (not an SMTP server, or TLS on connect?)"
	}
	return s
}

// shorten cuts s to at most n bytes at a word boundary, marking the cut
// with "...": a reason cut mid-word reads as a different word.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n-3]
	if i := strings.LastIndexByte(cut, ' '); i >= n/2 {
		cut = cut[:i]
	} else {
		// One long word: back off to the start of a UTF-8 character.
		for len(cut) > 0 && !utf8.RuneStart(s[len(cut)]) {
			cut = cut[:len(cut)-1]
		}
	}
	return strings.TrimRight(cut, " ,;:") + "..."
}

func (e *Error) explain() string {
	if e.Code != 0 {
		if e.Text == "" {
			return "(no text)"
		}
		return e.Text
	}
	if e.Class == ClassAborted {
		// Whatever the connection then said (closed by us), the cause was
		// the stop.
		return "the run was stopped before the server answered"
	}
	if e.Err != nil {
		if d := describeIOError(e.Err); d != "" {
			if e.Text != "" {
				return e.Text + ": " + d
			}
			return d
		}
	}
	if e.Text != "" {
		return e.Text
	}
	switch e.Class {
	case ClassTimeout:
		if e.Phase == PhaseBody {
			return "no reply to the end of data within the data timeout"
		}
		return "no reply within the timeout"
	case ClassAborted:
		return "the run was stopped before the server answered"
	case ClassClosed:
		return "the server closed the connection"
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Class.String()
}

// describeIOError names what happened to a connection, or returns "" when
// the error is none of the usual ones.
func describeIOError(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "host name " + dnsErr.Name + " does not resolve"
		}
		return "cannot resolve host name " + dnsErr.Name
	case bindError(err) != nil:
		return "cannot use the local source address: " + bindError(err).Err.Error()
	case isTimeout(err):
		return "" // the class says it, with the right setting
	case errors.Is(err, net.ErrClosed):
		return "connection closed by smtpbench (the run was stopped)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return "the server closed the connection"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the server"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.Is(err, ErrMalformedReply):
		return "the server sent something that is not an SMTP reply"
	}
	return ""
}
