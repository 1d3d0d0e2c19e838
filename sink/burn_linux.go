//go:build linux

package sink

import (
	"time"

	"golang.org/x/sys/unix"
)

// workClock reads the calling thread's CPU clock: time on a processor,
// not on the wall.
type workClock struct{ start time.Duration }

func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func newWorkClock() workClock { return workClock{start: threadCPU()} }

func (c workClock) spent() time.Duration { return threadCPU() - c.start }
