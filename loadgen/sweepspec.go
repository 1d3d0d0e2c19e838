package loadgen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/loadgen/profile"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
)

// SweepSpec is a sweep as a user describes it: what it varies, as lists
// and objectives in text. Steps checks it and fills in a SweepPlan's
// steps; its errors are ConfigErrors naming its fields.
type SweepSpec struct {
	Concurrency string // sessions per step: N, a list or a range (ParseSteps)
	Rate        string // messages per second per step, likewise; "" is the closed loop
	// A capacity search: objectives such as message:p99=50ms, the highest
	// rate and first probe, the most probes, the precision (percent), and
	// the error rate (percent) a probe may show.
	SLOs         []string
	RateMax      float64
	Probes       int
	PrecisionPct float64
	MaxErrorPct  float64
	// Abuse is PROFILE:LIST, the sessions of an abusive profile each step
	// adds beside the normal ones (ParseAbuse).
	Abuse string
	// Given says whether a field was set explicitly; nil means none was.
	Given func(field string) bool
}

func (s *SweepSpec) given(f string) bool { return s.Given != nil && s.Given(f) }

// Steps checks the spec and fills p's Varies and steps. It sets w's
// Concurrency and Rate to those of the first step (the most sessions
// that may be open, and the first rate or probe), and w's Mix in an abuse
// sweep, whose mix must otherwise be empty. It returns the most sessions
// any step opens.
func (s *SweepSpec) Steps(p *SweepPlan, w *Workload) (most int, err error) {
	search := len(s.SLOs) > 0 || s.given("RateMax")
	manyRates := strings.ContainsAny(s.Rate, ",") || strings.Contains(s.Rate, "..")
	p.Varies = report.VariesConcurrency
	if s.Abuse != "" {
		if p.AbuseProfile, p.AbuseSessions, err = ParseAbuse(s.Abuse); err != nil {
			return 0, relation("Abuse", " "+err.Error())
		}
		if search || s.given("Rate") && manyRates {
			return 0, relation("Abuse", " varies the abusive sessions: give one {Rate} at most, and no capacity search")
		}
		if w.Mix != "" {
			return 0, relation("Abuse", " and {Mix} exclude each other: the sweep makes each step's mix")
		}
		// The profile's settings (slow rate, idle time…) are read as
		// for a mix; each step then sets its own weights.
		w.Mix = metrics.NormalProfile + ":1," + p.AbuseProfile + ":1"
		p.Varies = report.VariesAbuse
	}
	concs, err := ParseSteps(s.Concurrency, true, MaxConcurrency)
	if err != nil {
		return 0, relation("Concurrency", " "+err.Error())
	}
	rates := func() ([]float64, error) {
		r, err := ParseSteps(s.Rate, false, MaxRate)
		if err != nil {
			return nil, relation("Rate", " "+err.Error())
		}
		return r, nil
	}
	switch {
	case search:
		p.Varies = report.VariesSearch
		if len(s.SLOs) == 0 || s.RateMax <= 0 {
			return 0, relation("", "a capacity search needs {SLOs} and a positive {RateMax}")
		}
		if s.given("Rate") {
			return 0, relation("Rate", " and {RateMax} exclude each other: the search picks the rates")
		}
		for _, v := range s.SLOs {
			o, err := analysis.ParseSLO(v)
			if err != nil {
				return 0, relation("SLOs", " "+err.Error())
			}
			p.Objectives = append(p.Objectives, o)
		}
		if s.Probes < 1 || s.Probes > MaxSteps {
			return 0, refuse("Probes", s.Probes, fmt.Sprintf("want 1 to %d", MaxSteps))
		}
		if !(s.PrecisionPct > 0 && s.PrecisionPct < 100) {
			return 0, refuse("PrecisionPct", s.PrecisionPct, "want a percentage between 0 and 100")
		}
		if s.MaxErrorPct < 0 || s.MaxErrorPct > 100 {
			return 0, refuse("MaxErrorPct", s.MaxErrorPct, "want a percent from 0 to 100")
		}
		p.RateMax, p.Probes, p.PrecisionPct, p.MaxErrorPct = s.RateMax, s.Probes, s.PrecisionPct, s.MaxErrorPct
		w.Rate = s.RateMax
	case s.given("Rate"):
		r, err := rates()
		if err != nil {
			return 0, err
		}
		w.Rate = r[0]
		if p.Varies != report.VariesAbuse {
			p.Varies, p.Rates = report.VariesRate, r
		}
	default:
		for _, name := range []string{"SLOs", "Probes", "PrecisionPct", "MaxErrorPct"} {
			if s.given(name) {
				return 0, relation(name, " belongs to a capacity search: give {SLOs} and {RateMax}")
			}
		}
	}
	if p.Varies != report.VariesConcurrency && len(concs) > 1 {
		return 0, refuse("Concurrency", strconv.Quote(s.Concurrency), "with a rate or a search, it is one number (the most sessions that may be open); a sweep varies one thing")
	}
	w.Concurrency = int(concs[0])
	most = w.Concurrency
	if p.Varies == report.VariesConcurrency {
		for _, c := range concs {
			p.Concurrencies = append(p.Concurrencies, int(c))
		}
		most = p.Concurrencies[len(p.Concurrencies)-1]
	}
	if p.Varies == report.VariesAbuse {
		most += p.AbuseSessions[len(p.AbuseSessions)-1]
	}
	return most, nil
}

// ParseAbuse reads PROFILE:LIST: a profile other than normal and the
// numbers of its sessions per step, a list as ParseSteps reads (a leading
// 0, or a range from 0, stands for the first step, which always runs
// without abusive sessions).
func ParseAbuse(v string) (string, []int, error) {
	name, list, ok := strings.Cut(v, ":")
	if !ok || list == "" {
		return "", nil, fmt.Errorf("%q: want PROFILE:LIST such as idle:10..100+10", v)
	}
	if _, err := profile.ParseMix(name + ":1"); err != nil || name == metrics.NormalProfile {
		return "", nil, fmt.Errorf("%q: unknown abusive profile %q (profiles: %s)", v, name, strings.Join(profile.Names()[1:], ", "))
	}
	if rest, ok := strings.CutPrefix(list, "0.."); ok {
		// 0..B+S: the first step, then S, 2S, … B.
		if i := strings.IndexByte(rest, '+'); i > 0 {
			list = rest[i+1:] + ".." + rest
		}
	}
	list = strings.TrimPrefix(list, "0,")
	steps := []int{0}
	if list != "0" {
		vals, err := ParseSteps(list, true, 0)
		if err != nil {
			return "", nil, err
		}
		for _, n := range vals {
			if n > MaxConcurrency {
				return "", nil, fmt.Errorf("%q: %g sessions is more than %d", v, n, MaxConcurrency)
			}
			steps = append(steps, int(n))
		}
	}
	return name, steps, nil
}
