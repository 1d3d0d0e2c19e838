package profile

import (
	"errors"
	"fmt"
	"net"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// The built-in profiles. Each is a few lines over Session and the
// session.Client's step-by-step methods (session/raw.go); a new one is a
// type with Name, Check and Play, registered here or from its own file.
func init() {
	Register(idle{})
	Register(slow{})
	Register(abort{name: "abort-mail", at: session.PhaseMail})
	Register(abort{name: "abort-rcpt", at: session.PhaseRcpt})
	Register(abort{name: "abort-data", at: session.PhaseData})
	Register(abort{name: "abort-dot", at: session.PhaseBody})
	Register(badcmd{})
	Register(harvest{})
	Register(authfail{})
	Register(handshake{})
}

// begin dials and reads the greeting and EHLO (with STARTTLS and AUTH as
// the options say); on failure it returns how the session ended.
func begin(s *Session, edit func(*session.Options)) (*session.Client, string, bool) {
	c, err := s.Dial(edit)
	if err != nil {
		s.Error(err)
		return nil, s.EndOf(err), false
	}
	if err := c.Hello(); err != nil {
		s.Error(err)
		return c, s.EndOf(err), false
	}
	return c, "", true
}

// noAuth drops the credentials: only authfail speaks AUTH.
func noAuth(o *session.Options) { o.Auth = nil }

// idle connects, reads the greeting and says nothing, as a client that
// holds a connection slot does, until the server gives up (a 421 or a
// close) or --idle-for passes; then it says QUIT if it still can.
type idle struct{}

func (idle) Name() string          { return "idle" }
func (idle) Check(*Settings) error { return nil }
func (idle) Play(s *Session) string {
	c, err := s.Dial(noAuth)
	if err != nil {
		s.Error(err)
		return s.EndOf(err)
	}
	if _, err := c.Greet(); err != nil {
		s.Error(err)
		return s.EndOf(err)
	}
	_, err = c.Await(s.Settings().IdleFor)
	var se *session.Error
	if errors.As(err, &se) && se.Class == session.ClassTimeout && s.Context().Err() == nil {
		// Our own patience ran out first: leave politely.
		c.Quit()
		return metrics.EndOwnTimeout
	}
	if err == nil {
		// A reply nobody asked for, not a 421: the server is out of step.
		return metrics.EndError
	}
	return s.EndOf(err)
}

// slow runs one normal transaction with every byte, commands and content,
// written at --slow-rate bytes per second: the client on a bad link, or one
// that holds a server's process on purpose.
type slow struct{}

func (slow) Name() string          { return "slow" }
func (slow) Check(*Settings) error { return nil }
func (slow) Play(s *Session) string {
	rate := s.Settings().SlowRate
	stop := s.Context().Done()
	c, end, ok := begin(s, func(o *session.Options) {
		o.Auth = nil
		o.Pipelining = session.PipeliningOff
		o.WrapConn = func(nc net.Conn) net.Conn { return newThrottle(nc, rate, stop) }
	})
	if !ok {
		return end
	}
	res := c.Send(s.Message(), nil)
	s.Result(&res)
	if c.Err() != nil {
		return s.EndOf(c.Err())
	}
	return s.Quit(c)
}

// abort drops the connection, without QUIT, at one point of a transaction:
// after MAIL's reply (abort-mail), after the RCPTs' (abort-rcpt), half-way
// through the content (abort-data), or right after the end of data,
// before its reply (abort-dot). The first three never deliver; abort-dot's
// messages may have been delivered, and are counted as unanswered.
type abort struct {
	name string
	at   session.Phase
}

func (a abort) Name() string          { return a.name }
func (a abort) Check(*Settings) error { return nil }
func (a abort) Play(s *Session) string {
	c, end, ok := begin(s, noAuth)
	if !ok {
		return end
	}
	m := s.Message()
	r, err := c.MailFrom(m)
	if err != nil || r.Code/100 != 2 {
		return a.refused(s, c, err)
	}
	if a.at == session.PhaseMail {
		s.Dropped()
		return s.Drop(c)
	}
	accepted := 0
	for i := 1; i <= m.Rcpts; i++ {
		r, err := c.RcptTo(m, i)
		if err != nil {
			return a.refused(s, c, err)
		}
		if r.Code/100 == 2 {
			accepted++
		}
	}
	if accepted == 0 {
		return a.refused(s, c, nil)
	}
	if a.at == session.PhaseRcpt {
		s.Dropped()
		return s.Drop(c)
	}
	r, err = c.Command(session.PhaseData, "DATA", m)
	if err != nil || r.Code != session.CodeStartInput {
		return a.refused(s, c, err)
	}
	share := 1.0
	if a.at == session.PhaseData {
		share = 0.5
	}
	if _, err := c.WriteContent(m, share); err != nil {
		s.Error(err)
		return s.EndOf(err)
	}
	if a.at == session.PhaseData {
		s.Dropped()
	} else {
		s.Unanswered()
	}
	return s.Drop(c)
}

// refused ends a transaction the server refused before the point of the
// abort: counted as rejected (or failed, on a broken session), and the
// session ends with QUIT.
func (a abort) refused(s *Session, c *session.Client, err error) string {
	if s.Context().Err() != nil {
		return metrics.EndRunEnd // cut by the run's end: not the server's doing
	}
	s.count(func(r *metrics.ProfileRecorder) {
		r.Attempted++
		if err != nil {
			r.Failed++
		} else {
			r.Rejected++
		}
	})
	if err != nil {
		s.Error(err)
		return s.EndOf(err)
	}
	return s.Quit(c)
}

// badcmd sends unknown commands and syntax errors between normal
// transactions, as broken or probing clients do; a server should answer
// 500, 501, 502 or 503 and carry on.
type badcmd struct{}

// badCommands are what badcmd sends, in turn: an unknown verb (500 or
// 502), MAIL with the wrong keyword (501), RCPT and DATA before MAIL (503,
// RFC 5321 4.1.4) and VRFY without its argument (501). None of them can
// open a transaction, even at a lenient server, so the normal transaction
// that follows starts clean.
var badCommands = []string{
	"XYZZY plugh",
	"MAIL TO:<wrong-keyword@example.invalid>",
	"RCPT TO:<before-mail@example.invalid>",
	"DATA",
	"VRFY",
}

func (badcmd) Name() string          { return "badcmd" }
func (badcmd) Check(*Settings) error { return nil }
func (badcmd) Play(s *Session) string {
	c, end, ok := begin(s, noAuth)
	if !ok {
		return end
	}
	for i := range s.Settings().BadCommands {
		r, err := c.Exchange(badCommands[(int(s.seq)+i)%len(badCommands)])
		if err != nil {
			s.Error(err)
			return s.EndOf(err)
		}
		s.BadReply(r.Code)
	}
	res := c.Send(s.Message(), nil)
	s.Result(&res)
	if c.Err() != nil {
		return s.EndOf(c.Err())
	}
	return s.Quit(c)
}

// harvest sends one MAIL and many RCPTs to addresses the server should
// refuse (--harvest-to), as a directory-harvest attack does, then QUIT; no
// content. recipients_rejected says how many the server refused.
type harvest struct{}

func (harvest) Name() string          { return "harvest" }
func (harvest) Check(*Settings) error { return nil }
func (harvest) Play(s *Session) string {
	c, end, ok := begin(s, noAuth)
	if !ok {
		return end
	}
	m := s.Message()
	r, err := c.MailFrom(m)
	if err != nil {
		s.Error(err)
		return s.EndOf(err)
	}
	if r.Code/100 != 2 {
		return s.Quit(c)
	}
	probe := *m
	probe.To = s.Settings().HarvestTo
	var ok2, no int
	for i := 1; i <= s.Settings().HarvestRcpts; i++ {
		r, err := c.RcptTo(&probe, i)
		if err != nil {
			s.count(func(r *metrics.ProfileRecorder) { r.RcptAccepted += int64(ok2); r.RcptRejected += int64(no) })
			s.Error(err)
			return s.EndOf(err)
		}
		if r.Code/100 == 2 {
			ok2++
		} else {
			no++
		}
	}
	s.count(func(r *metrics.ProfileRecorder) { r.RcptAccepted += int64(ok2); r.RcptRejected += int64(no) })
	s.Dropped()
	return s.Quit(c)
}

// authfail says AUTH with the configured user and a wrong password (after
// STARTTLS where the TLS flags ask for it), as a password-guessing client
// does; the server should answer 535.
type authfail struct{}

func (authfail) Name() string { return "authfail" }
func (authfail) Check(st *Settings) error {
	if st.Session.Auth == nil {
		return fmt.Errorf("profile authfail needs AUTH configured (--auth-user and a password)")
	}
	return nil
}
func (authfail) Play(s *Session) string {
	c, err := s.Dial(func(o *session.Options) {
		a := *o.Auth
		a.Secret += "-not-the-password"
		o.Auth = &a
	})
	if err != nil {
		s.Error(err)
		return s.EndOf(err)
	}
	err = c.Hello()
	var se *session.Error
	if errors.As(err, &se) && se.Phase == session.PhaseAuth && (se.Class == session.ClassPermReject || se.Class == session.ClassTempReject) {
		// The refusal is what this client came for; the session stays
		// open for another try or a QUIT.
		s.Error(err)
		c.Close()
		return metrics.EndDropped
	}
	if err != nil {
		s.Error(err)
		return s.EndOf(err)
	}
	// The server took a wrong password.
	s.Error(&session.Error{Phase: session.PhaseAuth, Class: session.ClassProtocol, Text: "the server accepted a wrong password"})
	return s.Quit(c)
}

// handshake connects, says EHLO (and STARTTLS where the TLS flags ask for
// it), then QUIT, as scanners and monitoring probes do.
type handshake struct{}

func (handshake) Name() string          { return "handshake" }
func (handshake) Check(*Settings) error { return nil }
func (handshake) Play(s *Session) string {
	c, end, ok := begin(s, noAuth)
	if !ok {
		return end
	}
	return s.Quit(c)
}
