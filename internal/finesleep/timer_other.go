//go:build !linux

package finesleep

import (
	"errors"
	"os"
	"time"
)

// HasTimerFD says whether NewTimer makes timerfds on this platform.
const HasTimerFD = false

var errNoTimerFD = errors.New("no timerfd on this platform")

// newTimerFD: only Linux has timerfd; the Timer uses the portable timer.
func newTimerFD() (*os.File, error) { return nil, errNoTimerFD }

func waitTimerFD(*os.File, time.Duration) bool { return false }
