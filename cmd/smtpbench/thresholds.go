package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/internal/cliflag"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/report"
)

// thresholds turn a run into a pass/fail for CI: report's evaluator with
// the limits the flags give.
type thresholds struct{ analysis.Thresholds }

func parseThresholds(f *runFlags) (thresholds, error) {
	th := thresholds{analysis.Thresholds{MaxErrorPct: f.maxErrorRate, MinRate: f.minRate}}
	for _, set := range []struct {
		flag, q string
		vals    []string
	}{{"max-p50", "p50", f.maxP50}, {"max-p99", "p99", f.maxP99}} {
		for _, v := range set.vals {
			l, err := analysis.ParseLatencyLimit(v, set.q, f.w.Rate > 0, f.w.Receive != "")
			var ce *loadgen.ConfigError
			if errors.As(err, &ce) {
				return th, fmt.Errorf("--%s %s", set.flag, ce.Explain(flagName))
			} else if err != nil {
				return th, fmt.Errorf("--%s %v", set.flag, err)
			}
			th.Latency = append(th.Latency, l)
		}
	}
	if math.IsNaN(f.maxErrorRate) || f.maxErrorRate < 0 || f.maxErrorRate > 100 {
		return th, fmt.Errorf("--max-error-rate %g: want a percent from 0 to 100", f.maxErrorRate)
	}
	if err := cliflag.CheckFloat("min-rate", f.minRate, 0, maxRate); err != nil {
		return th, err
	}
	return th, nil
}

// check returns one line per breached threshold.
func (th thresholds) check(res *report.Result) []string {
	var out []string
	for _, b := range th.Check(report.Figures(res)) {
		out = append(out, b.String())
	}
	return out
}
