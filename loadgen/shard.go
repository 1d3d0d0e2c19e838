package loadgen

import (
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

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
	rec  *report.Recorder // after the warm-up
	warm *report.Recorder // during the warm-up; nil until needed
	open bool             // open-model run: recorders keep service time and lag
	wake *hdrhistogram.Histogram
	// ok and failed count finished messages, warm-up included, for the
	// progress line.
	ok, failed int64
	secs       map[int]*intervalAgg // seconds not yet handed to the timeline
	lastEnd    time.Time            // when the latest message was decided
}

func newShard(open bool) *shard {
	return &shard{rec: report.NewRecorder(open), open: open, secs: map[int]*intervalAgg{},
		wake: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)}
}

// recorder returns the warm-up or the main recorder; call with mu held.
func (s *shard) recorder(warm bool) *report.Recorder {
	if !warm {
		return s.rec
	}
	if s.warm == nil {
		s.warm = report.NewRecorder(s.open)
	}
	return s.warm
}

// interval returns the aggregate of second idx; call with mu held.
func (s *shard) interval(idx int) *intervalAgg {
	agg := s.secs[idx]
	if agg == nil {
		agg = &intervalAgg{h: newIntervalHistogram()}
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

// timeline turns the shards' per-second figures into rows. A second is
// final once it is over and a moment has passed for the workers that
// finished a message in it to record it (finalizeAfter); a message recorded
// later still than that adds to its second's counts, not to its
// percentiles, which are already computed.
type timeline struct {
	mu     sync.Mutex
	shards []*shard
	start  time.Time
	final  map[int]*report.Interval
	latest report.Interval
	below  int // every second below it is final
}

// finalizeAfter is how long after a second ends it is made final.
const finalizeAfter = 250 * time.Millisecond

func newTimeline(shards []*shard, start time.Time) *timeline {
	return &timeline{shards: shards, start: start, final: map[int]*report.Interval{}}
}

// finalize makes every second below idx final.
func (t *timeline) finalize(idx int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	merged := map[int]*intervalAgg{}
	for _, s := range t.shards {
		s.mu.Lock()
		for k, agg := range s.secs {
			if k >= idx {
				continue
			}
			m := merged[k]
			if m == nil {
				m = &intervalAgg{h: newIntervalHistogram()}
				merged[k] = m
			}
			m.ok += agg.ok
			m.failed += agg.failed
			m.h.Merge(agg.h)
			delete(s.secs, k)
		}
		s.mu.Unlock()
	}
	for k, m := range merged {
		if iv := t.final[k]; iv != nil {
			// Late: the second was already final.
			iv.OK += m.ok
			iv.Failed += m.failed
			continue
		}
		iv := &report.Interval{T: k, OK: m.ok, Failed: m.failed,
			P50: time.Duration(m.h.ValueAtQuantile(50)) * time.Microsecond,
			P99: time.Duration(m.h.ValueAtQuantile(99)) * time.Microsecond,
			HDR: report.EncodeHistogram(m.h)}
		t.final[k] = iv
		if k >= t.latest.T {
			t.latest = *iv
		}
	}
	t.below = max(t.below, idx)
}

// last returns the most recent final second.
func (t *timeline) last() report.Interval {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.latest
}

// intervals finalizes everything and returns every second from 0 to the
// last with data, zero rows included, so a stall shows as a gap of zeros
// rather than a missing row.
func (t *timeline) intervals(elapsed time.Duration) []report.Interval {
	t.finalize(math.MaxInt)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int(math.Ceil(elapsed.Seconds()))
	keys := make([]int, 0, len(t.final))
	for k := range t.final {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	if len(keys) > 0 {
		n = max(n, keys[len(keys)-1]+1)
	}
	out := make([]report.Interval, n)
	for i := range out {
		out[i].T = i
	}
	for _, k := range keys {
		if k >= 0 && k < n {
			out[k] = *t.final[k]
		}
	}
	return out
}
