package session

import "time"

// helloVerb is EHLO, or LHLO over LMTP (RFC 2033 4.1).
func (c *Client) helloVerb() string {
	if c.opts.LMTP {
		return "LHLO "
	}
	return "EHLO "
}

// decision is how the server answered a message's content.
type decision struct {
	err *Error // the first refusal; nil when every reply was 2yz
	// delivered and undelivered count LMTP's per-recipient replies
	// (RFC 2033 4.2); both zero over SMTP.
	delivered, undelivered int
}

// readDecision reads what the server says after the content: over SMTP one
// reply; over LMTP one per recipient accepted at RCPT, in RCPT order
// (RFC 2033 4.2), each observed and counted. A message is accepted only if
// every recipient's reply is; the first refusal says why not. A non-nil
// error means the session broke (c.err).
func (c *Client) readDecision(env *envelope, since time.Time) (decision, error) {
	var d decision
	n := 1
	if c.opts.LMTP {
		n = max(env.rcptOK, 1)
	}
	for range n {
		r, err := c.readReply(PhaseBody, since, env.msg)
		if err != nil {
			return d, err
		}
		if r.Code/100 == 2 {
			d.delivered++
			continue
		}
		d.undelivered++
		if d.err == nil {
			d.err = replyError(PhaseBody, r)
		}
	}
	if !c.opts.LMTP {
		d.delivered, d.undelivered = 0, 0
	}
	return d, nil
}
