// Package loadgen runs a benchmark: a pool of workers, each owning one SMTP
// session and its own recorder, paced as a closed loop or an open-model
// schedule, stopped by a message count, a duration or a signal. It knows
// nothing about output formats; it returns a report.Result.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"time"

	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/session/message"
)

// Defaults the CLI shows as flag defaults.
const (
	DefaultConcurrency = 10
	DefaultGrace       = 5 * time.Second
	// DefaultBusyPoll is how long a session's reads spin on the socket
	// before sleeping, when sessions are at most half the CPUs.
	DefaultBusyPoll = 50 * time.Microsecond
	// MaxWeight bounds a target's weight, which keeps the dialing
	// schedule (one entry per unit of weight) small.
	MaxWeight = 1000
)

// Arrival chooses how open-model messages are spaced.
type Arrival uint8

const (
	ArrivalConstant Arrival = iota
	ArrivalPoisson
)

// Config describes a run; zero fields mean the defaults above.
type Config struct {
	Target string // host:port or unix:/path; see Targets
	// Targets, when set, are the servers sessions are spread over, each
	// dialed by its weight; Target, if also set, is one more of weight 1.
	Targets     []Target
	Concurrency int
	Messages    int64         // total messages; 0 = no limit
	Duration    time.Duration // 0 = no limit
	PerConn     int           // messages per connection; 0 = unlimited reuse
	// Mail makes every message: envelope, size and content (see
	// session/message). When nil, Validate prepares one from Rcpts and
	// Data: Data (raw content, encoded for the wire once) for every
	// message, or the default generated message when Data is nil too.
	Mail  *message.Set
	Rcpts int
	Data  []byte
	// SourceAddrs, when set, are local addresses sessions connect from,
	// taken in turn (session.Options.SourceAddr).
	SourceAddrs []netip.Addr
	Session     session.Options

	// SeqOffset and SeqStride number messages offset+1, offset+1+stride,
	// offset+1+2·stride… ({n} in addresses, the Message-ID), so generators
	// that split one job never reuse each other's numbers. Zero stride is 1.
	SeqOffset, SeqStride uint64

	Rate    float64 // messages per second; 0 = closed loop
	Arrival Arrival
	Warmup  time.Duration
	Ramp    time.Duration
	Grace   time.Duration // how long in-flight messages may take after a stop
	// BusyPoll: 0 picks DefaultBusyPoll when Concurrency is at most half the
	// CPUs (a spinning session then never takes a CPU another session or a
	// local server needs), and off otherwise; negative is off; positive is
	// used as given.
	BusyPoll time.Duration

	// InProcessServer says the server runs in this process (the built-in
	// sink): the generator's CPU and scheduling figures then include the
	// server's work, and its warnings say so.
	InProcessServer bool

	// Progress, if set, is called about once a second from its own goroutine.
	Progress func(Progress)
	// TraceSessions sessions, the first ones dialed, print their
	// conversation to TraceTo (see session.Options.Trace).
	TraceSessions int
	TraceTo       io.Writer
}

// Target is one server and its share of the sessions.
type Target struct {
	Addr   string // host:port or unix:/path
	Weight int    // relative share of the sessions dialed; 1 if zero
}

// Progress is a live snapshot for the progress line.
type Progress struct {
	Elapsed      time.Duration
	OK, Failed   int64 // rejected included in Failed for the live view
	Rate         float64
	P50, P99     time.Duration // message latency over the last complete second
	OpenSessions int64
}

// Validate fills defaults and checks the combination.
func (c *Config) Validate() error {
	if c.Target != "" {
		c.Targets = append([]Target{{Addr: c.Target, Weight: 1}}, c.Targets...)
		c.Target = ""
	}
	if len(c.Targets) == 0 {
		return errors.New("no target")
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		if t.Weight == 0 {
			t.Weight = 1
		}
		if t.Addr == "" || t.Weight < 0 || t.Weight > MaxWeight {
			return fmt.Errorf("target %q weight %d: want an address and a weight from 1 to %d", t.Addr, t.Weight, MaxWeight)
		}
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Concurrency < 0 {
		return fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency)
	}
	if c.Mail == nil {
		spec := message.Spec{Rcpts: message.Range{Min: c.Rcpts, Max: c.Rcpts}, Data: c.Data}
		if c.Rcpts == 0 {
			spec.Rcpts = message.Range{}
		}
		var err error
		if c.Mail, err = message.Prepare(spec); err != nil {
			return err
		}
	}
	if c.Messages < 0 || c.Duration < 0 || c.PerConn < 0 || c.Rate < 0 || c.Warmup < 0 || c.Ramp < 0 {
		return errors.New("counts, durations and rates must not be negative")
	}
	if c.Messages == 0 && c.Duration == 0 {
		return errors.New("give a message count or a duration")
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.SeqStride == 0 {
		c.SeqStride = 1
	}
	switch {
	case c.BusyPoll == 0 && c.Concurrency*2 <= runtime.GOMAXPROCS(0):
		c.Session.BusyPoll = DefaultBusyPoll
	case c.BusyPoll > 0:
		c.Session.BusyPoll = c.BusyPoll
	default:
		c.Session.BusyPoll = 0
	}
	return nil
}
