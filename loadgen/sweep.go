package loadgen

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/loadgen/profile"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
)

// SweepPlan is a sweep: the same workload run step after step, varying one
// thing (Varies, one of report's Varies values).
type SweepPlan struct {
	// Base is every step's configuration, target included, and its
	// Concurrency and Rate are those of the steps that do not vary them: in
	// a rate sweep or search, the most sessions that may be open; in an
	// abuse sweep, the normal sessions. For an abuse sweep its Mix is
	// normal and AbuseProfile at any weights; each step sets its own.
	// A search sets each probe's rate (Validate checks RateMax). Duration
	// is the warm-up plus the measured time.
	Base Config
	// Echo is Base as the result shows it; each step sets its own
	// concurrency, rate and mix, and Arrival when it has a rate and Echo
	// none.
	Echo    report.RunConfig
	Arrival string
	// Warmup and Duration (the measured part of each step) are echoed in
	// the document.
	Warmup, Duration time.Duration

	Varies        string
	Concurrencies []int     // the steps of VariesConcurrency
	Rates         []float64 // the steps of VariesRate
	// AbuseProfile and AbuseSessions are VariesAbuse's: the sessions of the
	// profile each step adds beside Base's, the first step 0.
	AbuseProfile  string
	AbuseSessions []int
	// RateMax, PrecisionPct, Probes, Objectives and MaxErrorPct are
	// VariesSearch's: see RateSearch and analysis.CheckSLO.
	RateMax      float64
	PrecisionPct float64
	Probes       int
	Objectives   []analysis.SLO
	MaxErrorPct  float64

	// Warnings go into every step's result (of the caller's settings).
	Warnings []string
	// Server, when not nil, is the server the sweep starts; the caller
	// closes it.
	Server *ServerRunner
	// Abort drops every connection of the step under way when closed.
	Abort <-chan struct{}
	// Delivery, when set, tracks what the server delivers of each step's
	// messages (--receive): the steps are then judged by it too.
	Delivery StepDelivery
}

// StepDelivery follows delivery across a sweep's steps: Begin readies the
// tracking of step i's messages (it may renumber them in cfg, so that steps
// never share a message number), and Drain waits for them to arrive after
// the step's load and returns what arrived.
type StepDelivery interface {
	Begin(cfg *Config, step int)
	Drain(ctx context.Context, abort <-chan struct{}) *metrics.Delivery
}

// stepConcurrencies are the sessions of the steps.
func (p *SweepPlan) stepConcurrencies() []int {
	switch p.Varies {
	case report.VariesConcurrency:
		return p.Concurrencies
	case report.VariesAbuse:
		var out []int
		for _, n := range p.AbuseSessions {
			out = append(out, p.Base.Concurrency+n)
		}
		return out
	}
	return []int{p.Base.Concurrency}
}

// Validate checks every step's configuration, so that a bad one is known
// before the first step runs, not when it is reached minutes later. Its
// errors are Config.Validate's.
func (p *SweepPlan) Validate() error {
	first := p.Base.Rate
	if p.Varies == report.VariesSearch {
		first = p.RateMax
	}
	for _, c := range p.stepConcurrencies() {
		for _, r := range append([]float64{first}, p.Rates...) {
			probe := p.Base
			probe.Concurrency, probe.Rate = c, r
			if err := probe.Validate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Sweep runs the plan's steps, or in a search its probes, in order, until
// the last, an error, or the end of ctx (a signal: the document says it
// was interrupted). The document holds every step that ran, even when the
// error is not nil; a step that could establish no session is recorded
// and ends the sweep with a NoSessionError. A server that cannot start
// gives a ServerStartError, a bad configuration a ConfigError.
func Sweep(ctx context.Context, p SweepPlan, hooks SeriesHooks) (*report.Document, error) {
	if hooks == nil {
		hooks = noHooks{}
	}
	sw := &report.SweepJSON{Varies: p.Varies, Target: p.Base.Target, WarmupS: p.Warmup.Seconds(), DurationS: p.Duration.Seconds()}
	if p.Varies == report.VariesAbuse {
		sw.AbuseProfile = p.AbuseProfile
	}
	doc := &report.Document{Schema: report.Schema, Kind: report.KindSweep, Sweep: sw}
	normal := p.Base.Concurrency

	// step runs one step or probe and records it.
	step := func(ctx context.Context, conc int, rate float64, name string) (*report.StepJSON, error) {
		run, rcj := p.Base, p.Echo
		run.Concurrency, run.Rate = conc, rate
		rcj.Concurrency, rcj.Rate = conc, rate
		abuse := conc - normal
		if p.Varies == report.VariesAbuse {
			run.Mix = abuseMix(p.Base.Mix, normal, abuse)
			rcj.Mix = fmt.Sprintf("%s:%d,%s:%d", metrics.NormalProfile, normal, p.AbuseProfile, abuse)
		}
		if rate == 0 {
			rcj.Arrival = ""
		} else if rcj.Arrival == "" {
			rcj.Arrival = p.Arrival
		}
		label := fmt.Sprintf("c=%d", conc)
		if p.Varies == report.VariesAbuse {
			label = fmt.Sprintf("%s=%d", p.AbuseProfile, abuse)
		} else if rate > 0 && p.Varies != report.VariesConcurrency {
			label = "rate=" + strconv.FormatFloat(rate, 'f', -1, 64)
		}
		run.Progress = hooks.RunStarting(name + " " + label)
		if p.Delivery != nil {
			p.Delivery.Begin(&run, len(sw.Steps))
		}
		res, err := runWith(ctx, p.Server, run, p.Abort)
		if err != nil {
			return nil, err
		}
		if p.Delivery != nil {
			res.Delivery = p.Delivery.Drain(ctx, p.Abort)
		}
		res.Config = rcj
		res.Warnings = append(res.Warnings, p.Warnings...)
		j := report.BuildJSON(res)
		if doc.StartedAt.IsZero() {
			doc.StartedAt = j.StartedAt
		}
		doc.Runs = append(doc.Runs, report.LabeledRun{Label: label, JSONReport: j})
		st := analysis.StepOf(label, conc, rate, j)
		if p.Varies == report.VariesAbuse {
			st.Concurrency, st.AbuseSessions = normal, abuse
			st.ConnectP99MS, st.BannerP99MS = j.Phases["connect"].P99MS, j.Phases["banner"].P99MS
		}
		sw.Steps = append(sw.Steps, st)
		hooks.RunDone(name+" "+label, j)
		// Recorded first: the sweep keeps what it measured, as run does,
		// even when this step found no server to measure.
		if err := CheckSession(res, run); err != nil {
			return nil, err
		}
		return &sw.Steps[len(sw.Steps)-1], nil
	}

	var runErr error
	switch p.Varies {
	case report.VariesSearch:
		q := &report.SearchJSON{Method: "bisection", MaxErrorPct: p.MaxErrorPct, RateMax: p.RateMax, PrecisionPct: p.PrecisionPct, MaxProbes: p.Probes}
		for _, o := range p.Objectives {
			q.SLO = append(q.SLO, o.String())
		}
		sw.Search = q
		s := RateSearch{Max: p.RateMax, Precision: p.PrecisionPct / 100, Probes: p.Probes}
		var found SearchResult
		found, runErr = s.Search(ctx, func(ctx context.Context, rate float64) (bool, error) {
			st, err := step(ctx, normal, rate, fmt.Sprintf("probe %d", len(sw.Steps)+1))
			if err != nil {
				return false, err
			}
			st.Breaches = analysis.CheckSLO(doc.Runs[len(doc.Runs)-1].JSONReport, p.Objectives, p.MaxErrorPct)
			met := len(st.Breaches) == 0
			st.SLOMet = &met
			return met, nil
		})
		q.Capacity, q.FailedAt, q.Stopped = found.Capacity, found.FailedAt, found.Stopped
	default:
		type point struct {
			conc int
			rate float64
		}
		var points []point
		if p.Varies == report.VariesRate {
			for _, r := range p.Rates {
				points = append(points, point{normal, r})
			}
		} else {
			for _, c := range p.stepConcurrencies() {
				points = append(points, point{c, p.Base.Rate})
			}
		}
		for i, pt := range points {
			if _, runErr = step(ctx, pt.conc, pt.rate, fmt.Sprintf("step %d/%d", i+1, len(points))); runErr != nil || ctx.Err() != nil {
				break
			}
		}
		if p.Varies == report.VariesAbuse {
			sw.Hurt = analysis.Hurt(sw.Steps)
			break
		}
		sw.Knee = analysis.Knee(sw.Steps, func(s report.StepJSON) float64 {
			if p.Varies == report.VariesRate {
				return s.Rate
			}
			return float64(s.Concurrency)
		})
	}
	if ctx.Err() != nil {
		sw.Interrupted = true
	}
	return doc, runErr
}

// abuseMix is one abuse step's mix: normal sessions and n of the profile,
// as weights that share normal+n sessions exactly.
func abuseMix(base []profile.Share, normal, n int) []profile.Share {
	out := make([]profile.Share, len(base))
	copy(out, base)
	for i := range out {
		if out[i].Profile == nil {
			out[i].Weight = normal
		} else {
			out[i].Weight = n
		}
	}
	return out
}
