package session

// Step-by-step access to a session, for clients that do not behave: the
// session profiles of loadgen/profile (idle, aborting, abusive clients)
// speak SMTP out of the usual order, stop in the middle of a transaction or
// say nothing at all. Everything here shares the Client's deadlines, trace,
// TLS layer and observer; nothing here is on the normal sessions' path.

import (
	"time"
)

// Greet reads the server's greeting and nothing more: a client that
// connects and then says nothing (RFC 5321 3.1), timed as the banner phase.
// Use it instead of Hello, never before it.
func (c *Client) Greet() (Reply, error) {
	if err := c.implicitTLS(); err != nil {
		return Reply{}, err
	}
	t0 := time.Now()
	c.last = t0
	r, err := c.readReply(PhaseBanner, t0, nil)
	if err != nil {
		return r, err
	}
	if r.Code != CodeReady {
		return r, c.fail(replyError(PhaseBanner, r))
	}
	return r.Clone(), nil
}

// Command writes one command line as given (without CRLF) and returns its
// reply, observed under phase p for message m (nil for a session command).
// A 421 or an I/O error breaks the session, as for any command; a negative
// reply is returned with a nil error, for the caller to judge.
func (c *Client) Command(p Phase, line string, m *Message) (Reply, error) {
	if err := checkArg("command", line); err != nil {
		return Reply{}, c.fail(&Error{Phase: p, Class: ClassProtocol, Err: err})
	}
	c.wbuf = append(c.wbuf[:0], line...)
	c.wbuf = append(c.wbuf, '\r', '\n')
	t0, err := c.flush(p)
	if err != nil {
		return Reply{}, err
	}
	r, err := c.readReply(p, t0, m)
	return r.Clone(), err
}

// Exchange is Command without observing the reply's latency: for commands
// that belong to no phase (unknown verbs, deliberate syntax errors), whose
// figures would blur the phase they were filed under.
func (c *Client) Exchange(line string) (Reply, error) {
	c.quiet = true
	defer func() { c.quiet = false }()
	return c.Command(PhaseMail, line, nil)
}

// MailFrom and RcptTo run MAIL FROM and RCPT TO for recipient i (from 1) of
// m, in lock-step, and return the reply.
func (c *Client) MailFrom(m *Message) (Reply, error) {
	c.wbuf = c.wbuf[:0]
	c.appendMail(m)
	return c.wrote(PhaseMail, m)
}

// RcptTo runs RCPT TO for recipient i (from 1) of m; see MailFrom.
func (c *Client) RcptTo(m *Message, i int) (Reply, error) {
	c.wbuf = c.wbuf[:0]
	c.appendRcpt(m, i)
	return c.wrote(PhaseRcpt, m)
}

func (c *Client) wrote(p Phase, m *Message) (Reply, error) {
	t0, err := c.flush(p)
	if err != nil {
		return Reply{}, err
	}
	r, err := c.readReply(p, t0, m)
	return r.Clone(), err
}

// WriteContent writes the first share (0 to 1) of m's content in DATA form
// and, when share is 1, its end of data; it reads no reply. It returns the
// time just before the write, from which the end-of-data reply is timed.
func (c *Client) WriteContent(m *Message, share float64) (time.Time, error) {
	c.wbuf = m.Content.AppendData(c.wbuf[:0], m)
	if share < 1 {
		// Cut inside the content, never inside the final ".": the server
		// must still be waiting for more.
		n := int(float64(len(c.wbuf)-len(".\r\n")) * max(share, 0))
		c.wbuf = c.wbuf[:n]
	}
	return c.flush(PhaseBody)
}

// ReadReply reads the next reply, observed under phase p for message m as
// though its command had been written at since.
func (c *Client) ReadReply(p Phase, since time.Time, m *Message) (Reply, error) {
	r, err := c.readReply(p, since, m)
	return r.Clone(), err
}

// Await waits up to d for whatever the server sends on a session nobody is
// talking on: a 421 (RFC 5321 3.8), another reply, or a close. It returns
// the reply and a nil error, or the error that ended the wait: a timeout
// error (ClassTimeout) when d passed in silence, which leaves the session
// usable. d <= 0 waits without a limit (until the connection is closed or
// aborted).
func (c *Client) Await(d time.Duration) (Reply, error) {
	if c.err != nil {
		return Reply{}, c.err
	}
	var dl time.Time
	if d > 0 {
		dl = time.Now().Add(d)
	}
	c.conn.SetReadDeadline(dl)
	c.rdl = time.Time{} // the next read sets its own
	r, err := c.rr.ReadReply()
	c.last = time.Now()
	if err != nil {
		e := ioError(PhaseQuit, err)
		if e.Class == ClassTimeout {
			return Reply{}, e // silence, as asked: the session is intact
		}
		return Reply{}, c.fail(e)
	}
	if r.Code == CodeServiceClosing {
		return r.Clone(), c.fail(replyError(PhaseQuit, r))
	}
	return r.Clone(), nil
}
