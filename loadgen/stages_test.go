package loadgen

import (
	"math"
	"testing"
	"time"
)

// The stage profile's schedule is the inverse of its count: message i is
// due when i messages are due, ramps included, and steps jump.
func TestStageProfile(t *testing.T) {
	p := newProfile(100, []Stage{{2 * time.Second, 300}, {0, 50}, {time.Second, 50}, {time.Second, 0}})
	for _, c := range []struct{ at, target, units float64 }{
		{0, 100, 0},
		{1, 200, 150},  // ramp 100 -> 300: 100 + 100·1²/2·... = (100+200)/2·1
		{2, 50, 400},   // end of the ramp, then the step to 50
		{2.5, 50, 425}, // hold at 50
		{3.5, 25, 468.75},
		{4, 0, 475},
		{10, 0, 475}, // the target stays 0 after the stages
	} {
		if got := p.at(c.at); math.Abs(got-c.target) > 1e-9 {
			t.Errorf("target at %gs = %g, want %g", c.at, got, c.target)
		}
		if got := p.units(c.at); math.Abs(got-c.units) > 1e-9 {
			t.Errorf("messages by %gs = %g, want %g", c.at, got, c.units)
		}
		if c.at < 4 && c.units > 0 {
			if got := p.atUnits(c.units); math.Abs(got-c.at) > 1e-6 {
				t.Errorf("message %g due at %gs, want %gs", c.units, got, c.at)
			}
		}
	}
	if !math.IsInf(p.atUnits(476), 1) {
		t.Errorf("a message past the profile's end is due at %g, want never", p.atUnits(476))
	}
	pacer := NewStagePacer(100, p.stages)
	prev := time.Duration(0)
	for i := range uint64(475) {
		d := pacer.Due(i)
		if d < prev || d > 4*time.Second {
			t.Fatalf("message %d due at %s after %s", i, d, prev)
		}
		prev = d
	}
	if d := pacer.Due(475); d < MaxDuration {
		t.Errorf("message 475 due at %s: the profile never reaches it", d)
	}
}

// A closed-loop worker joins when the target rises above its number.
func TestStageNextAbove(t *testing.T) {
	p := newProfile(0, []Stage{{2 * time.Second, 4}, {time.Second, 4}, {time.Second, 0}, {0, 2}})
	for _, c := range []struct {
		k, from, want float64
		ok            bool
	}{
		{0, 0, 0.001, true}, // just past 0, where the target is above 0
		{1, 0, 0.501, true},
		{3, 0, 1.501, true},
		{3, 2.5, 2.5, true},
		{1, 3.9, 4, true},   // 0.4 at 3.9; the step at 4 brings 2
		{1, 4.5, 4.5, true}, // after the stages the target holds at 2
		{2, 4.5, 0, false},  // and never rises above 2
	} {
		got, ok := p.nextAbove(c.k, c.from)
		if ok != c.ok || ok && math.Abs(got-c.want) > 1e-9 {
			t.Errorf("nextAbove(%g, %g) = %g, %v; want %g, %v", c.k, c.from, got, ok, c.want, c.ok)
		}
	}
}
