//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

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

	// The state of the read in progress lives here, and readFn is bound
	// once, so that a read allocates no closure.
	p      []byte
	n      int
	err    error
	tries  int
	until  time.Time
	readFn func(fd uintptr) bool
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
	b := &busyPollConn{Conn: c, rc: rc, budget: budget}
	b.readFn = b.tryRead
	return b
}

// busyPollCheck is how many empty reads pass between looks at the clock.
const busyPollCheck = 16

func (c *busyPollConn) Read(p []byte) (int, error) {
	c.p, c.n, c.err, c.tries, c.until = p, 0, nil, 0, time.Time{}
	// RawConn.Read calls readFn again after the poller reports the socket
	// readable, and applies the read deadline while it waits.
	err := c.rc.Read(c.readFn)
	c.p = nil
	switch {
	case err != nil:
		return 0, err
	case c.err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Addr: c.RemoteAddr(), Err: c.err}
	case c.n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return c.n, nil
}

// tryRead reads until data, EOF or an error, or until the spin budget is
// spent; false sends the goroutine to sleep in the poller.
func (c *busyPollConn) tryRead(fd uintptr) bool {
	for {
		c.n, c.err = syscall.Read(int(fd), c.p)
		if c.err == syscall.EINTR {
			continue
		}
		if c.err != syscall.EAGAIN {
			return true
		}
		c.n, c.err = 0, nil
		c.tries++
		if c.tries%busyPollCheck == 0 {
			now := time.Now()
			if c.until.IsZero() {
				c.until = now.Add(c.budget)
			} else if now.After(c.until) {
				return false
			}
		}
	}
}
