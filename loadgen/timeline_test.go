package loadgen

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
)

// fillSecond records a second of a busy run in sh: 2000 messages over a
// spread of latencies, as a soak test at 2000 messages/s gives.
func fillSecond(sh *shard, k int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	agg := sh.interval(k)
	for i := range 40 {
		agg.h.RecordValues(int64(300+37*i+k%97), 50)
	}
	agg.ok += 1990
	agg.failed += 10
}

// A long run keeps a bounded timeline: the detail window stays within a
// minute of its size,
// older seconds fold into minutes with their counts intact, every second
// still goes to OnSecond in order, and a day's JSON timeline stays well
// under 5 MB (measured over 15 minutes and extrapolated row by row, since a
// day of seconds takes too long under the race detector).
func TestTimelineStaysBounded(t *testing.T) {
	const secs = 900
	sh := newShard(false)
	var streamed int
	var streamedMsgs int64
	// A shorter window than the default keeps the test quick; the day's
	// size below is reckoned with the default one.
	const window = 300
	tl := newTimeline([]*shard{sh}, time.Now(), window*time.Second, func(iv report.Interval) {
		if iv.T != streamed {
			t.Fatalf("second %d streamed after %d", iv.T, streamed-1)
		}
		streamed++
		streamedMsgs += iv.OK + iv.Failed
	})
	for k := range secs {
		fillSecond(sh, k)
		tl.finalize(k + 1)
		// Whole minutes fold: the window holds up to a minute more.
		if len(tl.detail) >= window+coarseLength || len(tl.minutes) > window/coarseLength+1 {
			t.Fatalf("second %d: %d seconds and %d minute rows held, want fewer than %d and at most %d", k, len(tl.detail), len(tl.minutes), window+coarseLength, window/coarseLength+1)
		}
	}
	rows := tl.intervals(secs * time.Second)
	if streamed != secs || streamedMsgs != secs*2000 {
		t.Fatalf("streamed %d seconds, %d messages", streamed, streamedMsgs)
	}
	var total int64
	var coarseBytes, detailBytes, coarse int
	at := 0
	for _, iv := range rows {
		if iv.T != at {
			t.Fatalf("row at %d, want %d", iv.T, at)
		}
		at += max(1, iv.Length)
		total += iv.OK + iv.Failed
		res := &report.Result{Elapsed: secs * time.Second, Total: metrics.NewRecorder(false), Intervals: []report.Interval{iv}}
		b, err := json.Marshal(report.BuildJSON(res).Intervals[0])
		if err != nil {
			t.Fatal(err)
		}
		if iv.Length > 1 {
			coarse++
			coarseBytes += len(b) + 6 // indentation and separators
		} else {
			detailBytes += len(b) + 6
		}
	}
	if total != secs*2000 || at != secs {
		t.Fatalf("rows hold %d messages over %d s, want %d over %d", total, at, secs*2000, secs)
	}
	if len(rows) != window+(secs-window)/coarseLength {
		t.Errorf("%d rows for %d s: want %d seconds and %d folded minutes", len(rows), secs, window, (secs-window)/coarseLength)
	}
	full := int(DefaultDetailWindow / time.Second)
	day := full*detailBytes/window + (86400-full)/coarseLength*coarseBytes/coarse
	t.Logf("timeline: %d detail seconds = %d bytes, %d folded minutes = %d bytes; a day's timeline with the default window about %.2f MB", window, detailBytes, coarse, coarseBytes, float64(day)/1e6)
	if day > 4<<20 {
		t.Errorf("a day's timeline would take %d bytes: the result would pass 5 MB", day)
	}
}
