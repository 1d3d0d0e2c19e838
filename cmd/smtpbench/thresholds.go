package main

import (
	"fmt"
	"math"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/internal/cliflag"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// thresholds turn a run into a pass/fail for CI: report's evaluator with
// the limits the flags give.
type thresholds struct{ analysis.Thresholds }

func parseThresholds(f *runFlags) (thresholds, error) {
	th := thresholds{analysis.Thresholds{MaxErrorPct: f.maxErrorRate, MinRate: f.minRate}}
	for _, set := range []struct {
		flag string
		q    string
		vals []string
	}{{"max-p50", "p50", f.maxP50}, {"max-p99", "p99", f.maxP99}} {
		for _, v := range set.vals {
			k, d, err := cliflag.SplitKV(set.flag, v)
			if err != nil {
				return th, err
			}
			if (k == metrics.SeriesService || k == metrics.SeriesLag) && f.w.Rate == 0 {
				return th, fmt.Errorf("--%s %q: %s exists only in the open model (--rate)", set.flag, v, k)
			}
			if (k == metrics.SeriesDelivery || k == metrics.SeriesEndToEnd) && f.w.Receive == "" {
				return th, fmt.Errorf("--%s %q: %s exists only with --receive", set.flag, v, k)
			}
			if k != metrics.SeriesService && k != metrics.SeriesLag && k != metrics.SeriesDelivery && k != metrics.SeriesEndToEnd {
				if _, err := session.ParsePhase(k); err != nil {
					return th, fmt.Errorf("--%s %q: %v, or %s or %s with --rate", set.flag, v, err, metrics.SeriesService, metrics.SeriesLag)
				}
			}
			lim, err := cliflag.Duration(set.flag, d)
			if err != nil {
				return th, err
			}
			th.Latency = append(th.Latency, analysis.LatencyLimit{Phase: k, Quantile: set.q, Limit: lim})
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
