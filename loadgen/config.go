// Package loadgen runs a benchmark: a pool of workers, each owning one SMTP
// session and its own recorder, paced as a closed loop or an open-model
// schedule, stopped by a message count, a duration or a signal. It knows
// nothing about output formats; it returns a report.Result.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/smtpbench/smtpbench/session"
)

// Defaults the CLI shows as flag defaults.
const (
	DefaultConcurrency = 10
	DefaultRcpts       = 1
	DefaultSize        = 1000
	DefaultFrom        = "bench{n}@example.com"
	DefaultTo          = "user{n}.{r}@example.net"
	DefaultGrace       = 5 * time.Second
	// DefaultBusyPoll is how long a session's reads spin on the socket
	// before sleeping, when sessions are at most half the CPUs.
	DefaultBusyPoll = 50 * time.Microsecond
	// MaxRcpts keeps a pipelined group's replies well inside the socket
	// buffers, so writing a group can never deadlock against unread replies
	// (RFC 2920 3.1 advice on group size).
	MaxRcpts = 1000
)

// Arrival chooses how open-model messages are spaced.
type Arrival uint8

const (
	ArrivalConstant Arrival = iota
	ArrivalPoisson
)

// Config describes a run; zero fields mean the defaults above.
type Config struct {
	Target      string // host:port
	Concurrency int
	Messages    int64         // total messages; 0 = no limit
	Duration    time.Duration // 0 = no limit
	PerConn     int           // messages per connection; 0 = unlimited reuse
	Rcpts       int
	From, To    *session.Template
	Data        []byte // message content in wire form (session.EncodeData)
	DataSeqAt   int    // see session.Message.SeqAt
	EightBit    bool   // see session.Message.EightBit
	Session     session.Options

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

	// Progress, if set, is called about once a second from its own goroutine.
	Progress func(Progress)
	// TraceSessions sessions, the first ones dialed, print their
	// conversation to TraceTo (see session.Options.Trace).
	TraceSessions int
	TraceTo       io.Writer
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
	if c.Target == "" {
		return errors.New("no target")
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Concurrency < 0 {
		return fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency)
	}
	if c.Rcpts == 0 {
		c.Rcpts = DefaultRcpts
	}
	if c.Rcpts < 0 || c.Rcpts > MaxRcpts {
		return fmt.Errorf("rcpts %d: must be 1 to %d", c.Rcpts, MaxRcpts)
	}
	if c.Messages < 0 || c.Duration < 0 || c.PerConn < 0 || c.Rate < 0 || c.Warmup < 0 || c.Ramp < 0 {
		return errors.New("counts, durations and rates must not be negative")
	}
	if c.Messages == 0 && c.Duration == 0 {
		return errors.New("give a message count or a duration")
	}
	if c.From == nil {
		c.From = session.MustTemplate(DefaultFrom)
	}
	if c.To == nil {
		c.To = session.MustTemplate(DefaultTo)
	}
	if c.Data == nil {
		return errors.New("no message content")
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
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
