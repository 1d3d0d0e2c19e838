package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseSize reads a byte count: plain digits, or with a unit: k/K/KB
// (1000), KiB (1024), M/MB, MiB, G/GB, GiB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a byte count such as 1000, 4KiB or 1MiB", s)
	}
	mult := map[string]int64{"": 1, "B": 1, "k": 1000, "K": 1000, "KB": 1000, "kB": 1000, "KiB": 1 << 10,
		"M": 1000000, "MB": 1000000, "MiB": 1 << 20, "G": 1000000000, "GB": 1000000000, "GiB": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KB, KiB, MB, MiB, GB or GiB)", s, unit)
	}
	return n * mult, nil
}

// splitKV splits "KEY=VALUE".
func splitKV(flag, s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return "", "", fmt.Errorf("--%s %q: want NAME=VALUE", flag, s)
	}
	return k, v, nil
}

// parseDurationPositive is time.ParseDuration that refuses negatives.
func parseDurationPositive(flag, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--%s %q: want a duration such as 250ms or 2s", flag, s)
	}
	return d, nil
}
