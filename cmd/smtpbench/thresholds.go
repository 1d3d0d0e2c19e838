package main

import (
	"fmt"
	"math"
	"time"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// thresholds turn a run into a pass/fail for CI.
type thresholds struct {
	maxQuantile  []quantileLimit
	maxErrorRate float64 // percent; 100 = no limit
	minRate      float64
	maxLost      int64 // -1: no limit (without --receive)
}

type quantileLimit struct {
	phase    string
	quantile float64 // 0-100, as hdrhistogram's ValueAtQuantile takes it
	limit    time.Duration
}

func parseThresholds(f *runFlags) (thresholds, error) {
	th := thresholds{maxErrorRate: f.maxErrorRate, minRate: f.minRate}
	for _, set := range []struct {
		flag string
		q    float64
		vals []string
	}{{"max-p50", 50, f.maxP50}, {"max-p99", 99, f.maxP99}} {
		for _, v := range set.vals {
			k, d, err := splitKV(set.flag, v)
			if err != nil {
				return th, err
			}
			if (k == report.SeriesService || k == report.SeriesLag) && f.rate == 0 {
				return th, fmt.Errorf("--%s %q: %s exists only in the open model (--rate)", set.flag, v, k)
			}
			if (k == report.SeriesDelivery || k == report.SeriesEndToEnd) && f.receive == "" {
				return th, fmt.Errorf("--%s %q: %s exists only with --receive", set.flag, v, k)
			}
			if k != report.SeriesService && k != report.SeriesLag && k != report.SeriesDelivery && k != report.SeriesEndToEnd {
				if _, err := session.ParsePhase(k); err != nil {
					return th, fmt.Errorf("--%s %q: %v, or %s or %s with --rate", set.flag, v, err, report.SeriesService, report.SeriesLag)
				}
			}
			lim, err := parseDurationPositive(set.flag, d)
			if err != nil {
				return th, err
			}
			th.maxQuantile = append(th.maxQuantile, quantileLimit{k, set.q, lim})
		}
	}
	if math.IsNaN(f.maxErrorRate) || f.maxErrorRate < 0 || f.maxErrorRate > 100 {
		return th, fmt.Errorf("--max-error-rate %g: want a percent from 0 to 100", f.maxErrorRate)
	}
	if err := checkFloat("min-rate", f.minRate, 0, maxRate); err != nil {
		return th, err
	}
	return th, nil
}

// check returns one line per breached threshold.
func (th thresholds) check(res *report.Result) []string {
	var out []string
	j := report.Figures(res)
	for _, q := range th.maxQuantile {
		s, ok := j.Phases[q.phase]
		if why := report.UnattributedBreach(j, q.phase); why != "" {
			out = append(out, fmt.Sprintf("p%g of %s", q.quantile, why))
			continue
		}
		if !ok || s.Count == 0 {
			// No RSET (say) means no slow RSET; but a run that decided no
			// message at all cannot show its message latency is in bounds.
			if q.phase == "message" {
				out = append(out, fmt.Sprintf("p%g of %s: no samples to check against %s", q.quantile, q.phase, q.limit))
			}
			continue
		}
		got := s.P50MS
		if q.quantile == 99 {
			got = s.P99MS
		}
		if lim := float64(q.limit.Microseconds()) / 1000; got > lim {
			out = append(out, fmt.Sprintf("p%g of %s is %.3g ms, above the limit of %s", q.quantile, q.phase, got, q.limit))
		}
	}
	t := j.Totals
	if th.maxErrorRate < 100 && t.MessagesAttempted > 0 {
		rate := 100 * float64(t.MessagesRejected+t.MessagesFailed) / float64(t.MessagesAttempted)
		if rate > th.maxErrorRate {
			out = append(out, fmt.Sprintf("error rate is %.2f%% (%d of %d messages), above the limit of %g%%",
				rate, t.MessagesRejected+t.MessagesFailed, t.MessagesAttempted, th.maxErrorRate))
		}
	}
	if d := j.Delivery; d != nil && th.maxLost >= 0 && d.Lost > th.maxLost {
		out = append(out, fmt.Sprintf("%d accepted messages were lost (never arrived at %s), above the limit of %d", d.Lost, d.Receiver, th.maxLost))
	}
	if th.minRate > 0 && t.MessagesPerS < th.minRate {
		out = append(out, fmt.Sprintf("rate is %.1f messages/s, below the minimum of %g", t.MessagesPerS, th.minRate))
	}
	return out
}
