// Package cliflag gives every numeric flag of a command line one kind of
// refusal: the flag, the value and what it wants, with the range ("--rate
// -1: want a number from 0 to 10000000"), where pflag would quote strconv
// ("parsing ...: value out of range") or accept NaN. It is a command line's
// helper, not smtpbench's: it knows flags and ranges, nothing of SMTP.
package cliflag

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// MaxDuration bounds durations without a rule of their own: a year, past
// which a duration is taken for a typo.
const MaxDuration = 365 * 24 * time.Hour

// Rule is the range a numeric flag accepts. Open ends exclude the bound
// itself (a timeout of 0 would never wait).
type Rule struct {
	Lo, Hi         float64
	LoOpen, HiOpen bool
}

// number wraps a numeric flag's pflag.Value, so that it is parsed here.
type number struct {
	pflag.Value
	rule Rule
}

// Kinds are the pflag value types Wrap wraps.
var Kinds = map[string]bool{"int": true, "int64": true, "int32": true, "uint": true, "uint64": true, "uint32": true, "float64": true, "float32": true, "duration": true}

// Wrap makes every numeric flag of fs refuse values outside its rule in
// rules (by flag name), or, without one, outside its Go type's range
// (durations: 0 to MaxDuration).
func Wrap(fs *pflag.FlagSet, rules map[string]Rule) {
	fs.VisitAll(func(fl *pflag.Flag) {
		if _, done := fl.Value.(*number); done || !Kinds[fl.Value.Type()] {
			return
		}
		rule, ok := rules[fl.Name]
		if !ok {
			rule = typeRule(fl.Value.Type())
		}
		fl.Value = &number{Value: fl.Value, rule: rule}
		if fl.DefValue == "0s" {
			fl.DefValue = "0" // the zero pflag leaves out of the help, as it does for its own durations
		}
	})
}

// typeRule is the range of a Go type, for flags without a rule of their own.
func typeRule(kind string) Rule {
	switch kind {
	case "int", "int64":
		return Rule{Lo: math.MinInt64, Hi: math.MaxInt64}
	case "int32":
		return Rule{Lo: math.MinInt32, Hi: math.MaxInt32}
	case "uint", "uint64":
		return Rule{Lo: 0, Hi: math.MaxUint64}
	case "uint32":
		return Rule{Lo: 0, Hi: math.MaxUint32}
	case "duration":
		return Rule{Lo: 0, Hi: float64(MaxDuration)}
	}
	return Rule{Lo: -math.MaxFloat64, Hi: math.MaxFloat64}
}

func (v *number) Set(s string) error {
	if _, err := Parse(v.Type(), s, v.rule); err != nil {
		return err
	}
	return v.Value.Set(s)
}

// Parse parses s as a value of the pflag type kind within rule, and
// returns it as a float64 (nanoseconds for a duration). Its error says
// what is wanted; the caller names the flag.
func Parse(kind, s string, rule Rule) (float64, error) {
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
		if ok && rule.Hi < math.MaxUint64 && u > uint64(rule.Hi) {
			ok = false
		}
	default:
		i, err := strconv.ParseInt(s, 0, 64)
		v, ok = float64(i), err == nil
		if ok && rule.Hi < math.MaxInt64 && i > int64(rule.Hi) {
			ok = false
		}
	}
	if !ok || v < rule.Lo || v > rule.Hi || rule.LoOpen && v == rule.Lo || rule.HiOpen && v == rule.Hi {
		return 0, errors.New(rule.Want(kind))
	}
	return v, nil
}

// Want says what a flag of kind accepts: "a whole number from 1 to 1000000".
func (r Rule) Want(kind string) string {
	noun, after := "a number", ""
	show := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch kind {
	case "duration":
		noun, after = "a duration", " (such as 250ms or 2s)"
		show = func(f float64) string { return FmtBound(time.Duration(f)) }
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
	case r.LoOpen && r.HiOpen:
		return fmt.Sprintf("want %s above %s and below %s%s", noun, show(r.Lo), show(r.Hi), after)
	case r.LoOpen:
		return fmt.Sprintf("want %s above %s, up to %s%s", noun, show(r.Lo), show(r.Hi), after)
	}
	return fmt.Sprintf("want %s from %s to %s%s", noun, show(r.Lo), show(r.Hi), after)
}

// FmtBound writes a duration bound the way a user types it: 8760h, not
// 8760h0m0s.
func FmtBound(d time.Duration) string {
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

// Error rewrites pflag's "invalid argument" error into the one kind
// of message numeric flags give: --NAME VALUE: want ...
func Error(err error) string {
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
