package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxSteps bounds a sweep's list and a capacity search's probes, so a typo
// such as 1..1000000+1 is an error rather than a week of load.
const MaxSteps = 100

// ParseSteps reads the values of a sweep: a comma-separated list whose
// items are numbers or ranges, A..BxF (A, A·F, A·F², … up to B) or A..B+S
// (A, A+S, … up to B). Values must increase and be positive; whole says
// they must be integers (sessions); most, when above 0, bounds them.
// Errors quote s; the caller names the setting.
func ParseSteps(s string, whole bool, most float64) ([]float64, error) {
	bad := func(format string, a ...any) ([]float64, error) {
		return nil, fmt.Errorf("%q: %s", s, fmt.Sprintf(format, a...))
	}
	num := func(t string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) || (whole && v != math.Trunc(v)) || most > 0 && v > most {
			// The same words as the command line's for a single number.
			kind := "want a positive number"
			switch {
			case most > 0 && whole:
				kind = "want a whole number from 1 to " + strconv.FormatFloat(most, 'f', -1, 64)
			case most > 0:
				kind = "want a number above 0, up to " + strconv.FormatFloat(most, 'f', -1, 64)
			}
			return 0, fmt.Errorf("%s: %s", strings.TrimSpace(t), kind)
		}
		return v, nil
	}
	var out []float64
	for _, item := range strings.Split(s, ",") {
		from, rest, isRange := strings.Cut(item, "..")
		if !isRange {
			v, err := num(item)
			if err != nil {
				return bad("%v", err)
			}
			out = append(out, v)
			continue
		}
		to, step, mul := "", "", false
		if i := strings.IndexAny(rest, "x+"); i >= 0 {
			to, step, mul = rest[:i], rest[i+1:], rest[i] == 'x'
		} else {
			return bad("range %q: want A..BxF (multiply by F) or A..B+S (add S)", item)
		}
		a, err := num(from)
		if err != nil {
			return bad("%v", err)
		}
		b, err := num(to)
		if err != nil {
			return bad("%v", err)
		}
		st, err := strconv.ParseFloat(strings.TrimSpace(step), 64)
		switch {
		case err != nil || math.IsInf(st, 0):
			return bad("range %q: step %q is not a number", item, step)
		case mul && st <= 1:
			return bad("range %q: the factor must be above 1", item)
		case !mul && st <= 0:
			return bad("range %q: the step must be positive", item)
		case b < a:
			return bad("range %q: the end is below the start", item)
		}
		// Stop a hair above b, so 0.1 steps that add up to b inexactly
		// still reach it.
		before := len(out)
		for v, first := a, true; v <= b*(1+1e-9); first = false {
			// Whole steps of a fractional factor can round to the same
			// number twice (1..10x1.5): keep one.
			if r := roundStep(v, whole); first || r != out[len(out)-1] {
				out = append(out, r)
			}
			if len(out) > MaxSteps {
				return bad("more than %d steps", MaxSteps)
			}
			if mul {
				v *= st
			} else {
				v += st
			}
		}
		if len(out)-before < 2 && b > a {
			// A factor or step that jumps past the end at once makes a
			// one-step "range": surely not what was meant.
			return bad("range %q gives one value, %g: its step goes past the end at once", item, a)
		}
	}
	if len(out) > MaxSteps {
		return bad("more than %d steps", MaxSteps)
	}
	for i := 1; i < len(out); i++ {
		if out[i] <= out[i-1] {
			return bad("values must increase (%g after %g)", out[i], out[i-1])
		}
	}
	return out, nil
}

// roundStep rounds away the binary noise of repeated additions (0.1+0.2),
// and to whole sessions.
func roundStep(v float64, whole bool) float64 {
	if whole {
		return math.Round(v)
	}
	return math.Round(v*1e6) / 1e6
}
