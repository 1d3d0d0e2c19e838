package delivery

import (
	"context"
	"time"
)

// DefaultDrain is how long a run with a receiver waits, after the load,
// for outstanding deliveries.
const DefaultDrain = 60 * time.Second

// drainPoll is how often the drain looks at the backlog.
const drainPoll = 10 * time.Millisecond

// Drain waits after the load until every accepted message has arrived, d
// has passed or ctx is done (a signal), calling progress about once a
// second. It returns how long it waited and whether ctx ended it.
func (t *Tracker) Drain(ctx context.Context, d time.Duration, progress func(waited time.Duration, delivered, backlog int64)) (time.Duration, bool) {
	start := time.Now()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	nextReport := start.Add(time.Second)
	for {
		if t.Backlog() <= 0 {
			return time.Since(start), false
		}
		if time.Since(start) >= d {
			return time.Since(start), false
		}
		select {
		case <-ctx.Done():
			return time.Since(start), true
		case now := <-tick.C:
			if progress != nil && !now.Before(nextReport) {
				_, delivered, backlog := t.Counts()
				progress(now.Sub(start), delivered, backlog)
				nextReport = nextReport.Add(time.Second)
			}
		}
	}
}
