package loadgen

import (
	"context"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// worker owns one session at a time, its recorders and its interval: the
// hot path touches nothing shared but an atomic claim per message.
type worker struct {
	r  *run
	id int

	rec    *report.Recorder // after warm-up
	warm   *report.Recorder // during warm-up; nil until needed
	active *report.Recorder // where phase observations go right now

	client     *session.Client
	unwatch    func() bool
	sentOnConn int
	backoff    time.Duration
	tried      bool // this worker has dialed before

	msgs    [2]session.Message
	iv      workerInterval
	wakeLag *hdrhistogram.Histogram // how late an idle worker woke for a due message
	timer   *time.Timer
}

func newWorker(r *run, id int) *worker {
	w := &worker{r: r, id: id, rec: report.NewRecorder(r.cfg.Rate > 0),
		iv:      workerInterval{h: newIntervalHistogram()},
		wakeLag: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3),
		timer:   time.NewTimer(time.Hour)}
	w.timer.Stop()
	w.active = w.rec
	for i := range w.msgs {
		w.msgs[i] = session.Message{From: r.cfg.From, To: r.cfg.To, Rcpts: r.cfg.Rcpts, Data: r.cfg.Data,
			SeqAt: r.cfg.DataSeqAt, EightBit: r.cfg.EightBit}
	}
	return w
}

// Observe implements session.Observer by routing to the active recorder.
func (w *worker) Observe(p session.Phase, code int, d time.Duration) {
	w.active.Observe(p, code, d)
}

// idleCheck is how long a session may sit unused before it is checked for
// a close or 421 that the server sent meanwhile.
const idleCheck = 100 * time.Millisecond

// pending is a claimed message and its schedule.
type pending struct {
	msg   *session.Message
	due   time.Time // zero in the closed model
	began time.Time // when this worker took it up
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
		if cur.msg == nil {
			i, due, ok := r.claim()
			if !ok {
				return
			}
			if !due.IsZero() {
				wait := time.Until(due)
				if wait > 0 {
					if !w.waitDue(due) {
						return // stopped before the message was due: never attempted
					}
					report.RecordDuration(w.wakeLag, time.Since(due))
				}
			}
			cur = pending{msg: w.message(i, nil), due: due, began: time.Now()}
			w.noteLast(i, cur)
		}
		now := time.Now()
		w.rollover(now)
		w.route(cur)
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
			w.rec.IdleCloses++
			w.closeSession()
			continue
		}
		next = pending{}
		perConn := r.cfg.PerConn
		if w.client.Pipelining() && (perConn == 0 || w.sentOnConn+1 < perConn) {
			if i, due, ok := r.claimDue(time.Now()); ok {
				next = pending{msg: w.message(i, cur.msg), due: due, began: time.Now()}
				w.noteLast(i, next)
			}
		}
		res := w.client.Send(cur.msg, next.msg)
		w.sentOnConn++
		w.record(cur, res)
		// Whether or not next's envelope went out (it does not when cur
		// never reached its content), next is the following message.
		cur = next
		if w.client.Ahead() == nil && (w.client.Err() != nil || (perConn > 0 && w.sentOnConn >= perConn)) {
			w.closeSession()
		}
	}
}

// message fills whichever of the two message slots is not in use.
func (w *worker) message(seq uint64, busy *session.Message) *session.Message {
	m := &w.msgs[0]
	if m == busy {
		m = &w.msgs[1]
	}
	m.Seq = seq + 1 // {n} counts from 1
	return m
}

// route sends observations to the warm-up recorder while the message is
// inside the warm-up period, judged by its due time in the open model.
func (w *worker) route(p pending) {
	if w.r.cfg.Warmup <= 0 {
		return
	}
	at := p.due
	if at.IsZero() {
		at = p.began
	}
	if at.Sub(w.r.start) < w.r.cfg.Warmup {
		if w.warm == nil {
			w.warm = report.NewRecorder(w.r.cfg.Rate > 0)
		}
		w.active = w.warm
	} else {
		w.active = w.rec
	}
}

// record counts one finished message. In the open model the message latency
// runs from its due time, so waiting for a free session or for a stalled
// server is included (no coordinated omission); the service time beside it
// runs from when a session began it.
func (w *worker) record(p pending, res session.Result) {
	rec := w.active
	if res.Err != nil && w.r.abortCtx.Err() != nil && res.Outcome == session.OutcomeFailed {
		// The connection failed because we dropped it, not the server.
		e := *res.Err
		e.Class = session.ClassAborted
		res.Err = &e
	}
	rec.Message(&res)
	if res.Outcome == session.OutcomeOK {
		w.r.liveOK.Add(1)
	} else {
		w.r.liveFailed.Add(1)
	}
	end := res.End
	if end.IsZero() {
		end = time.Now()
	}
	if !res.Start.IsZero() {
		from := res.Start
		if !p.due.IsZero() {
			from = p.due
			report.RecordDuration(rec.Service, end.Sub(res.Start))
		}
		report.RecordDuration(rec.Phases[session.PhaseMessage], end.Sub(from))
	}
	if !p.due.IsZero() {
		report.RecordDuration(rec.Lag, p.began.Sub(p.due))
	}
	w.rollover(end)
	if rec == w.rec {
		if res.Outcome == session.OutcomeOK {
			w.iv.ok++
		} else {
			w.iv.failed++
		}
		if !res.Start.IsZero() {
			from := res.Start
			if !p.due.IsZero() {
				from = p.due
			}
			report.RecordDuration(w.iv.h, end.Sub(from))
		}
	}
}

// rollover hands the finished second to the timeline when t is in a later one.
func (w *worker) rollover(t time.Time) {
	idx := int(t.Sub(w.r.start) / time.Second)
	if idx > w.iv.idx {
		w.r.tl.hand(w.id, &w.iv, idx)
	}
}

// connect dials and greets; the connect, banner and EHLO phases are observed
// by the session itself.
func (w *worker) connect() *session.Error {
	r := w.r
	opts := r.cfg.Session
	opts.Observer = w
	if n := r.sessionNo.Add(1); n <= int64(r.cfg.TraceSessions) {
		opts.Trace, opts.TraceID = r.trace, n
	}
	w.rec.ConnectAttempts++
	r.dialing.Add(1)
	c, err := session.Dial(r.abortCtx, r.cfg.Target, opts)
	if err == nil {
		w.unwatch = context.AfterFunc(r.abortCtx, c.Abort)
		err = c.Hello()
		if err != nil {
			w.rec.BytesSent += c.BytesSent()
			c.Close()
			w.unwatch()
		}
	}
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
	w.rec.Connections++
	w.client, w.sentOnConn, w.backoff = c, 0, 0
	return nil
}

func (w *worker) classify(err error) *session.Error {
	se, ok := err.(*session.Error)
	if !ok {
		se = &session.Error{Phase: session.PhaseConnect, Class: session.ClassProtocol, Err: err}
	}
	if w.r.abortCtx.Err() != nil {
		se.Class = session.ClassAborted
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
	// A long sleep would hold back the timeline (and the live progress
	// figures) until this worker records again, so it steps aside first.
	long := d >= 200*time.Millisecond
	if long {
		w.r.tl.hand(w.id, &w.iv, idle)
		defer func() {
			w.iv.idx = w.r.tl.resume(w.id, int(time.Since(w.r.start)/time.Second))
		}()
	}
	w.timer.Reset(d)
	select {
	case <-w.timer.C:
		return true
	case <-w.r.stopped:
		w.timer.Stop()
		return false
	}
}

// fineWindow is the last stretch before a due time that waitDue sleeps in
// the kernel rather than on a Go timer. Go's timers wake up to about a
// millisecond late on Linux (the network poller waits in whole
// milliseconds), which would otherwise add about 0.5 ms to every open-model
// latency; nanosleep is late only by the kernel's timer slack. It is not
// free: the blocking call makes the runtime hand the worker's CPU slot to
// another thread and take it back, which costs roughly as much CPU again as
// sending a message on loopback. So it is used only up to fineMaxRate, where
// the cost stays small and the precision matters most; above it, messages
// are due less than a millisecond apart and sessions are rarely idle long.
const (
	fineWindow  = 2 * time.Millisecond
	fineMaxRate = 1000
)

// waitDue waits for a message's due time: on the worker's timer, and for
// the last stretch, at rates up to fineMaxRate, in the kernel (fineSleep).
func (w *worker) waitDue(due time.Time) bool {
	if w.r.cfg.Rate > fineMaxRate {
		return w.sleepUntil(due)
	}
	if time.Until(due) > fineWindow && !w.sleepUntil(due.Add(-fineWindow)) {
		return false
	}
	if d := time.Until(due); d > 0 {
		fineSleep(d)
	}
	return !w.r.isStopped()
}

// closeSession ends the current session with QUIT when it is still healthy.
func (w *worker) closeSession() {
	c := w.client
	if c == nil {
		return
	}
	w.client = nil
	if c.Err() == nil && w.r.abortCtx.Err() == nil {
		c.Quit()
	} else {
		c.Close()
	}
	w.unwatch()
	w.r.openSessions.Add(-1)
	w.rec.BytesSent += c.BytesSent()
}

func (w *worker) finish() {
	w.closeSession()
	w.r.tl.hand(w.id, &w.iv, idle)
}

// noteLast keeps the start lag of a count-bounded open run's final message.
func (w *worker) noteLast(i uint64, p pending) {
	if !p.due.IsZero() && w.r.cfg.Messages > 0 && i == uint64(w.r.cfg.Messages-1) {
		w.r.lastLag.Store(int64(p.began.Sub(p.due)))
	}
}
