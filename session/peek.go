package session

import (
	"errors"
	"os"
	"time"
)

// peekWait is how long peekByDeadline waits for a byte that is not there.
// The idle check runs only after a session has sat unused for a while
// (loadgen checks after 100 ms), so this is a small share of idle time.
const peekWait = time.Millisecond

// peekByDeadline is the portable form of peek: it reads into the reply
// buffer under a short read deadline. A byte that arrives stays buffered for
// ClosedWhileIdle to read as a reply; a close or reset shows at once as EOF
// or an error; a quiet connection times out and reports neither, as the
// kernel peek does. It costs up to peekWait per check and, unlike MSG_PEEK,
// it moves what it finds into the buffer, which is where the caller looks
// next anyway.
func (c *Client) peekByDeadline() (waiting, closed bool) {
	if c.raw == nil {
		return false, false
	}
	if tc, ok := c.conn.(*traceConn); ok {
		// A quiet connection is not worth a line in the trace.
		tc.peeking = true
		defer func() { tc.peeking = false }()
	}
	c.conn.SetReadDeadline(time.Now().Add(peekWait))
	// The deadline in force is no longer the one c.rdl remembers: forget it
	// so the next read sets its own.
	c.rdl = time.Time{}
	err := c.rr.fill()
	switch {
	case err == nil:
		return true, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, false
	}
	return false, true // orderly close (EOF) or reset
}
