package report

// The comparison of two groups of runs as the result document holds it
// (an ab document's "comparison", compare -o json): its lines, verdicts
// and names. Package analysis computes it; this package only carries and
// renders it.

// Sample sources of a comparison.
const (
	// SamplesRuns takes one sample per run: each run's messages/s, its p50
	// of a phase, and so on.
	SamplesRuns = "runs"
	// SamplesIntervals takes one sample per second of a run, from its
	// per-second timeline; only messages/s, errors and the message phase's
	// p50 and p99 have such samples.
	SamplesIntervals = "intervals"
)

// Verdicts of a comparison line.
const (
	VerdictBetter    = "better"          // B significantly better than A
	VerdictWorse     = "worse"           // B significantly worse than A
	VerdictSame      = "no_difference"   // not significant: the change may be noise
	VerdictFew       = "too_few_samples" // too few samples to call any change significant
	VerdictUntested  = "not_tested"      // figures shown side by side, with no samples to test
	LineMessagesPerS = "messages/s"
	LineErrors       = "errors"
	// LineServerCPU is the server's CPU time per accepted message (µs) and
	// LineServerMemory its peak memory (MiB), where the runs measured the
	// server; --fail-if-slower names them server-cpu and server-memory.
	LineServerCPU    = "server cpu/msg"
	LineServerMemory = "server memory"
	// LineDeliveredPerS is the delivery object's delivered_per_s, for
	// runs with a receiver (--receive).
	LineDeliveredPerS = "delivered/s"
)

// Comparison is the result of comparing two groups of runs, benchstat
// style: per line, each side's median and its confidence interval, the
// change, and whether a Mann–Whitney U test finds it significant.
type Comparison struct {
	// A and B describe the two sides: name, targets and number of runs.
	A CompareSide `json:"a"`
	B CompareSide `json:"b"`
	// Samples is "runs" (one sample per run) or "intervals" (one per
	// second of the runs' timelines); SamplesNote says why.
	Samples     string `json:"samples"`
	SamplesNote string `json:"samples_note"`
	// Alpha is the significance level over the whole table; Confidence
	// the level of the medians' intervals.
	Alpha      float64 `json:"alpha"`
	Confidence float64 `json:"confidence"`
	// LinesTested is how many lines the p-values are adjusted for (Holm).
	LinesTested int `json:"lines_tested"`
	// Lines holds one entry per line, in table order.
	Lines []CompareLine `json:"lines"`
	// Warnings say when the comparison may mislead: different workloads,
	// too few samples for any verdict.
	Warnings []string `json:"warnings"`
}

// CompareSide names one side of a comparison.
type CompareSide struct {
	Name    string   `json:"name"`
	Targets []string `json:"targets"`
	Runs    int      `json:"runs"`
}

// CompareLine is one line of a comparison.
type CompareLine struct {
	// Line names what is compared: "messages/s", "errors" (percent of
	// messages rejected or failed), or PHASE:pNN such as "message:p99"
	// (milliseconds, NN in percent).
	Line string `json:"line"`
	// Unit is "msg/s", "%", "ms", "µs" (server cpu/msg) or "MiB" (server
	// memory).
	Unit string `json:"unit"`
	// HigherIsBetter is true for messages/s only: less server CPU and
	// memory is better.
	HigherIsBetter bool `json:"higher_is_better"`
	// A and B summarise each side's samples.
	A LineStats `json:"a"`
	B LineStats `json:"b"`
	// ChangePct is (B's median / A's median − 1) × 100; absent when A's
	// median is 0.
	ChangePct *float64 `json:"change_pct,omitempty"`
	// P is the Mann–Whitney U test's p-value adjusted for the number of
	// lines tested (Holm), PRaw the test's own; absent for lines not tested.
	P    *float64 `json:"p,omitempty"`
	PRaw *float64 `json:"p_raw,omitempty"`
	// Verdict is better, worse, no_difference, too_few_samples or
	// not_tested; better and worse are significant.
	Verdict string `json:"verdict"`
	// Note explains a verdict that is not a test result.
	Note string `json:"note,omitempty"`
}

// LineStats summarises one side of a line.
type LineStats struct {
	// N is the number of samples.
	N int `json:"n"`
	// Median of the samples; Lo and Hi bound its confidence interval
	// (absent when too few samples give a finite one).
	Median float64  `json:"median"`
	Lo     *float64 `json:"lo,omitempty"`
	Hi     *float64 `json:"hi,omitempty"`
}

// Significant reports whether the line's change is significant.
func (l CompareLine) Significant() bool {
	return l.Verdict == VerdictBetter || l.Verdict == VerdictWorse
}

// Line returns the comparison's line named name, if present.
func (c *Comparison) Line(name string) (CompareLine, bool) {
	for _, l := range c.Lines {
		if l.Line == name {
			return l, true
		}
	}
	return CompareLine{}, false
}

// WorseBy reports whether B is significantly worse than A on line by more
// than pct percent: lower messages/s, or a higher latency or error rate.
func (l CompareLine) WorseBy(pct float64) bool {
	if l.Verdict != VerdictWorse {
		return false
	}
	if l.ChangePct == nil {
		return true // A's median was 0: any worsening is infinitely large
	}
	if l.HigherIsBetter {
		return -*l.ChangePct > pct
	}
	return *l.ChangePct > pct
}
