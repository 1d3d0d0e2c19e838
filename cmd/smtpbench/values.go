package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/smtpbench/smtpbench/loadgen"
)

// Bounds on numeric flags: loadgen's, so that the CLI and a library user
// of loadgen refuse the same values (see loadgen.Config.Validate).
const (
	maxConcurrency = loadgen.MaxConcurrency
	maxRate        = loadgen.MaxRate
	minRate        = loadgen.MinRate
	maxDuration    = loadgen.MaxDuration
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
