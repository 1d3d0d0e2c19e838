package sink

import (
	"testing"
	"time"
)

// TestCloseEndsPreciseSleep: Close must end a delay in progress on a
// precise timer, not leave the session's goroutine to sleep it out, and
// release the idle timers.
func TestCloseEndsPreciseSleep(t *testing.T) {
	s, err := Listen("127.0.0.1:0", Config{})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(preciseMax)
	done := make(chan struct{})
	go func() {
		s.sleep(preciseMax)
		close(done)
	}()
	// Close once the sleep holds its timer (within the delay: it takes
	// one at once).
	for taken := false; !taken; {
		s.mu.Lock()
		taken = len(s.timers) > 0
		s.mu.Unlock()
		if time.Now().After(until) {
			t.Fatal("the sleep never took a precise timer")
		}
		time.Sleep(time.Millisecond)
	}
	s.Close()
	<-done
	if !time.Now().Before(until) {
		t.Errorf("the sleep ran to its end after Close")
	}
	if n := len(s.precise); n != 0 {
		t.Errorf("%d precise timers still idle after Close", n)
	}
}
