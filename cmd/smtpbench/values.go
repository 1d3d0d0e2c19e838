package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds on numeric flags. A value outside them is a typo or an overflow,
// never a benchmark, and would otherwise wrap around or exhaust memory
// mid-run instead of failing at once.
const (
	// maxContentSize is the largest generated body (--size). Servers cap
	// messages far below it (Postfix at 10 MB by default), and the content
	// is built in memory once for the run.
	maxContentSize = 1 << 30
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

// sizeUnits are the multipliers parseSize knows.
var sizeUnits = map[string]int64{"": 1, "B": 1, "k": 1000, "K": 1000, "KB": 1000, "kB": 1000, "KiB": 1 << 10,
	"M": 1000000, "MB": 1000000, "MiB": 1 << 20, "G": 1000000000, "GB": 1000000000, "GiB": 1 << 30}

// parseSize reads a byte count from 0 to maxContentSize: plain digits, or
// with a unit: k/K/KB (1000), KiB (1024), M/MB, MiB, G/GB, GiB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil && !errorIsRange(err) || n < 0 {
		return 0, fmt.Errorf("size %q: want a byte count such as 1000, 4KiB or 1MiB", s)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KB, KiB, MB, MiB, GB or GiB)", s, unit)
	}
	// Compare before multiplying: the product can overflow int64.
	if err != nil || n > maxContentSize/mult {
		return 0, fmt.Errorf("size %q: at most 1GiB", s)
	}
	return n * mult, nil
}

// errorIsRange reports a number too large for its type.
func errorIsRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

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
