package sink

import (
	"hash/crc32"
	"runtime"
	"time"
)

// burnCPU keeps one processor busy for d of this thread's CPU time. The
// work is a checksum over a small buffer, in slices of a few microseconds
// between readings of the clock, so the overshoot is at most one slice.
func burnCPU(d time.Duration) {
	// The thread clock must be the one the work runs on.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	clock := newWorkClock()
	var buf [512]byte
	sum := uint32(0)
	for clock.spent() < d {
		for range 8 {
			sum = crc32.Update(sum, crc32.IEEETable, buf[:])
		}
		buf[0] = byte(sum)
	}
	burnSink = sum
}

// burnSink keeps the compiler from dropping the work.
var burnSink uint32
