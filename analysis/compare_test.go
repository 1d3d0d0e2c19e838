package analysis

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/report"
)

// fakeRun is a run report with the figures compare reads: messages/s, the
// p50 and p99 of the message and body phases, and per-second intervals.
func fakeRun(target string, rate, p50 float64, seconds []float64) *report.JSONReport {
	j := &report.JSONReport{Schema: report.Schema, Target: target, LoadModel: "closed", ElapsedS: float64(len(seconds)),
		Config: report.RunConfig{Concurrency: 4, DurationS: float64(len(seconds))},
		Totals: report.Totals{MessagesAttempted: 1000, MessagesOK: 1000, MessagesPerS: rate},
		Phases: map[string]report.Summary{
			"message": {Count: 1000, P50MS: p50, P90MS: 1.1 * p50, P99MS: 1.2 * p50, P999MS: 1.3 * p50},
			"body":    {Count: 1000, P50MS: p50 / 2, P90MS: 0.55 * p50, P99MS: 0.6 * p50, P999MS: 0.65 * p50},
			"rset":    {},
		},
	}
	for i, r := range seconds {
		j.Intervals = append(j.Intervals, report.JSONInterval{T: i, OK: int64(r), MessagesPerS: r, P50MS: p50 * r / rate, P99MS: 1.2 * p50 * r / rate})
	}
	return j
}

func group(name string, runs ...*report.JSONReport) CompareGroup {
	return CompareGroup{Name: name, Runs: runs}
}

func noisy(rng *rand.Rand, v, spread float64) float64 { return v * (1 + spread*(rng.Float64()-0.5)) }

func TestCompareRunsFindsTheSlowerSide(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var a, b []*report.JSONReport
	for range 6 {
		a = append(a, fakeRun("a:25", noisy(rng, 400, 0.02), noisy(rng, 10, 0.02), nil))
		b = append(b, fakeRun("b:25", noisy(rng, 330, 0.02), noisy(rng, 12, 0.02), nil))
	}
	c, err := Compare(group("A", a...), group("B", b...), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Samples != report.SamplesRuns {
		t.Errorf("samples %q, want runs", c.Samples)
	}
	// messages/s, then p50 and p99 of body and message; rset has no samples.
	if c.LinesTested != 5 || len(c.Lines) != 5 {
		t.Fatalf("%d lines, %d tested, want 5: %+v", len(c.Lines), c.LinesTested, c.Lines)
	}
	for _, l := range c.Lines {
		if l.Verdict != report.VerdictWorse || !l.Significant() {
			t.Errorf("%s: verdict %s, want worse", l.Line, l.Verdict)
		}
		// All six B runs beyond all six A runs: p = 2/924, times 5 lines.
		if l.PRaw == nil || *l.PRaw > 0.0022 || *l.P > 5*0.0022 {
			t.Errorf("%s: p %v (raw %v)", l.Line, l.P, l.PRaw)
		}
		if l.A.N != 6 || l.B.N != 6 || l.A.Lo == nil || *l.A.Lo > l.A.Median || *l.A.Hi < l.A.Median {
			t.Errorf("%s: stats %+v", l.Line, l.A)
		}
	}
	rate, _ := c.Line(report.LineMessagesPerS)
	if !rate.HigherIsBetter || *rate.ChangePct > -15 || *rate.ChangePct < -20 {
		t.Errorf("messages/s change %v", *rate.ChangePct)
	}
	if !rate.WorseBy(10) || rate.WorseBy(25) {
		t.Errorf("WorseBy(10) = %v, WorseBy(25) = %v for a change of %.1f%%", rate.WorseBy(10), rate.WorseBy(25), *rate.ChangePct)
	}
	p50, _ := c.Line("message:p50")
	if !p50.WorseBy(15) || p50.WorseBy(25) {
		t.Errorf("message p50 WorseBy: change %.1f%%", *p50.ChangePct)
	}
	if got := c.Summary(); !strings.HasPrefix(got, "B is slower: messages/s -1") {
		t.Errorf("summary %q", got)
	}
	var buf bytes.Buffer
	if err := report.WriteCompareTable(&buf, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"messages/s", "message p50 (ms)", "B slower", "p=0.0", "n=6", "Holm"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	// Swapped, B is the faster one.
	c2, _ := Compare(group("A", b...), group("B", a...), CompareOptions{})
	for _, l := range c2.Lines {
		if l.Verdict != report.VerdictBetter {
			t.Errorf("swapped %s: %s", l.Line, l.Verdict)
		}
	}
}

// TestCompareFalseAlarms compares groups drawn from one distribution many
// times: with the Holm adjustment, the share of comparisons that call any
// line different must stay near alpha, not near lines × alpha.
func TestCompareFalseAlarms(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const trials = 400
	alarms := 0
	for range trials {
		var a, b []*report.JSONReport
		for range 6 {
			a = append(a, fakeRun("x:25", noisy(rng, 400, 0.1), noisy(rng, 10, 0.1), nil))
			b = append(b, fakeRun("x:25", noisy(rng, 400, 0.1), noisy(rng, 10, 0.1), nil))
		}
		// Lines that vary independently of each other: the hardest case.
		for _, r := range append(a, b...) {
			s := r.Phases["body"]
			s.P50MS, s.P99MS = noisy(rng, 5, 0.1), noisy(rng, 6, 0.1)
			r.Phases["body"] = s
			m := r.Phases["message"]
			m.P99MS = noisy(rng, 12, 0.1)
			r.Phases["message"] = m
		}
		c, err := Compare(group("A", a...), group("B", b...), CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range c.Lines {
			if l.Significant() {
				alarms++
				break
			}
		}
	}
	// Five independent lines at 2/924 each: about 1 % of comparisons. Without
	// the adjustment it would be about 20 %.
	if alarms > trials*4/100 {
		t.Errorf("%d of %d comparisons of identical groups found a difference", alarms, trials)
	}
}

func TestCompareFewSamples(t *testing.T) {
	a := []*report.JSONReport{fakeRun("a:25", 400, 10, nil), fakeRun("a:25", 401, 10, nil), fakeRun("a:25", 399, 10, nil)}
	b := []*report.JSONReport{fakeRun("b:25", 300, 12, nil), fakeRun("b:25", 301, 12, nil), fakeRun("b:25", 299, 12, nil)}
	c, err := Compare(group("A", a...), group("B", b...), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Lines {
		if l.Verdict != report.VerdictFew || l.P != nil {
			t.Errorf("%s with 3+3 samples: %s", l.Line, l.Verdict)
		}
	}
	if c.Summary() != "nothing could be tested: too few samples" {
		t.Errorf("summary %q", c.Summary())
	}
	// Four a side can reach p = 0.029, but not for 5 lines at once.
	a = append(a, fakeRun("a:25", 400, 10, nil))
	b = append(b, fakeRun("b:25", 300, 12, nil))
	c, _ = Compare(group("A", a...), group("B", b...), CompareOptions{})
	if c.LinesTested != 5 || len(c.Warnings) == 0 || !strings.Contains(c.Warnings[0], "use at least 5 samples") {
		t.Errorf("no warning that 5 a side cannot be significant over 5 lines: %q", c.Warnings)
	}
}

func TestCompareIntervals(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	secs := func(v float64) []float64 {
		out := make([]float64, 10)
		for i := range out {
			out[i] = noisy(rng, v, 0.04)
		}
		return out
	}
	a := fakeRun("a:25", 400, 10, secs(400))
	b := fakeRun("b:25", 300, 10, secs(300))
	b.Config.Concurrency = 8
	c, err := Compare(group("a.json", a), group("b.json", b), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Samples != report.SamplesIntervals || !strings.Contains(c.SamplesNote, "second") {
		t.Errorf("samples %q: %q", c.Samples, c.SamplesNote)
	}
	rate, _ := c.Line(report.LineMessagesPerS)
	if rate.A.N != 10 || rate.Verdict != report.VerdictWorse {
		t.Errorf("messages/s over seconds: %+v", rate)
	}
	body, _ := c.Line("body:p50")
	if body.Verdict != report.VerdictUntested || body.P != nil || body.A.Median != 5 {
		t.Errorf("body p50 has no per-second samples, want it shown untested: %+v", body)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "concurrency 4 vs 8") {
		t.Errorf("warnings %q, want the workload difference", c.Warnings)
	}
	// The warm-up's seconds and the seconds past -d are no samples.
	a.Config.WarmupS = 2.5
	a.Config.DurationS = 8.5
	if got := len(measuredSeconds(a)); got != 5 {
		t.Errorf("measured seconds %d, want 5 (3 to 7)", got)
	}
}

func TestCompareExtraLinesAndErrors(t *testing.T) {
	var a, b []*report.JSONReport
	for i := range 6 {
		a = append(a, fakeRun("a:25", 400+float64(i), 10, nil))
		r := fakeRun("b:25", 400+float64(i), 10, nil)
		r.Totals.MessagesFailed = 10
		r.Totals.MessagesAttempted = 1010
		b = append(b, r)
	}
	c, err := Compare(group("A", a...), group("B", b...), CompareOptions{Lines: []string{"message:p999"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Line("message:p999"); !ok {
		t.Error("asked-for line message:p999 missing")
	}
	errs, ok := c.Line(report.LineErrors)
	if !ok || errs.Verdict != report.VerdictWorse || errs.ChangePct != nil {
		t.Errorf("errors line %+v", errs)
	}
	if _, err := Compare(group("A", a...), group("B", b...), CompareOptions{Lines: []string{"message:p42"}}); err == nil {
		t.Error("line message:p42 accepted")
	}
	// The document round-trips through JSON, infinities and all.
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(c); err != nil {
		t.Fatal(err)
	}
}

func TestParseLine(t *testing.T) {
	for _, s := range []string{"messages/s", "errors", "message:p99", "body:p50", "start_lag:p999", "message_service:p90"} {
		if _, err := ParseLine(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "message", "message:p98", "bogus:p99", "msg/s"} {
		if _, err := ParseLine(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestMinP(t *testing.T) {
	for _, c := range []struct {
		n1, n2 int
		want   float64
	}{{6, 6, 2.0 / 924}, {4, 4, 2.0 / 70}, {3, 3, 0.1}, {0, 5, 1}, {1, 1, 1}} {
		if got := minP(c.n1, c.n2); got < c.want*0.999 || got > c.want*1.001 {
			t.Errorf("minP(%d, %d) = %g, want %g", c.n1, c.n2, got, c.want)
		}
	}
}

func TestKnee(t *testing.T) {
	step := func(c int, rate, p99 float64) report.StepJSON {
		return report.StepJSON{Label: "c=" + string(rune('0'+c)), Concurrency: c, MessagesPerS: rate, MessageP99MS: p99}
	}
	sessions := func(s report.StepJSON) float64 { return float64(s.Concurrency) }
	tests := []struct {
		name  string
		steps []report.StepJSON
		want  int // -1: no knee
	}{
		{"saturates at 4", []report.StepJSON{step(1, 200, 5), step(2, 400, 5.1), step(4, 790, 5.3), step(8, 800, 10), step(16, 801, 20)}, 2},
		{"linear", []report.StepJSON{step(1, 200, 5), step(2, 400, 5), step(4, 800, 5.1)}, -1},
		{"flat but p99 flat too", []report.StepJSON{step(1, 200, 5), step(2, 201, 5.1)}, -1},
		{"throughput falls", []report.StepJSON{step(1, 200, 5), step(2, 150, 9)}, 0},
		{"one step", []report.StepJSON{step(1, 200, 5)}, -1},
	}
	for _, tt := range tests {
		k := Knee(tt.steps, sessions)
		switch {
		case tt.want < 0 && k != nil:
			t.Errorf("%s: knee at %+v, want none", tt.name, k)
		case tt.want >= 0 && (k == nil || k.Step != tt.want):
			t.Errorf("%s: knee %+v, want step %d", tt.name, k, tt.want)
		}
	}
}

func TestSLO(t *testing.T) {
	o, err := ParseSLO("message:p99=50ms")
	if err != nil || o.Phase != "message" || o.Quantile != "p99" || o.Limit != 50*time.Millisecond {
		t.Fatalf("ParseSLO = %+v, %v", o, err)
	}
	for _, bad := range []string{"message:p99", "message=50ms", "message:p99=-1s", "nope:p99=1s", "messages/s=5ms", "message:p99=fast"} {
		if _, err := ParseSLO(bad); err == nil {
			t.Errorf("ParseSLO(%q) accepted", bad)
		}
	}
	j := fakeRun("a:25", 400, 40, nil) // message p99 48 ms
	if b := CheckSLO(j, []SLO{o}, 1); len(b) != 0 {
		t.Errorf("p99 48ms under 50ms breached: %q", b)
	}
	j.Totals.MessagesFailed, j.Totals.MessagesAttempted = 20, 1020
	b := CheckSLO(j, []SLO{{"message", "p99", 40 * time.Millisecond}, {"rset", "p50", time.Second}}, 1)
	if len(b) != 3 || !strings.Contains(b[0], "message p99 48.0 ms > 40ms") || !strings.Contains(b[1], "rset p50: no samples") || !strings.Contains(b[2], "errors 1.96%") {
		t.Errorf("breaches %q", b)
	}
}

func TestWriteSweepTable(t *testing.T) {
	met, breached := true, false
	steps := []report.StepJSON{
		{Label: "c=1", Concurrency: 1, MessagesPerS: 195, MessageP50MS: 10.2, MessageP99MS: 10.9},
		{Label: "c=2", Concurrency: 2, MessagesPerS: 390, MessageP50MS: 10.2, MessageP99MS: 11},
		{Label: "c=4", Concurrency: 4, MessagesPerS: 770, MessageP50MS: 10.3, MessageP99MS: 11.5},
		{Label: "c=8", Concurrency: 8, MessagesPerS: 790, MessageP50MS: 20.1, MessageP99MS: 22, Errors: 3, ErrorPct: 0.05, Warnings: []string{"boo"}},
	}
	sw := &report.SweepJSON{Varies: report.VariesConcurrency, Target: "127.0.0.1:2525", WarmupS: 1, DurationS: 5, Steps: steps}
	sw.Knee = Knee(steps, func(s report.StepJSON) float64 { return float64(s.Concurrency) })
	var b bytes.Buffer
	if err := report.WriteSweepTable(&b, &report.Document{Kind: report.KindSweep, Sweep: sw}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"closed loop, 4 steps of 5s after a 1s warm-up each", "770.0", "<- knee", "3 (0.05%)",
		"knee: 4 sessions. From there to 8 sessions messages/s changed +2.6%", "WARNING (c=8): boo"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("sweep table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), " \n") {
		t.Errorf("trailing spaces:\n%q", b.String())
	}

	search := &report.SweepJSON{Varies: report.VariesSearch, Target: "127.0.0.1:2525", WarmupS: 1, DurationS: 5, Steps: []report.StepJSON{
		{Label: "rate=2000", Concurrency: 64, Rate: 2000, MessagesPerS: 800, MessageP99MS: 900, SLOMet: &breached, Breaches: []string{"message p99 900 ms > 50ms"}},
		{Label: "rate=1000", Concurrency: 64, Rate: 1000, MessagesPerS: 800, MessageP99MS: 400, SLOMet: &breached, Breaches: []string{"message p99 400 ms > 50ms"}},
		{Label: "rate=500", Concurrency: 64, Rate: 500, MessagesPerS: 500, MessageP99MS: 11, SLOMet: &met},
	}, Search: &report.SearchJSON{Method: "bisection", SLO: []string{"message:p99<=50ms"}, MaxErrorPct: 1, RateMax: 2000, PrecisionPct: 5, MaxProbes: 3,
		Capacity: 500, FailedAt: 1000, Stopped: "probes"}}
	b.Reset()
	if err := report.WriteSweepTable(&b, &report.Document{Kind: report.KindSweep, Sweep: search}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"message:p99<=50ms and errors <= 1%", "bisection between 0 and 2000/s, at most 3 probes", "breached: message p99 900 ms > 50ms",
		"met", "capacity: 500/s: the SLO held at 500/s and was breached at 1000/s (the probes are used up)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("search table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCompareAllEqualLineLeftOut(t *testing.T) {
	var a, b []*report.JSONReport
	for i := range 6 {
		ra, rb := fakeRun("a:25", 400+float64(i), 10+float64(i)/10, nil), fakeRun("b:25", 300+float64(i), 12+float64(i)/10, nil)
		for _, r := range []*report.JSONReport{ra, rb} {
			r.Phases["mail"] = report.Summary{Count: 1000, P50MS: 0.001, P99MS: 0.001}
		}
		a, b = append(a, ra), append(b, rb)
	}
	c, err := Compare(group("A", a...), group("B", b...), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mail, _ := c.Line("mail:p50")
	if mail.Verdict != report.VerdictSame || mail.P != nil || c.LinesTested != 5 {
		t.Errorf("a line of equal samples: %+v; %d lines tested, want 5 (mail left out)", mail, c.LinesTested)
	}
}

func TestCompareTableHasNoTrailingSpaces(t *testing.T) {
	var a, b []*report.JSONReport
	for i := range 6 {
		a = append(a, fakeRun("a:25", 400+float64(i), 10, nil))
		b = append(b, fakeRun("b:25", 400-float64(i), 10, nil))
	}
	c, _ := Compare(group("A", a...), group("B", b...), CompareOptions{})
	var buf bytes.Buffer
	report.WriteCompareTable(&buf, c)
	if strings.Contains(buf.String(), " \n") {
		t.Errorf("trailing spaces:\n%q", buf.String())
	}
}

// TestWorkloadDifferencesIgnoreWhatIsNotWorkload: seeds drawn at random,
// shards and start instants are not workloads; a seed given on both sides
// is, and prints as the integer it is.
func TestWorkloadDifferencesIgnoreWhatIsNotWorkload(t *testing.T) {
	withConfig := func(set func(c *report.RunConfig)) *report.JSONReport {
		r := fakeRun("a", 100, 1, []float64{100})
		if set != nil {
			set(&r.Config)
		}
		return r
	}
	tests := []struct {
		name string
		a, b func(c *report.RunConfig)
		want string // "" for no warning
	}{
		{"random seeds", func(c *report.RunConfig) { c.Seed = 3445585893709640 }, func(c *report.RunConfig) { c.Seed = 8079219322337808 }, ""},
		{"one seed given", func(c *report.RunConfig) { c.Seed, c.SeedGiven = 1, true }, func(c *report.RunConfig) { c.Seed = 2 }, ""},
		{"shards and starts", func(c *report.RunConfig) { c.Shard, c.StartAt = "1/3", "x" }, func(c *report.RunConfig) { c.Shard = "2/3" }, ""},
		{"given seeds differ", func(c *report.RunConfig) { c.Seed, c.SeedGiven = 3445585893709640, true },
			func(c *report.RunConfig) { c.Seed, c.SeedGiven = 8079219322337808, true }, "seed 3445585893709640 vs 8079219322337808"},
		{"sessions differ", func(c *report.RunConfig) { c.Concurrency = 8 }, nil, "concurrency 8 vs 4"},
	}
	for _, tt := range tests {
		w := workloadDifferences(group("A", withConfig(tt.a)), group("B", withConfig(tt.b)))
		switch {
		case tt.want == "" && len(w) > 0:
			t.Errorf("%s: warned %q", tt.name, w)
		case tt.want != "" && (len(w) != 1 || !strings.Contains(w[0], tt.want)):
			t.Errorf("%s: warned %q, want it to say %q", tt.name, w, tt.want)
		}
	}
}
