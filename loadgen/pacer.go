package loadgen

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Pacer is the open model's schedule: when, relative to the start of the
// run, message i (0-based) is due. A run asks it from many workers at once,
// so implementations must be safe for concurrent use.
type Pacer interface {
	// Due is when message i is due.
	Due(i uint64) time.Duration
	// ExpectedDue is when message i is due on average, without drawing
	// the schedule: for the generator's "how late is the last message".
	ExpectedDue(i uint64) time.Duration
	// DueBy is how many messages are due by t on average.
	DueBy(t time.Duration) float64
}

var (
	_ Pacer = ConstantPacer{}
	_ Pacer = (*PoissonPacer)(nil)
)

// ConstantPacer spaces messages evenly at Rate per second, rising linearly
// from zero over Ramp when Ramp is set. Message 0 is due at once.
type ConstantPacer struct {
	Rate float64
	Ramp time.Duration
}

// Due solves "messages sent by t = i" for t. Under a linear ramp the count by
// t is R·t²/2D, afterwards R·D/2 + R·(t-D).
func (p ConstantPacer) Due(i uint64) time.Duration { return p.atUnits(float64(i)) }

func (p ConstantPacer) atUnits(n float64) time.Duration {
	d := p.Ramp.Seconds()
	var t float64
	if d > 0 && n < p.Rate*d/2 {
		t = math.Sqrt(2 * d * n / p.Rate)
	} else {
		t = n/p.Rate + d/2
	}
	return time.Duration(t * float64(time.Second))
}

// ExpectedDue is Due: the constant schedule has no randomness.
func (p ConstantPacer) ExpectedDue(i uint64) time.Duration { return p.Due(i) }

// DueBy counts the messages due by t: message 0 at once, then one every
// 1/Rate, so floor(units)+1 of them.
func (p ConstantPacer) DueBy(t time.Duration) float64 {
	if t < 0 {
		return 0
	}
	return math.Floor(p.units(t)) + 1
}

// units is how many mean gaps fit before t, the inverse of atUnits.
func (p ConstantPacer) units(t time.Duration) float64 {
	s, d := t.Seconds(), p.Ramp.Seconds()
	if d > 0 && s < d {
		return p.Rate * s * s / (2 * d)
	}
	return p.Rate * (s - d/2)
}

// PoissonPacer draws exponential gaps with mean 1/Rate, which models many
// independent senders better than an even spacing. Unlike the constant
// pacer's, its message 0 is due after a first gap, not at once: the arrivals
// of a Poisson process start after an exponential wait. Gaps are drawn in order
// under a lock, taken once per message, not per command. Only a window of
// recent draws is kept: workers ask for the next index or one just behind it.
type PoissonPacer struct {
	ConstantPacer
	stages *stageProfile // when set, the rate follows it instead of Rate and Ramp
	mu     sync.Mutex
	rng    *rand.Rand
	base   uint64    // index of due[0]
	due    []float64 // arrival times in message units (mean gap 1)
	last   float64
}

// poissonWindow is how many past draws are kept for late askers.
const poissonWindow = 1 << 16

// NewPoissonPacer returns a pacer with a fixed seed so runs are repeatable.
func NewPoissonPacer(rate float64, ramp time.Duration, seed uint64) *PoissonPacer {
	return &PoissonPacer{ConstantPacer: ConstantPacer{Rate: rate, Ramp: ramp}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// NewPoissonStagePacer is NewPoissonPacer with a rate that starts at start
// and follows stages (see StagePacer).
func NewPoissonStagePacer(start float64, stages []Stage, seed uint64) *PoissonPacer {
	p := NewPoissonPacer(start, 0, seed)
	p.stages = newProfile(start, stages)
	return p
}

func (p *PoissonPacer) atUnits(n float64) time.Duration {
	if p.stages != nil {
		return seconds(p.stages.atUnits(n))
	}
	return p.ConstantPacer.atUnits(n)
}

func (p *PoissonPacer) units(t time.Duration) float64 {
	if p.stages != nil {
		return p.stages.units(t.Seconds())
	}
	return p.ConstantPacer.units(t)
}

// ExpectedDue is when message i is due on average: i+1 mean gaps.
func (p *PoissonPacer) ExpectedDue(i uint64) time.Duration {
	return p.atUnits(float64(i + 1))
}

// DueBy is the mean number of arrivals by t, Rate·t without a ramp.
func (p *PoissonPacer) DueBy(t time.Duration) float64 {
	if t < 0 {
		return 0
	}
	return p.units(t)
}

// Due draws arrival times in message units and maps them through the
// constant pacer, so a ramp applies the same way to both.
func (p *PoissonPacer) Due(i uint64) time.Duration {
	p.mu.Lock()
	for p.base+uint64(len(p.due)) <= i {
		p.last += p.rng.ExpFloat64()
		p.due = append(p.due, p.last)
		if len(p.due) >= 2*poissonWindow {
			n := copy(p.due, p.due[poissonWindow:])
			p.due = p.due[:n]
			p.base += poissonWindow
		}
	}
	var u float64
	if i >= p.base {
		u = p.due[i-p.base]
	} else {
		u = float64(i) // long forgotten: its mean is as good as any
	}
	p.mu.Unlock()
	return p.atUnits(u)
}
