package loadgen

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/report"
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

	claimed atomic.Uint64 // next message index to hand out

	stopOnce   sync.Once
	stopped    chan struct{}
	stopReason atomic.Value
	abortCtx   context.Context
	abort      context.CancelFunc

	sessionsUp    atomic.Int64 // sessions ever established
	firstFailures atomic.Int64 // workers whose first connection failed
	dialing       atomic.Int64 // connections being set up right now
	scheduleDone  atomic.Bool  // the open model has nothing more due within -d
	openSessions  atomic.Int64
	liveOK        atomic.Int64
	liveFailed    atomic.Int64
	lastLag       atomic.Int64 // start lag of the final message of a -n run, ns

	tl *timeline

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
	r := &run{cfg: cfg, stopped: make(chan struct{})}
	if cfg.TraceSessions > 0 && cfg.TraceTo != nil {
		r.trace = session.NewTraceWriter(cfg.TraceTo)
	}
	r.abortCtx, r.abort = context.WithCancel(context.Background())
	defer r.abort()
	if cfg.Rate > 0 {
		if cfg.Arrival == ArrivalPoisson {
			r.pacer = NewPoissonPacer(cfg.Rate, cfg.Ramp, 1)
		} else {
			r.pacer = ConstantPacer{Rate: cfg.Rate, Ramp: cfg.Ramp}
		}
	}

	cpu0 := cpuTime()
	r.start = time.Now()
	r.tl = newTimeline(cfg.Concurrency, r.start)
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
			r.abort()
		case <-r.abortCtx.Done():
		}
	}()

	workers := make([]*worker, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := newWorker(r, i)
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop()
		}()
	}
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		go r.progress(progressDone)
	}
	wg.Wait()
	close(progressDone)
	elapsed := time.Since(r.start)
	aborted := r.abortCtx.Err() != nil
	r.abort()

	res := &report.Result{
		Target:    cfg.Target,
		StartedAt: r.start,
		Elapsed:   elapsed,
		Open:      cfg.Rate > 0,
		Warmup:    cfg.Warmup,
		Total:     report.NewRecorder(cfg.Rate > 0),
		CPU:       cpuTime() - cpu0,
	}
	wake := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
	for _, w := range workers {
		res.Total.Merge(w.rec)
		if w.warm != nil {
			if res.WarmupTotals == nil {
				res.WarmupTotals = report.NewRecorder(cfg.Rate > 0)
			}
			res.WarmupTotals.Merge(w.warm)
		}
		wake.Merge(w.wakeLag)
	}
	res.StopReason, _ = r.stopReason.Load().(string)
	res.FirstError, _ = r.firstError.Load().(string)
	if res.StopReason == "" {
		res.StopReason = StopMessages
		if r.scheduleDone.Load() {
			res.StopReason = StopDuration
		}
	}
	if aborted {
		res.Warnings = append(res.Warnings, "run aborted: connections were dropped with messages in flight; those are counted as failed")
	}
	res.Intervals = r.tl.intervals(elapsed)
	res.Warnings = append(res.Warnings, r.generatorWarnings(res, wake)...)
	return res, nil
}

// giveUpAfter is how many first attempts must fail, with no session ever
// established and none being set up, before the run stops: three, or fewer
// when fewer workers will ever dial.
func (r *run) giveUpAfter() int64 {
	n := int64(min(r.cfg.Concurrency, 3))
	if r.cfg.Messages > 0 {
		n = min(n, r.cfg.Messages)
	}
	return n
}

func (r *run) stop(reason string) {
	r.stopOnce.Do(func() {
		r.stopReason.Store(reason)
		close(r.stopped)
	})
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

func (r *run) progress(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastOK, lastFailed int64
	last := r.start
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			ok, failed := r.liveOK.Load(), r.liveFailed.Load()
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
}

// generatorWarnings says when the figures may describe smtpbench rather than
// the server: the process used nearly all CPUs, or in the open model it fell
// behind its schedule or woke up late for it.
func (r *run) generatorWarnings(res *report.Result, wake *hdrhistogram.Histogram) []string {
	var out []string
	cores := runtime.GOMAXPROCS(0)
	use := res.CPU.Seconds() / res.Elapsed.Seconds() / float64(cores)
	if use > 0.9 {
		out = append(out, fmt.Sprintf("smtpbench used %.0f%% of %d CPUs: it may be the bottleneck, so these figures may describe the tool rather than the server", use*100, cores))
	}
	if r.pacer == nil {
		return out
	}
	if wake.TotalCount() > 0 && wake.ValueAtQuantile(99) > 5000 {
		out = append(out, fmt.Sprintf("smtpbench woke late for its schedule (p99 %.1f ms, max %.1f ms): the generator is overloaded and the latencies include its own delay",
			float64(wake.ValueAtQuantile(99))/1000, float64(wake.Max())/1000))
	}
	// Behind at the end: messages that were due but never started, or the
	// last ones starting well after their due time.
	due := r.dueBy(res.Elapsed)
	started := res.Total.Attempted
	if res.WarmupTotals != nil {
		started += res.WarmupTotals.Attempted
	}
	if r.cfg.Messages == 0 && due > 0 && float64(started) < 0.95*float64(due) {
		lag := res.Total.Lag
		out = append(out, fmt.Sprintf("could not keep the rate: %d of %d due messages started (%.0f/s of %.0f/s asked; start lag p50 %.1f ms, p99 %.1f ms, max %.1f ms). "+
			"Raise -c if every session was busy; otherwise smtpbench itself could not keep up",
			started, due, float64(started)/res.Elapsed.Seconds(), r.cfg.Rate,
			float64(lag.ValueAtQuantile(50))/1000, float64(lag.ValueAtQuantile(99))/1000, float64(lag.Max())/1000))
	}
	if r.cfg.Messages > 0 {
		// A count-bounded run always starts every message eventually; it
		// fell behind if the last one started well after its due time.
		if lag := time.Duration(r.lastLag.Load()); lag > 10*time.Millisecond+r.pacer.expectedDue(uint64(r.cfg.Messages-1))/20 {
			out = append(out, fmt.Sprintf("could not keep the rate: the last message started %.2f s after its due time. "+
				"Raise -c if every session was busy; otherwise smtpbench itself could not keep up", lag.Seconds()))
		}
	}
	return out
}

// dueBy counts the messages scheduled before elapsed, capped by -n.
func (r *run) dueBy(elapsed time.Duration) int64 {
	if r.cfg.Duration > 0 {
		elapsed = min(elapsed, r.cfg.Duration)
	}
	// Message 0 is due at once, so floor(R·t)+1 are due by t.
	n := int64(math.Max(0, math.Floor(r.pacer.dueBy(elapsed))+1))
	if r.cfg.Messages > 0 {
		n = min(n, r.cfg.Messages)
	}
	return n
}
