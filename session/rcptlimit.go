package session

// CodeTooManyRcpts answers a RCPT over the server's limit per transaction;
// the client should send the remaining recipients in a later transaction
// (RFC 5321 4.5.3.1.10, 3.3).
const CodeTooManyRcpts = 452

// tooManyRcpts says whether a RCPT reply is a recipient limit rather than a
// refusal of the recipient: 452, with enhanced code 4.5.3 or none. Other
// 452s (4.2.2 mailbox full, 4.3.1 out of storage) are not retried.
func tooManyRcpts(r Reply) bool {
	return r.Code == CodeTooManyRcpts && (r.Enhanced.IsZero() || r.Enhanced == EnhancedCode{4, 5, 3})
}

// rcptCount is how many recipients env's transaction names.
func (e *envelope) rcptCount() int {
	if e.list != nil {
		return len(e.list)
	}
	return max(e.msg.Rcpts, 1)
}

// rcpt is the number (from 1) of the k-th recipient of env's transaction.
func (e *envelope) rcpt(k int) int {
	if e.list != nil {
		return e.list[k]
	}
	return k + 1
}

// continueRest sends the recipients that a recipient limit put off, with
// the same content, in a new transaction (RFC 5321 3.3), and folds its
// result into res. It goes on while each transaction takes at least one
// recipient, so a server that takes none cannot make it loop.
func (c *Client) continueRest(env *envelope, res *Result) {
	rest := env.deferred
	cont := c.freeEnvelope(env)
	c.prepare(cont, env.msg)
	cont.list = rest
	c.sendEnvelope(cont, c.pipe && !c.sampling)
	cont.after = c.lastFinal
	sub := c.transact(cont, nil)
	res.Continued += 1 + sub.Continued
	res.RcptAccepted += sub.RcptAccepted
	res.RcptRejected += sub.RcptRejected
	res.Delivered += sub.Delivered
	res.Undelivered += sub.Undelivered
	res.End = sub.End
	if sub.Outcome != OutcomeOK {
		res.Outcome, res.Err = sub.Outcome, sub.Err
	}
}
