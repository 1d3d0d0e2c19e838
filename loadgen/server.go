package loadgen

import (
	"time"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/servercost"
)

// serverCost turns the sampler's readings into the run's figures: the CPU
// and peak memory of the measured window (after the warm-up, to the end),
// and the server's share of each second of the timeline.
func serverCost(m *servercost.Measurement, res *report.Result, src servercost.Source) *report.ServerCost {
	from := res.StartedAt.Add(min(res.Warmup, res.Elapsed))
	end := res.StartedAt.Add(res.Elapsed)
	sc := &report.ServerCost{
		Method:     m.Method,
		CPU:        m.CPUBetween(from, end),
		Window:     end.Sub(from),
		MemoryPeak: m.PeakMemory(from),
		Notes:      m.Notes,
	}
	for _, s := range m.Samples {
		sc.Processes = max(sc.Processes, s.Processes)
	}
	if !m.GoneAt.IsZero() {
		sc.GoneAt = max(m.GoneAt.Sub(res.StartedAt), time.Millisecond)
	}
	for i := range res.Intervals {
		iv := &res.Intervals[i]
		a := res.StartedAt.Add(time.Duration(iv.T) * time.Second)
		b := a.Add(time.Second)
		if b.After(end) {
			b = end
		}
		if b.Before(a) {
			continue
		}
		sec := &report.ServerSecond{CPU: m.CPUBetween(a, b)}
		for _, s := range m.Samples {
			if !s.At.After(b.Add(100 * time.Millisecond)) {
				sec.Memory = s.Memory
			}
		}
		iv.Server = sec
	}
	return sc
}
