package session

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
)

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		err       *Error
		text      string
		sentinel  error
		temporary bool
		fatal     bool
	}{
		{name: "permanent rejection",
			err:  replyError(PhaseRcpt, Reply{Code: 550, Enhanced: EnhancedCode{5, 1, 1}, Text: []byte("no such user")}),
			text: "rcpt: 550 5.1.1 no such user", sentinel: ErrPermReject},
		{name: "temporary rejection",
			err:  replyError(PhaseRcpt, Reply{Code: 452, Text: []byte("too many recipients")}),
			text: "rcpt: 452 too many recipients", sentinel: ErrTempReject, temporary: true},
		{name: "421 closes whatever it answers",
			err:  replyError(PhaseMail, Reply{Code: 421, Enhanced: EnhancedCode{4, 3, 2}, Text: []byte("shutting down")}),
			text: "mail: 421 4.3.2 shutting down", sentinel: ErrClosed, temporary: true, fatal: true},
		{name: "positive reply where a negative one was expected",
			err:  replyError(PhaseBody, Reply{Code: 354, Text: []byte("go")}),
			text: "body: protocol: unexpected reply 354 go", sentinel: ErrProtocol, fatal: true},
		{name: "timeout", err: &Error{Phase: PhaseData, Class: ClassTimeout, Err: errors.New("i/o timeout")},
			text: "data: timeout: no reply within the timeout", sentinel: ErrTimeout, temporary: true, fatal: true},
		{name: "closed", err: ioError(PhaseBanner, io.EOF),
			text: "banner: closed: the server closed the connection", sentinel: io.EOF, temporary: true, fatal: true},
		{name: "malformed", err: ioError(PhaseEHLO, ErrMalformedReply),
			text: "ehlo: protocol: the server sent something that is not an SMTP reply", sentinel: ErrMalformedReply, fatal: true},
		{name: "banner timeout hints at a non-SMTP port", err: &Error{Phase: PhaseBanner, Class: ClassTimeout, Err: errors.New("i/o timeout")},
			text: "banner: timeout: no reply within the timeout (not an SMTP server, or TLS on connect?)", sentinel: ErrTimeout, temporary: true, fatal: true},
		{name: "closed by us is the run giving up, not the server closing", err: ioError(PhaseMail, net.ErrClosed),
			text: "mail: aborted: the run was stopped before the server answered", sentinel: net.ErrClosed, fatal: true},
		{name: "end of data has its own timeout", err: &Error{Phase: PhaseBody, Class: ClassTimeout},
			text: "body: timeout: no reply to the end of data within the data timeout", sentinel: ErrTimeout, temporary: true, fatal: true},
		{name: "refused", err: &Error{Phase: PhaseConnect, Class: ClassRefused, Text: "no route"},
			text: "connect: refused: no route", sentinel: ErrRefused, fatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("Error() = %q, want %q", got, tt.text)
			}
			if !errors.Is(tt.err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.sentinel)
			}
			if got := tt.err.Temporary(); got != tt.temporary {
				t.Errorf("Temporary() = %v, want %v", got, tt.temporary)
			}
			if got := tt.err.Fatal(); got != tt.fatal {
				t.Errorf("Fatal() = %v, want %v", got, tt.fatal)
			}
			var se *Error
			if !errors.As(error(tt.err), &se) || se != tt.err {
				t.Errorf("errors.As does not find the *Error")
			}
		})
	}
}

func TestIOErrorKeepsSessionError(t *testing.T) {
	inner := &Error{Phase: PhaseRcpt, Class: ClassClosed, Code: 421}
	if got := ioError(PhaseData, inner); got != inner {
		t.Errorf("ioError rewrapped an *Error: %v", got)
	}
}

func TestNames(t *testing.T) {
	for p := range NumPhases {
		got, err := ParsePhase(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePhase(%q) = %v, %v; want %v", p.String(), got, err, p)
		}
	}
	if _, err := ParsePhase("bogus"); err == nil {
		t.Error("ParsePhase accepted an unknown phase")
	}
	if got := NumPhases.String(); got != fmt.Sprintf("phase(%d)", int(NumPhases)) {
		t.Errorf("NumPhases.String() = %q", got)
	}
	seen := map[string]bool{}
	for c := range NumClasses {
		if seen[c.String()] {
			t.Errorf("class name %q used twice", c)
		}
		seen[c.String()] = true
	}
	for _, s := range []string{"auto", "on", "off"} {
		p, err := ParsePipelining(s)
		if err != nil || p.String() != s {
			t.Errorf("ParsePipelining(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePipelining("yes"); err == nil {
		t.Error("ParsePipelining accepted yes")
	}
}
