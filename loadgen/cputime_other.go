//go:build !darwin && !dragonfly && !freebsd && !linux && !netbsd && !openbsd && !windows

package loadgen

import "time"

// cpuTime cannot be measured on this platform; the report then shows no CPU
// time rather than a wrong one.
func cpuTime() time.Duration { return 0 }
