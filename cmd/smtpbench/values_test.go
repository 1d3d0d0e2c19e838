package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/internal/cliflag"
)

// Every numeric flag refuses what is out of range with one line and exit 2,
// in the real binary: a Go panic also exits 2, so the test also insists on
// exactly one line that names the flag.
func TestNumericFlagsOutOfRange(t *testing.T) {
	bin := buildBinary(t)
	cases := []struct {
		name string
		args []string
		want string // in the one-line message
	}{
		{"size overflowing int64", []string{"run", "--size", "8589934592GiB"}, "--size"},
		{"size wrapping to zero", []string{"run", "--size", "17179869184GiB"}, "--size"},
		{"size digits overflow", []string{"run", "--size", "99999999999999999999999"}, "--size"},
		{"size over 1GiB", []string{"run", "--size", "1025MiB"}, "at most 1GiB"},
		{"size negative", []string{"run", "--size", "-1KiB"}, "--size"},
		{"concurrency overflow", []string{"run", "-c", "99999999999999999999"}, "-c"},
		{"concurrency above max", []string{"run", "-c", "1000001"}, "--concurrency"},
		{"concurrency negative", []string{"run", "-c", "-3"}, "--concurrency"},
		{"messages overflow", []string{"run", "-n", "9223372036854775808"}, "--messages 9223372036854775808: want a whole number from 0 to 9223372036854775807"},
		{"rcpts overflow", []string{"run", "--rcpts", "4294967297"}, "--rcpts"},
		{"rcpts zero", []string{"run", "--rcpts", "0"}, "--rcpts"},
		{"per-conn negative", []string{"run", "--per-conn", "-1"}, "--per-conn"},
		{"per-conn overflow", []string{"run", "--per-conn", "1e99"}, "--per-conn"},
		{"rate NaN", []string{"run", "--rate", "NaN"}, "--rate"},
		{"rate Inf", []string{"run", "--rate", "Inf"}, "--rate"},
		{"rate overflow", []string{"run", "--rate", "1e999"}, "--rate"},
		{"rate negative", []string{"run", "--rate", "-5"}, "--rate"},
		{"rate too slow", []string{"run", "--rate", "1e-300"}, "--rate"},
		{"rate too fast", []string{"run", "--rate", "1e12"}, "--rate"},
		{"duration overflow", []string{"run", "-d", "9999999999h"}, "-d"},
		{"duration above max", []string{"run", "-d", "8761h"}, "--duration"},
		{"duration negative", []string{"run", "-d", "-1s"}, "--duration"},
		{"timeout zero", []string{"run", "--timeout", "0s"}, "--timeout"},
		{"timeout above max", []string{"run", "--timeout", "9000h"}, "--timeout"},
		{"data-timeout above max", []string{"run", "--data-timeout", "9000h"}, "--data-timeout"},
		{"warmup negative", []string{"run", "--warmup", "-1s"}, "--warmup"},
		{"ramp above max", []string{"run", "--ramp", "9000h"}, "--ramp"},
		{"grace negative", []string{"run", "--grace", "-1s"}, "--grace"},
		{"trace negative", []string{"run", "--trace", "-1"}, "--trace"},
		{"trace overflow", []string{"run", "--trace", "99999999999999999999"}, "--trace"},
		{"max-error-rate NaN", []string{"run", "--max-error-rate", "NaN"}, "--max-error-rate"},
		{"max-error-rate above 100", []string{"run", "--max-error-rate", "101"}, "--max-error-rate"},
		{"min-rate Inf", []string{"run", "--min-rate", "+Inf"}, "--min-rate"},
		{"min-rate negative", []string{"run", "--min-rate", "-1"}, "--min-rate"},
		{"max-p99 above max", []string{"run", "--max-p99", "message=9000h"}, "--max-p99"},
		{"max-p50 negative", []string{"run", "--max-p50", "message=-1ms"}, "--max-p50"},
		{"busy-poll above 1s", []string{"run", "--busy-poll", "2s"}, "--busy-poll"},
		{"sink reject NaN", []string{"sink", "--reject", "rcpt=NaN"}, "--reject"},
		{"sink reject code overflow", []string{"sink", "--reject", "rcpt=5:99999999999999999999"}, "--reject"},
		{"sink delay above max", []string{"sink", "--delay", "body=9000h"}, "--delay"},
		{"sink stall above max", []string{"sink", "--stall", "1s:9000h"}, "--stall"},
		{"sink idle-timeout overflow", []string{"sink", "--idle-timeout", "9999999999h"}, "--idle-timeout"},
		{"sink workers above max", []string{"sink", "--workers", "1000000000000", "--delay", "body=1s"}, "--workers"},
		{"sink workers negative", []string{"sink", "--workers", "-1", "--delay", "body=1s"}, "--workers"},
		{"sink idle-timeout above max", []string{"sink", "--idle-timeout", "9000h"}, "--idle-timeout"},
		// One kind of message for every number: the flag, the value, what it wants.
		{"concurrency digits overflow", []string{"run", "-c", "99999999999999999999"}, "--concurrency 99999999999999999999: want a whole number from 1 to 1000000"},
		{"seed negative", []string{"run", "--seed", "-1"}, "--seed -1: want a whole number from 0 to 18446744073709551615"},
		{"duration past the documented bound", []string{"run", "-d", "99999999h"}, "--duration 99999999h: want a duration from 0s to 8760h"},
		{"timeout negative", []string{"run", "--timeout", "-1s"}, "--timeout -1s: want a duration above 0s, up to 8760h"},
		{"timeout zero, as the message says", []string{"run", "--timeout", "0s"}, "--timeout 0s: want a duration above 0s"},
		{"size negative", []string{"run", "--size", "-5"}, `size "-5": a size cannot be negative`},
		{"rate NaN named", []string{"run", "--rate", "NaN"}, "--rate NaN: want a number from 0 to 10000000"},
		{"sweep rate-max NaN", []string{"sweep", "--rate-max", "NaN", "--slo", "message:p99=1s", "127.0.0.1:1"}, "--rate-max NaN"},
		{"sweep concurrency max int64", []string{"sweep", "-c", "9223372036854775807", "127.0.0.1:1"}, "9223372036854775807: want a whole number from 1 to 1000000"},
		{"sweep one-step range", []string{"sweep", "-c", "1..64x9999999999999999999", "127.0.0.1:1"}, "gives one value"},
		{"sweep concurrency list above max", []string{"sweep", "-c", "1,2000000", "127.0.0.1:1"}, "2000000: want a whole number from 1 to 1000000"},
		{"ab rounds overflow", []string{"ab", "--rounds", "99999999999999999999", "a", "b"}, "--rounds 99999999999999999999: want a whole number from 1 to 1000"},
		{"bool", []string{"run", "--progress=maybe"}, "--progress maybe: want true or false"},
		{"ramp longer than the run", []string{"run", "-c", "10", "-d", "1s", "--ramp", "1h"}, "--ramp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tc.args...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
				t.Fatalf("%v: want exit %d; stderr %q", err, exitUsage, errb.String())
			}
			stderr := strings.TrimSpace(errb.String())
			if strings.Contains(stderr, "\n") || strings.Contains(stderr, "panic") {
				t.Errorf("want one line, got %q", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("a refused command wrote to stdout: %q", out.String())
			}
		})
	}
}

// FuzzNumericFlags feeds every numeric flag: a value is either refused in
// one line that names the flag and says what it wants (never strconv's or
// Go's words), or accepted within the flag's range.
func FuzzNumericFlags(f *testing.F) {
	for _, s := range []string{"0", "1", "-1", "99999999999999999999", "9223372036854775807", "NaN", "Inf", "-Inf", "1e999",
		"0x10", "1.5", "", " ", "250ms", "-1s", "99999999h", "8760h", "8761h", "1e3h", "0.5", "1_000"} {
		f.Add(s)
	}
	// The flags of run and compare as those commands register them, and
	// the numeric flags sweep, ab and sink register inline, with their types.
	flagSet := func(i int) *pflag.FlagSet {
		fs := pflag.NewFlagSet("fuzz", pflag.ContinueOnError)
		if i == 0 {
			var f runFlags
			f.register(fs)
			return fs
		}
		var o compareFlags
		o.register(fs)
		fs.Int("rounds", defaultRounds, "")
		fs.Int("probes", 1, "")
		fs.Float64("precision", 5, "")
		fs.Float64("rate-max", 0, "")
		fs.Int("workers", 0, "")
		fs.Duration("idle-timeout", 0, "")
		return fs
	}
	type numFlag struct {
		set  int
		name string
	}
	var flags []numFlag
	for i := range 2 {
		flagSet(i).VisitAll(func(fl *pflag.Flag) {
			if cliflag.Kinds[fl.Value.Type()] {
				flags = append(flags, numFlag{i, fl.Name})
			}
		})
	}
	if len(flags) < 20 {
		f.Fatalf("found only %d numeric flags", len(flags))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fl := range flags {
			fs, name := flagSet(fl.set), fl.name
			err := parseFlags(fs, []string{"--" + name + "=" + s}, "", io.Discard)
			if err != nil {
				msg := err.Error()
				if !strings.HasPrefix(msg, "--"+name+" ") || !strings.Contains(msg, ": want ") || strings.Contains(msg, "\n") ||
					strings.Contains(msg, "strconv") || strings.Contains(msg, "invalid argument") {
					t.Errorf("--%s=%q: %q", name, s, msg)
				}
				continue
			}
			v := fs.Lookup(name).Value
			if rule, ok := numberRules[name]; ok {
				// The value as the flag now holds it is within range.
				if _, err := cliflag.Parse(v.Type(), v.String(), rule); err != nil {
					t.Errorf("--%s=%q accepted as %s, outside its range: %v", name, s, v.String(), err)
				}
			}
		}
	})
}
