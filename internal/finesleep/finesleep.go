// Package finesleep waits more precisely than a Go timer, which on Linux
// can wake up to a millisecond late. Sleep sleeps in the kernel where the
// platform offers nanosleep to Go, by a timer and a short spin elsewhere;
// it blocks an OS thread for the whole sleep, so callers keep it for short
// waits. Timer waits for instants without blocking a thread where the
// platform has a timerfd (Linux).
package finesleep

import (
	"runtime"
	"time"
)

// spinWindow is the last stretch that Spin spends checking the clock
// instead of sleeping on a Go timer.
const spinWindow = 100 * time.Microsecond

// Spin is the portable form of Sleep: a Go timer for all but the
// last spinWindow, then a spin that yields the processor between looks at
// the clock. It wakes up about as precisely as nanosleep where Go's timers
// are precise (macOS and Windows wait for timers with sub-millisecond
// resolution), and costs at most spinWindow of CPU per wait, which at
// the callers' rate of waits (a thousand a second) is a tenth of one core at worst.
func Spin(d time.Duration) {
	until := time.Now().Add(d)
	if d > spinWindow {
		time.Sleep(d - spinWindow)
	}
	for time.Now().Before(until) {
		runtime.Gosched()
	}
}
