package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

// traceContentLines is how many content lines a trace shows before it
// summarises the rest as a byte count.
const traceContentLines = 4

// TraceWriter serialises trace lines from several sessions onto one writer.
// Only traced sessions take its lock, so tracing the first few sessions does
// not slow down the others.
type TraceWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewTraceWriter returns a TraceWriter on w.
func NewTraceWriter(w io.Writer) *TraceWriter { return &TraceWriter{w: w} }

func (t *TraceWriter) line(id int64, dir string, text []byte) {
	t.mu.Lock()
	fmt.Fprintf(t.w, "[%d] %s %s\n", id, dir, text)
	t.mu.Unlock()
}

// traceConn logs what passes through a connection, one SMTP line at a time:
// "C:" for what we send, "S:" for what the server sends. Content after DATA
// is shown for a few lines and then counted. AUTH's arguments and every
// line we send while the server keeps challenging (334) show as
// <redacted>: they carry the credentials. Above a TLS layer it shows the
// decrypted conversation, with a "--" line for the handshake.
type traceConn struct {
	net.Conn
	t        *TraceWriter
	id       int64
	out, in  []byte // partial lines
	inData   bool   // the server sent 354: what we write next is message content
	inAuth   bool   // we sent AUTH and no final reply has come: our lines are credentials
	dataLine int
	dataHide int64
	peeking  bool // an idle check is reading: its timeout is no event
}

func newTraceConn(c net.Conn, t *TraceWriter, id int64) net.Conn {
	return &traceConn{Conn: c, t: t, id: id}
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.peeking && n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, err
	}
	c.in = append(c.in, p[:n]...)
	for {
		i := bytes.IndexByte(c.in, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimRight(c.in[:i], "\r")
		c.t.line(c.id, "S:", line)
		// Content follows only a 354: a refused DATA must not turn the
		// next commands into hidden "content".
		if bytes.HasPrefix(line, []byte("354")) {
			c.inData = true
		}
		if c.inAuth && !bytes.HasPrefix(line, []byte("334")) {
			c.inAuth = false
		}
		c.in = c.in[i+1:]
	}
	if len(c.in) > readBufferSize {
		// The reply reader refuses such a line; the trace must not buffer
		// an endless one either.
		c.t.line(c.id, "S:", fmt.Appendf(nil, "%s [... line longer than %d octets]", c.in[:80], readBufferSize))
		c.in = c.in[:0]
	}
	if err != nil && len(c.in) > 0 {
		c.t.line(c.id, "S:", append(c.in, " [incomplete line]"...))
		c.in = nil
	}
	if err != nil && err != io.EOF {
		c.t.line(c.id, "--", []byte(err.Error()))
	} else if err == io.EOF {
		c.t.line(c.id, "--", []byte("connection closed by server"))
	}
	return n, err
}

func (c *traceConn) Write(p []byte) (int, error) {
	c.out = append(c.out, p...)
	for {
		i := bytes.IndexByte(c.out, '\n')
		if i < 0 {
			break
		}
		c.logOut(bytes.TrimRight(c.out[:i], "\r"), int64(i+1))
		c.out = c.out[i+1:]
	}
	if len(c.out) > readBufferSize && c.inData {
		// A long content line: count it without keeping it.
		c.dataHide += int64(len(c.out))
		c.out = c.out[:0]
	}
	return c.Conn.Write(p)
}

func (c *traceConn) logOut(line []byte, size int64) {
	if c.inData {
		if len(line) == 1 && line[0] == '.' {
			if c.dataHide > 0 {
				c.t.line(c.id, "C:", fmt.Appendf(nil, "[... %d more bytes of content]", c.dataHide))
			}
			c.t.line(c.id, "C:", line)
			c.inData, c.dataLine, c.dataHide = false, 0, 0
			return
		}
		c.dataLine++
		if c.dataLine > traceContentLines {
			c.dataHide += size
			return
		}
		c.t.line(c.id, "C:", line)
		return
	}
	if c.inAuth {
		c.t.line(c.id, "C:", []byte(redacted))
		return
	}
	if len(line) >= 5 && bytes.EqualFold(line[:5], []byte("AUTH ")) {
		// Show the mechanism, never the credentials.
		c.inAuth = true
		if sp := bytes.IndexByte(line[5:], ' '); sp >= 0 {
			line = append(append([]byte{}, line[:5+sp]...), " "+redacted...)
		}
	}
	c.t.line(c.id, "C:", line)
}

// note adds a line about the connection itself.
func (c *traceConn) note(s string) { c.t.line(c.id, "--", []byte(s)) }

func (c *traceConn) Close() error {
	c.t.line(c.id, "--", []byte("connection closed"))
	return c.Conn.Close()
}
