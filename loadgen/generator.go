package loadgen

import (
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/internal/finesleep"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// schedLatency is the Go runtime's histogram of how long goroutines waited,
// runnable, before they ran: the delay the generator itself adds to every
// reply it reads, whatever the load model.
const schedLatency = "/sched/latencies:seconds"

// selfWatch measures what the run cost the generator: CPU time against the
// cores it has, and the scheduling delay of its goroutines over the run.
type selfWatch struct {
	cpu0   time.Duration
	sched0 *metrics.Float64Histogram
}

func startSelfWatch() *selfWatch {
	return &selfWatch{cpu0: cpuTime(), sched0: readSched()}
}

func readSched() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: schedLatency}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// finish returns the generator's figures for a run that took elapsed.
func (s *selfWatch) finish(elapsed time.Duration, shards int) *report.Generator {
	g := &report.Generator{Cores: runtime.GOMAXPROCS(0), CPU: cpuTime() - s.cpu0, Shards: shards}
	if elapsed > 0 {
		g.CPUShare = g.CPU.Seconds() / elapsed.Seconds() / float64(g.Cores)
	}
	end := readSched()
	if s.sched0 == nil || end == nil || len(end.Counts) != len(s.sched0.Counts) {
		return g
	}
	diff := make([]uint64, len(end.Counts))
	var total uint64
	for i := range diff {
		diff[i] = end.Counts[i] - s.sched0.Counts[i]
		total += diff[i]
	}
	g.SchedSamples = total
	g.SchedP50 = bucketQuantile(end.Buckets, diff, total, 0.50)
	g.SchedP99 = bucketQuantile(end.Buckets, diff, total, 0.99)
	g.SchedMax = bucketQuantile(end.Buckets, diff, total, 1)
	return g
}

// bucketQuantile returns the upper bound of the bucket holding quantile q
// (0–1) of counts: the runtime keeps buckets, not samples, so this errs on
// the side of a longer delay.
func bucketQuantile(bounds []float64, counts []uint64, total uint64, q float64) time.Duration {
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen uint64
	for i, n := range counts {
		seen += n
		if seen >= rank {
			hi := bounds[i+1]
			if math.IsInf(hi, 1) {
				hi = bounds[i]
			}
			return time.Duration(hi * float64(time.Second))
		}
	}
	return 0
}

// Thresholds for the generator's own warnings. Scheduling delay is added to
// every reply the generator reads, so once its p99 reaches a fifth of the
// median message time, a fifth of what the tail shows may be the tool's
// own waiting rather than the server's; with the CPUs 90% busy that delay
// grows fast.
const (
	schedShareWarn = 0.20
	cpuShareWarn   = 0.90
	// busyShare: below it, a long scheduling delay is blamed on other
	// processes rather than on the generator's own load.
	busyShare = 0.50
	// minWatch and minSchedMessages: shorter runs, or fewer messages, give
	// the CPU and scheduling figures too little to stand on for a warning.
	minWatch         = time.Second
	minSchedMessages = 100
)

// generatorWarnings says when the figures may describe smtpbench rather than
// the server: the process used nearly all CPUs, its goroutines waited long to
// run, or in the open model it fell behind its schedule or woke late for it.
func (r *run) generatorWarnings(res *report.Result, wake *hdrhistogram.Histogram) []string {
	var out []string
	g := res.Generator
	if res.Elapsed < minWatch {
		// CPU time is counted in clock ticks and the scheduler's histogram
		// in coarse buckets: over a few milliseconds neither means much.
		g = nil
	}
	// whose says whose work kept the CPUs busy when smtpbench used few.
	whose := "other processes on this machine (the server, if it runs here) kept them busy"
	if r.cfg.InProcessServer {
		whose = "the built-in sink runs in this process and shares its CPUs (start it on its own with smtpbench sink to measure the tool apart)"
	}
	if g != nil && g.CPUShare > cpuShareWarn {
		what := "smtpbench may be the bottleneck, so these figures may describe the tool rather than the server"
		if r.cfg.InProcessServer {
			what = "the built-in sink in this process counts in that, and the two compete for the CPUs"
		}
		out = append(out, fmt.Sprintf("smtpbench used %.0f%% of %d CPUs: %s", min(g.CPUShare, 1)*100, g.Cores, what))
	}
	msg := res.Total.Phases[session.PhaseMessage]
	if g != nil && msg.TotalCount() >= minSchedMessages && g.SchedSamples > 0 {
		p50 := time.Duration(msg.ValueAtQuantile(50)) * time.Microsecond
		if p50 > 0 && float64(g.SchedP99) >= schedShareWarn*float64(p50) {
			wait := fmt.Sprintf("smtpbench's goroutines waited up to %s (p99) for a CPU, %.0f%% of the message p50 (%s), so the latencies include that wait",
				fmtMS(g.SchedP99), 100*float64(g.SchedP99)/float64(p50), fmtMS(p50))
			if g.CPUShare < busyShare || r.cfg.InProcessServer {
				// Waiting for CPUs it hardly used: someone else had them.
				out = append(out, fmt.Sprintf("%s; smtpbench used %.0f%% of %d CPUs: %s", wait, 100*min(g.CPUShare, 1), g.Cores, whose))
			} else {
				out = append(out, wait+": the generator is overloaded; use fewer sessions or more CPUs")
			}
		}
	}
	if r.pacer == nil {
		return out
	}
	if !r.dueTimerFD && finesleep.HasTimerFD {
		out = append(out, fmt.Sprintf("the open-file limit leaves no room for a precise timer (timerfd) per session at -c %d, so sessions waited for due times on Go timers, which wake up to a millisecond late: start lag and message latencies include that. Raise the limit (ulimit -n) or lower -c", r.cfg.Concurrency))
	}
	if wake.TotalCount() > 0 && wake.ValueAtQuantile(99) > 5000 {
		late := fmt.Sprintf("smtpbench woke late for its schedule (p99 %.1f ms, max %.1f ms), so the latencies include its own delay",
			float64(wake.ValueAtQuantile(99))/1000, float64(wake.Max())/1000)
		if g != nil && (g.CPUShare < busyShare || r.cfg.InProcessServer) {
			out = append(out, fmt.Sprintf("%s; smtpbench used %.0f%% of %d CPUs: %s", late, 100*min(g.CPUShare, 1), g.Cores, whose))
		} else {
			out = append(out, late+": the generator is overloaded")
		}
	}
	// Behind at the end: messages that were due but never started, or the
	// last ones starting well after their due time.
	due := r.dueBy(res.Elapsed)
	started := res.Total.Attempted
	if res.WarmupTotals != nil {
		started += res.WarmupTotals.Attempted
	}
	if r.cfg.Messages == 0 && due > 0 && float64(started) < 0.95*float64(due) {
		// The start lag of every message started, warm-up included: a run
		// that fell far behind may have started none after its warm-up.
		var lag *hdrhistogram.Histogram
		for _, h := range []*hdrhistogram.Histogram{res.Total.Lag, warmupLag(res)} {
			switch {
			case h == nil:
			case lag == nil:
				lag = hdrhistogram.Import(h.Export())
			default:
				lag.Merge(h)
			}
		}
		lagText := "no message started"
		if lag != nil && lag.TotalCount() > 0 {
			lagText = fmt.Sprintf("start lag p50 %.1f ms, p99 %.1f ms, max %.1f ms",
				float64(lag.ValueAtQuantile(50))/1000, float64(lag.ValueAtQuantile(99))/1000, float64(lag.Max())/1000)
		}
		out = append(out, fmt.Sprintf("could not keep the rate: %d of %d due messages started (%.0f/s of %.0f/s asked; %s). %s",
			started, due, float64(started)/res.Elapsed.Seconds(), r.cfg.Rate, lagText, r.behindCause(res, wake, lagP50(lag))))
	}
	if r.cfg.Messages > 0 {
		// A count-bounded run always starts every message eventually; it
		// fell behind if the last one started well after its due time.
		if lag := time.Duration(r.lastLag.Load()); lag > 10*time.Millisecond+r.pacer.ExpectedDue(uint64(r.cfg.Messages-1))/20 {
			out = append(out, fmt.Sprintf("could not keep the rate: the last message started %.2f s after its due time. %s",
				lag.Seconds(), r.behindCause(res, wake, lag)))
		}
	}
	return out
}

// behindCause says why an open-model run fell behind its schedule by a
// typical start lag of lag. A message waits for its due time on a free
// session's timer, so it starts late either because no session was free
// (each was busy with an earlier message: the server took longer than -c
// sessions allow at this rate) or because a free one woke late (smtpbench
// short of CPU). Sessions that woke a few milliseconds late do not explain
// a lag of hundreds: the cause is then the busy sessions.
func (r *run) behindCause(res *report.Result, wake *hdrhistogram.Histogram, lag time.Duration) string {
	const own = "smtpbench woke late or was short of CPU, so it could not keep up itself (see the warnings on its CPU and timing)"
	if g := res.Generator; g != nil && g.CPUShare > cpuShareWarn {
		return own
	}
	if wake.TotalCount() > 0 && wake.ValueAtQuantile(99) > 5000 && lag <= 2*time.Duration(wake.Max())*time.Microsecond {
		return own
	}
	return fmt.Sprintf("Every one of the -c %d sessions was busy with earlier messages when these fell due: the server took longer than %d sessions allow at this rate. Raise -c to find out how far it goes",
		r.cfg.Concurrency, r.cfg.Concurrency)
}

// lagP50 is the median of a start-lag histogram (µs), zero without one.
func lagP50(h *hdrhistogram.Histogram) time.Duration {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.ValueAtQuantile(50)) * time.Microsecond
}

// warmupLag is the start lag of the warm-up's messages, nil without one.
func warmupLag(res *report.Result) *hdrhistogram.Histogram {
	if res.WarmupTotals == nil {
		return nil
	}
	return res.WarmupTotals.Lag
}

func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
