// Package loadgen runs a benchmark: a pool of workers, each owning one SMTP
// session and its own recorder, paced as a closed loop or an open-model
// schedule, stopped by a message count, a duration or a signal. It knows
// nothing about output formats; it returns a report.Result.
package loadgen

import (
	"errors"
	"fmt"
	"github.com/smtpbench/smtpbench/internal/fielderr"
	"io"
	"math"
	"net/netip"
	"runtime"
	"time"

	"github.com/smtpbench/smtpbench/loadgen/profile"
	"github.com/smtpbench/smtpbench/message"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/servercost"
	"github.com/smtpbench/smtpbench/session"
)

// Bounds that Validate enforces, shared with the CLI's flags. A value outside
// them is a typo or an overflow, never a benchmark, and would otherwise wrap
// around or exhaust memory mid-run instead of failing at once.
const (
	// MaxConcurrency bounds Concurrency: each session is a socket, a
	// goroutine and buffers, and a million is past what one host holds.
	MaxConcurrency = 1_000_000
	// MaxRate bounds Rate in messages per second; MinRate is the slowest
	// positive rate (one message every 1000 s), below which due times
	// would overflow.
	MaxRate = 1e7
	MinRate = 1e-3
	// MaxDuration bounds every duration: a year of load is a soak test;
	// more is an overflow in waiting.
	MaxDuration = 365 * 24 * time.Hour
)

// ConfigError names the field of a Config, a Workload, a SweepSpec or a
// SecuritySpec that a value was refused for, so that a command line can
// name its own flag for it (see its Explain).
type ConfigError = fielderr.Error

// refuse is the ConfigError on field for value.
var refuse = fielderr.New

// Defaults the CLI shows as flag defaults.
const (
	DefaultConcurrency = 10
	DefaultGrace       = 5 * time.Second
	// NoGrace as Config.Grace drops in-flight messages at once after a
	// stop; the zero value means DefaultGrace.
	NoGrace time.Duration = -1
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
	// package message). When nil, Validate prepares one from Rcpts and
	// Data: Data (raw content, encoded for the wire once) for every
	// message, or the default generated message when Data is nil too.
	Mail  *message.Set
	Rcpts int
	Data  []byte
	// SourceAddrs, when set, are local addresses sessions connect from,
	// taken in turn (session.Options.SourceAddr).
	SourceAddrs []netip.Addr
	// Session configures each session. Its BusyPoll means, here: 0 picks
	// DefaultBusyPoll when Concurrency is at most half the CPUs (a spinning
	// session then never takes a CPU another session or a local server
	// needs) and off otherwise; negative is off; positive is used as given.
	// Validate resolves it to what session.Options means.
	Session session.Options

	// SeqOffset and SeqStride number messages offset+1, offset+1+stride,
	// offset+1+2·stride… ({n} in addresses, the Message-ID), so generators
	// that split one job never reuse each other's numbers. Zero stride is 1.
	SeqOffset, SeqStride uint64

	Rate    float64 // messages per second; 0 = closed loop
	Arrival Arrival
	Warmup  time.Duration
	Ramp    time.Duration
	// Stages, when set, shape the load over time (see Stage): the number
	// of sessions in the closed loop, which then sets Concurrency, or the
	// rate in the open model, starting from Rate. A run without -n or -d
	// lasts as long as the stages; a longer one holds the last target.
	Stages []Stage
	// StageStart is the closed loop's session count before the first
	// stage (0: none).
	StageStart float64
	// Grace is how long in-flight messages may take after a stop: zero
	// means DefaultGrace, NoGrace none at all.
	Grace time.Duration

	// Mix, when set, shares the Concurrency sessions among client
	// profiles by weight (see loadgen/profile): idle, slow, aborting and
	// abusive clients beside the normal ones, each counted apart. Without
	// it every session is normal. The normal sessions send the messages
	// (-n) and their figures are the result's; the others run one session
	// after another until the normal ones are done, or, with no normal
	// session in the mix, until Messages sessions have been begun.
	Mix []profile.Share
	// Profiles are the profiles' settings; Validate fills in Session and
	// Mail from the run's.
	Profiles profile.Settings

	// InProcessServer says the server runs in this process (the built-in
	// sink): the generator's CPU and scheduling figures then include the
	// server's work, and its warnings say so.
	InProcessServer bool

	// Server, when it names processes or a cgroup, is the server to
	// measure: its CPU time and memory are sampled once a second during
	// the run (see package servercost) and reported in Result.Server.
	Server servercost.Source
	// Delivery, when set, hears how the server answered each message whose
	// content it may have received, so that arrivals past the server can
	// be matched to them (package delivery).
	Delivery AnswerObserver
	// OnSecond, if set, is called with every second of the timeline, in
	// order, as it is made final (shortly after it ends), from the
	// goroutine that finalizes them; the last ones when the run ends.
	OnSecond func(report.Interval)
	// OnEnd, if set, is called once after the last second went to
	// OnSecond, with how long the run lasted and why it stopped: the last
	// second is usually cut short, and its rate needs its length.
	OnEnd func(elapsed time.Duration, stopReason string)
	// Watch, if set, is attached to the run so that its figures can be
	// read while it goes on (live metrics).
	Watch *Watch
	// DetailWindow is how many of the run's most recent seconds the result
	// keeps one by one; zero means DefaultDetailWindow.
	DetailWindow time.Duration

	// Progress, if set, is called about once a second from its own goroutine.
	Progress func(Progress)
	// TraceSessions sessions, the first ones dialed, print their
	// conversation to TraceTo (see session.Options.Trace).
	TraceSessions int
	TraceTo       io.Writer
}

// AnswerObserver hears, once per message, how the server answered it:
// began is the origin of the message's "message" phase, answered when the
// deciding reply arrived, ok whether the message was accepted, rcpts how
// many recipients were. It is called from the workers, concurrently.
type AnswerObserver interface {
	Answered(seq uint64, began, answered time.Time, ok bool, rcpts int)
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
	if err := c.validateStages(); err != nil {
		return err
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Concurrency < 0 || c.Concurrency > MaxConcurrency {
		return refuse("Concurrency", c.Concurrency, fmt.Sprintf("must be 1 to %d", MaxConcurrency))
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
	if c.Messages < 0 {
		return refuse("Messages", c.Messages, "must not be negative")
	}
	if c.PerConn < 0 {
		return refuse("PerConn", c.PerConn, "must not be negative")
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"Duration", c.Duration}, {"Warmup", c.Warmup}, {"Ramp", c.Ramp}, {"Timeout", c.Session.Timeout}, {"DataTimeout", c.Session.DataTimeout}} {
		if d.v < 0 || d.v > MaxDuration {
			return refuse(d.field, d.v, fmt.Sprintf("want 0 to %s", MaxDuration))
		}
	}
	if c.Grace != NoGrace && (c.Grace < 0 || c.Grace > MaxDuration) {
		return refuse("Grace", c.Grace, fmt.Sprintf("want 0 to %s, or NoGrace", MaxDuration))
	}
	if math.IsNaN(c.Rate) || c.Rate < 0 || c.Rate > MaxRate || c.Rate > 0 && c.Rate < MinRate {
		return refuse("Rate", c.Rate, fmt.Sprintf("want 0 (closed loop) or %g to %g messages/s", MinRate, MaxRate))
	}
	if c.Messages == 0 && c.Duration == 0 {
		return errors.New("give a message count or a duration")
	}
	if c.Duration > 0 && c.Warmup >= c.Duration {
		return refuse("Warmup", c.Warmup, fmt.Sprintf("must be shorter than the run (%s), or nothing would be measured", c.Duration))
	}
	if c.Duration > 0 && c.Ramp >= c.Duration {
		return refuse("Ramp", c.Ramp, fmt.Sprintf("must be shorter than the run (%s), or the run would end before its full load", c.Duration))
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.SeqStride == 0 {
		c.SeqStride = 1
	}
	if err := c.checkMix(); err != nil {
		return err
	}
	switch bp := c.Session.BusyPoll; {
	case bp == 0 && c.Concurrency*2 <= runtime.GOMAXPROCS(0):
		c.Session.BusyPoll = DefaultBusyPoll
	case bp > 0:
	default:
		c.Session.BusyPoll = -1 // off, and still off if validated again
	}
	return nil
}

// checkMix fills the profiles' settings and asks each profile of the mix
// whether it can run with them.
func (c *Config) checkMix() error {
	if len(c.Mix) == 0 {
		return nil
	}
	c.Profiles.Session = c.Session
	c.Profiles.Session.BusyPoll = -1 // these sessions wait on purpose
	c.Profiles.Mail = c.Mail
	if err := c.Profiles.Normalize(); err != nil {
		return refuse("Mix", "", err.Error())
	}
	for _, sh := range c.Mix {
		if sh.Profile == nil || sh.Weight == 0 {
			continue
		}
		if err := sh.Profile.Check(&c.Profiles); err != nil {
			return refuse("Mix", sh.Name, err.Error())
		}
	}
	return nil
}

// CheckMix runs the mix's checks alone, for a caller that set the session
// options (TLS, AUTH) after validating the rest.
func (c *Config) CheckMix() error { return c.checkMix() }
