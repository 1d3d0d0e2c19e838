package report

import (
	"fmt"
	"html/template"
	"image/color"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot/plotter"

	"github.com/smtpbench/smtpbench/metrics"
)

// sideColours give each side of an ab page one colour on every chart: A
// blue, B vermilion (seriesColors' first two).
var sideColours = [2]color.RGBA{seriesColors[0], seriesColors[1]}

// WriteABHTML writes the page of an ab document: the verdict first, as a
// table read like benchstat's, then each side's merged percentile curves,
// the server's cost and the per-round figures, every run drawn in its
// side's colour. Like WriteHTML's page it fetches nothing.
func WriteABHTML(w io.Writer, d *Document) error {
	if d.Kind != KindAB || d.AB == nil {
		return fmt.Errorf("html: not an ab document")
	}
	c := d.Comparison
	if c == nil {
		// ab saves no comparison when a run failed or no round completed;
		// computing one is package analysis's job, above this one.
		return fmt.Errorf("html: the ab document holds no comparison (a run failed, or no round completed): compare its sides with smtpbench compare FILE#A FILE#B")
	}
	page := abPage{
		Title:   fmt.Sprintf("smtpbench ab: %s against %s", sideName(d.AB.A, d.AB.ACmd), sideName(d.AB.B, d.AB.BCmd)),
		Verdict: c.Summary(), C: c, AB: d.AB, Warnings: c.Warnings,
		Started: d.StartedAt.UTC().Format(time.RFC3339),
		Note: fmt.Sprintf("Medians with %g%% confidence intervals; p from the Mann–Whitney U test, adjusted (Holm) for the %d lines tested; ~ means no significant difference at alpha %g. Samples: %s.",
			c.Confidence*100, c.LinesTested, c.Alpha, c.SamplesNote),
	}
	for _, l := range c.Lines {
		page.Lines = append(page.Lines, abLine{Line: lineLabel(l), A: sideCell(l, l.A), B: sideCell(l, l.B), Change: changeCell(l),
			P: pCell(l), Verdict: verdictCell(l), Class: l.Verdict})
	}
	sides := [2][]*JSONReport{d.RunsLabeled("A"), d.RunsLabeled("B")}

	// Percentile curves of each side's runs merged: the latency a side's
	// whole sample shows.
	for _, phase := range []string{"message", metrics.SeriesService, metrics.SeriesLag} {
		var hists []*hdrhistogram.Histogram
		n := 0
		for _, runs := range sides {
			var sum *hdrhistogram.Histogram
			for _, r := range runs {
				s, ok := r.Phases[phase]
				if !ok || s.Count == 0 {
					continue
				}
				h, err := s.Histogram()
				if err != nil {
					return fmt.Errorf("html: phases.%s: %v", phase, err)
				}
				if sum == nil {
					sum = h
				} else {
					sum.Merge(h)
				}
				n++
			}
			hists = append(hists, sum)
		}
		if n == 0 {
			continue
		}
		svg, err := percentileChart(phase, hists, []string{"A", "B"})
		if err != nil {
			return err
		}
		page.Charts = append(page.Charts, htmlChart{ID: "percentiles-" + phase, SVG: template.HTML(svg),
			Caption: "Each side's runs merged into one histogram. " + phaseCaption(phase, sides[0][0].LoadModel)})
	}

	// Per-round figures: one point per run, A and B side by side.
	perRound := []struct {
		id, title, y, caption string
		get                   func(*JSONReport) (float64, bool)
	}{
		{"round-rate", "accepted messages per second, per round", "messages/s", "Each run's accepted messages per second after its warm-up.", roundRate},
		{"round-p99", "message p99, per round", "ms", "Each run's message-phase p99 from its own histogram.", roundP99},
		{"round-server-cpu", "server CPU per accepted message, per round", "µs", "The server's own CPU time over each run's measured window, per accepted message.", roundServerCPU},
		{"round-server-memory", "server peak memory, per round", "MiB", "The highest once-a-second memory sample of each run.", roundServerMemory},
	}
	for _, pr := range perRound {
		var ss []series
		for i, runs := range sides {
			s := series{label: string(rune('A' + i)), colour: sideColours[i]}
			for k, r := range runs {
				if v, ok := pr.get(r); ok {
					s.xys = append(s.xys, plotter.XY{X: float64(k + 1), Y: v})
				}
			}
			ss = append(ss, s)
		}
		if len(ss[0].xys)+len(ss[1].xys) == 0 {
			continue // the server was not measured
		}
		svg, err := xyChart(pr.title, "round", pr.y, ss, float64(max(len(sides[0]), len(sides[1]))), nil)
		if err != nil {
			return err
		}
		page.Rounds = append(page.Rounds, htmlChart{ID: pr.id, SVG: template.HTML(svg), Caption: pr.caption})
	}

	// Timelines: every run over its own seconds, in its side's colour.
	var rate, cpu []series
	span := 0.0
	for i, runs := range sides {
		for k, r := range runs {
			s := intervalSeries(r, string(rune('A'+i)), func(iv JSONInterval) float64 { return iv.MessagesPerS })
			if n := len(r.Intervals); n > 1 && r.ElapsedS-float64(r.Intervals[n-1].T) < 0.5 {
				s.xys = s.xys[:n-1] // a last second cut short: see WriteHTML
			}
			s.colour, s.unlabelled = sideColours[i], k > 0
			rate = append(rate, s)
			span = max(span, lastSecond(r))
			if c, _ := serverSeries([]*JSONReport{r}, []string{s.label}); c != nil {
				c[0].colour, c[0].unlabelled = sideColours[i], k > 0
				cpu = append(cpu, c[0])
			}
		}
	}
	svg, err := timeChart("accepted messages per second, every run", "messages/s", rate, span, nil)
	if err != nil {
		return err
	}
	page.Rounds = append(page.Rounds, htmlChart{ID: "rate", SVG: template.HTML(svg), Caption: "Every run's seconds; A's runs in blue, B's in vermilion."})
	if cpu != nil {
		svg, err := timeChart("server CPU per second, every run", "cores", cpu, span, nil)
		if err != nil {
			return err
		}
		page.Rounds = append(page.Rounds, htmlChart{ID: "server-cpu", SVG: template.HTML(svg), Caption: "The server's CPU time in each second of every run."})
	}

	for _, r := range d.Runs {
		page.Runs = append(page.Runs, abRun{Side: r.Label, Round: r.Round, Row: resultRow(r.JSONReport, r.Label)})
	}
	return abTemplate.Execute(w, page)
}

func sideName(target, cmd string) string {
	if cmd != "" {
		return cmd
	}
	return target
}

type abPage struct {
	Title, Verdict, Note, Started string
	C                             *Comparison
	AB                            *ABJSON
	Lines                         []abLine
	Charts, Rounds                []htmlChart
	Runs                          []abRun
	Warnings                      []string
}

type abLine struct {
	Line, A, B, Change, P, Verdict, Class string
}

type abRun struct {
	Side  string
	Round int
	Row   htmlResult
}

var abTemplate = template.Must(template.New("ab").Parse(pageHead + `
.A { color: #0072b2; font-weight: 600; }
.B { color: #d55e00; font-weight: 600; }
tr.worse td.verdict { color: #b00020; font-weight: 600; }
tr.better td.verdict { color: #00704a; font-weight: 600; }
.verdict-sentence { font-size: 1.1em; font-weight: 600; }
` + pageCharts + `<p><span class="A">A</span> {{.C.A.Name}}: {{range .C.A.Targets}}{{.}} {{end}}{{if .AB.ACmd}}started by <code>{{.AB.ACmd}}</code>{{end}} ({{.C.A.Runs}} runs)<br>
<span class="B">B</span> {{.C.B.Name}}: {{range .C.B.Targets}}{{.}} {{end}}{{if .AB.BCmd}}started by <code>{{.AB.BCmd}}</code>{{end}} ({{.C.B.Runs}} runs)<br>
<span class="note">{{.AB.Completed}} of {{.AB.Rounds}} rounds, each run {{.AB.WarmupS}} s of warm-up and {{.AB.DurationS}} s measured; started {{.Started}}</span></p>
<h2>Verdict</h2>
<p class="verdict-sentence" id="verdict">{{.Verdict}}</p>
<div class="wide"><table id="verdict-table">
<tr><th>line</th><th class="A">A</th><th class="B">B</th><th>change</th><th>p, n</th><th>verdict</th></tr>
{{range .Lines}}<tr class="{{.Class}}"><td>{{.Line}}</td><td>{{.A}}</td><td>{{.B}}</td><td>{{.Change}}</td><td>{{.P}}</td><td class="verdict text">{{.Verdict}}</td></tr>
{{end}}</table></div>
<p class="note">{{.Note}}</p>
{{if .Warnings}}<ul>{{range .Warnings}}<li class="warn">{{.}}</li>{{end}}</ul>{{end}}
<h2>Latency by percentile</h2>
<p class="note">Percentile curves put 1/(1&minus;q) on a log scale, as HdrHistogram plots them, so the tail is as visible as the median. <span class="A">A</span> in blue, <span class="B">B</span> in vermilion.</p>
<div class="charts">
{{range .Charts}}<figure class="chart" id="chart-{{.ID}}">
{{.SVG}}{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}
</figure>
{{end}}</div>
<h2>Rounds</h2>
<div class="charts">
{{range .Rounds}}<figure class="chart" id="chart-{{.ID}}">
{{.SVG}}{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}
</figure>
{{end}}</div>
<h2>Every run</h2>
<div class="wide"><table id="runs">
<tr><th>side</th><th>round</th><th>started (UTC)</th><th>elapsed</th><th>ok</th><th>rejected</th><th>failed</th><th>accepted/s</th><th>p50</th><th>p99</th><th>p99.9</th><th>smtpbench CPU</th><th>server</th></tr>
{{range .Runs}}<tr><td class="{{.Side}}">{{.Side}}</td><td>{{.Round}}</td><td class="text">{{.Row.Started}}</td><td>{{.Row.Elapsed}}</td><td>{{.Row.OK}}</td><td>{{.Row.Rejected}}</td><td>{{.Row.Failed}}</td><td>{{.Row.Rate}}</td><td>{{.Row.P50}}</td><td>{{.Row.P99}}</td><td>{{.Row.P999}}</td><td>{{.Row.Generator}}</td><td>{{.Row.Server}}</td></tr>
{{end}}</table></div>
<p class="note">Latencies in milliseconds, of the message phase.</p>
</body>
</html>
`))

// The per-round figures of an ab page, read from each run as compare reads
// the same lines (analysis); false when the run has no such figure.
func roundRate(j *JSONReport) (float64, bool) { return j.Totals.MessagesPerS, true }

func roundP99(j *JSONReport) (float64, bool) {
	s, ok := j.Phases["message"]
	return s.P99MS, ok && s.Count > 0
}

func roundServerCPU(j *JSONReport) (float64, bool) {
	if j.Server == nil || j.Server.CPUUSPerMessage == nil {
		return 0, false
	}
	return *j.Server.CPUUSPerMessage, true
}

func roundServerMemory(j *JSONReport) (float64, bool) {
	if j.Server == nil {
		return 0, false
	}
	return float64(j.Server.MemoryPeakBytes) / (1 << 20), true
}
