package session

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// A 3yz reply to DATA other than 354 means the server is in a state we do
// not know; the session must not be reused.
func TestDataAnsweredWithOther3yzBreaksSession(t *testing.T) {
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: group(1), send: mailOK + rcptOK + rcptOK + "334 what\r\n"}}))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	res := c.Send(testMessage(t, 1, testContent), nil)
	if res.Outcome != OutcomeFailed || c.Err() == nil {
		t.Errorf("outcome %v, session err %v: want failed and broken", res.Outcome, c.Err())
	}
	c.Close()
}

func TestHelloRefusesCRLFInName(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	opts := testOptions()
	opts.Hostname = "x\r\nMAIL FROM:<evil>"
	c := NewClient(a, opts)
	defer c.Close()
	err := c.Hello()
	// The name is refused before anything is read or written: a protocol
	// error at EHLO, not the timeout an unanswered greeting would give.
	checkErr(t, "Hello", err, wantErr{ClassProtocol, PhaseEHLO, 0})
	if c.Err() == nil {
		t.Error("the session is still usable after refusing the name")
	}
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := b.Read(make([]byte, 64)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the client wrote %d bytes (%v); want nothing written", n, err)
	}
}

// A large content is written in chunks, each with its own deadline, so a
// server that reads slowly but steadily is not cut off by --timeout.
func TestSlowReaderGetsDeadlinePerChunk(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		s.(*net.TCPConn).SetReadBuffer(64 << 10)
		s.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64<<10)
		for {
			// About 2 MB/s: 4 MB takes 2 s, twice the client's timeout.
			time.Sleep(30 * time.Millisecond)
			if _, err := s.Read(buf); err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Closed on every way out, the skip included, so the server goroutine
	// ends before the package's leak check looks.
	defer func() {
		conn.Close()
		<-done
	}()
	conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	c := NewClient(conn, Options{Timeout: time.Second})
	c.wbuf = append(c.wbuf[:0], make([]byte, 4<<20)...)
	start := time.Now()
	if _, err := c.flush(PhaseBody); err != nil {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	if time.Since(start) < time.Second {
		t.Skip("the kernel buffered everything; nothing to show on this machine")
	}
}

// The message number goes into the digits at SeqAt, and 8-bit content is
// declared where the server offers 8BITMIME.
func TestSeqAtAndEightBit(t *testing.T) {
	content := "Message-ID: <x.00000000000000000000@y>\r\n\r\nh\xe9llo\r\n"
	wire := "Message-ID: <x.00000000000000000042@y>\r\n\r\nh\xe9llo\r\n.\r\n"
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: "MAIL FROM:<from42@a.test> BODY=8BITMIME\r\n" + rcptCmd(42, 1) + rcptCmd(42, 2) + "DATA\r\n", send: mailOK + rcptOK + rcptOK + dataGo},
		{recv: wire, send: queued}}))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	m := testMessage(t, 42, content)
	m.SeqAt = len("Message-ID: <x.")
	m.EightBit = true
	if res := c.Send(m, nil); res.Outcome != OutcomeOK {
		t.Errorf("Send = %+v", res)
	}
	if !bytes.HasPrefix(m.Data, []byte("Message-ID: <x.00000000000000000000@")) {
		t.Error("Send changed the shared content")
	}
	c.Close()
	srv.check(t)
}
