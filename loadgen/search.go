package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Search defaults the CLI shows as flag defaults.
const (
	DefaultSearchProbes    = 10
	DefaultSearchPrecision = 0.05
)

// Why a capacity search stopped.
const (
	SearchPrecision = "precision" // the bracket is within the precision
	SearchProbes    = "probes"    // the probe budget is spent
	SearchRateMax   = "rate_max"  // the objective held at the highest rate allowed
	SearchSignal    = "signal"    // the context was cancelled
)

// RateSearch bounds a capacity search.
type RateSearch struct {
	// Max is the highest rate to try, and the first probe.
	Max float64
	// Precision (a fraction): stop once the bracket between the highest
	// passing and the lowest failing rate is within Precision of the
	// latter. Zero means DefaultSearchPrecision.
	Precision float64
	// Probes bounds the number of probes. Zero means DefaultSearchProbes.
	Probes int
}

// SearchResult is what a capacity search found.
type SearchResult struct {
	// Capacity is the highest probed rate that passed (0 if none did);
	// FailedAt the lowest that failed (0 if none did).
	Capacity, FailedAt float64
	Probes             int
	Stopped            string
}

// Search finds the highest rate in (0, Max] at which probe passes, by
// bisection: it probes Max first (if that passes, the search is over),
// then always halfway between the highest rate that passed (0 at first)
// and the lowest that failed. A server's latency grows with the rate, so
// pass/fail is taken as monotonic; on a noisy server the result is a rate
// that passed once, with a failing one just above it. It stops at the
// precision, after Probes probes, or when ctx is cancelled. An error from
// probe ends the search and is returned with what was found so far.
func (s RateSearch) Search(ctx context.Context, probe func(ctx context.Context, rate float64) (bool, error)) (SearchResult, error) {
	if s.Max <= 0 {
		return SearchResult{}, errors.New("the highest rate must be positive")
	}
	if s.Precision == 0 {
		s.Precision = DefaultSearchPrecision
	}
	if s.Probes == 0 {
		s.Probes = DefaultSearchProbes
	}
	if s.Precision <= 0 || s.Precision >= 1 || s.Probes < 1 {
		return SearchResult{}, fmt.Errorf("precision %g must lie between 0 and 1 and probes %d be at least 1", s.Precision, s.Probes)
	}
	var res SearchResult
	lo, hi := 0.0, s.Max
	rate := s.Max
	for {
		if ctx.Err() != nil {
			res.Stopped = SearchSignal
			return res, nil
		}
		pass, err := probe(ctx, rate)
		res.Probes++
		if err != nil {
			return res, err
		}
		if ctx.Err() != nil {
			// A probe cut short by a signal says nothing about its rate.
			res.Stopped = SearchSignal
			return res, nil
		}
		if pass {
			lo, res.Capacity = rate, rate
			if rate == s.Max {
				res.Stopped = SearchRateMax
				return res, nil
			}
		} else {
			hi, res.FailedAt = rate, rate
		}
		switch {
		case hi-lo <= s.Precision*hi:
			res.Stopped = SearchPrecision
			return res, nil
		case res.Probes >= s.Probes:
			res.Stopped = SearchProbes
			return res, nil
		}
		rate = roundRate((lo+hi)/2, hi-lo)
	}
}

// roundRate rounds a probe rate to a figure a person can repeat with
// --rate: to the power of ten at most a hundredth of the bracket width,
// written in decimal (47.3, not 47.300000000000004).
func roundRate(r, width float64) float64 {
	decimals := max(0, -int(math.Floor(math.Log10(width/100))))
	v, _ := strconv.ParseFloat(strconv.FormatFloat(r, 'f', decimals, 64), 64)
	if decimals == 0 {
		step := math.Pow(10, math.Floor(math.Log10(width/100)))
		v = math.Round(r/step) * step
	}
	return v
}
