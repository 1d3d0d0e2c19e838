package finesleep

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// HasTimerFD says whether NewTimer makes timerfds on this platform.
const HasTimerFD = true

// newTimerFD makes a non-blocking timerfd, which os.NewFile hands to the
// network poller, so that reading it parks the goroutine, not the thread.
func newTimerFD() (*os.File, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "timerfd"), nil
}

// waitTimerFD arms f to expire once after d and waits for the expiry; it
// returns false when the read ends otherwise (Interrupt's deadline).
func waitTimerFD(f *os.File, d time.Duration) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	var setErr error
	if err := rc.Control(func(fd uintptr) { setErr = unix.TimerfdSettime(int(fd), 0, &spec, nil) }); err != nil || setErr != nil {
		return false
	}
	var buf [8]byte // the expirations since the last read
	_, err = f.Read(buf[:])
	return err == nil
}
