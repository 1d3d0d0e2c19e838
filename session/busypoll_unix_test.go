//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package session

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// loopbackPair returns a busy-polling client side and the raw server side of
// a real TCP connection.
func loopbackPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	c, s := loopbackConns(t)
	bp := withBusyPoll(c, 50*time.Microsecond)
	if _, ok := bp.(*busyPollConn); !ok {
		t.Fatal("a TCP connection was not wrapped")
	}
	return bp, s
}

func TestBusyPollReads(t *testing.T) {
	c, s := loopbackPair(t)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	// Data that arrives within the spin, and data that arrives after the
	// reader went to sleep in the poller.
	for _, delay := range []time.Duration{0, 20 * time.Millisecond} {
		go func() {
			time.Sleep(delay)
			s.Write([]byte("250 ok\r\n"))
		}()
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "250 ok\r\n" {
			t.Fatalf("delay %s: read %q, %v", delay, buf[:n], err)
		}
	}
	// The read deadline still applies.
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	_, err := c.Read(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("deadline: %v after %s", err, time.Since(start))
	}
	// An orderly close reads as EOF.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	s.Close()
	if _, err := c.Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("after close: %v, want EOF", err)
	}
}

func TestBusyPollLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if withBusyPoll(a, time.Millisecond) != a {
		t.Error("a pipe was wrapped")
	}
	c, _ := loopbackPair(t)
	if _, ok := withBusyPoll(c.(*busyPollConn).Conn, 0).(*busyPollConn); ok {
		t.Error("a zero budget still wrapped the connection")
	}
}
