package session

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// loopbackConns returns both ends of a real TCP connection on loopback,
// closed at cleanup.
func loopbackConns(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// tcpPair returns a Client over a real loopback connection and the server
// side of it.
func tcpPair(t *testing.T, opts Options) (*Client, *net.TCPConn) {
	t.Helper()
	c, s := loopbackConns(t)
	return NewClient(c, opts), s.(*net.TCPConn)
}

// Both idle checks, the kernel peek of this platform and the portable one
// other platforms use, must tell the same things apart: nothing, a reply
// nobody asked for, an orderly close and a reset.
func TestIdlePeek(t *testing.T) {
	peeks := []struct {
		name string
		peek func(*Client) (bool, bool)
	}{
		{"platform", (*Client).peek},
		{"deadline", (*Client).peekByDeadline},
	}
	for _, p := range peeks {
		for _, tc := range []struct {
			name            string
			server          func(s *net.TCPConn)
			waiting, closed bool
		}{
			{"quiet", func(*net.TCPConn) {}, false, false},
			{"421", func(s *net.TCPConn) { s.Write([]byte("421 4.4.2 idle too long\r\n")) }, true, false},
			{"close", func(s *net.TCPConn) { s.Close() }, false, true},
			{"reset", func(s *net.TCPConn) { s.SetLinger(0); s.Close() }, false, true},
		} {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				c, s := tcpPair(t, Options{Timeout: 5 * time.Second})
				tc.server(s)
				// What the server did reaches our socket within moments;
				// poll a bounded number of times for it.
				var waiting, closed bool
				for i := 0; i < 200; i++ {
					if waiting, closed = p.peek(c); waiting || closed {
						break
					}
					if tc.name == "quiet" && i == 10 {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				if waiting != tc.waiting || closed != tc.closed {
					t.Fatalf("peek = waiting %v, closed %v; want %v, %v", waiting, closed, tc.waiting, tc.closed)
				}
				if tc.waiting && !c.ClosedWhileIdle() {
					t.Fatal("ClosedWhileIdle did not end the session on an unasked reply")
				}
				if tc.waiting && !strings.Contains(c.Err().Error(), "idle too long") {
					t.Fatalf("session error %v does not carry the reply", c.Err())
				}
			})
		}
	}
}

// The portable check shortens the read deadline; a reply after it must
// still get the full per-reply timeout, and a trace must not show the
// check's timeout as an event.
func TestPeekByDeadlineLeavesSessionUsable(t *testing.T) {
	var trace bytes.Buffer
	c, s := tcpPair(t, Options{Timeout: 5 * time.Second, Trace: NewTraceWriter(&trace)})
	for i := 0; i < 3; i++ {
		if waiting, closed := c.peekByDeadline(); waiting || closed {
			t.Fatalf("quiet connection: waiting %v, closed %v", waiting, closed)
		}
	}
	go func() {
		time.Sleep(20 * time.Millisecond) // well past peekWait
		s.Write([]byte("250 2.0.0 ok\r\n"))
	}()
	c.last = time.Now() // as a flush of the next command would
	r, err := c.readReply(PhaseMail, c.last, nil)
	if err != nil || r.Code != CodeOK {
		t.Fatalf("reply after idle checks: %v %v", r.Code, err)
	}
	if strings.Contains(trace.String(), "timeout") {
		t.Fatalf("trace shows the idle check:\n%s", trace.String())
	}
	if !strings.Contains(trace.String(), "250 2.0.0 ok") {
		t.Fatalf("trace lacks the reply:\n%s", trace.String())
	}
}
