package sink

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smtpbench/smtpbench/internal/fielderr"
)

// MaxDelay bounds a configured delay or stall, as a run's durations are
// bounded: a longer one is a typo.
const MaxDelay = 365 * 24 * time.Hour

// The parsers below read the textual forms of a Config's settings, as a
// command line or a file gives them. Their errors quote the value; the
// caller names the setting.

// ParseDelay reads STEP=DURATION, the delay of one step's reply.
func ParseDelay(s string) (Step, time.Duration, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return 0, 0, fmt.Errorf("%q: want STEP=DURATION", s)
	}
	step, err := ParseStep(k)
	if err != nil {
		return 0, 0, fmt.Errorf("%q: %v", s, err)
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > MaxDelay {
		return 0, 0, fmt.Errorf("%s: want a duration from 0s to %s (such as 250ms or 2s)", v, strings.TrimSuffix(MaxDelay.String(), "0m0s"))
	}
	return step, d, nil
}

// ParseReject reads STEP=PERCENT[:CODE], the share of one step's replies
// refused, and with which code (4yz or 5yz).
func ParseReject(s string) (Step, Reject, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return 0, Reject{}, fmt.Errorf("%q: want STEP=PERCENT[:CODE]", s)
	}
	step, err := ParseStep(k)
	if err != nil {
		return 0, Reject{}, fmt.Errorf("%q: %v", s, err)
	}
	pct, code, _ := strings.Cut(v, ":")
	p, err := strconv.ParseFloat(pct, 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 100 {
		return 0, Reject{}, fmt.Errorf("%q: percent must be 0 to 100", s)
	}
	rj := Reject{Percent: p}
	if code != "" {
		if rj.Code, err = strconv.Atoi(code); err != nil || rj.Code < 400 || rj.Code > 599 {
			return 0, Reject{}, fmt.Errorf("%q: code must be 400 to 599", s)
		}
	}
	return step, rj, nil
}

// ParseStall reads START:LENGTH, a window after the start in which every
// reply due is held.
func ParseStall(s string) (at, length time.Duration, err error) {
	a, l, ok := strings.Cut(s, ":")
	var err1, err2 error
	if ok {
		at, err1 = time.ParseDuration(a)
		length, err2 = time.ParseDuration(l)
	}
	if !ok || err1 != nil || err2 != nil || at < 0 || length <= 0 || at > MaxDelay || length > MaxDelay {
		return 0, 0, fmt.Errorf("%q: want START:LENGTH such as 4s:1s", s)
	}
	return at, length, nil
}

// ParsePerSession reads N[:CODE]: MAIL is refused after N accepted
// messages in a session, with CODE (0: 421 and a close).
func ParsePerSession(s string) (n, code int, err error) {
	num, c, hasCode := strings.Cut(s, ":")
	if n, err = strconv.Atoi(num); err != nil || n < 1 {
		return 0, 0, fmt.Errorf("%q: N must be a whole number of at least 1", s)
	}
	if hasCode {
		if code, err = strconv.Atoi(c); err != nil || code < 400 || code > 599 {
			return 0, 0, fmt.Errorf("%q: CODE must be 400 to 599", s)
		}
	}
	return n, code, nil
}

// Summary is what the sink served, in one line: messages and sessions,
// TLS handshakes, and the counts of the limits cfg set.
func (s *Server) Summary(cfg Config) string {
	full, resumed := s.Handshakes()
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages accepted in %d sessions; %d TLS handshakes (%d resumed)",
		s.Accepted(), s.Sessions(), full+resumed, resumed)
	if cfg.MaxPerSession > 0 {
		fmt.Fprintf(&b, "; %d sessions met the limit per session", s.SessionsLimited())
	}
	if cfg.MaxSessions > 0 {
		fmt.Fprintf(&b, "; %d connections waited for a session, %d refused (the session limit)", s.SessionsWaited(), s.SessionsRefused())
	}
	if cfg.IdleTimeout > 0 || cfg.CommandTimeout > 0 {
		fmt.Fprintf(&b, "; %d idle timeouts, %d command timeouts", s.IdleTimeouts(), s.CommandTimeouts())
	}
	return b.String()
}

// SpecError names the field of a Spec (or Security) that a value was
// refused for, so a command line can name its flag (see its Explain).
type SpecError = fielderr.Error

// refuse is the SpecError on field for value.
var refuse = fielderr.New

// maxSessions bounds MaxSessions and Workers, as a run's sessions are.
const maxSessions = 1_000_000

// Spec is the sink as a user describes it, each setting in the form a
// command line gives it. Build checks it and makes the Config.
type Spec struct {
	Listen          string   // HOST:PORT
	Delays, Rejects []string // STEP=DURATION (ParseDelay), STEP=PERCENT[:CODE] (ParseReject)
	Stall           string   // START:LENGTH (ParseStall)
	IdleTimeout     time.Duration
	CommandTimeout  time.Duration
	MaxSessions     int
	OverLimit       string // wait or refuse (ParseSessionLimit)
	Chunking        bool
	BatchReplies    bool
	Workers         int
	CPU             time.Duration
	AfterDot        string // serve, drop or reject (ParseAfterDot)
	MaxPerSession   string // N[:CODE] (ParsePerSession)
	// Store and forward (Relay): the address, and how each message is held,
	// dropped or duplicated.
	RelayTo                   string
	Hold                      time.Duration
	DropEvery, DuplicateEvery int
	// Given says whether a field was set explicitly; nil means none was.
	Given func(field string) bool
}

func (s *Spec) given(f string) bool { return s.Given != nil && s.Given(f) }

// relation is the error of a rule between settings (see fielderr.Relation).
var relation = fielderr.Relation

// Build checks the spec and returns its Config (without TLS and AUTH:
// see Security.Apply).
func (s *Spec) Build() (Config, error) {
	var cfg Config
	var err error
	// An empty address would listen on every interface on a random port:
	// a sink reachable from the network that no one asked for.
	_, port, perr := net.SplitHostPort(s.Listen)
	if p, err := strconv.Atoi(port); perr != nil || err != nil || p < 0 || p > 65535 {
		return cfg, refuse("Listen", strconv.Quote(s.Listen), "want HOST:PORT, such as 127.0.0.1:2525")
	}
	for _, d := range s.Delays {
		step, v, err := ParseDelay(d)
		if err != nil {
			return cfg, relation("Delays", " "+err.Error())
		}
		cfg.Delay[step] = v
	}
	for _, r := range s.Rejects {
		step, rj, err := ParseReject(r)
		if err != nil {
			return cfg, relation("Rejects", " "+err.Error())
		}
		cfg.Reject[step] = rj
	}
	if s.Stall != "" {
		if cfg.StallAt, cfg.StallFor, err = ParseStall(s.Stall); err != nil {
			return cfg, relation("Stall", " "+err.Error())
		}
	}
	for name, d := range map[string]time.Duration{"IdleTimeout": s.IdleTimeout, "CommandTimeout": s.CommandTimeout, "Hold": s.Hold} {
		if d < 0 || d > MaxDelay {
			return cfg, refuse(name, d, "want a duration from 0s to 8760h (such as 250ms or 2s)")
		}
	}
	cfg.IdleTimeout, cfg.CommandTimeout = s.IdleTimeout, s.CommandTimeout
	if s.MaxSessions < 0 || s.MaxSessions > maxSessions {
		return cfg, refuse("MaxSessions", s.MaxSessions, fmt.Sprintf("want 0 to %d", maxSessions))
	}
	cfg.MaxSessions = s.MaxSessions
	if cfg.SessionLimit, err = ParseSessionLimit(s.OverLimit); err != nil {
		return cfg, relation("OverLimit", ": "+err.Error())
	}
	if s.given("OverLimit") && cfg.MaxSessions == 0 {
		return cfg, relation("OverLimit", " needs {MaxSessions}")
	}
	if s.Workers < 0 || s.Workers > maxSessions {
		return cfg, refuse("Workers", s.Workers, fmt.Sprintf("want 0 to %d", maxSessions))
	}
	if s.Workers > 0 && cfg.Delay[StepBody] == 0 {
		return cfg, relation("Workers", " needs {Delays} body=D: the workers spend the body delay")
	}
	cfg.Workers = s.Workers
	if s.CPU < 0 || s.CPU > time.Second {
		return cfg, refuse("CPU", s.CPU, "want 0 to 1s")
	}
	cfg.CPU = s.CPU
	if cfg.AfterDot, err = ParseAfterDot(s.AfterDot); err != nil {
		return cfg, relation("AfterDot", ": "+err.Error())
	}
	if s.MaxPerSession != "" {
		if cfg.MaxPerSession, cfg.MaxPerSessionCode, err = ParsePerSession(s.MaxPerSession); err != nil {
			return cfg, relation("MaxPerSession", " "+err.Error())
		}
	}
	cfg.Chunking, cfg.BatchReplies = s.Chunking, s.BatchReplies
	if s.RelayTo == "" {
		for _, name := range []string{"Hold", "DropEvery", "DuplicateEvery"} {
			if s.given(name) {
				return cfg, relation(name, " needs {RelayTo}")
			}
		}
		return cfg, nil
	}
	if _, _, err := net.SplitHostPort(s.RelayTo); err != nil {
		return cfg, refuse("RelayTo", strconv.Quote(s.RelayTo), "want HOST:PORT")
	}
	if s.DropEvery < 0 || s.DuplicateEvery < 0 {
		return cfg, relation("DropEvery", " and {DuplicateEvery}: must not be negative (0 = never)")
	}
	cfg.Relay = &Relay{To: s.RelayTo, Hold: s.Hold, DropEvery: s.DropEvery, DuplicateEvery: s.DuplicateEvery}
	return cfg, nil
}
