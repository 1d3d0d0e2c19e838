//go:build !linux && !freebsd

package finesleep

import "time"

// Sleep has no nanosleep here (the standard library offers it only on
// Linux and the BSDs, and on macOS only through libc): it sleeps on a Go
// timer and spins out the rest.
func Sleep(d time.Duration) { Spin(d) }
