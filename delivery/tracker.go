// Package delivery follows each message a run sends past the server's 250:
// a receiver (an SMTP/LMTP listener the server relays to, or a Maildir it
// delivers into) reports arrivals, and a Tracker maps each one back to its
// message by the Message-ID smtpbench wrote, <smtpbench.TOKEN.N@host>, so a
// report can say how much the server delivered, how long mail sat in its
// queue, and what it lost or delivered twice.
package delivery

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/metrics"
)

// Tracker matches arrivals to the messages a run had accepted. It is safe
// for concurrent use: load workers call Answered once per message, the
// receiver calls Arrived once per arrival, each under one short lock.
//
// Memory follows the messages in flight, not the run's total: an accepted
// message has an entry until its recipients have all arrived, and from then
// on only a bit in a block of blockBits messages, which is dropped for a
// shared marker once every message of the block has arrived.
type Tracker struct {
	prefix         []byte // "smtpbench.TOKEN."
	offset, stride uint64
	start          time.Time

	mu  sync.Mutex
	out map[uint64]*entry // accepted, or arrived before its answer, and not yet complete
	// free keeps entries for reuse, so a long run does not allocate one
	// per message.
	free   []*entry
	blocks map[uint64]*block // messages whose recipients have all arrived
	maxSeq uint64            // the highest sequence number answered

	accepted, deliveredAccepted int64 // counts of accepted messages, and of those that arrived
	delivered                   int64 // distinct messages of this run that arrived
	duplicates, strangers       int64
	unanswered                  int64
	backlogMax                  int64
	lastArrival                 time.Time
	firstArrival                time.Time

	deliveryH, endToEndH *hdrhistogram.Histogram
	perSecond            []second
}

// second counts one second, from the run's start, of the delivery timeline.
type second struct{ accepted, delivered int64 }

type entry struct {
	began, answered, arrived time.Time
	rcpts, rcptsArrived      int
	arrivals                 int  // transactions or files that brought it
	ok                       bool // answered with acceptance
	answeredYet              bool
}

// blockBits is how many messages one block of the delivered bitmap covers.
const blockBits = 4096

type block struct {
	bits [blockBits / 64]uint64
	n    int
}

// full stands for any block whose messages have all arrived.
var full = &block{n: blockBits}

// NewTracker returns a tracker for the messages of a run whose Message-IDs
// carry token, numbered offset+1, offset+1+stride, … (loadgen.Config's
// SeqOffset and SeqStride; zero stride is 1). start is the run's start,
// from which the per-second timeline counts.
func NewTracker(token string, offset, stride uint64, start time.Time) *Tracker {
	if stride == 0 {
		stride = 1
	}
	return &Tracker{
		prefix: []byte("smtpbench." + token + "."), offset: offset, stride: stride, start: start,
		out: map[uint64]*entry{}, blocks: map[uint64]*block{},
		deliveryH: metrics.NewHistogram(), endToEndH: metrics.NewHistogram(),
	}
}

// index is seq's place in this run's numbering; ok is false for a number
// this run never gives out (another generator of a split job, say).
func (t *Tracker) index(seq uint64) (uint64, bool) {
	if seq <= t.offset || (seq-t.offset-1)%t.stride != 0 {
		return 0, false
	}
	return (seq - t.offset - 1) / t.stride, true
}

func (t *Tracker) isComplete(i uint64) bool {
	b := t.blocks[i/blockBits]
	return b != nil && b.bits[i%blockBits/64]&(1<<(i%64)) != 0
}

func (t *Tracker) markComplete(i uint64) {
	b := t.blocks[i/blockBits]
	if b == nil {
		b = &block{}
		t.blocks[i/blockBits] = b
	}
	b.bits[i%blockBits/64] |= 1 << (i % 64)
	if b.n++; b.n == blockBits {
		t.blocks[i/blockBits] = full
	}
}

func (t *Tracker) sec(at time.Time) *second {
	i := int(at.Sub(t.start) / time.Second)
	if i < 0 {
		i = 0
	}
	for len(t.perSecond) <= i {
		t.perSecond = append(t.perSecond, second{})
	}
	return &t.perSecond[i]
}

func (t *Tracker) newEntry() *entry {
	if n := len(t.free); n > 0 {
		e := t.free[n-1]
		t.free = t.free[:n-1]
		*e = entry{}
		return e
	}
	return &entry{}
}

func (t *Tracker) release(seq uint64, e *entry) {
	delete(t.out, seq)
	if len(t.free) < 4096 {
		t.free = append(t.free, e)
	}
}

// Answered records how the server answered message seq: began is when the
// message started (the "message" phase's origin), answered when its
// deciding reply arrived, ok whether that was an acceptance, rcpts how many
// recipients were accepted. Call it for every message whose content may
// have reached the server, accepted or not: a failed one that arrives all
// the same is counted as unanswered_delivered.
func (t *Tracker) Answered(seq uint64, began, answered time.Time, ok bool, rcpts int) {
	i, mine := t.index(seq)
	if !mine {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maxSeq = max(t.maxSeq, seq)
	e := t.out[seq]
	if ok {
		t.accepted++
		t.sec(answered).accepted++
	}
	if e == nil {
		if !ok || t.isComplete(i) {
			// A failure leaves nothing to wait for; an arrival would find
			// no entry and count as unanswered (see Finish).
			return
		}
		e = t.newEntry()
		t.out[seq] = e
		e.began, e.answered, e.ok, e.answeredYet, e.rcpts = began, answered, true, true, max(rcpts, 1)
		t.noteBacklog()
		return
	}
	// It arrived before its answer was read: the relay was faster than the
	// reply's way back to us.
	e.began, e.answered, e.ok, e.answeredYet, e.rcpts = began, answered, ok, true, max(rcpts, 1)
	if !ok {
		t.unanswered++
		t.markComplete(i)
		t.release(seq, e)
		return
	}
	t.deliveredAccepted++
	t.record(e)
	if extra := e.rcptsArrived - e.rcpts; extra > 0 {
		// Before the answer the recipients owed were unknown: arrivals
		// beyond them, at the size arrivals had, were duplicates.
		per := max(e.rcptsArrived/e.arrivals, 1)
		t.duplicates += int64((extra + per - 1) / per)
	}
	if e.rcptsArrived >= e.rcpts {
		t.markComplete(i)
		t.release(seq, e)
	}
	t.noteBacklog()
}

func (t *Tracker) noteBacklog() {
	t.backlogMax = max(t.backlogMax, t.accepted-t.deliveredAccepted)
}

// record adds the first arrival of an accepted message to the histograms.
func (t *Tracker) record(e *entry) {
	metrics.RecordDuration(t.deliveryH, e.arrived.Sub(e.answered))
	metrics.RecordDuration(t.endToEndH, e.arrived.Sub(e.began))
}

// Arrived records that a message arrived with header as its header section
// (only the Message-ID field is read), in a transaction or file with rcpts
// recipients.
func (t *Tracker) Arrived(header []byte, rcpts int, at time.Time) {
	seq, ok := t.parse(header)
	t.mu.Lock()
	defer t.mu.Unlock()
	if at.After(t.lastArrival) {
		t.lastArrival = at
	}
	if t.firstArrival.IsZero() || at.Before(t.firstArrival) {
		t.firstArrival = at
	}
	i, mine := t.index(seq)
	if !ok || !mine {
		t.strangers++
		return
	}
	if t.isComplete(i) {
		t.duplicates++
		return
	}
	rcpts = max(rcpts, 1)
	e := t.out[seq]
	if e == nil {
		// Before its answer (or after a failure): wait for Answered, or
		// for Finish to call it unanswered.
		e = t.newEntry()
		e.arrived, e.rcptsArrived, e.arrivals = at, rcpts, 1
		t.out[seq] = e
		t.delivered++
		t.sec(at).delivered++
		return
	}
	e.arrivals++
	if !e.arrived.IsZero() {
		e.rcptsArrived += rcpts
		if !e.answeredYet {
			return // the answer settles what was owed (see Answered)
		}
	} else {
		e.arrived, e.rcptsArrived = at, rcpts
		t.delivered++
		t.sec(at).delivered++
		t.deliveredAccepted++
		t.record(e)
	}
	if e.rcptsArrived >= e.rcpts {
		t.markComplete(i)
		t.release(seq, e)
	}
}

// parse finds the sequence number in header's Message-ID; ok is false when
// the field is missing or not one of this run's.
func (t *Tracker) parse(header []byte) (uint64, bool) {
	id := messageID(header)
	if !bytes.HasPrefix(id, t.prefix) {
		return 0, false
	}
	id = id[len(t.prefix):]
	at := bytes.IndexByte(id, '@')
	if at <= 0 {
		return 0, false
	}
	seq, err := strconv.ParseUint(string(id[:at]), 10, 64)
	return seq, err == nil
}

// messageID returns the inside of the first Message-ID field's angle
// brackets (RFC 5322 3.6.4), or nil.
func messageID(header []byte) []byte {
	for off := 0; off < len(header); {
		eol := bytes.IndexByte(header[off:], '\n')
		line := header[off:]
		if eol >= 0 {
			line = header[off : off+eol]
		}
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return nil // the end of the header section
		}
		const name = "message-id:"
		if len(line) > len(name) && bytes.EqualFold(line[:len(name)], []byte(name)) {
			v := line[len(name):]
			if eol >= 0 {
				// A folded field continues on lines that begin with space.
				for next := off + eol + 1; next < len(header) && (header[next] == ' ' || header[next] == '\t'); {
					e := bytes.IndexByte(header[next:], '\n')
					if e < 0 {
						e = len(header) - next
					}
					v = append(append([]byte(nil), v...), header[next:next+e]...)
					next += e + 1
				}
			}
			lt, gt := bytes.IndexByte(v, '<'), bytes.LastIndexByte(v, '>')
			if lt < 0 || gt < lt {
				return nil
			}
			return v[lt+1 : gt]
		}
		if eol < 0 {
			break
		}
		off += eol + 1
	}
	return nil
}

// Backlog is how many accepted messages have not arrived yet.
func (t *Tracker) Backlog() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.accepted - t.deliveredAccepted
}

// Counts is a live view for the progress line.
func (t *Tracker) Counts() (accepted, delivered, backlog int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.accepted, t.delivered, t.accepted - t.deliveredAccepted
}

// Finish returns what the tracker saw; receiver names where arrivals came
// from and drain is how long the drain after the load took.
func (t *Tracker) Finish(receiver string, drain time.Duration, interrupted bool) *metrics.Delivery {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := &metrics.Delivery{
		Receiver: receiver, Accepted: t.accepted, Delivered: t.delivered,
		Duplicates: t.duplicates, Strangers: t.strangers, BacklogMax: t.backlogMax,
		Drain: drain, Interrupted: interrupted,
		DeliveryHist: t.deliveryH, EndToEndHist: t.endToEndH,
	}
	unanswered := t.unanswered
	for seq, e := range t.out {
		switch {
		case e.answeredYet && e.ok && e.arrived.IsZero():
			d.Lost++
		case !e.answeredYet && seq <= t.maxSeq:
			unanswered++ // arrived, but its answer was a failure or never came
		case !e.answeredYet:
			d.Delivered--
			d.Strangers++
		}
	}
	d.UnansweredDelivered = unanswered
	if !t.lastArrival.IsZero() && t.delivered > 0 {
		d.LastArrival = t.lastArrival.Sub(t.start)
	}
	var acc, del int64
	for i, s := range t.perSecond {
		acc += s.accepted
		del += s.delivered
		d.Seconds = append(d.Seconds, metrics.DeliverySecond{T: i, Accepted: s.accepted, Delivered: s.delivered, Backlog: max(acc-del, 0)})
	}
	return d
}
