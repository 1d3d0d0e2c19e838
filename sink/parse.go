package sink

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
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
		return 0, 0, fmt.Errorf("%q: want NAME=VALUE", s)
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
		return 0, Reject{}, fmt.Errorf("%q: want NAME=VALUE", s)
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
