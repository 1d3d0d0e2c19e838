package session

import "time"

// Servers may hold the replies to a pipelined group until they have read
// all the input that is waiting, and send them in one write (RFC 2920 3.2
// allows it; Postfix, smtp-sink and the built-in sink without delays do).
// The client then sees every reply of the group arrive at once: the time
// the server spent on the whole group lands on the first reply of the
// write, and the others look free. Per-command figures from such groups
// would blame the wrong command, so a session counts how often the server
// answers its groups together, hands the replies of groups to the
// observer apart (PipelinedObserver), and, where the target batches, sends
// one message in N lock-step (LockstepEvery), so that each command of that
// message is answered on its own and timed truly, under the same load as
// the rest.

// DefaultLockstepEvery is how often, where the target answers pipelined
// groups in one write, a message goes lock-step: one in 50. A lock-step
// message costs three writes and reads more than a pipelined one (against
// smtp-sink with 50 sessions, one in 50 added about 9% to the client's
// system calls and 5% to the CPU of client and server); it keeps the
// throughput within a few percent while a run of a few seconds still
// gathers dozens of truly timed commands (docs/performance.md).
const DefaultLockstepEvery = 50

// BatchedShare is the share of pipelined groups, 0 to 1, answered in one
// write from which a target counts as batching its replies: its pipelined
// per-command figures then do not say which command took the time. A
// server that batches answers (nearly) every group so; one that writes its
// replies apart still has some of them arrive in one read whenever the
// client reads late, which on a busy machine may be a good share of them,
// hence a half rather than a small share.
const BatchedShare = 0.5

// batchingAfter is how many groups a session reads before it judges
// whether the target batches; a single group may coalesce by chance.
const batchingAfter = 4

// PipelinedObserver is an Observer that also learns which replies
// answered a command written in one group with others (pipelined). Such a
// reply is timed from the previous reply of the same write (see
// readReply), which is the command's own time only where the server writes
// its replies apart; a session hands those replies to ObservePipelined
// instead of Observe, and the caller decides, knowing how the server
// wrote them (PipeliningState.Groups), which figures it keeps.
type PipelinedObserver interface {
	Observer
	ObservePipelined(p Phase, code int, d time.Duration, m *Message)
}

// Groups reports how many pipelined groups the sessions to this target
// have read so far (writes carrying more than one command that gets a
// reply) and how many of them the server answered together: the next
// reply was already read when one was parsed. A session adds its counts
// when it ends.
func (s *PipeliningState) Groups() (groups, batched int64) {
	return s.groups.Load(), s.batched.Load()
}

// Batches reports whether some session found the target answering most of
// its pipelined groups in one write.
func (s *PipeliningState) Batches() bool { return s.batches.Load() }

// noteReply, called after each reply, counts the groups this session read
// and how many came back together. The first reply of a write that was a
// group decides: when the next reply is already buffered as it is parsed,
// the server wrote them together.
func (c *Client) noteReply() {
	if !c.grouped {
		return
	}
	c.nread++
	switch c.nread {
	case 1:
		c.firstBuffered = c.rr.Buffered() > 0
	case 2:
		c.groups++
		if c.firstBuffered {
			c.batchedGroups++
		}
		if !c.batchingNoted && c.groups >= batchingAfter && float64(c.batchedGroups) >= BatchedShare*float64(c.groups) {
			c.batchingNoted = true
			c.opts.PipeState.noteBatching()
		}
	}
}

// noteBatching records that the target answers most groups in one write.
func (s *PipeliningState) noteBatching() {
	if !s.batches.Load() {
		s.batches.Store(true)
	}
}

// countGroups adds this session's group counts to its target's, once. A
// target whose sessions are short (--per-conn 1) is judged on their sum.
func (c *Client) countGroups() {
	if c.groups == 0 {
		return
	}
	s := c.opts.PipeState
	groups := s.groups.Add(c.groups)
	batched := s.batched.Add(c.batchedGroups)
	c.groups, c.batchedGroups = 0, 0
	if groups >= batchingAfter && float64(batched) >= BatchedShare*float64(groups) {
		s.noteBatching()
	}
}

// lockstepDue says whether m goes lock-step: on a pipelining session, once
// the target is known to batch its replies, one message in LockstepEvery,
// picked by its number (lockstepPick).
func (c *Client) lockstepDue(m *Message) bool {
	every := c.opts.LockstepEvery
	return every > 0 && c.pipe && c.opts.PipeState.batches.Load() && lockstepPick(m.Seq, every)
}

// lockstepPick chooses one message number in every by a hash of it, not
// by seq%every: message numbers reach a session, or a shard of a run, in
// strides (--shard I/N numbers them I+1, N+I+1, ...) that a plain modulus
// would turn into all or nothing. No state is shared between sessions.
func lockstepPick(seq uint64, every int) bool {
	// The finalizer of splitmix64: every input bit moves every output bit.
	x := seq + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return x%uint64(every) == 0
}

// observeReply hands one timed reply to the observer: to ObservePipelined
// when its command went out in a group with others.
func (c *Client) observeReply(p Phase, code int, d time.Duration, m *Message) {
	if c.grouped && c.pobs != nil {
		c.pobs.ObservePipelined(p, code, d, m)
		return
	}
	observe(c.opts.Observer, p, code, d, m)
}
