//go:build linux || freebsd

package loadgen

import (
	"syscall"
	"time"
)

// fineSleep sleeps for d in the kernel, which is late only by the kernel's
// timer slack (see fineWindow). A signal that interrupts the sleep leaves
// the remainder in ts, so the loop sleeps out exactly d.
func fineSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
