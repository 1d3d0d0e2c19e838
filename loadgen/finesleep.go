package loadgen

import (
	"runtime"
	"time"
)

// spinWindow is the last stretch that spinSleep spends checking the clock
// instead of sleeping on a Go timer.
const spinWindow = 100 * time.Microsecond

// spinSleep is the portable form of fineSleep: a Go timer for all but the
// last spinWindow, then a spin that yields the processor between looks at
// the clock. It wakes up about as precisely as nanosleep where Go's timers
// are precise (macOS and Windows wait for timers with sub-millisecond
// resolution), and costs at most spinWindow of CPU per wait, which at
// fineMaxRate waits a second is a tenth of one core at worst.
func spinSleep(d time.Duration) {
	until := time.Now().Add(d)
	if d > spinWindow {
		time.Sleep(d - spinWindow)
	}
	for time.Now().Before(until) {
		runtime.Gosched()
	}
}
