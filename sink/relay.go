package sink

import (
	"bytes"
	"net/smtp"
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
	var c *smtp.Client
	defer func() {
		if c != nil {
			c.Quit()
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
					var err error
					if c, err = smtp.Dial(r.cfg.To); err != nil {
						c = nil
					}
				}
				if c != nil && send(c, it) == nil {
					break
				}
				if c != nil {
					c.Close()
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

func send(c *smtp.Client, it *relayItem) error {
	from := strings.Trim(it.from, "<>")
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rc := range it.to {
		if err := c.Rcpt(strings.Trim(rc, "<>")); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(it.data); err != nil {
		return err
	}
	return w.Close()
}
