package finesleep

import (
	"testing"
	"time"
)

// Both fine sleeps, this platform's and the portable one, must never wake
// early; how late they wake depends on the machine, so only a generous
// bound is checked.
func TestFineSleepNeverEarly(t *testing.T) {
	for _, s := range []struct {
		name  string
		sleep func(time.Duration)
	}{{"platform", Sleep}, {"spin", Spin}} {
		for _, d := range []time.Duration{0, 50 * time.Microsecond, spinWindow, time.Millisecond, 2 * time.Millisecond} {
			t0 := time.Now()
			s.sleep(d)
			if got := time.Since(t0); got < d || got > d+time.Second {
				t.Errorf("%s(%v) slept %v", s.name, d, got)
			}
		}
	}
}
