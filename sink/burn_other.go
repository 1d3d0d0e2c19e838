//go:build !linux

package sink

import "time"

var burnEpoch = time.Now()

// cpuMark falls back to the wall clock where no thread CPU clock is read: a
// busy machine that takes the processor away mid-way then shortens the
// work.
func cpuMark() (int, time.Duration) { return 0, time.Since(burnEpoch) }
