package analysis

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/smtpbench/smtpbench/internal/fielderr"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// One evaluator serves both judgements made on a run's figures: run's
// thresholds (--max-p99 and so on, a pass or fail for CI) and a capacity
// search's objectives (did this probe meet the SLO). They differ only in
// what they require and in their wording, never in how a figure is read.

// LatencyLimit bounds one quantile of one latency series.
type LatencyLimit struct {
	// Phase is a phase name (message, rcpt...) or an open-model series
	// (service, lag).
	Phase string
	// Quantile is p50, p90, p99 or p999.
	Quantile string
	Limit    time.Duration
}

// Thresholds are the limits a run is judged against.
type Thresholds struct {
	Latency []LatencyLimit
	// MaxErrorPct is the most messages, in percent of those attempted,
	// that may be rejected or fail; 100 allows every one.
	MaxErrorPct float64
	// MinRate is the fewest messages/s the run must deliver; 0: no limit.
	MinRate float64
	// SamplesRequired makes a limited phase without samples a breach:
	// nothing showed it fast enough. Without it only the message phase
	// needs samples (no RSET means no slow RSET, but a run that decided no
	// message cannot show its message latency is in bounds).
	SamplesRequired bool
	// MessagesRequired makes a run that attempted no message a breach.
	MessagesRequired bool
	// MaxLost is the most accepted messages that may never arrive at the
	// receiver (--receive); negative: no limit. A run without a receiver
	// has nothing to check.
	MaxLost int64
	// BacklogBounded makes a delivery backlog still growing when the load
	// stopped a breach (see BacklogGrew): a capacity search's step is past
	// capacity then, however fast the 250s came.
	BacklogBounded bool
}

// BreachKind says which limit a Breach broke.
type BreachKind int

const (
	// BreachUnattributed: the phase's time cannot be told apart from
	// another's (see report.UnattributedBreach), so the limit cannot be checked.
	BreachUnattributed BreachKind = iota
	// BreachNoSamples: a limited phase has no samples.
	BreachNoSamples
	// BreachLatency: the quantile is above its limit.
	BreachLatency
	// BreachNoMessages: no message was attempted.
	BreachNoMessages
	// BreachErrorRate: too many messages were rejected or failed.
	BreachErrorRate
	// BreachMinRate: fewer messages/s than the minimum.
	BreachMinRate
	// BreachLost: more accepted messages never arrived than MaxLost.
	BreachLost
	// BreachBacklog: the delivery backlog was still growing at the end.
	BreachBacklog
)

// Breach is one limit a run broke, with the figures that broke it.
type Breach struct {
	Kind BreachKind
	// Limit is the latency limit (phase kinds only).
	LatencyLimit
	// Why is report.UnattributedBreach's sentence (BreachUnattributed).
	Why string
	// GotMS is the quantile measured (BreachLatency).
	GotMS float64
	// Errors of Attempted messages were rejected or failed, ErrorPct in
	// percent, against MaxErrorPct (BreachErrorRate).
	Errors, Attempted     int64
	ErrorPct, MaxErrorPct float64
	// Rate is the messages/s achieved, against MinRate (BreachMinRate).
	Rate, MinRate float64
	// Lost messages never arrived at Receiver, against MaxLost
	// (BreachLost).
	Lost, MaxLost int64
	Receiver      string
}

// Check returns every limit j breaks, latency limits first in their order.
func (t Thresholds) Check(j *report.JSONReport) []Breach {
	var out []Breach
	for _, l := range t.Latency {
		s, ok := j.Phases[l.Phase]
		if why := report.UnattributedBreach(j, l.Phase); why != "" {
			out = append(out, Breach{Kind: BreachUnattributed, LatencyLimit: l, Why: why})
			continue
		}
		if !ok || s.Count == 0 {
			if t.SamplesRequired || l.Phase == "message" {
				out = append(out, Breach{Kind: BreachNoSamples, LatencyLimit: l})
			}
			continue
		}
		got := lineQuantiles[l.Quantile](s)
		if lim := float64(l.Limit.Microseconds()) / 1000; got > lim {
			out = append(out, Breach{Kind: BreachLatency, LatencyLimit: l, GotMS: got})
		}
	}
	tot := j.Totals
	errs := tot.MessagesRejected + tot.MessagesFailed
	if tot.MessagesAttempted == 0 {
		if t.MessagesRequired {
			out = append(out, Breach{Kind: BreachNoMessages})
		}
	} else if pct := 100 * float64(errs) / float64(tot.MessagesAttempted); t.MaxErrorPct < 100 && pct > t.MaxErrorPct {
		out = append(out, Breach{Kind: BreachErrorRate, Errors: errs, Attempted: tot.MessagesAttempted, ErrorPct: pct, MaxErrorPct: t.MaxErrorPct})
	}
	if d := j.Delivery; d != nil {
		if t.MaxLost >= 0 && d.Lost > t.MaxLost {
			out = append(out, Breach{Kind: BreachLost, Lost: d.Lost, MaxLost: t.MaxLost, Receiver: d.Receiver})
		}
		if t.BacklogBounded && BacklogGrew(j) {
			out = append(out, Breach{Kind: BreachBacklog})
		}
	}
	if t.MinRate > 0 && tot.MessagesPerS < t.MinRate {
		out = append(out, Breach{Kind: BreachMinRate, Rate: tot.MessagesPerS, MinRate: t.MinRate})
	}
	return out
}

// String words the breach as run's thresholds report it.
func (b Breach) String() string {
	switch b.Kind {
	case BreachUnattributed:
		return fmt.Sprintf("%s of %s", b.Quantile, b.Why)
	case BreachNoSamples:
		return fmt.Sprintf("%s of %s: no samples to check against %s", b.Quantile, b.Phase, b.Limit)
	case BreachLatency:
		return fmt.Sprintf("%s of %s is %s ms, above the limit of %s", b.Quantile, b.Phase, report.FormatMS(b.GotMS), b.Limit)
	case BreachNoMessages:
		return "no messages"
	case BreachErrorRate:
		return fmt.Sprintf("error rate is %.2f%% (%d of %d messages), above the limit of %g%%", b.ErrorPct, b.Errors, b.Attempted, b.MaxErrorPct)
	case BreachMinRate:
		return fmt.Sprintf("rate is %.1f messages/s, below the minimum of %g", b.Rate, b.MinRate)
	case BreachLost:
		return fmt.Sprintf("%d accepted messages were lost (never arrived at %s), above the limit of %d", b.Lost, b.Receiver, b.MaxLost)
	case BreachBacklog:
		return "backlog still growing at the end"
	}
	return fmt.Sprintf("breach of kind %d", b.Kind)
}

// sloString words the breach as a capacity search's step reports it.
func (b Breach) sloString() string {
	switch b.Kind {
	case BreachUnattributed:
		return b.Why
	case BreachNoSamples:
		return fmt.Sprintf("%s %s: no samples", b.Phase, b.Quantile)
	case BreachLatency:
		return fmt.Sprintf("%s %s %s ms > %s", b.Phase, b.Quantile, report.FormatMS(b.GotMS), b.Limit)
	case BreachErrorRate:
		return fmt.Sprintf("errors %.2f%% > %g%%", b.ErrorPct, b.MaxErrorPct)
	case BreachLost:
		return fmt.Sprintf("%d lost", b.Lost)
	}
	return b.String()
}

// ParseLatencyLimit reads PHASE=DURATION, a limit on a phase's quantile q
// (p50, p99…). Series that exist only in the open model or with delivery
// tracking are refused unless open or tracked says the run has them.
// Errors quote the value, and name other settings as fielderr does
// ({Rate}, {Receive}); the caller names the setting.
func ParseLatencyLimit(v, q string, open, tracked bool) (LatencyLimit, error) {
	k, d, ok := strings.Cut(v, "=")
	if !ok || k == "" || d == "" {
		return LatencyLimit{}, fmt.Errorf("%q: want PHASE=DURATION", v)
	}
	switch k {
	case metrics.SeriesService, metrics.SeriesLag:
		if !open {
			return LatencyLimit{}, fielderr.Relation("", fmt.Sprintf("%q: %s exists only in the open model ({Rate})", v, k))
		}
	case metrics.SeriesDelivery, metrics.SeriesEndToEnd:
		if !tracked {
			return LatencyLimit{}, fielderr.Relation("", fmt.Sprintf("%q: %s exists only with {Receive}", v, k))
		}
	default:
		if _, err := session.ParsePhase(k); err != nil {
			return LatencyLimit{}, fielderr.Relation("", fmt.Sprintf("%q: %v, or %s or %s with {Rate}", v, err, metrics.SeriesService, metrics.SeriesLag))
		}
	}
	lim, err := time.ParseDuration(d)
	if err != nil || lim < 0 || lim > maxLimit {
		return LatencyLimit{}, fmt.Errorf("%s: want a duration from 0s to 8760h (such as 250ms or 2s)", d)
	}
	return LatencyLimit{Phase: k, Quantile: q, Limit: lim}, nil
}

// maxLimit bounds a latency limit: a longer one is a typo.
const maxLimit = 365 * 24 * time.Hour

// ThresholdSpec is a run's thresholds as a user gives them: latency
// limits as PHASE=DURATION, the error rate in percent, the fewest
// messages/s, and the most lost messages (with delivery tracking; Given
// says it was set). Build checks it; its errors name its fields as
// fielderr does.
type ThresholdSpec struct {
	MaxP50, MaxP99 []string
	MaxErrorPct    float64
	MinRate        float64
	MaxLost        int64
	Given          func(field string) bool
}

// Build returns the thresholds of a run in the open model or not, with
// delivery tracking or not.
func (s ThresholdSpec) Build(open, tracked bool) (Thresholds, error) {
	th := Thresholds{MaxErrorPct: s.MaxErrorPct, MinRate: s.MinRate, MaxLost: -1}
	for _, set := range []struct {
		field, q string
		vals     []string
	}{{"MaxP50", "p50", s.MaxP50}, {"MaxP99", "p99", s.MaxP99}} {
		for _, v := range set.vals {
			l, err := ParseLatencyLimit(v, set.q, open, tracked)
			var fe *fielderr.Error
			if errors.As(err, &fe) {
				return th, fielderr.Relation(set.field, " "+fe.Want) // keeps its {Field}s
			} else if err != nil {
				return th, fielderr.Relation(set.field, " "+err.Error())
			}
			th.Latency = append(th.Latency, l)
		}
	}
	if math.IsNaN(s.MaxErrorPct) || s.MaxErrorPct < 0 || s.MaxErrorPct > 100 {
		return th, fielderr.New("MaxErrorPct", s.MaxErrorPct, "want a percent from 0 to 100")
	}
	if math.IsNaN(s.MinRate) || s.MinRate < 0 || s.MinRate > maxRate {
		return th, fielderr.New("MinRate", s.MinRate, "want a number from 0 to 10000000")
	}
	switch {
	case !tracked && s.Given != nil && s.Given("MaxLost"):
		return th, fielderr.Relation("MaxLost", " needs {Receive}")
	case s.MaxLost < 0:
		return th, fielderr.New("MaxLost", s.MaxLost, "must not be negative")
	case tracked:
		th.MaxLost = s.MaxLost
	}
	return th, nil
}

// maxRate bounds MinRate as the generator's rates are bounded.
const maxRate = 1e7
