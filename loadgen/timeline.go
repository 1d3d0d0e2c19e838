package loadgen

import (
	"math"
	"sort"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/report"
)

// Interval histograms use two significant digits: plenty for a timeline and
// an eighth of the memory, since every worker keeps one.
func newIntervalHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)
}

// timeline merges the workers' per-second figures. Each worker fills its own
// interval and hands it over once per second (a lock per second, not per
// message); an interval is final once every worker has moved past it, so a
// slow worker's late figures still land in the right second.
type timeline struct {
	mu     sync.Mutex
	marks  []int // interval each worker is filling; idle while it sleeps or is done
	open   map[int]*intervalAgg
	final  []report.Interval
	latest report.Interval
	// finalBelow: every interval below it is final.
	finalBelow int
	start      time.Time
}

type intervalAgg struct {
	ok, failed int64
	h          *hdrhistogram.Histogram
}

func newTimeline(workers int, start time.Time) *timeline {
	return &timeline{marks: make([]int, workers), open: map[int]*intervalAgg{}, start: start}
}

// workerInterval is one worker's current second.
type workerInterval struct {
	idx        int
	ok, failed int64
	h          *hdrhistogram.Histogram
}

// hand merges w's interval into the timeline and moves the worker to next.
func (t *timeline) hand(worker int, w *workerInterval, next int) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if w.ok+w.failed > 0 {
		agg := t.open[w.idx]
		if agg == nil {
			agg = &intervalAgg{h: newIntervalHistogram()}
			t.open[w.idx] = agg
		}
		agg.ok += w.ok
		agg.failed += w.failed
		agg.h.Merge(w.h)
	}
	t.marks[worker] = next
	// The current second is never final while the run goes on, even when
	// every worker is asleep: one may wake and record into it.
	low := now
	for _, m := range t.marks {
		low = min(low, m)
	}
	t.finalBelow = max(t.finalBelow, low)
	t.finalize(low)
	w.idx, w.ok, w.failed = next, 0, 0
	w.h.Reset()
}

// finalize turns every open interval below low into a timeline row.
func (t *timeline) finalize(low int) {
	for idx, agg := range t.open {
		if idx < low {
			iv := report.Interval{T: idx, OK: agg.ok, Failed: agg.failed,
				P50: time.Duration(agg.h.ValueAtQuantile(50)) * time.Microsecond,
				P99: time.Duration(agg.h.ValueAtQuantile(99)) * time.Microsecond}
			t.final = append(t.final, iv)
			if idx >= t.latest.T {
				t.latest = iv
			}
			delete(t.open, idx)
		}
	}
}

// now is the index of the current second.
func (t *timeline) now() int { return int(time.Since(t.start) / time.Second) }

// idle is the mark of a worker that records nothing for now: it holds back
// no interval.
const idle = math.MaxInt

// resume puts a worker that was idle back on the timeline at interval idx,
// or at the first interval not yet final if another worker finished idx in
// the meantime; it returns the interval the worker now fills.
func (t *timeline) resume(worker, idx int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	idx = max(idx, t.finalBelow)
	t.marks[worker] = idx
	return idx
}

// last returns the most recent finished second.
func (t *timeline) last() report.Interval {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.latest
}

// intervals returns every second from 0 to the last with data, zero rows
// included, so a stall shows as a gap of zeros rather than a missing row.
func (t *timeline) intervals(elapsed time.Duration) []report.Interval {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finalize(math.MaxInt) // the run is over: the last seconds too
	sort.Slice(t.final, func(i, j int) bool { return t.final[i].T < t.final[j].T })
	n := int(math.Ceil(elapsed.Seconds()))
	if len(t.final) > 0 {
		n = max(n, t.final[len(t.final)-1].T+1)
	}
	out := make([]report.Interval, n)
	for i := range out {
		out[i].T = i
	}
	for _, iv := range t.final {
		if iv.T >= 0 && iv.T < n {
			out[iv.T] = iv
		}
	}
	return out
}
