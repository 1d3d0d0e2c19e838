package loadgen

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Pacer gives the time, relative to the start of the run, at which message i
// (0-based) is due in the open model.
type Pacer interface {
	Due(i uint64) time.Duration
}

// ConstantPacer spaces messages evenly at Rate per second, rising linearly
// from zero over Ramp when Ramp is set.
type ConstantPacer struct {
	Rate float64
	Ramp time.Duration
}

// Due solves "messages sent by t = i" for t. Under a linear ramp the count by
// t is R·t²/2D, afterwards R·D/2 + R·(t-D).
func (p ConstantPacer) Due(i uint64) time.Duration {
	n := float64(i)
	d := p.Ramp.Seconds()
	var t float64
	if d > 0 && n < p.Rate*d/2 {
		t = math.Sqrt(2 * d * n / p.Rate)
	} else {
		t = n/p.Rate + d/2
	}
	return time.Duration(t * float64(time.Second))
}

// PoissonPacer draws exponential gaps with mean 1/Rate, which models many
// independent senders better than an even spacing. Gaps are drawn in order
// under a lock; the lock is taken once per message, not per command.
type PoissonPacer struct {
	ConstantPacer
	mu   sync.Mutex
	rng  *rand.Rand
	due  []float64 // in the constant pacer's message units
	last float64
}

// NewPoissonPacer returns a pacer with a fixed seed so runs are repeatable.
func NewPoissonPacer(rate float64, ramp time.Duration, seed uint64) *PoissonPacer {
	return &PoissonPacer{ConstantPacer: ConstantPacer{Rate: rate, Ramp: ramp}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Due draws arrival times in "message units" (mean gap 1) and maps them
// through the constant pacer, so a ramp applies the same way to both.
func (p *PoissonPacer) Due(i uint64) time.Duration {
	p.mu.Lock()
	for uint64(len(p.due)) <= i {
		p.last += p.rng.ExpFloat64()
		p.due = append(p.due, p.last)
	}
	u := p.due[i]
	p.mu.Unlock()
	c := p.ConstantPacer
	d := c.Ramp.Seconds()
	var t float64
	if d > 0 && u < c.Rate*d/2 {
		t = math.Sqrt(2 * d * u / c.Rate)
	} else {
		t = u/c.Rate + d/2
	}
	return time.Duration(t * float64(time.Second))
}
