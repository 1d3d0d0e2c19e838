//go:build linux || freebsd

package finesleep

import (
	"syscall"
	"time"
)

// Sleep sleeps for d in the kernel, which is late only by the kernel's
// timer slack (a few tens of microseconds). A signal that interrupts the sleep leaves
// the remainder in ts, so the loop sleeps out exactly d.
func Sleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
