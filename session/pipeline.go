package session

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RFC 2920 3.1 lets the message content start a pipelined group, so a
// session can write the next message's MAIL, RCPT and DATA in the same write
// as the current content and its final dot: one round trip per message.
// Some servers do not serve commands that arrive that way. Haraka 3.3
// answers each of them 503 ("pipelined after end of DATA"); chasquid 1.11
// reads the content through a buffer of its own and loses them, so they are
// never answered. Under PipeliningAuto a target must therefore prove it
// serves them before the sessions to it rely on it (see PipeliningState).

// Ways a session may pipeline, as the report names them.
const (
	// ModeFull writes the next envelope behind the end of data: one round
	// trip per message.
	ModeFull = "full"
	// ModeGroups writes MAIL, RCPT and DATA as one group, after the reply
	// to the previous end of data: two round trips per message.
	ModeGroups = "groups"
	// ModeOff writes one command at a time.
	ModeOff = "off"
)

// BehindDataWindow is how long, once the end-of-data reply is in, a session
// under PipeliningAuto waits for the first reply to commands it wrote behind
// the end of data before it takes them as discarded. A server that serves
// them answers at once (it has read them already); it is not the reply
// timeout, because a target that discards them would then cost a whole one.
const BehindDataWindow = time.Second

// PipeliningState is what the sessions to one target have learned about
// pipelining: whether the server advertises PIPELINING, and whether it
// serves commands written behind the end of data. The first session that
// could write an envelope there proves it on one message; until then, and
// for the rest of the run if the proof fails, sessions write each envelope
// after the end-of-data reply. It is shared by the sessions to one target
// and safe for concurrent use; a session reads it once per message.
type PipeliningState struct {
	behind     atomic.Int32 // behindUnknown ... behindRefused
	advertised atomic.Int32 // 0 unknown, 1 yes, 2 no
	greeted    atomic.Bool  // some session's first EHLO succeeded
	resent     atomic.Int64

	// Reply batching (batching.go).
	groups, batched atomic.Int64
	batches         atomic.Bool

	mu     sync.Mutex
	reason string
}

const (
	behindUnknown int32 = iota // no session has tried yet
	behindProving              // one session's proof is on the wire
	behindWorks                // the target answered commands behind the end of data
	behindRefused              // it did not: sessions write envelopes after the reply
)

// NewPipeliningState returns the state of a target nothing is known of.
func NewPipeliningState() *PipeliningState { return &PipeliningState{} }

// Resent is how many messages went again, unchanged and uncharged, because
// their envelope had been written behind the end of data and the server did
// not serve it.
func (s *PipeliningState) Resent() int64 { return s.resent.Load() }

// Outcome says which mode sessions in mode p ended in against this target,
// and why, for the report. A mode that p forces is "set to" p, in the
// setting's own values (Pipelining.String), naming no command-line flag.
func (s *PipeliningState) Outcome(p Pipelining) (mode, reason string) {
	switch p {
	case PipeliningOff:
		return ModeOff, "set to off"
	case PipeliningGroups:
		return ModeGroups, "set to groups"
	case PipeliningOn:
		reason = "set to on: the next envelope goes behind the end of data without a proof"
		if s.advertised.Load() == 2 {
			reason += "; the server does not advertise PIPELINING"
		}
		return ModeFull, reason
	}
	switch {
	case s.advertised.Load() == 2:
		return ModeOff, "the server does not advertise PIPELINING"
	case s.advertised.Load() == 0 && s.greeted.Load():
		// EHLO succeeded, then STARTTLS, the handshake or AUTH failed:
		// the errors say which.
		return ModeOff, "no session got past EHLO to its first message (see the errors)"
	case s.advertised.Load() == 0:
		return ModeOff, "no session got as far as EHLO"
	}
	switch s.behind.Load() {
	case behindWorks:
		return ModeFull, "the server answered commands written behind the end of data"
	case behindRefused:
		s.mu.Lock()
		defer s.mu.Unlock()
		return ModeGroups, s.reason
	}
	return ModeGroups, "not tried: no session had a second message to write behind the end of data"
}

// sawFirstEHLO notes that a server answered EHLO (or HELO), before TLS
// and AUTH, which may still fail.
func (s *PipeliningState) sawFirstEHLO() { s.greeted.Store(true) }

// sawEHLO notes whether the server advertised PIPELINING.
func (s *PipeliningState) sawEHLO(pipelining bool) {
	if pipelining {
		s.advertised.Store(1)
	} else {
		s.advertised.Store(2)
	}
}

// claim says whether a session may write the next envelope behind the end
// of data now, and whether doing so is the target's proof. Only one session
// proves at a time; the others write after the reply meanwhile.
func (s *PipeliningState) claim() (behind, proving bool) {
	switch s.behind.Load() {
	case behindWorks:
		return true, false
	case behindUnknown:
		if s.behind.CompareAndSwap(behindUnknown, behindProving) {
			return true, true
		}
	}
	return false, false
}

// proved records that the target answered an envelope written behind the
// end of data.
func (s *PipeliningState) proved() { s.behind.CompareAndSwap(behindProving, behindWorks) }

// abandon gives up a proof that ended without an answer either way (the
// session failed for another reason); another session will prove.
func (s *PipeliningState) abandon() { s.behind.CompareAndSwap(behindProving, behindUnknown) }

// refuse records that the target did not serve an envelope written behind
// the end of data, and why; it holds for the rest of the run, even after a
// proof (a server that loses what arrives in the same read as the dot may
// still serve it when the bytes happen to arrive apart).
func (s *PipeliningState) refuse(reason string) {
	s.resent.Add(1)
	if s.behind.Swap(behindRefused) == behindRefused {
		return
	}
	s.mu.Lock()
	s.reason = reason
	s.mu.Unlock()
}

// writeBehind says whether next's envelope goes out behind m's content.
func (c *Client) writeBehind() bool {
	c.proving = false
	switch c.opts.Pipelining {
	case PipeliningOn:
		return true
	case PipeliningAuto:
		behind, proving := c.opts.PipeState.claim()
		c.proving = proving
		return behind
	}
	return false
}

// readBehind reads the replies to env's envelope, which went out behind the
// content whose reply has just arrived, and reports whether env is now
// ahead, to be finished by the next Send; if not, env's message was not
// sent and goes again.
//
// Under PipeliningAuto a server that does not serve such commands costs
// only time. If the first reply is not there within BehindDataWindow (the
// server discarded the commands; the session is then broken) or is 503
// (the server refused them; the session goes on), the target falls back to
// writing envelopes after the end-of-data reply, and no reply of the group
// is counted. A server that ends the session at the start of this
// transaction is handled as for any envelope (endedByServer).
func (c *Client) readBehind(env *envelope, since time.Time) bool {
	if c.opts.Pipelining != PipeliningAuto {
		c.readEnvelope(env, since)
		return !c.endedByServer(env)
	}
	s := c.opts.PipeState
	g := replyGroup{rset: env.rset, rcpts: env.rcptCount(), data: !env.bdat}
	window := min(BehindDataWindow, c.opts.Timeout)
	c.window, c.quiet = window, true
	r, err := c.readReply(g.phase(0), since, env.msg)
	c.window, c.quiet = 0, false
	switch {
	case err != nil && c.err.Class == ClassTimeout:
		s.refuse(fmt.Sprintf("no reply within %s to commands written behind the end of data: the server discards them", window))
		return false
	case err != nil:
		// Closed, or a 421: not an answer either way.
		if c.proving {
			s.abandon()
		}
		env.fatalErr = c.err
		c.endedByServer(env)
		return false
	case r.Code == CodeBadSequence:
		// The group's other replies are refusals too: read them, so the
		// session stays in step, and count none.
		c.quiet = true
		for i := 1; i < g.len(); i++ {
			if _, err := c.readReply(g.phase(i), since, env.msg); err != nil {
				break
			}
		}
		c.quiet = false
		s.refuse(fmt.Sprintf("the server answered %q to commands written behind the end of data", replyLine(r)))
		return false
	}
	if c.proving {
		s.proved()
	}
	c.noteSplit(g.len() > 1)
	c.observeReply(g.phase(0), r.Code, c.share, env.msg)
	c.apply(env, g.phase(0), r)
	for i := 1; i < g.len() && env.fatalErr == nil; i++ {
		if !c.readApply(env, g.phase(i), since) {
			break
		}
	}
	return !c.endedByServer(env)
}

// replyGroup describes a pipelined [RSET] MAIL RCPT... [DATA] group (no DATA
// with BDAT), for reading its replies by position.
type replyGroup struct {
	rset  bool
	rcpts int
	data  bool
}

func (g replyGroup) len() int { return boolInt(g.rset) + 1 + g.rcpts + boolInt(g.data) }

// phase is the phase of the group's i-th reply, from 0.
func (g replyGroup) phase(i int) Phase {
	if g.rset {
		if i == 0 {
			return PhaseRset
		}
		i--
	}
	switch {
	case i == 0:
		return PhaseMail
	case i <= g.rcpts:
		return PhaseRcpt
	}
	return PhaseData
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// endedByServer reports whether the server ended the session at the start
// of env's transaction, after at least one message on this connection had
// its end of data answered: a 421 or a close instead of the reply to RSET or
// MAIL, or a 4yz to MAIL (such as "452 4.5.3 Too many messages"). That is
// the server's limit of messages per session, not a verdict on env's
// message, which goes again on a new connection; the session says QUIT if
// it still can, never MAIL again (a server that keeps saying 4yz would make
// that a loop), and Ended tells the caller.
func (c *Client) endedByServer(env *envelope) bool {
	if c.delivered == 0 {
		return false
	}
	var e *Error
	switch {
	case env.fatalErr != nil:
		f := env.fatalErr
		if f.Class == ClassClosed && (f.Phase == PhaseMail || f.Phase == PhaseRset) {
			e = f
		}
	case !env.mailOK && env.err != nil && env.err.Phase == PhaseMail && env.err.Class == ClassTempReject:
		e = env.err
	}
	if e == nil {
		return false
	}
	ended := *e
	c.ended, c.endedN = &ended, c.delivered
	if c.err == nil {
		c.Quit()
		c.fail(&Error{Phase: e.Phase, Class: ClassClosed, Code: e.Code, Enhanced: e.Enhanced,
			Text: "the server ended the session: " + e.Text})
	}
	return true
}

// Ended reports whether the server ended this session at the start of a
// transaction, and after how many messages; see endedByServer.
func (c *Client) Ended() (e *Error, messages int) { return c.ended, c.endedN }

// replyLine is a reply's code, enhanced code and first line of text, cut to
// one report line.
func replyLine(r Reply) string {
	s := strconv.Itoa(r.Code)
	if !r.Enhanced.IsZero() {
		s += " " + r.Enhanced.String()
	}
	text := string(r.Text)
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		text = text[:i]
	}
	if text != "" {
		s += " " + text
	}
	return shorten(s, maxExplain)
}

// quickAck, after a pipelined write, makes the kernel acknowledge the
// replies at once, on a session whose server writes the replies of a group
// apart (noteSplit). With Nagle's algorithm on at the server (Haraka, as
// Node.js sockets are by default) the second reply leaves only when the
// first is acknowledged, and the client, having nothing to send meanwhile,
// delays that ACK (40 ms on Linux): every group would wait for that timer,
// and its RCPT latency would be the client's. It is not done for servers
// that answer a group in one write (RFC 2920 3.2), where the extra ACK
// segments would only cost CPU on both sides. Linux only (TCP_QUICKACK);
// one system call per group.
func (c *Client) quickAck() {
	if haveQuickAck && c.split && c.pipe && c.raw != nil {
		c.raw.Control(setQuickAck)
	}
}

// noteSplit is called after a reply of a pipelined group, more saying
// whether others of the group are due: if none of them is in the buffer
// yet, the server writes replies apart, and quickAck is worth its cost.
func (c *Client) noteSplit(more bool) {
	if more && !c.split && c.rr.Buffered() == 0 {
		c.split = true
	}
}
