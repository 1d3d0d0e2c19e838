package analysis

// The judgements of sweeps: where throughput stops growing (the knee),
// where abuse starts to hurt the good mail, and whether a capacity
// search's probe met its objectives. Their thresholds (report.KneeGain,
// report.HurtGain) live beside the document types that carry the findings,
// whose renderer words them.

import (
	"fmt"
	"strings"
	"time"

	"github.com/smtpbench/smtpbench/report"
)

// StepOf summarises one run as a sweep step.
func StepOf(label string, concurrency int, rate float64, j *report.JSONReport) report.StepJSON {
	m := j.Phases["message"]
	t := j.Totals
	s := report.StepJSON{Label: label, Concurrency: concurrency, Rate: rate, MessagesPerS: t.MessagesPerS,
		MessageP50MS: m.P50MS, MessageP99MS: m.P99MS, Errors: t.MessagesRejected + t.MessagesFailed, Warnings: j.Warnings}
	if t.MessagesAttempted > 0 {
		s.ErrorPct = 100 * float64(s.Errors) / float64(t.MessagesAttempted)
	}
	if sv := j.Server; sv != nil {
		mem := sv.MemoryPeakBytes
		s.ServerCPUUSPerMessage, s.ServerMemoryPeakBytes = sv.CPUUSPerMessage, &mem
	}
	if d := j.Delivery; d != nil {
		s.DeliveredPerS, s.BacklogMax, s.Lost, s.BacklogGrew = d.DeliveredPerS, d.BacklogMax, d.Lost, BacklogGrew(j)
	}
	return s
}

// Hurt finds the first step of an abuse sweep at which the normal
// sessions did measurably worse than at the first (see report.HurtGain); nil if
// none did.
func Hurt(steps []report.StepJSON) *report.HurtJSON {
	if len(steps) < 2 {
		return nil
	}
	a := steps[0]
	for i, b := range steps[1:] {
		var why []string
		if a.MessagesPerS > 0 && b.MessagesPerS < (1-report.HurtGain)*a.MessagesPerS {
			why = append(why, fmt.Sprintf("messages/s %.1f -> %.1f", a.MessagesPerS, b.MessagesPerS))
		}
		for _, f := range []struct {
			name string
			a, b float64
		}{{"message p99", a.MessageP99MS, b.MessageP99MS}, {"connect p99", a.ConnectP99MS, b.ConnectP99MS}, {"banner p99", a.BannerP99MS, b.BannerP99MS}} {
			if f.a > 0 && f.b > 2*f.a {
				why = append(why, fmt.Sprintf("%s %s -> %s ms", f.name, report.FormatMS(f.a), report.FormatMS(f.b)))
			}
		}
		if len(why) > 0 {
			return &report.HurtJSON{Step: i + 1, AbuseSessions: b.AbuseSessions, Why: strings.Join(why, ", ")}
		}
	}
	return nil
}

// BacklogGrew says whether a run's delivery backlog was still growing when
// its load stopped: at the last whole second of the load it was more than
// half as large again as halfway through, and more than half a second of
// accepted mail. A queue that grows without end is past the server's
// capacity however fast its 250s came.
func BacklogGrew(j *report.JSONReport) bool {
	d := j.Delivery
	if d == nil {
		return false
	}
	from := j.Config.WarmupS
	end := int(j.StoppedAtS) - 1
	mid := int((from + float64(end)) / 2)
	if end <= mid || end >= len(d.Intervals) || mid < 0 {
		return false
	}
	a, b := d.Intervals[mid].Backlog, d.Intervals[end].Backlog
	return float64(b) > 1.5*float64(a) && float64(b) > 0.5*j.Totals.MessagesPerS
}

// Knee finds the first step after which messages/s grows by less than
// report.KneeGain while the message p99 grows by more than it: adding load
// there only adds waiting. value gives a step's sessions or rate. It
// returns nil when no step qualifies.
func Knee(steps []report.StepJSON, value func(report.StepJSON) float64) *report.KneeJSON {
	for i := 0; i+1 < len(steps); i++ {
		a, b := steps[i], steps[i+1]
		if a.MessagesPerS <= 0 || a.MessageP99MS <= 0 {
			continue
		}
		gain := b.MessagesPerS/a.MessagesPerS - 1
		if a.DeliveredPerS > 0 && b.DeliveredPerS > 0 {
			// With a receiver the throughput is what the server delivered.
			gain = b.DeliveredPerS/a.DeliveredPerS - 1
		}
		growth := b.MessageP99MS/a.MessageP99MS - 1
		if gain < report.KneeGain && growth > report.KneeGain {
			return &report.KneeJSON{Step: i, Label: a.Label, Value: value(a), GainPct: 100 * gain, P99GrowthPct: 100 * growth}
		}
	}
	return nil
}

// SLO is one latency objective of a capacity search: Quantile of Phase at
// most Limit.
type SLO struct {
	Phase    string
	Quantile string // p50, p90, p99 or p999
	Limit    time.Duration
}

// ParseSLO reads PHASE:pNN=DURATION, such as message:p99=50ms.
func ParseSLO(s string) (SLO, error) {
	line, d, ok := strings.Cut(s, "=")
	if !ok {
		return SLO{}, fmt.Errorf("%q: want PHASE:pNN=DURATION such as message:p99=50ms", s)
	}
	if _, err := ParseLine(line); err != nil || !strings.Contains(line, ":") {
		return SLO{}, fmt.Errorf("%q: want PHASE:pNN=DURATION such as message:p99=50ms", s)
	}
	lim, err := time.ParseDuration(d)
	if err != nil || lim <= 0 {
		return SLO{}, fmt.Errorf("%q: %q is not a positive duration", s, d)
	}
	phase, q, _ := strings.Cut(line, ":")
	return SLO{Phase: phase, Quantile: q, Limit: lim}, nil
}

func (o SLO) String() string { return fmt.Sprintf("%s:%s<=%s", o.Phase, o.Quantile, o.Limit) }

// CheckSLO returns one line per objective a run breached, and for an error
// rate above maxErrorPct. A phase with no samples breaches its objective:
// nothing was shown to be fast enough.
func CheckSLO(j *report.JSONReport, slos []SLO, maxErrorPct float64) []string {
	t := Thresholds{MaxErrorPct: maxErrorPct, SamplesRequired: true, MessagesRequired: true, MaxLost: 0, BacklogBounded: true}
	for _, o := range slos {
		t.Latency = append(t.Latency, LatencyLimit{Phase: o.Phase, Quantile: o.Quantile, Limit: o.Limit})
	}
	var out []string
	for _, b := range t.Check(j) {
		out = append(out, b.sloString())
	}
	return out
}
