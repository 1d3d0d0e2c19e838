package session

import (
	"io"
	"net"
	"syscall"
	"time"
)

// busyPollConn reads by trying the socket for a short while before it lets
// the goroutine sleep in the network poller. On loopback a reply arrives in
// tens of microseconds, and being woken by the poller costs about as much
// again; with fewer sessions than CPUs that wake-up delay would otherwise be
// a large part of every latency we report and of every round trip we wait
// for. It is the user-space form of the kernel's SO_BUSY_POLL.
type busyPollConn struct {
	net.Conn
	rc     syscall.RawConn
	budget time.Duration
}

// withBusyPoll wraps a TCP connection; other connections (net.Pipe in tests)
// are returned as they are.
func withBusyPoll(c net.Conn, budget time.Duration) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok || budget <= 0 {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &busyPollConn{Conn: c, rc: rc, budget: budget}
}

// busyPollCheck is how many empty reads pass between looks at the clock.
const busyPollCheck = 16

func (c *busyPollConn) Read(p []byte) (int, error) {
	var n int
	var rerr error
	var until time.Time
	tries := 0
	// RawConn.Read calls the function again after the poller reports the
	// socket readable, and applies the read deadline while it waits.
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr == syscall.EINTR {
				continue
			}
			if rerr != syscall.EAGAIN {
				return true
			}
			tries++
			if tries%busyPollCheck == 0 {
				now := time.Now()
				if until.IsZero() {
					until = now.Add(c.budget)
				} else if now.After(until) {
					return false // sleep in the poller
				}
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Addr: c.RemoteAddr(), Err: rerr}
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}
