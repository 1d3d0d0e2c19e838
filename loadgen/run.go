package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/internal/finesleep"
	"github.com/smtpbench/smtpbench/internal/sysres"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/servercost"
	"github.com/smtpbench/smtpbench/session"
)

// Stop reasons.
const (
	StopMessages = "messages" // the message count was reached
	StopDuration = "duration"
	StopSignal   = "signal"
	StopConnect  = "connect_failed" // no session could be established
)

// run is the state the workers share. Everything here is touched at most once
// per message (an atomic claim) or once per second.
type run struct {
	cfg   Config
	start time.Time
	pacer Pacer
	// dialPlan lists target indexes in the order connections take them:
	// each target as often as its weight, interleaved.
	dialPlan []int
	// pipe is what the sessions to each target learned about pipelining,
	// indexed as cfg.Targets.
	pipe []*session.PipeliningState

	claimed atomic.Uint64 // next message index to hand out

	stopOnce sync.Once
	stopped  chan struct{}
	// claimedAll closes when a closed loop has started its last message
	// (-n): workers still waiting for their turn in a ramp or a stage
	// have nothing left to send and must not hold the run's end.
	claimedAll     chan struct{}
	claimedAllOnce sync.Once
	// dueTimers are the open-model workers' timers, which the stop
	// interrupts.
	dueMu      sync.Mutex
	dueTimers  []*finesleep.Timer
	dueTimerFD bool // the due timers may each take a file descriptor
	stopReason atomic.Value
	abortCtx   context.Context
	abort      context.CancelFunc
	// graceOut is set when --grace ran out after a stop and the run
	// dropped the connections still waiting (see dropped).
	graceOut atomic.Bool

	sessionsUp    atomic.Int64 // sessions ever established
	firstFailures atomic.Int64 // workers whose first connection failed
	dialing       atomic.Int64 // connections being set up right now
	scheduleDone  atomic.Bool  // the open model has nothing more due within -d
	openSessions  atomic.Int64
	stoppedAt     atomic.Int64 // ns from start when the run stopped starting messages; 0 until then
	lastLag       atomic.Int64 // start lag of the final message of a -n run, ns

	shards []*shard
	tl     *timeline
	// stages is the load profile, nil without one: sessions in the closed
	// loop, messages per second in the open model.
	stages *stageProfile
	cpu0   time.Duration // the process's CPU time at the start

	mix             *mix         // nil without --mix
	profileSessions atomic.Int64 // profile sessions begun, for spreading them over targets

	sessionNo  atomic.Int64 // sessions dialed, for --trace numbering
	firstError atomic.Value // string: the first failure to establish a session
	trace      *session.TraceWriter
}

// Run executes the benchmark described by cfg. Cancelling ctx stops it
// gracefully: no new messages, in-flight ones get cfg.Grace to finish. Closing
// abort (may be nil) drops every connection at once. Whatever was measured up
// to the end is returned in the result.
func Run(ctx context.Context, cfg Config, abort <-chan struct{}) (*report.Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, stopped: make(chan struct{}), claimedAll: make(chan struct{}), dialPlan: dialPlan(cfg.Targets)}
	for range cfg.Targets {
		r.pipe = append(r.pipe, session.NewPipeliningState())
	}
	if cfg.TraceSessions > 0 && cfg.TraceTo != nil {
		r.trace = session.NewTraceWriter(cfg.TraceTo)
	}
	r.abortCtx, r.abort = context.WithCancel(context.Background())
	defer r.abort()
	if len(cfg.Stages) > 0 {
		r.stages = newProfile(cfg.StageStart, cfg.Stages)
	}
	switch {
	case cfg.Rate > 0 && len(cfg.Stages) > 0:
		r.stages = newProfile(cfg.Rate, cfg.Stages)
		if cfg.Arrival == ArrivalPoisson {
			r.pacer = NewPoissonStagePacer(cfg.Rate, cfg.Stages, arrivalSeed(cfg))
		} else {
			r.pacer = NewStagePacer(cfg.Rate, cfg.Stages)
		}
	case cfg.Rate > 0:
		if cfg.Arrival == ArrivalPoisson {
			r.pacer = NewPoissonPacer(cfg.Rate, cfg.Ramp, arrivalSeed(cfg))
		} else {
			r.pacer = ConstantPacer{Rate: cfg.Rate, Ramp: cfg.Ramp}
		}
	}

	var sampler *servercost.Sampler
	if len(cfg.Server.PIDs) > 0 || cfg.Server.Cgroup != "" {
		// Not ctx itself: after a signal the run drains its messages in
		// flight, and the server's work on them is still to be measured.
		s, err := servercost.Start(context.WithoutCancel(ctx), cfg.Server, servercost.DefaultInterval)
		if err != nil {
			return nil, err
		}
		sampler = s
		defer s.Stop()
	}
	if r.pacer != nil {
		// A timerfd per worker doubles the descriptors the sessions hold
		// (with a built-in sink in this process, which holds the other end
		// of each, it adds half); where they would not fit, the workers
		// wait on Go timers and the sessions keep the room.
		per := uint64(2)
		if cfg.InProcessServer {
			per = 3
		}
		_, r.dueTimerFD = sysres.FitFiles(per*uint64(cfg.Concurrency) + sysres.Headroom)
	}
	r.shards = make([]*shard, numShards(cfg.Concurrency))
	for i := range r.shards {
		r.shards[i] = newShard(cfg.Rate > 0)
	}
	// Allocating the shards' histograms (after the caller's messages or
	// corpus) grows the heap enough to start a collection, which ran
	// during the first messages and made them start milliseconds late:
	// collect now, before the clock starts, so the next one is far off.
	runtime.GC()
	watch := startSelfWatch()
	r.start = time.Now()
	if sampler != nil && cfg.Warmup > 0 {
		// The measured window starts at the warm-up's end: a reading
		// there makes its CPU time exact.
		t := time.AfterFunc(cfg.Warmup, sampler.Sample)
		defer t.Stop()
	}
	r.cpu0 = watch.cpu0
	if cfg.Watch != nil {
		cfg.Watch.attach(r)
	}
	r.tl = newTimeline(r.shards, r.start, cfg.DetailWindow, cfg.OnSecond)
	r.tl.stages = r.stages
	if cfg.Duration > 0 {
		t := time.AfterFunc(cfg.Duration, func() { r.stop(StopDuration) })
		defer t.Stop()
	}
	stopWatch := context.AfterFunc(ctx, func() { r.stop(StopSignal) })
	defer stopWatch()
	go func() {
		select {
		case <-abort:
			r.stop(StopSignal)
			r.abort()
		case <-r.abortCtx.Done():
		}
	}()
	go func() {
		// After a stop, in-flight messages get the grace period, then the
		// connections are dropped so a stalled server cannot hold us.
		select {
		case <-r.stopped:
		case <-r.abortCtx.Done():
			return
		}
		t := time.NewTimer(cfg.Grace)
		defer t.Stop()
		select {
		case <-t.C:
			r.graceOut.Store(true)
			r.abort()
		case <-r.abortCtx.Done():
		}
	}()

	r.mix = newMix(&r.cfg)
	var wg sync.WaitGroup
	if r.mix != nil {
		r.mix.start(r)
	}
	for i := range cfg.Concurrency {
		if !r.mix.normalWorker(i) {
			continue
		}
		w := newWorker(r, i, r.shards[i%len(r.shards)])
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop()
		}()
	}
	tickDone := make(chan struct{})
	ticked := make(chan struct{})
	go r.tick(tickDone, ticked)
	wg.Wait()
	if r.mix != nil && r.mix.normal > 0 {
		r.waitScheduleEnd()
		r.mix.stop() // the good mail is done; so is the abuse
	} else if r.mix != nil {
		r.mix.wg.Wait() // the profiles count -n themselves
		r.mix.stop()
	} else {
		r.waitScheduleEnd()
	}
	close(tickDone)
	<-ticked
	elapsed := time.Since(r.start)
	aborted := r.abortCtx.Err() != nil
	r.abort()

	res := &report.Result{
		Target:    cfg.Targets[0].Addr,
		StartedAt: r.start,
		Elapsed:   elapsed,
		Open:      cfg.Rate > 0,
		Warmup:    cfg.Warmup,
		Total:     metrics.NewRecorder(cfg.Rate > 0),
	}
	res.Generator = watch.finish(elapsed, len(r.shards))
	res.CPU = res.Generator.CPU
	wake := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
	for _, sh := range r.shards {
		// Every worker has finished; the lock is for the race detector,
		// which cannot see that.
		sh.mu.Lock()
		res.Total.Merge(sh.rec)
		if sh.warm != nil {
			if res.WarmupTotals == nil {
				res.WarmupTotals = metrics.NewRecorder(cfg.Rate > 0)
			}
			res.WarmupTotals.Merge(sh.warm)
		}
		wake.Merge(sh.wake)
		if d := sh.lastEnd.Sub(r.start); !sh.lastEnd.IsZero() && d > res.LastDecidedAt {
			res.LastDecidedAt = d
		}
		sh.mu.Unlock()
	}
	for i, e := range cfg.Mail.Variants() {
		sc := report.SizeCount{Label: e.Label(), Weight: e.Weight}
		if i < len(res.Total.Sizes) {
			sc.Messages = res.Total.Sizes[i]
		}
		res.Sizes = append(res.Sizes, sc)
	}
	if len(cfg.Targets) > 1 {
		for i, t := range cfg.Targets {
			res.Targets = append(res.Targets, report.TargetTotals{Addr: t.Addr, Weight: t.Weight, TargetCounts: *res.Total.Target(i, len(cfg.Targets))})
		}
	}
	for i, t := range cfg.Targets {
		mode, reason := r.pipe[i].Outcome(cfg.Session.Pipelining)
		groups, batched := r.pipe[i].Groups()
		res.Pipelining = append(res.Pipelining, report.PipeliningOutcome{Target: t.Addr, Mode: mode, Reason: reason, Resent: r.pipe[i].Resent(),
			Groups: groups, Batched: batched})
	}
	if r.mix != nil {
		var warns []string
		res.Profiles, warns = r.mix.results()
		res.Warnings = append(res.Warnings, warns...)
	}
	res.StopReason, _ = r.stopReason.Load().(string)
	res.FirstError, _ = r.firstError.Load().(string)
	if res.StopReason == "" {
		res.StopReason = StopMessages
		if r.scheduleDone.Load() {
			res.StopReason = StopDuration
		}
	}
	switch {
	case aborted && r.graceOut.Load():
		res.Warnings = append(res.Warnings, fmt.Sprintf("--grace %s ran out after the run's end: connections still waiting for the server were dropped; their messages are counted as failed (timeout)", cfg.Grace))
	case aborted:
		res.Warnings = append(res.Warnings, "run aborted: connections were dropped with messages in flight; those are counted as failed")
	}
	res.StoppedAt, res.Grace = time.Duration(r.stoppedAt.Load()), cfg.Grace
	if res.StoppedAt == 0 || res.StoppedAt > elapsed {
		res.StoppedAt = elapsed
	}
	res.Intervals = r.tl.intervals(elapsed)
	if cfg.OnEnd != nil {
		cfg.OnEnd(elapsed, res.StopReason)
	}
	if sampler != nil {
		res.Server = serverCost(sampler.Stop(), res, cfg.Server)
		if res.Server.GoneAt > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the server (%s) was gone %.1f s into the run: its cost after that is not measured", cfg.Server, res.Server.GoneAt.Seconds()))
		}
	}
	res.Stages = r.tl.stageResults(elapsed)
	if w := nothingAccepted(res); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	if w := skippedBySize(res); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	res.Warnings = append(res.Warnings, r.generatorWarnings(res, wake)...)
	return res, nil
}

// nothingAccepted returns a warning when messages were attempted and none
// was accepted, naming the most frequent reason, so that a server that
// wants STARTTLS or AUTH first is not mistaken for a slow one.
func nothingAccepted(res *report.Result) string {
	t := res.Total
	if t.Attempted == 0 && res.WarmupTotals != nil && res.WarmupTotals.Attempted > 0 {
		if res.WarmupTotals.Attempted == 1 {
			return fmt.Sprintf("nothing was measured: the one message fell within the --warmup period of %s", res.Warmup)
		}
		return fmt.Sprintf("nothing was measured: all %d messages fell within the --warmup period of %s", res.WarmupTotals.Attempted, res.Warmup)
	}
	if t.Attempted == 0 || t.OK > 0 {
		return ""
	}
	var top metrics.ErrorKey
	var n int64
	for k, c := range t.Errors {
		if c > n || c == n && (k.Phase < top.Phase || k.Phase == top.Phase && k.Code < top.Code) {
			top, n = k, c
		}
	}
	w := fmt.Sprintf("no message was accepted: all %d were rejected or failed", t.Attempted)
	if t.Attempted == 1 {
		w = "no message was accepted: the one attempted was rejected or failed"
	}
	if n > 0 {
		code := ""
		if top.Code != 0 {
			code = fmt.Sprintf(" %d", top.Code)
		}
		times := fmt.Sprintf("most often (%d times)", n)
		if n == 1 {
			times = "once"
		}
		w += fmt.Sprintf("; %s at %s, %s%s: %s", times, top.Phase, top.Class, code, t.ErrorText[top])
	}
	return w
}

// skippedBySize says, once for the run, how many messages were not sent
// because they were over the server's SIZE limit.
func skippedBySize(res *report.Result) string {
	n, limit := res.Total.Skipped, res.Total.SkipLimit
	if res.WarmupTotals != nil {
		n += res.WarmupTotals.Skipped
		limit = max(limit, res.WarmupTotals.SkipLimit)
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d messages were larger than the server's SIZE limit of %d bytes and were not sent (counted as skipped, not attempted)", n, limit)
}

// dialPlan spreads connections over targets by weight, interleaved the
// way smooth weighted round-robin does (each turn the target furthest
// behind its share goes next), so a 3:1 split dials A A B A, not A A A B.
func dialPlan(targets []Target) []int {
	total := 0
	for _, t := range targets {
		total += t.Weight
	}
	plan := make([]int, 0, total)
	credit := make([]int, len(targets))
	for range total {
		best := 0
		for i, t := range targets {
			credit[i] += t.Weight
			if credit[i] > credit[best] {
				best = i
			}
		}
		credit[best] -= total
		plan = append(plan, best)
	}
	return plan
}

// waitScheduleEnd holds an open-model run that finished its last message
// early until its schedule is over: with --rate 1 -d 5s the last message is
// due at 4 s, but the run measured five seconds of arrivals, and rates taken
// over four would be a quarter too high. A signal or an abort ends the wait.
func (r *run) waitScheduleEnd() {
	if r.pacer == nil || r.isStopped() && r.stopReasonIs(StopSignal, StopConnect) {
		return
	}
	var end time.Duration
	switch {
	case r.cfg.Duration > 0:
		end = r.cfg.Duration
		if r.cfg.Messages > 0 {
			end = min(end, r.pacer.ExpectedDue(uint64(r.cfg.Messages)))
		}
	case r.cfg.Messages > 0:
		// The slot after the last message: n messages at rate R span n/R.
		end = r.pacer.ExpectedDue(uint64(r.cfg.Messages))
	}
	r.stoppedAt.CompareAndSwap(0, int64(end))
	wait := time.Until(r.start.Add(end))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.stopped:
	case <-r.abortCtx.Done():
	}
}

func (r *run) stopReasonIs(reasons ...string) bool {
	got, _ := r.stopReason.Load().(string)
	for _, s := range reasons {
		if got == s {
			return true
		}
	}
	return false
}

// giveUpAfter is how many first attempts must fail, with no session ever
// established and none being set up, before the run stops: three, or fewer
// when fewer workers will ever dial.
func (r *run) giveUpAfter() int64 {
	workers := r.cfg.Concurrency
	if r.mix != nil {
		workers = r.mix.normal
	}
	n := int64(min(workers, 3))
	if r.cfg.Messages > 0 {
		n = min(n, r.cfg.Messages)
	}
	return n
}

// noteStop remembers when the run stopped starting messages, the first time.
func (r *run) noteStop() {
	r.stoppedAt.CompareAndSwap(0, max(1, int64(time.Since(r.start))))
}

// errGraceOut is why a session dropped when --grace ran out failed: the
// server did not answer in the time the run allowed.
var errGraceOut = errors.New("grace ran out")

// dropped classifies the error of a session the run dropped: after a
// signal's abort the run gave up (aborted); when --grace ran out after the
// run's end, the server had not answered in the time allowed, which is a
// timeout, whatever --timeout says (a server that never sends its greeting
// gets the hint that says why).
func (r *run) dropped(e *session.Error) {
	if !r.graceOut.Load() {
		e.Class = session.ClassAborted
		return
	}
	e.Class, e.Err = session.ClassTimeout, errGraceOut
	if e.Code == 0 {
		e.Text = "no reply before the grace period ran out after the run's end"
	}
}

func (r *run) stop(reason string) {
	r.noteStop()
	r.stopOnce.Do(func() {
		r.stopReason.Store(reason)
		close(r.stopped)
		r.dueMu.Lock()
		for _, t := range r.dueTimers {
			t.Interrupt()
		}
		r.dueMu.Unlock()
	})
}

// newDueTimer makes an open-model worker's timer for due times, which the
// stop interrupts: a worker waiting for a message due later must not hold
// the run's end.
func (r *run) newDueTimer() *finesleep.Timer {
	fine := r.cfg.Rate <= fineMaxRate
	var t *finesleep.Timer
	if r.dueTimerFD {
		t = finesleep.NewTimer(fine)
	} else {
		t = finesleep.NewGoTimer(fine)
	}
	r.dueMu.Lock()
	defer r.dueMu.Unlock()
	// stopped closes before the stop takes dueMu: a timer made after the
	// stop went through the list sees it here.
	if r.isStopped() {
		t.Interrupt()
	}
	r.dueTimers = append(r.dueTimers, t)
	return t
}

func (r *run) isStopped() bool {
	select {
	case <-r.stopped:
		return true
	default:
		return false
	}
}

// claim hands out the next message index, or false when the run has no more
// messages to start.
func (r *run) claim() (uint64, time.Time, bool) {
	if r.isStopped() {
		return 0, time.Time{}, false
	}
	i := r.claimed.Add(1) - 1
	if r.cfg.Messages > 0 && i >= uint64(r.cfg.Messages) {
		if r.pacer == nil {
			// Closed loop: the last message has just started. (In the
			// open model workers claim ahead of the schedule; its end
			// is noted by waitScheduleEnd.)
			r.noteStop()
			r.claimedAllOnce.Do(func() { close(r.claimedAll) })
		}
		return 0, time.Time{}, false
	}
	if r.pacer == nil {
		return i, time.Time{}, true
	}
	due := r.start.Add(r.pacer.Due(i))
	if r.cfg.Duration > 0 && due.Sub(r.start) >= r.cfg.Duration {
		// Nothing more is due within -d: the duration ends the run, even
		// if its timer has not fired yet. Not a stop: messages claimed
		// earlier are still due and must go out.
		r.scheduleDone.Store(true)
		return 0, time.Time{}, false
	}
	return i, due, true
}

// claimDue hands out the next index only if it is already due, for
// pipelining its envelope behind the current content; in the closed model
// every message is due at once.
func (r *run) claimDue(now time.Time) (uint64, time.Time, bool) {
	if r.pacer == nil {
		return r.claim()
	}
	if r.isStopped() {
		return 0, time.Time{}, false
	}
	for {
		i := r.claimed.Load()
		if r.cfg.Messages > 0 && i >= uint64(r.cfg.Messages) {
			return 0, time.Time{}, false
		}
		due := r.start.Add(r.pacer.Due(i))
		if due.After(now) || (r.cfg.Duration > 0 && due.Sub(r.start) >= r.cfg.Duration) {
			return 0, time.Time{}, false
		}
		if r.claimed.CompareAndSwap(i, i+1) {
			return i, due, true
		}
	}
}

// tick makes each second of the timeline final shortly after it ends and,
// when asked for, reports progress from it.
func (r *run) tick(done <-chan struct{}, exited chan<- struct{}) {
	defer close(exited)
	var lastOK, lastFailed int64
	last := r.start
	t := time.NewTimer(time.Second + finalizeAfter)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := time.Now()
		sec := int(now.Sub(r.start) / time.Second)
		r.tl.finalize(sec)
		t.Reset(time.Until(r.start.Add(time.Duration(sec+1)*time.Second + finalizeAfter)))
		if r.cfg.Progress == nil {
			continue
		}
		var ok, failed int64
		for _, sh := range r.shards {
			sh.mu.Lock()
			ok += sh.ok
			failed += sh.failed
			sh.mu.Unlock()
		}
		iv := r.tl.last()
		r.cfg.Progress(Progress{
			Elapsed:      now.Sub(r.start),
			OK:           ok,
			Failed:       failed,
			Rate:         float64(ok+failed-lastOK-lastFailed) / now.Sub(last).Seconds(),
			P50:          iv.P50,
			P99:          iv.P99,
			OpenSessions: r.openSessions.Load(),
		})
		lastOK, lastFailed, last = ok, failed, now
	}
}

// dueBy counts the messages scheduled by elapsed, capped by -n. Under -d
// it counts only those due before the duration's end, as claim does: one
// due at exactly -d is not part of the run.
func (r *run) dueBy(elapsed time.Duration) int64 {
	if r.cfg.Duration > 0 && elapsed >= r.cfg.Duration {
		elapsed = r.cfg.Duration - time.Nanosecond
	}
	n := int64(math.Max(0, math.Floor(r.pacer.DueBy(elapsed))))
	if r.cfg.Messages > 0 {
		n = min(n, r.cfg.Messages)
	}
	return n
}

// arrivalSeed seeds the Poisson arrivals from the run's own seed, so that
// --seed repeats the schedule as well as the messages, and each shard of a
// job (SeqOffset) draws its own gaps.
func arrivalSeed(cfg Config) uint64 {
	var seed uint64
	if cfg.Mail != nil {
		seed = cfg.Mail.Seed()
	}
	return seed ^ 0x5851f42d4c957f2d ^ cfg.SeqOffset*0x9e3779b97f4a7c15
}
