package session

// The envelope state machine of one mail transaction: MAIL, RCPT, DATA or
// BDAT, the content and the reply that decides the message, pipelined or
// in lock-step. client.go holds the connection's life around it.

import (
	"strconv"
	"time"
)

// envelope tracks the replies to one message's MAIL, RCPT and DATA.
type envelope struct {
	msg      *Message
	start    time.Time // just before the write holding its first command
	after    time.Time // when the previous message's deciding reply arrived
	mailOK   bool
	rcptOK   int
	rcptRej  int
	rset     bool  // RSET goes first: the previous transaction failed
	gotData  bool  // 354 received: content must follow
	bdat     bool  // the content goes as BDAT: no DATA command
	list     []int // recipient numbers when not all of them (a continuation)
	seen     int   // RCPT replies read so far
	deferred []int // recipients put off by a recipient limit (452)
	deferErr *Error
	err      *Error
	rcptErr  *Error
	fatalErr *Error
}

// Send runs one mail transaction for m. When next is not nil and the session
// pipelines, next's MAIL, RCPT and DATA go out in the same write as m's
// content, so that a steady stream costs one round trip per message
// (RFC 2920 3.1 lets content start a group); next must then be passed to the
// following Send. A failed Send leaves the session usable unless Err says
// otherwise.
func (c *Client) Send(m *Message, next *Message) Result {
	var env *envelope
	c.sampling = c.ahead == nil && c.lockstepDue(m)
	if c.ahead != nil {
		if c.ahead.msg != m {
			// A caller bug, not a server problem: the pipelined envelope
			// belongs to another message and the server is waiting for it.
			panic("session: Send called with a message other than Ahead()")
		}
		env, c.ahead = c.ahead, nil
	} else {
		if m.UTF8 && !c.caps.SMTPUTF8 {
			// RFC 6531 3.2: an internationalised address goes only to a
			// server that offers SMTPUTF8. Nothing is written, so the
			// session stays usable for the caller to close.
			now := time.Now()
			return Result{Outcome: OutcomeFailed, Start: now, End: now, Err: &Error{Phase: PhaseMail, Class: ClassUnsupported,
				Text: "the server does not offer SMTPUTF8 (RFC 6531), which a non-ASCII address needs", Err: ErrNoSMTPUTF8}}
		}
		env = c.freeEnvelope(nil)
		c.prepare(env, m)
		c.sendEnvelope(env, c.pipe && !c.sampling)
		if c.endedByServer(env) {
			// Nothing was decided: the caller sends m again on a new
			// connection.
			return Result{Outcome: OutcomeResend, Err: c.ended, Start: env.began(), End: c.lastReply}
		}
	}
	// The previous message on this connection was decided before this
	// Send began, so its deciding reply is the latest final one.
	env.after = c.lastFinal
	res := c.transact(env, next)
	c.lastFinal = res.End
	c.sampling = false
	return res
}

// transact finishes env's transaction once its envelope replies are in.
func (c *Client) transact(env *envelope, next *Message) Result {
	m := env.msg
	if env.fatalErr != nil {
		if env.err != nil && !env.mailOK {
			// MAIL was refused before the session broke (a server that
			// answers pipelined commands it does not allow with 500, then
			// closes): that reply decided the message, as the replies
			// table shows.
			return rejected(env, c.lastReply)
		}
		return failed(env, env.fatalErr)
	}
	if env.rcptOK == 0 && env.deferred != nil {
		// A recipient limit with no recipient taken is a refusal.
		env.rcptRej += len(env.deferred)
		if env.rcptErr == nil {
			env.rcptErr = env.deferErr
		}
		env.deferred = nil
	}
	if env.bdat {
		env.gotData = env.mailOK && env.rcptOK > 0 // no DATA to answer 354
	}
	if !env.gotData {
		c.rset = true
		return rejected(env, c.lastReply)
	}
	if !env.mailOK || env.rcptOK == 0 {
		// RFC 2920 3.1: DATA was pipelined and still got 354, though no
		// recipient was accepted. Send an empty content so the server ends the
		// transaction, then count the message as rejected.
		c.wbuf = append(c.wbuf, '.', '\r', '\n')
		t, err := c.flush(PhaseBody)
		if err == nil {
			_, err = c.readReply(PhaseBody, t, m)
		}
		if err != nil {
			return failed(env, c.err)
		}
		c.delivered++
		c.rset = true
		return rejected(env, c.lastReply)
	}

	pending, cerr := c.appendContent(env)
	if cerr != nil {
		// A chunk was refused, or the session broke, before the last one.
		c.wbuf = c.wbuf[:0]
		if c.err != nil {
			return failed(env, c.err)
		}
		c.rset = true
		return Result{Outcome: outcomeOf(cerr), Err: cerr, Start: env.began(), End: c.lastReply,
			RcptAccepted: env.rcptOK, RcptRejected: env.rcptRej}
	}
	var nextEnv *envelope
	// A message that goes lock-step must not have its envelope written
	// here; this content then goes alone, and its reply is the body's
	// own time. A lock-step message's content may carry the next
	// envelope: its body has been timed on the content before it.
	// writeBehind last: it may claim the target's proof.
	if next != nil && c.pipe && !c.lockstepDue(next) && env.deferred == nil && (!next.UTF8 || c.caps.SMTPUTF8) && c.writeBehind() {
		nextEnv = c.freeEnvelope(env)
		c.prepare(nextEnv, next)
		c.appendEnvelope(nextEnv)
	}
	c.group = nextEnv != nil || pending > 0 || c.opts.LMTP && env.rcptOK > 1
	t, err := c.flush(PhaseBody)
	if err != nil {
		return failed(env, c.err)
	}
	chunkErr := c.readChunkReplies(pending, t, m)
	d, err := c.readDecision(env, t)
	res := Result{Start: env.began(), End: c.last, RcptAccepted: env.rcptOK, RcptRejected: env.rcptRej,
		Delivered: d.delivered, Undelivered: d.undelivered}
	if err == nil {
		c.delivered++
	}
	if chunkErr != nil && err == nil {
		d.err = chunkErr // the content was refused before its last chunk
	}
	switch {
	case err != nil:
		res.Outcome, res.Err = OutcomeFailed, c.err
	case d.err == nil:
		res.Outcome = OutcomeOK
	default:
		res.Outcome, res.Err = outcomeOf(d.err), d.err
		if nextEnv == nil {
			c.rset = true
		}
	}
	if res.Outcome == OutcomeOK && env.deferred != nil {
		c.continueRest(env, &res)
	}
	if nextEnv != nil {
		nextEnv.start = t
		switch {
		case err == nil:
			if c.readBehind(nextEnv, t) {
				c.ahead = nextEnv
			}
		case c.opts.Pipelining == PipeliningAuto:
			// The session died with next's envelope on the wire,
			// unanswered, and its content never sent: next goes again.
			if c.proving {
				c.opts.PipeState.abandon()
			}
		default:
			// As above, but --pipelining on keeps the envelope it wrote:
			// next fails at MAIL with the same class, but the reply code
			// belongs to the message it answered, not to this one.
			e := *c.err
			e.Phase, e.Code, e.Enhanced = PhaseMail, 0, EnhancedCode{}
			e.Text = "session ended before MAIL was answered"
			if e.Err == nil {
				e.Err = c.err
			}
			nextEnv.fatalErr = &e
			c.ahead = nextEnv
		}
	}
	return res
}

func outcomeOf(e *Error) Outcome {
	if e.Fatal() {
		return OutcomeFailed
	}
	return OutcomeRejected
}

func failed(env *envelope, e *Error) Result {
	return Result{Outcome: OutcomeFailed, Err: e, Start: env.began(), End: time.Now(),
		RcptAccepted: env.rcptOK, RcptRejected: env.rcptRej}
}

// rejected reports the reply that decided a transaction that never reached
// content, which arrived at end: the MAIL failure, else the last RCPT
// failure, else DATA's.
func rejected(env *envelope, end time.Time) Result {
	res := Result{Outcome: OutcomeRejected, Err: env.err, Start: env.began(), End: end,
		RcptAccepted: env.rcptOK, RcptRejected: env.rcptRej}
	if res.Err == nil {
		res.Err = env.rcptErr
	}
	if res.Err == nil {
		res.Err = &Error{Phase: PhaseRcpt, Class: ClassProtocol, Text: "transaction failed without a reply saying why"}
	}
	if res.Err.Fatal() {
		res.Outcome = OutcomeFailed
	}
	return res
}

// freeEnvelope returns whichever of the two envelopes is not busy; two are
// enough because at most one message is in progress and one ahead of it.
func (c *Client) freeEnvelope(busy *envelope) *envelope {
	if busy == &c.env[0] {
		return &c.env[1]
	}
	return &c.env[0]
}

// prepare sets up env for m on this session.
func (c *Client) prepare(env *envelope, m *Message) {
	*env = envelope{msg: m, bdat: c.bdat, rset: c.rset}
}

// began is when the server could start on the message: it answers in order,
// so not before it decided the previous one.
func (e *envelope) began() time.Time {
	if e.after.After(e.start) {
		return e.after
	}
	return e.start
}

// appendEnvelope adds [RSET] MAIL RCPT... DATA to the write buffer.
func (c *Client) appendEnvelope(env *envelope) {
	if env.rset {
		c.wbuf = append(c.wbuf, "RSET\r\n"...)
	}
	m := env.msg
	c.appendMail(m)
	for k := range env.rcptCount() {
		c.appendRcpt(m, env.rcpt(k))
	}
	if !env.bdat {
		c.wbuf = append(c.wbuf, "DATA\r\n"...)
	}
}

// appendMail adds MAIL FROM, declaring the size where the server offers
// SIZE (RFC 1870 6), BINARYMIME when asked for and possible (RFC 3030 3),
// 8-bit content where the server offers 8BITMIME (RFC 6152 3), and an
// internationalised address with SMTPUTF8 (RFC 6531 3.4; Send checked the
// server offers it).
func (c *Client) appendMail(m *Message) {
	c.wbuf = append(c.wbuf, "MAIL FROM:<"...)
	c.wbuf = m.From.Append(c.wbuf, m, 1)
	c.wbuf = append(c.wbuf, '>')
	if c.caps.Size {
		c.wbuf = append(c.wbuf, " SIZE="...)
		c.wbuf = strconv.AppendInt(c.wbuf, m.Size(), 10)
	}
	switch {
	case c.opts.BinaryMIME && c.bdat && c.caps.BinaryMIME:
		c.wbuf = append(c.wbuf, " BODY=BINARYMIME"...)
	case m.EightBit && c.caps.EightBitMIME:
		c.wbuf = append(c.wbuf, " BODY=8BITMIME"...)
	}
	if m.UTF8 && c.caps.SMTPUTF8 {
		c.wbuf = append(c.wbuf, " SMTPUTF8"...)
	}
	c.wbuf = append(c.wbuf, '\r', '\n')
}

// appendRcpt adds RCPT TO for recipient i (from 1) of m.
func (c *Client) appendRcpt(m *Message, i int) {
	c.wbuf = append(c.wbuf, "RCPT TO:<"...)
	c.wbuf = m.To.Append(c.wbuf, m, i)
	c.wbuf = append(c.wbuf, ">\r\n"...)
}

// appendData adds m's content in DATA form.
func (c *Client) appendData(m *Message) {
	c.wbuf = m.Content.AppendData(c.wbuf, m)
}

// sendEnvelope runs MAIL, RCPT and DATA for env: as one group when
// pipelined, otherwise one command at a time, stopping at the first
// command whose failure makes the rest pointless.
func (c *Client) sendEnvelope(env *envelope, pipelined bool) {
	if pipelined {
		c.appendEnvelope(env)
		c.group = true
		t, err := c.flush(PhaseMail)
		env.start = t
		if err != nil {
			env.fatalErr = c.err
			return
		}
		c.readEnvelope(env, t)
		return
	}
	m := env.msg
	if env.rset {
		if !c.lockstep(env, PhaseRset, func() { c.wbuf = append(c.wbuf, "RSET\r\n"...) }) {
			return
		}
	}
	if !c.lockstep(env, PhaseMail, func() { c.appendMail(m) }) {
		return
	}
	for k := range env.rcptCount() {
		if !c.lockstep(env, PhaseRcpt, func() { c.appendRcpt(m, env.rcpt(k)) }) {
			return
		}
	}
	if env.rcptOK == 0 || env.bdat {
		return // RFC 5321 3.3: no accepted recipient, so no DATA
	}
	c.lockstep(env, PhaseData, func() { c.wbuf = append(c.wbuf, "DATA\r\n"...) })
}

// lockstep writes one command, reads its reply and applies it to env; it
// reports whether the transaction may go on.
func (c *Client) lockstep(env *envelope, p Phase, write func()) bool {
	write()
	t, err := c.flush(p)
	if env.start.IsZero() && p != PhaseRset {
		env.start = t
	}
	if err != nil {
		env.fatalErr = c.err
		return false
	}
	r, err := c.readReply(p, t, env.msg)
	if err != nil {
		env.fatalErr = c.err
		return false
	}
	c.apply(env, p, r)
	return env.fatalErr == nil && (p != PhaseMail || env.mailOK)
}

// readEnvelope reads the replies to a pipelined [RSET] MAIL RCPT... DATA
// group, all of them and in order, even after a failure, so the session
// stays in step with the server (RFC 2920 3.1).
func (c *Client) readEnvelope(env *envelope, since time.Time) {
	if env.rset {
		if !c.readApply(env, PhaseRset, since) {
			return
		}
	}
	if !c.readApply(env, PhaseMail, since) {
		return
	}
	for range env.rcptCount() {
		if !c.readApply(env, PhaseRcpt, since) {
			return
		}
	}
	if !env.bdat {
		c.readApply(env, PhaseData, since)
	}
}

func (c *Client) readApply(env *envelope, p Phase, since time.Time) bool {
	r, err := c.readReply(p, since, env.msg)
	if err != nil {
		env.fatalErr = c.err
		return false
	}
	c.noteSplit(p != PhaseData && !env.bdat)
	c.apply(env, p, r)
	return env.fatalErr == nil
}

// apply records one envelope reply.
func (c *Client) apply(env *envelope, p Phase, r Reply) {
	ok := r.Code >= 200 && r.Code < 300
	switch p {
	case PhaseRset:
		c.rset = false
		if !ok {
			// A server that will not reset cannot be trusted to start a
			// clean transaction.
			env.fatalErr = c.fail(&Error{Phase: p, Class: ClassProtocol, Code: r.Code, Text: "RSET refused: " + string(r.Text)})
		}
	case PhaseMail:
		env.mailOK = ok
		if !ok {
			env.err = replyError(p, r)
		}
	case PhaseRcpt:
		if !env.mailOK {
			// MAIL was refused, so these replies (503) to pipelined RCPTs
			// say nothing about the recipients; lockstep never sends them.
			return
		}
		// RFC 5321 4.2.2: 251 "will forward" is as good as 250.
		i := env.rcpt(env.seen)
		env.seen++
		switch {
		case ok:
			env.rcptOK++
		case tooManyRcpts(r):
			env.deferred = append(env.deferred, i)
			env.deferErr = replyError(p, r)
		default:
			env.rcptRej++
			env.rcptErr = replyError(p, r)
		}
	case PhaseData:
		switch {
		case r.Code == CodeStartInput:
			env.gotData = true
		case ok:
			env.fatalErr = c.fail(&Error{Phase: p, Class: ClassProtocol, Code: r.Code, Text: "DATA answered with 2yz instead of 354"})
		default:
			if env.err == nil && env.rcptOK > 0 {
				env.err = replyError(p, r)
			}
		}
	}
}
