package loadgen

import (
	"math"
	"runtime"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// numShards is how many recorders the workers of a run share. A full
// recorder is about 2 MB of histograms, so one per session would make memory
// grow with -c (10,000 sessions would need 20 GB) and the merge at the end
// take seconds. A few per CPU keep the lock that guards each one nearly
// uncontended: a worker takes it once per message, for well under a
// microsecond, and at most GOMAXPROCS workers run at any instant. Below that
// many sessions each worker has a shard of its own, as before.
func numShards(concurrency int) int {
	return max(1, min(concurrency, max(8, 4*runtime.GOMAXPROCS(0))))
}

// shard is one of the recorders that workers share, with the live counters
// and the open seconds of the timeline for the same workers.
type shard struct {
	mu   sync.Mutex
	rec  *metrics.Recorder // after the warm-up
	warm *metrics.Recorder // during the warm-up; nil until needed
	open bool              // open-model run: recorders keep service time and lag
	wake *hdrhistogram.Histogram
	// ok and failed count finished messages, warm-up included, for the
	// progress line.
	ok, failed int64
	secs       map[int]*intervalAgg // seconds not yet handed to the timeline
	floor      int                  // the first second not yet final
	spare      []*hdrhistogram.Histogram
	lastEnd    time.Time // when the latest message was decided
}

func newShard(open bool) *shard {
	return &shard{rec: metrics.NewRecorder(open), open: open, secs: map[int]*intervalAgg{},
		wake: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)}
}

// recorder returns the warm-up or the main recorder; call with mu held.
func (s *shard) recorder(warm bool) *metrics.Recorder {
	if !warm {
		return s.rec
	}
	if s.warm == nil {
		s.warm = metrics.NewRecorder(s.open)
	}
	return s.warm
}

// interval returns the aggregate of second idx, or of the first second
// not yet final when idx is already final; call with mu held.
func (s *shard) interval(idx int) *intervalAgg {
	idx = max(idx, s.floor)
	agg := s.secs[idx]
	if agg == nil {
		agg = &intervalAgg{}
		if n := len(s.spare); n > 0 {
			agg.h, s.spare = s.spare[n-1], s.spare[:n-1]
		} else {
			agg.h = newIntervalHistogram()
		}
		s.secs[idx] = agg
	}
	return agg
}

// sample is one observed reply, kept by its worker until the message ends
// so that the shard's lock is taken once per message, not once per reply.
type sample struct {
	d     time.Duration
	code  int16
	phase session.Phase
	warm  bool
	piped bool // answered a command written in a group with others
}

// batchLen bounds a worker's unflushed samples: a message with many
// recipients flushes early rather than growing the buffer.
const batchLen = 32

// Interval histograms use two significant digits: plenty for a timeline and
// an eighth of the memory.
func newIntervalHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)
}

type intervalAgg struct {
	ok, failed int64
	h          *hdrhistogram.Histogram
}

// DefaultDetailWindow is how many of a run's most recent seconds the result
// keeps one by one, at least; whole minutes before them are folded into one
// row each, so the window holds five to six minutes of seconds. A day-long
// run then holds about 1,435 minute rows and 300 to 359 seconds, about 0.55 MB
// of JSON, and its memory stays flat once the window is full,
// five minutes in. Every second still goes to Config.OnSecond (--live) as it
// is made final.
const DefaultDetailWindow = 5 * time.Minute

// coarseLength is the length in seconds of a folded row: a minute, aligned
// to whole minutes since the start.
const coarseLength = 60

// timeline turns the shards' per-second figures into rows. A second is
// final once it is over and a moment has passed for the workers that
// finished a message in it to record it (finalizeAfter). From then on the
// shards take no more messages for it: one decided later still is counted
// in the first second not yet final, so a row never changes once written
// (to --live, or to the result).
//
// The most recent seconds stay one by one (the detail window); whole minutes
// older than that are replaced by one row each, made when the minute ended
// from the seconds' histograms, so nothing is decoded again and the memory
// held does not grow with the run.
type timeline struct {
	mu       sync.Mutex
	shards   []*shard
	start    time.Time
	next     int               // every second below it is final
	detail   []report.Interval // final seconds not yet folded, in order
	window   int               // how many seconds detail keeps at least
	coarse   []report.Interval // folded minutes, in order, older than detail
	minutes  []report.Interval // rows of ended minutes whose seconds are still in detail
	minute   intervalAgg       // the minute being filled
	spare    []*hdrhistogram.Histogram
	latest   report.Interval
	onSecond func(report.Interval)
	// stages, when set, gets each second's figures added to the stage its
	// middle falls in (index len(stages) for the hold after them).
	stages  *stageProfile
	byStage []*intervalAgg
}

// finalizeAfter is how long after a second ends it is made final.
const finalizeAfter = 250 * time.Millisecond

func newTimeline(shards []*shard, start time.Time, window time.Duration, onSecond func(report.Interval)) *timeline {
	if window <= 0 {
		window = DefaultDetailWindow
	}
	return &timeline{shards: shards, start: start, window: max(coarseLength, int(window/time.Second)), onSecond: onSecond,
		minute: intervalAgg{h: newIntervalHistogram()}}
}

// histogram returns an empty interval histogram, reusing one when it can:
// a run makes one a second per shard, and reusing them keeps the garbage,
// and so the heap, from growing and shrinking every second.
func (t *timeline) histogram() *hdrhistogram.Histogram {
	if n := len(t.spare); n > 0 {
		h := t.spare[n-1]
		t.spare = t.spare[:n-1]
		return h
	}
	return newIntervalHistogram()
}

func (t *timeline) recycle(h *hdrhistogram.Histogram) {
	h.Reset()
	t.spare = append(t.spare, h)
}

// finalize makes every second below idx final, in order, zero rows
// included, so a stall shows as a gap of zeros rather than a missing row.
func (t *timeline) finalize(idx int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if idx <= t.next {
		return
	}
	merged := map[int]*intervalAgg{}
	for _, s := range t.shards {
		s.mu.Lock()
		s.floor = idx
		for k, agg := range s.secs {
			if k >= idx {
				continue
			}
			m := merged[k]
			if m == nil {
				m = &intervalAgg{h: t.histogram()}
				merged[k] = m
			}
			m.ok += agg.ok
			m.failed += agg.failed
			m.h.Merge(agg.h)
			delete(s.secs, k)
			agg.h.Reset()
			s.spare = append(s.spare, agg.h)
		}
		s.mu.Unlock()
	}
	for k := t.next; k < idx; k++ {
		iv := report.Interval{T: k}
		m := merged[k]
		if m != nil {
			iv.OK, iv.Failed = m.ok, m.failed
			iv.P50 = time.Duration(m.h.ValueAtQuantile(50)) * time.Microsecond
			iv.P99 = time.Duration(m.h.ValueAtQuantile(99)) * time.Microsecond
			if m.ok+m.failed > 0 {
				iv.HDR = report.EncodeHistogram(m.h)
			}
		}
		if t.onSecond != nil {
			t.onSecond(iv)
		}
		if m != nil {
			if t.stages != nil {
				t.addToStage(k, m)
			}
			t.minute.ok += m.ok
			t.minute.failed += m.failed
			t.minute.h.Merge(m.h)
			t.recycle(m.h)
		}
		if k%coarseLength == coarseLength-1 {
			t.minutes = append(t.minutes, t.minuteRow(k+1-coarseLength, coarseLength))
		}
		t.detail = append(t.detail, iv)
		t.latest = iv
	}
	t.next = idx
	// Fold the oldest minute once the seconds after it fill the window.
	folded := 0
	for len(t.minutes) > 0 && len(t.detail)-folded-coarseLength >= t.window {
		t.coarse = append(t.coarse, t.minutes[0])
		t.minutes = t.minutes[1:]
		folded += coarseLength
	}
	if folded > 0 {
		// Move the window down rather than reslice, so the array does not
		// grow with the run.
		m := copy(t.detail, t.detail[folded:])
		clear(t.detail[m:])
		t.detail = t.detail[:m]
		if len(t.minutes) == 0 {
			t.minutes = nil // let the backing array go rather than creep along it
		}
	}
}

// minuteRow makes the row of the minute being filled, which started at
// second from and has length seconds, and starts the next one.
func (t *timeline) minuteRow(from, length int) report.Interval {
	a := &t.minute
	iv := report.Interval{T: from, Length: length, OK: a.ok, Failed: a.failed}
	if a.h.TotalCount() > 0 {
		iv.P50 = time.Duration(a.h.ValueAtQuantile(50)) * time.Microsecond
		iv.P99 = time.Duration(a.h.ValueAtQuantile(99)) * time.Microsecond
		iv.HDR = report.EncodeHistogram(a.h)
	}
	a.ok, a.failed = 0, 0
	a.h.Reset()
	return iv
}

// last returns the most recent final second.
func (t *timeline) last() report.Interval {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.latest
}

// intervals makes every second final, up to the end of the run (leaving
// out a last second it had less than a tenth of) or the last second with
// data, whichever is later, and returns the folded minutes and
// then the seconds of the detail window. Call it once every worker is done.
func (t *timeline) intervals(elapsed time.Duration) []report.Interval {
	n := int(math.Ceil(elapsed.Seconds()))
	if n > 0 && elapsed-time.Duration(n-1)*time.Second < time.Second/10 {
		// The run had less than a tenth of its last second: unless
		// something happened in it (below), that sliver would be an empty
		// row at 0 messages/s at the end of every chart.
		n--
	}
	for _, s := range t.shards {
		s.mu.Lock()
		for k := range s.secs {
			n = max(n, k+1)
		}
		s.mu.Unlock()
	}
	t.finalize(n)
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]report.Interval, 0, len(t.coarse)+len(t.detail))
	out = append(out, t.coarse...)
	return append(out, t.detail...)
}

// addToStage adds second k's figures to its stage.
func (t *timeline) addToStage(k int, m *intervalAgg) {
	p := t.stages
	if t.byStage == nil {
		t.byStage = make([]*intervalAgg, len(p.stages)+1)
	}
	mid := float64(k) + 0.5
	i := len(p.stages)
	for j, st := range p.stages {
		if mid >= p.starts[j] && mid < p.starts[j]+st.Duration.Seconds() {
			i = j
			break
		}
	}
	if mid < p.end && i == len(p.stages) {
		return // cannot happen: every moment before the end is in a stage
	}
	a := t.byStage[i]
	if a == nil {
		a = &intervalAgg{h: newIntervalHistogram()}
		t.byStage[i] = a
	}
	a.ok += m.ok
	a.failed += m.failed
	a.h.Merge(m.h)
}

// stageResults returns each stage of the profile that began before the run
// ended, and the hold after the last one if the run went on; stages of zero
// duration (steps) have no row. Call after intervals.
func (t *timeline) stageResults(elapsed time.Duration) []report.Stage {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.stages
	if p == nil {
		return nil
	}
	var out []report.Stage
	hold := seconds(p.end) < elapsed-time.Second/2
	if n := len(p.stages); !hold && n < len(t.byStage) && t.byStage[n] != nil {
		// The drain after the last stage (messages in flight at the stop)
		// is too short for a row of its own: it counts in the last stage.
		last := n - 1
		for last > 0 && p.stages[last].Duration == 0 {
			last--
		}
		if t.byStage[last] == nil {
			t.byStage[last] = &intervalAgg{h: newIntervalHistogram()}
		}
		a, h := t.byStage[last], t.byStage[n]
		a.ok += h.ok
		a.failed += h.failed
		a.h.Merge(h.h)
		t.byStage[n] = nil
	}
	add := func(i int, start, end float64, from, target float64) {
		st := report.Stage{Start: seconds(start), End: min(seconds(end), elapsed), From: from, Target: target}
		if i < len(t.byStage) && t.byStage[i] != nil {
			a := t.byStage[i]
			st.OK, st.Failed = a.ok, a.failed
			st.P50 = time.Duration(a.h.ValueAtQuantile(50)) * time.Microsecond
			st.P99 = time.Duration(a.h.ValueAtQuantile(99)) * time.Microsecond
			if a.h.TotalCount() > 0 {
				st.HDR = report.EncodeHistogram(a.h)
			}
		}
		out = append(out, st)
	}
	for i, s := range p.stages {
		if s.Duration == 0 || seconds(p.starts[i]) >= elapsed {
			continue
		}
		add(i, p.starts[i], p.starts[i]+s.Duration.Seconds(), p.from[i], s.Target)
	}
	if hold {
		add(len(p.stages), p.end, elapsed.Seconds(), p.last, p.last)
	}
	return out
}
