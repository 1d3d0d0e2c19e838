package sink

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Relay makes the sink a store-and-forward server that misbehaves on
// purpose, deterministically, so that a delivery-tracking run can be
// checked against known answers: each accepted message is held for Hold,
// then forwarded over SMTP to To. Messages are numbered from 1 in the order
// the sink accepted them; with DropEvery N the Nth, 2Nth, … are never
// forwarded (lost after their 250), and with DuplicateEvery N those
// numbered N/2, N/2+N, N/2+2N, … are forwarded twice. 5000 messages with
// both at 50 lose 100 and duplicate 100 (25, 75, …, 4975).
type Relay struct {
	To             string
	Hold           time.Duration
	DropEvery      int
	DuplicateEvery int
	// Connections is how many sessions forward at once; DefaultRelayConnections if zero.
	Connections int
}

// DefaultRelayConnections is how many sessions a relay forwards on.
const DefaultRelayConnections = 16

// relayQueue bounds the messages waiting for their hold to end; a sink
// whose queue is full makes its clients wait, as a real one whose disk is
// full would.
const relayQueue = 1 << 16

type relayItem struct {
	from   string
	to     []string
	data   []byte
	due    time.Time
	copies int
}

type relayer struct {
	cfg   Relay
	n     uint64 // messages numbered so far, under mu
	mu    sync.Mutex
	queue chan *relayItem
	done  chan struct{}
	wg    sync.WaitGroup
}

func newRelayer(cfg Relay, done chan struct{}) *relayer {
	if cfg.Connections <= 0 {
		cfg.Connections = DefaultRelayConnections
	}
	r := &relayer{cfg: cfg, queue: make(chan *relayItem, relayQueue), done: done}
	for range cfg.Connections {
		r.wg.Add(1)
		go r.forward()
	}
	return r
}

// accept numbers an accepted message and queues its copies, if any.
func (r *relayer) accept(from string, to []string, data []byte) {
	r.mu.Lock()
	r.n++
	k := r.n
	r.mu.Unlock()
	copies := 1
	if n := uint64(r.cfg.DropEvery); n > 0 && k%n == 0 {
		return
	}
	if n := uint64(r.cfg.DuplicateEvery); n > 0 && k%n == n/2 {
		copies = 2
	}
	it := &relayItem{from: from, data: bytes.Clone(data), due: time.Now().Add(r.cfg.Hold), copies: copies}
	for _, rc := range to {
		it.to = append(it.to, string(mailPath([]byte(strings.TrimSpace(rc)))))
	}
	select {
	case r.queue <- it:
	case <-r.done:
	}
}

// forward sends queued messages on one session to the next hop when their
// hold ends, dialing again after a failure.
func (r *relayer) forward() {
	defer r.wg.Done()
	var c *relayConn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for {
		var it *relayItem
		select {
		case it = <-r.queue:
		case <-r.done:
			return
		}
		if wait := time.Until(it.due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.done:
				t.Stop()
				return
			}
		}
		for range it.copies {
			for attempt := 0; ; attempt++ {
				if c == nil {
					c, _ = dialRelay(r.cfg.To)
				}
				if c != nil && c.send(it) == nil {
					break
				}
				if c != nil {
					c.close()
					c = nil
				}
				if attempt >= 50 {
					break // the next hop is gone: the message is lost
				}
				select {
				case <-time.After(100 * time.Millisecond):
				case <-r.done:
					return
				}
			}
		}
	}
}

// relayConn is an SMTP client session to the next hop that pipelines the
// envelope (RFC 2920) as MTAs such as Postfix do: MAIL, RCPT and DATA in
// one write, the content and its end in another.
type relayConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// relayTimeout bounds every exchange with the next hop.
const relayTimeout = 30 * time.Second

func dialRelay(addr string) (*relayConn, error) {
	nc, err := net.DialTimeout("tcp", addr, relayTimeout)
	if err != nil {
		return nil, err
	}
	c := &relayConn{nc: nc, br: bufio.NewReader(nc), bw: bufio.NewWriterSize(nc, 32<<10)}
	nc.SetDeadline(time.Now().Add(relayTimeout))
	if err := c.expect(2); err != nil {
		nc.Close()
		return nil, err
	}
	c.bw.WriteString("EHLO smtpbench-relay\r\n")
	if err := c.bw.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.expect(2); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// expect reads one reply, multi-line included, and wants its code to
// start with digit.
func (c *relayConn) expect(digit byte) error {
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return err
		}
		if len(line) < 4 || line[0] != '0'+digit {
			return fmt.Errorf("relay: unexpected reply %q", strings.TrimSpace(line))
		}
		if line[3] != '-' {
			return nil
		}
	}
}

func (c *relayConn) send(it *relayItem) error {
	c.nc.SetDeadline(time.Now().Add(relayTimeout))
	c.bw.WriteString("MAIL FROM:" + bracket(it.from) + "\r\n")
	for _, rc := range it.to {
		c.bw.WriteString("RCPT TO:" + bracket(rc) + "\r\n")
	}
	c.bw.WriteString("DATA\r\n")
	if err := c.bw.Flush(); err != nil {
		return err
	}
	var failed error
	for range 1 + len(it.to) {
		if err := c.expect(2); err != nil && failed == nil {
			failed = err
		}
	}
	if err := c.expect(3); err != nil {
		return err // no 354: the session is out of step or refused
	}
	// Dot-stuff the content (RFC 5321 4.5.2) and end it.
	lineStart := true
	for rest := it.data; len(rest) > 0; {
		if lineStart && rest[0] == '.' {
			c.bw.WriteByte('.')
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			c.bw.Write(rest)
			lineStart = false
			break
		}
		c.bw.Write(rest[:i+1])
		rest = rest[i+1:]
		lineStart = true
	}
	if !lineStart {
		c.bw.WriteString("\r\n")
	}
	c.bw.WriteString(".\r\n")
	if err := c.bw.Flush(); err != nil {
		return err
	}
	if err := c.expect(2); err != nil {
		return err
	}
	return failed
}

func (c *relayConn) close() {
	c.nc.SetDeadline(time.Now().Add(time.Second))
	c.bw.WriteString("QUIT\r\n")
	c.bw.Flush()
	c.nc.Close()
}

// bracket puts an address in angle brackets, once.
func bracket(addr string) string {
	return "<" + strings.Trim(strings.TrimSpace(addr), "<>") + ">"
}
