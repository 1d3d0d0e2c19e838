package sink

import (
	"hash/crc32"
	"time"
)

// burnSlice is how much work runs between two readings of the clock: long
// enough that reading it costs little, short enough that the last slice
// overshoots by little.
const burnSlice = 50 * time.Microsecond

// burnCPU keeps one processor busy for d of CPU time. The work is a
// checksum over a small buffer, in slices of about burnSlice, each timed on
// the CPU clock of the thread it ran on (see cpuMark). A slice during which
// the goroutine moved to another thread (after the scheduler preempted it)
// is not counted, so it is done again: the total is never short. Pinning
// the goroutine to its thread instead would make each preemption of a busy
// server a hand-off between threads, whose cost would be charged to the
// server on top of d.
func burnCPU(d time.Duration) {
	var buf [256]byte
	sum := uint32(0)
	rounds := 1
	// banked is the work done on threads the goroutine has left; the
	// current thread's share is read from its clock since start, in one
	// piece, so the time spent reading the clock is counted too.
	var banked, onThread time.Duration
	tid, start := cpuMark()
	for banked+onThread < d {
		for range rounds {
			sum = crc32.Update(sum, crc32.IEEETable, buf[:])
			buf[sum%uint32(len(buf))]++
		}
		now, at := cpuMark()
		if now != tid || at < start {
			// Moved to another thread: what was read on the old one
			// stays; the slice in between is done again.
			banked += onThread
			tid, start, onThread = now, at, 0
			continue
		}
		prev := onThread
		onThread = at - start
		// Size the next slice from this one's speed.
		perRound := max((onThread-prev)/time.Duration(rounds), 1)
		rounds = max(1, int(min(burnSlice, d-banked-onThread)/perRound))
	}
	burnSink = sum
}

// burnSink keeps the compiler from dropping the work.
var burnSink uint32
