package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Bounds on numeric flags. A value outside them is a typo or an overflow,
// never a benchmark, and would otherwise wrap around or exhaust memory
// mid-run instead of failing at once.
const (
	// maxConcurrency bounds -c: each session is a socket, a goroutine and
	// buffers, and a million is past what one host can hold open.
	maxConcurrency = 1_000_000
	// maxRate bounds --rate in messages per second; minRate is the
	// slowest positive rate (one message every 1000 s), below which the
	// schedule's due times would overflow.
	maxRate = 1e7
	minRate = 1e-3
	// maxDuration bounds every duration flag: a year of load is a soak
	// test; more is an overflow in waiting.
	maxDuration = 365 * 24 * time.Hour
)

// splitKV splits "KEY=VALUE".
func splitKV(flag, s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return "", "", fmt.Errorf("--%s %q: want NAME=VALUE", flag, s)
	}
	return k, v, nil
}

// parseDurationPositive is time.ParseDuration that refuses negatives and
// anything above maxDuration.
func parseDurationPositive(flag, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--%s %q: want a duration such as 250ms or 2s", flag, s)
	}
	if err := checkDuration(flag, d); err != nil {
		return 0, err
	}
	return d, nil
}

// checkDuration refuses a negative duration or one above maxDuration.
func checkDuration(flag string, d time.Duration) error {
	if d < 0 || d > maxDuration {
		return fmt.Errorf("--%s %s: want 0 to %s", flag, d, maxDuration)
	}
	return nil
}

// checkFloat refuses NaN, infinities and values outside [lo, hi].
func checkFloat(flag string, v, lo, hi float64) error {
	if math.IsNaN(v) || v < lo || v > hi {
		return fmt.Errorf("--%s %g: want %g to %g", flag, v, lo, hi)
	}
	return nil
}
