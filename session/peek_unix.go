//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package session

import "syscall"

// peek asks the kernel, without blocking or consuming anything, whether the
// socket has data or has been closed by the peer. Connections that are not
// sockets (net.Pipe in tests) report neither.
func (c *Client) peek() (waiting, closed bool) {
	if c.raw == nil {
		return false, false
	}
	var buf [1]byte
	var n int
	var err error
	if c.raw.Control(func(fd uintptr) {
		n, _, err = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	}) != nil {
		return false, false
	}
	switch {
	case err == syscall.EAGAIN:
		return false, false
	case err != nil:
		return false, true // reset
	case n == 0:
		return false, true // orderly close
	}
	return true, false
}
