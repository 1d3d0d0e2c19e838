package loadgen

import (
	"context"
	"errors"
	"time"

	"github.com/smtpbench/smtpbench/internal/finesleep"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// worker owns one session at a time and the two messages it may have in
// flight. What it measures goes to its shard, shared with a few other
// workers, once per message (see numShards); the only other shared state it
// touches per message is the atomic claim of the next message index.
type worker struct {
	r  *run
	id int
	sh *shard

	batch [batchLen]sample // replies observed since the last flush
	nb    int

	client     *session.Client
	unwatch    func() bool
	sentOnConn int
	backoff    time.Duration
	tried      bool          // this worker has dialed before
	sessWarm   bool          // session phases (connect, EHLO, QUIT) count as warm-up
	lastTook   time.Duration // the server's time for this worker's last accepted message

	msgs    [2]session.Message
	warm    [2]bool // whether msgs[i] is inside the warm-up
	variant [2]int  // which entry of the size mix msgs[i] drew
	conn    uint64  // the current connection's number, for {c}
	// held is a message claimed to go behind one the server then turned
	// away with its session (session.OutcomeResend): it was never sent, and
	// it follows that one on the new connection.
	held   pending
	target int // the current connection's index in Config.Targets
	timer  *time.Timer
	due    *finesleep.Timer // the open model's due times; nil in the closed loop
}

func newWorker(r *run, id int, sh *shard) *worker {
	w := &worker{r: r, id: id, sh: sh, timer: time.NewTimer(time.Hour)}
	w.timer.Stop()
	if r.pacer != nil {
		w.due = r.newDueTimer()
	}
	return w
}

// Observe implements session.Observer: it keeps the sample until the
// message ends, labelled with the warm-up status of the message it belongs
// to (a pipelined next envelope is answered while the current message
// finishes, and may fall on the other side of the warm-up's end).
func (w *worker) Observe(p session.Phase, code int, d time.Duration, m *session.Message) {
	warm := w.sessWarm
	if m != nil {
		warm = w.warm[w.slot(m)]
	}
	if w.nb == len(w.batch) {
		w.sh.mu.Lock()
		w.flushLocked()
		w.sh.mu.Unlock()
	}
	w.batch[w.nb] = sample{d: d, code: int16(code), phase: p, warm: warm}
	w.nb++
}

// ObservePipelined implements session.PipelinedObserver: the sample is
// kept apart, because whether its time is its command's own depends on how
// the server wrote its replies, which the report decides (report.JSONPhaseSource).
func (w *worker) ObservePipelined(p session.Phase, code int, d time.Duration, m *session.Message) {
	w.Observe(p, code, d, m)
	w.batch[w.nb-1].piped = true
}

// flushLocked moves the kept samples into the shard; call with its lock.
func (w *worker) flushLocked() {
	for _, s := range w.batch[:w.nb] {
		if s.piped {
			w.sh.recorder(s.warm).ObservePipelined(s.phase, int(s.code), s.d)
		} else {
			w.sh.recorder(s.warm).Observe(s.phase, int(s.code), s.d)
		}
	}
	w.nb = 0
}

// flush moves the kept samples into the shard.
func (w *worker) flush() {
	if w.nb > 0 {
		w.sh.mu.Lock()
		w.flushLocked()
		w.sh.mu.Unlock()
	}
}

// slot is the index of m in w.msgs.
func (w *worker) slot(m *session.Message) int {
	if m == &w.msgs[1] {
		return 1
	}
	return 0
}

// ObserveTLS implements session.TLSObserver. Handshakes are counted for
// the whole run, warm-up included, as connections are.
func (w *worker) ObserveTLS(i session.TLSInfo) {
	w.sh.mu.Lock()
	w.sh.rec.ObserveTLS(i)
	w.sh.mu.Unlock()
}

// idleCheck is how long a session may sit unused before it is checked for
// a close or 421 that the server sent meanwhile.
const idleCheck = 100 * time.Millisecond

// pending is a claimed message and its schedule.
type pending struct {
	msg   *session.Message
	due   time.Time     // zero in the closed model
	began time.Time     // when this worker took it up
	wake  time.Duration // how late the worker woke for its due time; -1 if it did not wait
	warm  bool          // inside the warm-up period
}

func (w *worker) loop() {
	defer w.finish()
	r := w.r
	if r.cfg.Ramp > 0 && r.pacer == nil {
		// Closed-model ramp: worker k joins at k/c of the ramp.
		at := r.start.Add(r.cfg.Ramp * time.Duration(w.id) / time.Duration(r.cfg.Concurrency))
		if !w.sleepUntil(at) {
			return
		}
	}
	var cur, next pending
	for {
		if cur.msg == nil && w.held.msg != nil {
			cur, w.held = w.held, pending{}
		}
		if cur.msg == nil && r.stages != nil && r.pacer == nil && !w.awaitStage() {
			return
		}
		if cur.msg == nil {
			i, due, ok := r.claim()
			if !ok {
				return
			}
			wake := time.Duration(-1)
			if !due.IsZero() && time.Until(due) > 0 {
				if !w.waitDue(due) {
					return // stopped before the message was due: never attempted
				}
				wake = time.Since(due)
			}
			cur = w.take(i, due, nil)
			cur.wake = wake
		}
		if r.isStopped() {
			// Claimed before the stop but not started: with pipelining its
			// envelope may already be accepted, the server waiting for
			// content. The first signal (or -d) stops starting messages, so
			// it is abandoned, not sent: finish closes the connection, and
			// the server drops the transaction.
			if w.client != nil && w.client.Ahead() == cur.msg {
				w.sh.mu.Lock()
				w.sh.rec.Abandoned++
				w.sh.mu.Unlock()
			}
			return
		}
		now := time.Now()
		w.sessWarm = cur.warm
		if w.client == nil {
			if err := w.connect(); err != nil {
				w.record(cur, session.Result{Outcome: session.OutcomeFailed, Err: err})
				cur = pending{}
				w.pause()
				continue
			}
		}
		if w.client.Ahead() == nil && now.Sub(w.client.LastActive()) >= idleCheck && w.client.ClosedWhileIdle() {
			// The server hung up (or said 421) while the session idled: no
			// message was in flight, so none is charged; dial again.
			w.sh.mu.Lock()
			w.sh.rec.IdleCloses++
			w.sh.mu.Unlock()
			w.closeSession()
			continue
		}
		next = pending{}
		perConn := r.cfg.PerConn
		if w.held.msg == nil && w.client.Pipelining() && w.inStage(now) && (perConn == 0 || w.sentOnConn+1 < perConn) && w.aheadEndsInTime(now) {
			if i, due, ok := r.claimDue(time.Now()); ok {
				next = w.take(i, due, cur.msg)
				next.wake = -1
			}
		}
		if w.client.TooBig(cur.msg) {
			// Over the server's SIZE limit: it would be refused unread.
			w.skip(cur)
			cur = next
			continue
		}
		cur.msg.Conn = w.conn
		ahead := next.msg
		if ahead != nil {
			ahead.Conn = w.conn
			if w.client.TooBig(ahead) {
				ahead = nil // not written ahead; skipped when its turn comes
			}
		}
		res := w.client.Send(cur.msg, ahead)
		if res.Outcome == session.OutcomeResend {
			// The server ended the session at the start of cur's
			// transaction, after other messages (its limit per session):
			// nothing was decided, so cur goes again on a new connection,
			// and next, never written, after it.
			w.held = next
			w.closeSession()
			continue
		}
		w.sentOnConn++
		if res.Outcome == session.OutcomeOK {
			w.lastTook = res.End.Sub(res.Start)
		}
		w.record(cur, res)
		if res.Err != nil && errors.Is(res.Err, session.ErrNoSMTPUTF8) {
			// Every message has the address the server cannot take: stop
			// at once rather than fail each one (see noSession).
			w.r.firstError.CompareAndSwap(nil, res.Err.Error())
			w.r.stop(StopConnect)
		}
		// Whether or not next's envelope went out (it does not when cur
		// never reached its content, nor where the server does not serve
		// commands behind the end of data), next is the following message.
		cur = next
		if w.client.Ahead() == nil && (w.client.Err() != nil || (perConn > 0 && w.sentOnConn >= perConn)) {
			w.closeSession()
		}
	}
}

// inStage says whether this worker's session is within the closed loop's
// stage target at now: worker k sends while the target is above k.
func (w *worker) inStage(now time.Time) bool {
	r := w.r
	return r.stages == nil || r.pacer != nil || r.stages.at(now.Sub(r.start).Seconds()) > float64(w.id)
}

// awaitStage holds a closed-loop worker while the stage target is at or
// below its number, with its session closed (as k6 stops a VU above the
// target), and lets it go when the target rises above it. It returns false
// when the run stops first, or when the target never rises again.
func (w *worker) awaitStage() bool {
	r := w.r
	for {
		now := time.Now()
		if w.inStage(now) {
			return !r.isStopped()
		}
		w.closeSession()
		next, ok := r.stages.nextAbove(float64(w.id), now.Sub(r.start).Seconds())
		if !ok {
			if r.cfg.Duration > 0 {
				// Hold until -d ends the run, so that it ends for its
				// duration rather than for want of workers.
				w.sleepUntil(r.start.Add(r.cfg.Duration + time.Second))
			}
			return false
		}
		if !w.sleepUntil(r.start.Add(seconds(next))) {
			return false
		}
	}
}

// aheadEndsInTime says whether a message whose envelope went out now,
// behind the current content, would likely be decided before -d is over:
// it ends about two message times from now. Near the end of a
// duration-bound closed loop, writing it ahead would only stretch the drain
// after the stop by a whole message time, for a message the run is about to
// stop starting anyway; without it the session claims the next message
// after the current one, as in lock-step, if the run is still going.
func (w *worker) aheadEndsInTime(now time.Time) bool {
	r := w.r
	if r.cfg.Duration == 0 || r.pacer != nil {
		return true
	}
	return r.start.Add(r.cfg.Duration).Sub(now) > 2*w.lastTook
}

// take sets up claimed message i in whichever message slot busy does not
// hold, and decides whether it belongs to the warm-up: by its due time in
// the open model, by when it is taken up in the closed loop.
func (w *worker) take(i uint64, due time.Time, busy *session.Message) pending {
	m := &w.msgs[0]
	if m == busy {
		m = &w.msgs[1]
	}
	w.variant[w.slot(m)] = w.r.cfg.Mail.Fill(m, i*w.r.cfg.SeqStride+w.r.cfg.SeqOffset+1) // {n} counts from 1
	m.Worker = uint64(w.id + 1)
	p := pending{msg: m, due: due, began: time.Now()}
	at := due
	if at.IsZero() {
		at = p.began
	}
	p.warm = w.r.cfg.Warmup > 0 && at.Sub(w.r.start) < w.r.cfg.Warmup
	w.warm[w.slot(m)] = p.warm
	w.noteLast(i, p)
	return p
}

// record counts one finished message, with the replies observed for it,
// under one lock of the shard. In the open model the message latency runs
// from its due time, so waiting for a free session or for a stalled server
// is included (no coordinated omission); the service time beside it runs
// from when the server could begin on it (see session.Result.Start).
func (w *worker) record(p pending, res session.Result) {
	if res.Err != nil && w.r.abortCtx.Err() != nil && res.Outcome == session.OutcomeFailed {
		// The connection failed because we dropped it, not the server.
		e := *res.Err
		w.r.dropped(&e)
		res.Err = &e
	}
	end := res.End
	if end.IsZero() {
		end = time.Now()
	}
	var msgTime time.Duration
	if !res.Start.IsZero() {
		from := res.Start
		if !p.due.IsZero() {
			from = p.due
		}
		msgTime = end.Sub(from)
	}
	if obs := w.r.cfg.Delivery; obs != nil && !res.Start.IsZero() && contentSent(&res) {
		from := res.Start
		if !p.due.IsZero() {
			from = p.due
		}
		obs.Answered(p.msg.Seq, from, end, res.Outcome == session.OutcomeOK, res.RcptAccepted)
	}
	sh := w.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	w.flushLocked()
	rec := sh.recorder(p.warm)
	rec.Message(&res)
	if end.After(sh.lastEnd) {
		sh.lastEnd = end
	}
	if len(w.r.cfg.Targets) > 1 {
		rec.TargetMessage(w.target, len(w.r.cfg.Targets), res.Outcome)
	}
	if n := len(w.r.cfg.Mail.Variants()); n > 0 && !res.Start.IsZero() {
		rec.SizeSent(w.variant[w.slot(p.msg)], n)
	}
	if res.Outcome == session.OutcomeOK {
		sh.ok++
	} else {
		sh.failed++
	}
	if !res.Start.IsZero() {
		if !p.due.IsZero() {
			metrics.RecordDuration(rec.Service, end.Sub(res.Start))
		}
		metrics.RecordDuration(rec.Phases[session.PhaseMessage], msgTime)
	}
	if !p.due.IsZero() {
		metrics.RecordDuration(rec.Lag, p.began.Sub(p.due))
	}
	if p.wake >= 0 {
		metrics.RecordDuration(sh.wake, p.wake)
	}
	if !p.warm {
		agg := sh.interval(int(end.Sub(w.r.start) / time.Second))
		if res.Outcome == session.OutcomeOK {
			agg.ok++
		} else {
			agg.failed++
		}
		if !res.Start.IsZero() {
			metrics.RecordDuration(agg.h, msgTime)
		}
	}
}

// contentSent says whether the server may have received a message's
// content: it was accepted, or it failed at or after the end of data (no
// reply, a dropped connection, a rejection), where a server may have
// queued it all the same.
func contentSent(res *session.Result) bool {
	if res.Outcome == session.OutcomeOK {
		return true
	}
	return res.Err != nil && (res.Err.Phase == session.PhaseBody || res.Err.Phase == session.PhaseBDAT)
}

// skip counts a message not sent because it is over the server's SIZE
// limit.
func (w *worker) skip(p pending) {
	w.sh.mu.Lock()
	rec := w.sh.recorder(p.warm)
	rec.Skipped++
	rec.SkipLimit = max(rec.SkipLimit, w.client.Capabilities().MaxSize)
	w.sh.mu.Unlock()
}

// connect dials and greets; the connect, banner and EHLO phases are observed
// by the session itself.
func (w *worker) connect() *session.Error {
	r := w.r
	opts := r.cfg.Session
	opts.Observer = w
	opts.Worker = w.id + 1
	n := r.sessionNo.Add(1)
	if n <= int64(r.cfg.TraceSessions) {
		opts.Trace, opts.TraceID = r.trace, n
	}
	w.conn = uint64(n)
	w.target = r.dialPlan[(n-1)%int64(len(r.dialPlan))]
	if k := len(r.cfg.SourceAddrs); k > 0 {
		opts.SourceAddr = r.cfg.SourceAddrs[(n-1)%int64(k)]
	}
	opts.PipeState = r.pipe[w.target]
	r.dialing.Add(1)
	c, err := session.Dial(r.abortCtx, r.cfg.Targets[w.target].Addr, opts)
	if err == nil {
		w.unwatch = context.AfterFunc(r.abortCtx, c.Abort)
		err = c.Hello()
		if err != nil {
			w.count(0, c.BytesSent())
			c.Close()
			w.unwatch()
		}
	}
	w.count(1, 0)
	if err != nil {
		r.dialing.Add(-1)
		// Give up when the first attempts failed, no session ever worked
		// and none is being set up: the target is down or refuses
		// everyone. A server that turns away the sessions above its limit,
		// while others are still in their greeting, is measured instead.
		if !w.tried && r.firstFailures.Add(1) >= r.giveUpAfter() && r.sessionsUp.Load() == 0 && r.dialing.Load() == 0 {
			r.stop(StopConnect)
		}
		w.tried = true
		se := w.classify(err)
		r.firstError.CompareAndSwap(nil, se.Error())
		return se
	}
	w.tried = true
	r.sessionsUp.Add(1) // before dialing drops, so the give-up check never sees neither
	r.dialing.Add(-1)
	r.openSessions.Add(1)
	w.sh.mu.Lock()
	w.sh.rec.Connections++
	if len(r.cfg.Targets) > 1 {
		w.sh.rec.Target(w.target, len(r.cfg.Targets)).Connections++
	}
	w.sh.mu.Unlock()
	w.client, w.sentOnConn, w.backoff = c, 0, 0
	return nil
}

func (w *worker) classify(err error) *session.Error {
	se, ok := err.(*session.Error)
	if !ok {
		se = &session.Error{Phase: session.PhaseConnect, Class: session.ClassProtocol, Err: err}
	}
	if w.r.abortCtx.Err() != nil {
		w.r.dropped(se)
	}
	return se
}

// pause backs off after a failed connection so a refusing server does not
// turn the run into a hot loop; it ends early when the run stops.
func (w *worker) pause() {
	w.backoff = min(max(2*w.backoff, 10*time.Millisecond), time.Second)
	w.sleepUntil(time.Now().Add(w.backoff))
}

// sleepUntil waits for t on the worker's own timer (no allocation per wait);
// it returns false when the run stopped first.
func (w *worker) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return !w.r.isStopped()
	}
	w.timer.Reset(d)
	select {
	case <-w.timer.C:
		return true
	case <-w.r.stopped:
		w.timer.Stop()
		return false
	case <-w.r.claimedAll:
		w.timer.Stop()
		return false
	}
}

// fineMaxRate is the highest rate at which the portable due timer (where
// there is no timerfd) spends the last stretch of each wait in a fine
// sleep: above it, messages are due less than a millisecond apart, sessions
// are rarely idle long, and the blocked thread would cost more than the
// precision is worth (see finesleep.NewTimer).
const fineMaxRate = 1000

// waitDue waits for a message's due time on the worker's due timer; it
// returns false when the run stopped first.
func (w *worker) waitDue(due time.Time) bool {
	return w.due.Wait(due) && !w.r.isStopped()
}

// closeSession ends the current session with QUIT when it is still healthy.
func (w *worker) closeSession() {
	c := w.client
	if c == nil {
		return
	}
	w.client = nil
	// With an envelope ahead the server waits for content, and QUIT would
	// become part of it: such a session is closed without a word.
	if c.Err() == nil && w.r.abortCtx.Err() == nil && c.Ahead() == nil {
		c.Quit()
	} else {
		c.Close()
	}
	w.unwatch()
	w.r.openSessions.Add(-1)
	w.count(0, c.BytesSent())
	if e, n := c.Ended(); e != nil {
		w.sh.mu.Lock()
		w.sh.rec.Ended.Add(e, n)
		w.sh.mu.Unlock()
	}
}

// count adds connection attempts and bytes sent; connections and bytes
// belong to the whole run, warm-up included, so they go to the main
// recorder.
func (w *worker) count(attempts, bytes int64) {
	w.sh.mu.Lock()
	w.sh.rec.ConnectAttempts += attempts
	w.sh.rec.BytesSent += bytes
	if n := len(w.r.cfg.Targets); n > 1 {
		t := w.sh.rec.Target(w.target, n)
		t.ConnectAttempts += attempts
		t.BytesSent += bytes
	}
	w.sh.mu.Unlock()
}

func (w *worker) finish() {
	w.closeSession()
	w.flush() // QUIT's reply, and replies of a message never recorded
	if w.due != nil {
		w.due.Close()
	}
}

// noteLast keeps the start lag of a count-bounded open run's final message.
func (w *worker) noteLast(i uint64, p pending) {
	if !p.due.IsZero() && w.r.cfg.Messages > 0 && i == uint64(w.r.cfg.Messages-1) {
		w.r.lastLag.Store(int64(p.began.Sub(p.due)))
	}
}
