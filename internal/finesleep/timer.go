package finesleep

import (
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Timer waits for instants on behalf of one goroutine at a time, more
// precisely than a Go timer, and any goroutine may interrupt it.
//
// On Linux it is a timerfd that the Go network poller waits on: the wait
// ends within the kernel's timer slack of its instant (tens of
// microseconds) and blocks no OS thread, so it costs no more than a Go
// timer, which the poller wakes for in whole milliseconds and so up to a
// millisecond late. Elsewhere, or where a timerfd cannot be had (out of
// file descriptors), it is a Go timer whose last stretch, when the caller
// asks for it, is spent in Sleep.
type Timer struct {
	fd          *os.File // the timerfd, or nil for the portable timer
	fdBroken    bool     // the timerfd failed: the portable timer waits (only Wait touches it)
	interrupted atomic.Bool

	// The portable timer.
	t        *time.Timer
	stop     chan struct{}
	stopOnce sync.Once
	fine     bool
}

// fineTail is the last stretch before an instant that the portable timer
// spends in Sleep when fine.
const fineTail = 2 * time.Millisecond

// NewTimer returns a Timer on a timerfd where the platform has one, else
// the portable timer (NewGoTimer). A timerfd is a file descriptor: callers
// that make one per session check first that twice as many fit under the
// open-file limit.
func NewTimer(fine bool) *Timer {
	if f, err := newTimerFD(); err == nil {
		return &Timer{fd: f, stop: make(chan struct{}), fine: fine}
	}
	return NewGoTimer(fine)
}

// NewGoTimer returns the portable timer: a Go timer, whose last fineTail
// is spent in Sleep when fine. Sleep blocks an OS thread, which makes the
// runtime hand the goroutine's processor to another thread and take it
// back, costing about as much CPU as sending a message on loopback; callers
// that wait thousands of times a second leave fine off.
func NewGoTimer(fine bool) *Timer {
	t := &Timer{stop: make(chan struct{}), fine: fine, t: time.NewTimer(time.Hour)}
	t.t.Stop()
	return t
}

// Wait waits until the instant at, and says whether it got there: false
// when the timer was interrupted, before or during the wait.
func (t *Timer) Wait(at time.Time) bool {
	if t.interrupted.Load() {
		return false
	}
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	if t.fd != nil && !t.fdBroken {
		if waitTimerFD(t.fd, d) {
			return !t.interrupted.Load()
		}
		if t.interrupted.Load() {
			return false
		}
		// The timerfd failed otherwise (it could not be armed, or the
		// poller could not watch it): the portable timer takes over, for
		// this wait and the next. fd stays, for Interrupt and Close.
		t.fdBroken = true
		t.t = time.NewTimer(time.Hour)
		t.t.Stop()
		return t.Wait(at)
	}
	if coarse := d - fineTail; !t.fine || coarse > 0 {
		if t.fine {
			d = coarse
		}
		t.t.Reset(d)
		select {
		case <-t.t.C:
		case <-t.stop:
			t.t.Stop()
			return false
		}
	}
	if t.fine {
		if rest := time.Until(at); rest > 0 {
			Sleep(rest)
		}
	}
	return !t.interrupted.Load()
}

// Interrupt ends a wait in progress and makes every later one return
// false at once. It may be called from any goroutine, more than once, and
// after Close.
func (t *Timer) Interrupt() {
	t.interrupted.Store(true)
	t.stopOnce.Do(func() { close(t.stop) })
	if t.fd != nil {
		// A deadline in the past ends a read in progress; after Close
		// it is refused, harmlessly.
		_ = t.fd.SetReadDeadline(time.Unix(1, 0))
	}
}

// Close releases the timerfd. The goroutine that waits on the timer calls
// it, once it waits no more.
func (t *Timer) Close() {
	if t.fd != nil {
		t.fd.Close()
	}
}
