package loadgen

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Stage is one step of a load profile, as in k6: over Duration the target
// moves linearly from the previous stage's (Config.StageStart for the
// first) to Target. Target is sessions in the closed loop and messages per
// second in the open model. A stage of zero duration is a step: the target
// jumps.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// MaxStages bounds Config.Stages: a profile, not a schedule of every second.
const MaxStages = 1000

// stageProfile is a piecewise linear target over time: the stages, then the
// last target held.
type stageProfile struct {
	starts  []float64 // seconds at which each stage begins
	from    []float64 // the target at each stage's start
	stages  []Stage
	counts  []float64 // open model: messages due by each stage's start
	end     float64   // seconds at which the last stage ends
	last    float64   // the target held after the stages
	endUnit float64   // messages due by end
}

func newProfile(start float64, stages []Stage) *stageProfile {
	p := &stageProfile{stages: stages}
	t, prev, n := 0.0, start, 0.0
	for _, s := range stages {
		d := s.Duration.Seconds()
		p.starts = append(p.starts, t)
		p.from = append(p.from, prev)
		p.counts = append(p.counts, n)
		n += (prev + s.Target) / 2 * d
		t += d
		prev = s.Target
	}
	p.end, p.last, p.endUnit = t, prev, n
	return p
}

// total is how long the stages take.
func (p *stageProfile) total() time.Duration { return time.Duration(p.end * float64(time.Second)) }

// at is the target at t seconds.
func (p *stageProfile) at(t float64) float64 {
	if t >= p.end {
		return p.last
	}
	i := sort.Search(len(p.starts), func(i int) bool { return p.starts[i] > t }) - 1
	i = max(i, 0)
	d := p.stages[i].Duration.Seconds()
	if d == 0 {
		return p.stages[i].Target
	}
	return p.from[i] + (p.stages[i].Target-p.from[i])*(t-p.starts[i])/d
}

// units is how many messages are due by t seconds at the profile's rate:
// its integral from 0 to t.
func (p *stageProfile) units(t float64) float64 {
	if t <= 0 {
		return 0
	}
	if t >= p.end {
		return p.endUnit + p.last*(t-p.end)
	}
	i := max(sort.Search(len(p.starts), func(i int) bool { return p.starts[i] > t })-1, 0)
	x := t - p.starts[i]
	d := p.stages[i].Duration.Seconds()
	r0 := p.from[i]
	slope := 0.0
	if d > 0 {
		slope = (p.stages[i].Target - r0) / d
	}
	return p.counts[i] + r0*x + slope*x*x/2
}

// atUnits inverts units: when n messages are due. It returns +Inf when the
// profile never reaches n (its rate falls to zero for good first).
func (p *stageProfile) atUnits(n float64) float64 {
	if n >= p.endUnit {
		if p.last <= 0 {
			return math.Inf(1)
		}
		return p.end + (n-p.endUnit)/p.last
	}
	// The stage in which the count passes n: the last whose start count is
	// at most n, skipping stages in which nothing is due.
	i := max(sort.Search(len(p.counts), func(i int) bool { return p.counts[i] > n })-1, 0)
	for i+1 < len(p.counts) && p.counts[i+1] <= n {
		i++
	}
	d := p.stages[i].Duration.Seconds()
	r0 := p.from[i]
	if d == 0 {
		return p.starts[i]
	}
	a := (p.stages[i].Target - r0) / d / 2
	dn := n - p.counts[i]
	// Solve a·x² + r0·x = dn for the smallest x ≥ 0, in the form that stays
	// exact when a is zero or small.
	disc := r0*r0 + 4*a*dn
	if disc < 0 {
		disc = 0
	}
	den := r0 + math.Sqrt(disc)
	if den <= 0 {
		return p.starts[i] + d
	}
	return p.starts[i] + min(2*dn/den, d)
}

// nextAbove is the first time from t (seconds) at which the target exceeds
// k, and false when it never does again.
func (p *stageProfile) nextAbove(k float64, t float64) (float64, bool) {
	if p.at(t) > k {
		return t, true
	}
	for i, s := range p.stages {
		end := p.starts[i] + s.Duration.Seconds()
		if end <= t || s.Target <= k {
			continue
		}
		if s.Duration == 0 {
			return max(t, p.starts[i]), true
		}
		// The target rises through k within this stage.
		x := p.starts[i] + (k-p.from[i])/(s.Target-p.from[i])*s.Duration.Seconds()
		// Just past the crossing, where the target is above k.
		return max(t, x+1e-3), true
	}
	return 0, false
}

// StagePacer spaces open-model messages evenly along a profile of rates.
type StagePacer struct{ p *stageProfile }

// NewStagePacer returns a pacer whose rate starts at start messages per
// second and follows stages, then holds the last target.
func NewStagePacer(start float64, stages []Stage) StagePacer {
	return StagePacer{newProfile(start, stages)}
}

// Due is when message i is due; a message the profile never reaches is
// due past any run.
func (s StagePacer) Due(i uint64) time.Duration { return seconds(s.p.atUnits(float64(i))) }

// ExpectedDue is Due: the schedule has no randomness.
func (s StagePacer) ExpectedDue(i uint64) time.Duration { return s.Due(i) }

// DueBy counts messages due by t: message 0 at the first moment the rate
// is positive, as the constant pacer's is at once.
func (s StagePacer) DueBy(t time.Duration) float64 {
	if t < 0 {
		return 0
	}
	return math.Floor(s.p.units(t.Seconds())) + 1
}

func seconds(s float64) time.Duration {
	if math.IsInf(s, 1) || s > MaxDuration.Seconds()*2 {
		return 2 * MaxDuration
	}
	return time.Duration(s * float64(time.Second))
}

// validateStages checks a profile and fills what it implies: the closed
// loop's session count, and the run's duration when -d was not given (a
// message count then ends the run only if it comes first).
func (c *Config) validateStages() error {
	if len(c.Stages) == 0 {
		return nil
	}
	if c.Ramp > 0 {
		return refuse("Ramp", c.Ramp, "cannot be combined with stages (a ramp is the one-stage profile)")
	}
	if len(c.Stages) > MaxStages {
		return refuse("Stages", len(c.Stages), fmt.Sprintf("at most %d stages", MaxStages))
	}
	var total time.Duration
	most := c.StageStart
	for i, s := range c.Stages {
		if s.Duration < 0 || s.Duration > MaxDuration {
			return refuse("Stages", fmt.Sprintf("stage %d duration %s", i+1, s.Duration), fmt.Sprintf("want 0 to %s", MaxDuration))
		}
		lim, what := float64(MaxConcurrency), "sessions"
		if c.Rate > 0 {
			lim, what = MaxRate, "messages/s"
		}
		if math.IsNaN(s.Target) || s.Target < 0 || s.Target > lim || c.Rate == 0 && s.Target != math.Trunc(s.Target) {
			return refuse("Stages", fmt.Sprintf("stage %d target %g", i+1, s.Target), fmt.Sprintf("want 0 to %g %s, whole sessions in the closed loop", lim, what))
		}
		total += s.Duration
		most = max(most, s.Target)
	}
	if total > MaxDuration {
		return refuse("Stages", total, fmt.Sprintf("take at most %s in all", MaxDuration))
	}
	if c.Rate == 0 {
		if most < 1 {
			return refuse("Stages", "all targets 0", "want at least one session")
		}
		c.Concurrency = int(most)
	}
	if c.Duration == 0 {
		c.Duration = total // as in k6: the run ends with its stages
	}
	return nil
}

// ParseStages reads stages written DURATION:TARGET[,DURATION:TARGET...];
// targets are rates in the open model, whole sessions in the closed loop.
// Errors quote v; the caller names the setting.
func ParseStages(v string, open bool) ([]Stage, error) {
	var out []Stage
	for i, part := range strings.Split(v, ",") {
		d, n, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("%q: stage %d %q: want DURATION:TARGET, e.g. 30s:50", v, i+1, part)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 || dur > MaxDuration {
			return nil, fmt.Errorf("%q: stage %d: duration %q: want e.g. 30s or 5m, up to %s", v, i+1, d, MaxDuration)
		}
		target, err := strconv.ParseFloat(n, 64)
		what := "a number of sessions"
		if open {
			what = "messages per second"
		}
		if err != nil || math.IsNaN(target) || math.IsInf(target, 0) || target < 0 || !open && target != math.Trunc(target) {
			return nil, fmt.Errorf("%q: stage %d: target %q: want %s, 0 or more", v, i+1, n, what)
		}
		out = append(out, Stage{Duration: dur, Target: target})
	}
	if len(out) > MaxStages {
		return nil, fmt.Errorf("%d stages: at most %d", len(out), MaxStages)
	}
	return out, nil
}
