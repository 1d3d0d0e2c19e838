//go:build linux

package sink

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID of clock_gettime(2).
const clockThreadCPUTime = 3

// workClock reads the calling thread's CPU clock: time on a processor,
// not on the wall.
type workClock struct{ start time.Duration }

// threadCPU reads the clock by a raw system call: through the runtime's
// ordinary path each call would let the scheduler hand our processor to a
// new thread, whose spinning would cost CPU beyond the work asked for.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

func newWorkClock() workClock { return workClock{start: threadCPU()} }

func (c workClock) spent() time.Duration { return threadCPU() - c.start }
