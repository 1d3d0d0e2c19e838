//go:build linux

package sink

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID of clock_gettime(2).
const clockThreadCPUTime = 3

// cpuMark returns the calling thread's ID and its CPU clock: time on a
// processor, not on the wall, so a busy machine that takes the processor
// away mid-way does not shorten the work. Both are read by raw system
// calls: through the runtime's ordinary path each call would let the
// scheduler hand our processor to a new thread, whose spinning would cost
// CPU beyond the work asked for.
func cpuMark() (int, time.Duration) {
	tid, _, _ := syscall.RawSyscall(syscall.SYS_GETTID, 0, 0, 0)
	var ts syscall.Timespec
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return -1, 0
	}
	return int(tid), time.Duration(ts.Nano())
}
