package main

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

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
// anything above maxDuration, worded as every numeric flag is.
func parseDurationPositive(flag, s string) (time.Duration, error) {
	v, err := parseNumber("duration", s, numberRule{lo: 0, hi: float64(maxDuration)})
	if err != nil {
		return 0, fmt.Errorf("--%s %s: %v", flag, s, err)
	}
	return time.Duration(v), nil
}

// checkDuration refuses a negative duration or one above maxDuration.
func checkDuration(flag string, d time.Duration) error {
	if d < 0 || d > maxDuration {
		return fmt.Errorf("--%s %s: %s", flag, d, numberRule{lo: 0, hi: float64(maxDuration)}.want("duration"))
	}
	return nil
}

// checkFloat refuses NaN, infinities and values outside [lo, hi].
func checkFloat(flag string, v, lo, hi float64) error {
	if math.IsNaN(v) || v < lo || v > hi {
		return fmt.Errorf("--%s %g: %s", flag, v, numberRule{lo: lo, hi: hi}.want("float64"))
	}
	return nil
}

// numberRule is the range a numeric flag accepts. Open ends exclude the
// bound itself (a --timeout of 0 would never wait).
type numberRule struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

// numberRules bound the numeric flags of every command, by flag name; a
// flag not listed accepts any value of its type. The run's own checks
// (loadgen.Config.Validate) stay behind these, for library users.
var numberRules = map[string]numberRule{
	"concurrency":    {lo: 1, hi: maxConcurrency},
	"messages":       {lo: 0, hi: math.MaxInt64},
	"per-conn":       {lo: 0, hi: math.MaxInt32},
	"domains":        {lo: 0, hi: math.MaxInt32},
	"trace":          {lo: 0, hi: maxConcurrency},
	"shards":         {lo: 0, hi: maxConcurrency},
	"workers":        {lo: 0, hi: maxConcurrency},
	"rounds":         {lo: 1, hi: maxRounds},
	"probes":         {lo: 1, hi: loadgen.MaxSteps},
	"rate":           {lo: 0, hi: maxRate},
	"rate-max":       {lo: 0, hi: maxRate, loOpen: true},
	"min-rate":       {lo: 0, hi: maxRate},
	"max-error-rate": {lo: 0, hi: 100},
	"precision":      {lo: 0, hi: 100, loOpen: true, hiOpen: true},
	"alpha":          {lo: 0, hi: 1, loOpen: true, hiOpen: true},
	"confidence":     {lo: 0, hi: 1, loOpen: true, hiOpen: true},
	"duration":       {lo: 0, hi: float64(maxDuration)},
	"warmup":         {lo: 0, hi: float64(maxDuration)},
	"ramp":           {lo: 0, hi: float64(maxDuration)},
	"grace":          {lo: 0, hi: float64(maxDuration)},
	"idle-timeout":   {lo: 0, hi: float64(maxDuration)},
	"timeout":        {lo: 0, hi: float64(maxDuration), loOpen: true},
	"data-timeout":   {lo: 0, hi: float64(maxDuration), loOpen: true},
}

// numberValue wraps a numeric flag's pflag.Value, so that every number on
// every command line is parsed here and refused with one kind of message:
// what the flag wants, and its range. pflag's own messages quote strconv
// ("parsing ...: value out of range") or accept NaN.
type numberValue struct {
	pflag.Value
	rule numberRule
}

// numberKinds are the pflag value types numberValue parses.
var numberKinds = map[string]bool{"int": true, "int64": true, "int32": true, "uint": true, "uint64": true, "uint32": true, "float64": true, "float32": true, "duration": true}

// wrapNumbers makes every numeric flag of fs a numberValue.
func wrapNumbers(fs *pflag.FlagSet) {
	fs.VisitAll(func(fl *pflag.Flag) {
		if _, done := fl.Value.(*numberValue); done || !numberKinds[fl.Value.Type()] {
			return
		}
		rule, ok := numberRules[fl.Name]
		if !ok {
			rule = typeRule(fl.Value.Type())
		}
		fl.Value = &numberValue{Value: fl.Value, rule: rule}
	})
}

// typeRule is the range of a Go type, for flags without a rule of their own.
func typeRule(kind string) numberRule {
	switch kind {
	case "int", "int64":
		return numberRule{lo: math.MinInt64, hi: math.MaxInt64}
	case "int32":
		return numberRule{lo: math.MinInt32, hi: math.MaxInt32}
	case "uint", "uint64":
		return numberRule{lo: 0, hi: math.MaxUint64}
	case "uint32":
		return numberRule{lo: 0, hi: math.MaxUint32}
	case "duration":
		return numberRule{lo: 0, hi: float64(maxDuration)}
	}
	return numberRule{lo: -math.MaxFloat64, hi: math.MaxFloat64}
}

func (v *numberValue) Set(s string) error {
	if _, err := parseNumber(v.Type(), s, v.rule); err != nil {
		return err
	}
	return v.Value.Set(s)
}

// parseNumber parses s as a value of the pflag type kind within rule, and
// returns it as a float64 (nanoseconds for a duration). Its error says
// what is wanted; the caller names the flag.
func parseNumber(kind, s string, rule numberRule) (float64, error) {
	var v float64
	ok := false
	switch kind {
	case "duration":
		d, err := time.ParseDuration(s)
		v, ok = float64(d), err == nil
	case "float64", "float32":
		f, err := strconv.ParseFloat(s, 64)
		v, ok = f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case "uint", "uint64", "uint32":
		u, err := strconv.ParseUint(s, 0, 64)
		v, ok = float64(u), err == nil
		if ok && rule.hi < math.MaxUint64 && u > uint64(rule.hi) {
			ok = false
		}
	default:
		i, err := strconv.ParseInt(s, 0, 64)
		v, ok = float64(i), err == nil
		if ok && rule.hi < math.MaxInt64 && i > int64(rule.hi) {
			ok = false
		}
	}
	if !ok || v < rule.lo || v > rule.hi || rule.loOpen && v == rule.lo || rule.hiOpen && v == rule.hi {
		return 0, errors.New(rule.want(kind))
	}
	return v, nil
}

// want says what a flag of kind accepts: "a whole number from 1 to 1000000".
func (r numberRule) want(kind string) string {
	noun, after := "a number", ""
	show := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch kind {
	case "duration":
		noun, after = "a duration", " (such as 250ms or 2s)"
		show = func(f float64) string { return fmtBound(time.Duration(f)) }
	case "float64", "float32":
	default:
		noun = "a whole number"
		show = func(f float64) string {
			// float64 holds the largest integers only rounded up.
			switch {
			case f >= 0x1p64:
				return strconv.FormatUint(math.MaxUint64, 10)
			case f >= 0x1p63:
				return strconv.FormatInt(math.MaxInt64, 10)
			}
			return strconv.FormatFloat(f, 'f', 0, 64)
		}
	}
	switch {
	case r.loOpen && r.hiOpen:
		return fmt.Sprintf("want %s above %s and below %s%s", noun, show(r.lo), show(r.hi), after)
	case r.loOpen:
		return fmt.Sprintf("want %s above %s, up to %s%s", noun, show(r.lo), show(r.hi), after)
	}
	return fmt.Sprintf("want %s from %s to %s%s", noun, show(r.lo), show(r.hi), after)
}

// fmtBound writes a duration bound the way a user types it: 8760h, not
// 8760h0m0s.
func fmtBound(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// pflagInvalid matches pflag's error for a value its flag refused.
var pflagInvalid = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// flagError rewrites pflag's "invalid argument" error into the one kind
// of message numeric flags give: --NAME VALUE: want ...
func flagError(err error) string {
	msg := strings.TrimSpace(err.Error())
	m := pflagInvalid.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	value, flag, why := m[1], m[2], m[3]
	if strings.HasPrefix(why, "strconv.ParseBool") {
		why = "want true or false"
	}
	if value == "" || strings.ContainsAny(value, " \t\"") {
		value = strconv.Quote(value)
	}
	return fmt.Sprintf("%s %s: %s", flag, value, why)
}

// parseSteps is loadgen.ParseSteps in the words of flag.
func parseSteps(flag, s string, whole bool, most float64) ([]float64, error) {
	v, err := loadgen.ParseSteps(s, whole, most)
	if err != nil {
		return nil, fmt.Errorf("--%s %v", flag, err)
	}
	return v, nil
}
