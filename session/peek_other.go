//go:build !darwin && !dragonfly && !freebsd && !linux && !netbsd && !openbsd

package session

// peek has no non-blocking MSG_PEEK here (Windows sockets in Go are not in
// non-blocking mode): it waits up to peekWait for a byte instead, see
// peekByDeadline.
func (c *Client) peek() (waiting, closed bool) { return c.peekByDeadline() }
