//go:build !linux

package sink

import "time"

// workClock falls back to the wall clock where no thread CPU clock is read:
// a busy machine that takes the processor away mid-way then shortens the
// work.
type workClock struct{ start time.Time }

func newWorkClock() workClock { return workClock{start: time.Now()} }

func (c workClock) spent() time.Duration { return time.Since(c.start) }
