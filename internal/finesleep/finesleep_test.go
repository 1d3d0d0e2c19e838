package finesleep

import (
	"runtime"
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

// Each kind of Timer this platform can have must never end a wait early,
// must end a wait in progress when interrupted, and after that refuse
// every wait at once.
func TestTimer(t *testing.T) {
	kinds := map[string]func() *Timer{
		"platform": func() *Timer { return NewTimer(false) },
		// A timerfd that fails (here: closed under it) hands over to
		// the portable timer instead of ending every wait at once.
		"failing timerfd": func() *Timer {
			tm := NewTimer(false)
			if tm.fd != nil {
				tm.fd.Close()
			}
			return tm
		},
		"portable":      func() *Timer { return NewGoTimer(false) },
		"portable fine": func() *Timer { return NewGoTimer(true) },
	}
	if runtime.GOOS == "linux" && NewTimer(false).fd == nil {
		t.Error("no timerfd on Linux")
	}
	for name, mk := range kinds {
		tm := mk()
		for _, d := range []time.Duration{0, 50 * time.Microsecond, time.Millisecond, 3 * time.Millisecond} {
			t0 := time.Now()
			if !tm.Wait(t0.Add(d)) {
				t.Errorf("%s: wait of %v interrupted", name, d)
			}
			if got := time.Since(t0); got < d || got > d+time.Second {
				t.Errorf("%s: wait of %v took %v", name, d, got)
			}
		}
		done := make(chan bool)
		go func() { done <- tm.Wait(time.Now().Add(time.Hour)) }()
		time.Sleep(20 * time.Millisecond)
		tm.Interrupt()
		select {
		case ok := <-done:
			if ok {
				t.Errorf("%s: an interrupted wait says it got there", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Interrupt did not end the wait", name)
		}
		t0 := time.Now()
		if tm.Wait(time.Now().Add(time.Hour)) || time.Since(t0) > time.Second {
			t.Errorf("%s: a wait after Interrupt must return false at once", name)
		}
		tm.Close()
		tm.Interrupt() // after Close: harmless
	}
}
