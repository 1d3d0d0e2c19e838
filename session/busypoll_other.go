//go:build !darwin && !dragonfly && !freebsd && !linux && !netbsd && !openbsd

package session

import (
	"net"
	"time"
)

// withBusyPoll returns the connection as it is: without a non-blocking read
// on the raw socket there is nothing to spin on, so every read waits in the
// network poller. Replies arrive the same, only a wake-up later.
func withBusyPoll(c net.Conn, budget time.Duration) net.Conn { return c }
