package sink

import (
	"hash/crc32"
	"runtime"
	"time"
)

// burnSlice is how much work runs between two readings of the clock: long
// enough that reading it costs little, short enough that the last slice
// overshoots by little.
const burnSlice = 20 * time.Microsecond

// burnCPU keeps one processor busy for d of this thread's CPU time. The
// work is a checksum over a small buffer, in slices of about burnSlice; the
// slice's length in rounds follows the speed measured so far.
func burnCPU(d time.Duration) {
	// The thread clock must be the one the work runs on.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	clock := newWorkClock()
	var buf [256]byte
	sum := uint32(0)
	rounds, done := 1, 0
	for {
		spent := clock.spent()
		if spent >= d {
			break
		}
		if done > 0 && spent > 0 {
			perRound := spent / time.Duration(done)
			rounds = int(min(burnSlice, d-spent) / max(perRound, 1))
			rounds = max(rounds, 1)
		}
		for range rounds {
			sum = crc32.Update(sum, crc32.IEEETable, buf[:])
			buf[sum%uint32(len(buf))]++
		}
		done += rounds
	}
	burnSink = sum
}

// burnSink keeps the compiler from dropping the work.
var burnSink uint32
