package message

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxSize is the largest body a generated message may have.
const MaxSize = 1 << 30

// ParseSize reads a byte count: plain digits, or with a unit: k, K, KB or
// kB (1000), KiB (1024), M or MB, MiB, G or GB, GiB. Counts that overflow
// are refused, not wrapped.
func ParseSize(s string) (int64, error) {
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
	mult, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KB, KiB, MB, MiB, GB or GiB)", s, unit)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n * mult, nil
}

var units = map[string]int64{"": 1, "B": 1, "k": 1000, "K": 1000, "KB": 1000, "kB": 1000, "KiB": 1 << 10,
	"M": 1000000, "MB": 1000000, "MiB": 1 << 20, "G": 1000000000, "GB": 1000000000, "GiB": 1 << 30}

// Sizes is how big generated bodies are: one or more entries, each a fixed
// size or a range drawn uniformly, picked by weight for every message.
type Sizes struct {
	Entries []SizeEntry
	text    string
}

// SizeEntry is one size (Min == Max) or range of a size mix.
type SizeEntry struct {
	Min, Max int64
	Weight   float64 // relative; shares are Weight over the sum of weights
}

// FixedSize is a Sizes that always gives n bytes.
func FixedSize(n int64) Sizes {
	return Sizes{Entries: []SizeEntry{{Min: n, Max: n, Weight: 1}}, text: strconv.FormatInt(n, 10)}
}

// ParseSizes reads a size mix (Spec.Sizes): a size ("1000", "4KiB"), a range drawn uniformly
// ("1KiB-100KiB"), or a weighted mix of either
// ("1KiB:60,10KiB:30,1MiB:10").
func ParseSizes(s string) (Sizes, error) {
	sz := Sizes{text: s}
	items := strings.Split(s, ",")
	for _, item := range items {
		e := SizeEntry{Weight: 1}
		spec, weight, hasWeight := strings.Cut(item, ":")
		if hasWeight {
			w, err := strconv.ParseFloat(strings.TrimSpace(weight), 64)
			if err != nil || !(w > 0) || math.IsInf(w, 0) {
				return Sizes{}, fmt.Errorf("size mix %q: weight %q: want a positive number", s, weight)
			}
			e.Weight = w
		} else if len(items) > 1 {
			return Sizes{}, fmt.Errorf("size mix %q: entry %q has no weight (want SIZE:WEIGHT, e.g. 1KiB:60,10KiB:40)", s, item)
		}
		if strings.HasPrefix(strings.TrimSpace(spec), "-") {
			// Read as a range its start would be empty: say what is wrong.
			return Sizes{}, fmt.Errorf("size %q: a size cannot be negative (want a byte count from 0 to 1GiB)", spec)
		}
		lo, hi, isRange := strings.Cut(spec, "-")
		var err error
		if e.Min, err = ParseSize(lo); err != nil {
			return Sizes{}, err
		}
		e.Max = e.Min
		if isRange {
			if e.Max, err = ParseSize(hi); err != nil {
				return Sizes{}, err
			}
			if e.Max < e.Min {
				return Sizes{}, fmt.Errorf("size range %q: the end is below the start", spec)
			}
		}
		if e.Max > MaxSize {
			return Sizes{}, fmt.Errorf("size %q: at most 1GiB", spec)
		}
		sz.Entries = append(sz.Entries, e)
	}
	return sz, nil
}

func (s Sizes) String() string { return s.text }

// Fixed reports whether every body has the same size, and which.
func (s Sizes) Fixed() (int64, bool) {
	if len(s.Entries) == 1 && s.Entries[0].Min == s.Entries[0].Max {
		return s.Entries[0].Min, true
	}
	return 0, false
}

// Max is the largest size the mix can give.
func (s Sizes) Max() int64 {
	var m int64
	for _, e := range s.Entries {
		m = max(m, e.Max)
	}
	return m
}

// Label names entry i the way the user wrote it, in bytes.
func (e SizeEntry) Label() string {
	if e.Min == e.Max {
		return strconv.FormatInt(e.Min, 10)
	}
	return strconv.FormatInt(e.Min, 10) + "-" + strconv.FormatInt(e.Max, 10)
}

// Range is a count drawn uniformly from Min to Max for each message.
type Range struct{ Min, Max int }

// ParseRange reads N or MIN-MAX.
func ParseRange(s string) (Range, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return Range{}, fmt.Errorf("%q: want N or MIN-MAX", s)
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
			return Range{}, fmt.Errorf("%q: want N or MIN-MAX with MIN at most MAX", s)
		}
	}
	return Range{a, b}, nil
}

func (r Range) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return strconv.Itoa(r.Min) + "-" + strconv.Itoa(r.Max)
}

// mean is the average count.
func (r Range) mean() float64 { return float64(r.Min+r.Max) / 2 }
