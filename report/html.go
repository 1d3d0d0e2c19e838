package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot/plotter"

	"github.com/smtpbench/smtpbench/metrics"
)

// WriteHTML writes one self-contained page for one or more results: summary
// tables and SVG charts inlined, with no script, font, stylesheet or image
// fetched from anywhere, so it can be attached to a bug report and opened
// offline. With several results their curves share each chart, told apart by
// the legend. labels name the results (usually their file names).
func WriteHTML(w io.Writer, docs []*JSONReport, labels []string) error {
	if len(docs) == 0 || len(labels) != len(docs) {
		return fmt.Errorf("html: %d results, %d labels", len(docs), len(labels))
	}
	page := htmlPage{Title: "smtpbench: " + joinDistinct(docs, func(d *JSONReport) string { return d.Target })}
	if len(docs) > 1 {
		page.Title = fmt.Sprintf("smtpbench: %d results", len(docs))
	}
	for i, d := range docs {
		page.Results = append(page.Results, resultRow(d, labels[i]))
		page.Server = page.Server || d.Server != nil
		for _, e := range d.Errors {
			page.Errors = append(page.Errors, htmlError{labels[i], e})
		}
		for _, warn := range d.Warnings {
			page.Warnings = append(page.Warnings, labels[i]+": "+warn)
		}
		if d.Merged != nil {
			page.Merges = append(page.Merges, htmlMerge{labels[i], d.Merged})
		}
		for _, name := range ProfileNames(d.Profiles) {
			page.Mix = append(page.Mix, mixRow(labels[i], name, d.Profiles[name]))
		}
		page.Sources = append(page.Sources, sourceRows(d, labels[i])...)
		for _, st := range d.Stages {
			target := fmt.Sprintf("%g", st.Target)
			if st.From != st.Target {
				target = fmt.Sprintf("%g → %g", st.From, st.Target)
			}
			page.Stages = append(page.Stages, htmlStage{Label: labels[i], From: fmt.Sprintf("%.1f", st.StartS), To: fmt.Sprintf("%.1f", st.EndS),
				Target: target, Rate: fmt.Sprintf("%.1f", st.MessagesPerS), P50: ms3(st.P50MS), P99: ms3(st.P99MS), Errors: st.Errors})
		}
	}
	page.Several = len(docs) > 1

	// Percentile curves, one chart per phase that has samples anywhere.
	names := map[string]bool{}
	for _, d := range docs {
		for name, s := range d.Phases {
			if s.Count > 0 {
				names[name] = true
			}
		}
	}
	// The message phase (and the open model's series) first: they are what
	// a reader comes for; then the SMTP phases in the order a message meets
	// them.
	order := orderedPhases(names)
	front := []string{"message", metrics.SeriesService, metrics.SeriesLag}
	sort.SliceStable(order, func(i, j int) bool {
		return slices.Index(front, order[i]) >= 0 && slices.Index(front, order[j]) < 0
	})
	for _, name := range order {
		hists := make([]*hdrhistogram.Histogram, len(docs))
		for i, d := range docs {
			s, ok := d.Phases[name]
			if !ok {
				continue
			}
			h, err := s.Histogram()
			if err != nil {
				return fmt.Errorf("%s: phases.%s: %v", labels[i], name, err)
			}
			hists[i] = h
		}
		svg, err := percentileChart(name, hists, labels)
		if err != nil {
			return err
		}
		c := htmlChart{ID: "percentiles-" + name, Caption: phaseCaption(name, docs[0].LoadModel), SVG: template.HTML(svg)}
		if name == "message" {
			page.Overview = append(page.Overview, c)
		} else {
			page.Phases = append(page.Phases, c)
		}
	}

	// Timelines.
	var rate, p99, failed []series
	for i, d := range docs {
		r := intervalSeries(d, labels[i], func(iv JSONInterval) float64 { return iv.MessagesPerS })
		if n := len(d.Intervals); n > 0 && d.ElapsedS-float64(d.Intervals[n-1].T) < 0.5 {
			// A last second cut to less than half: its rate is taken over
			// half a second and would show as a false drop.
			r.xys = r.xys[:n-1]
		}
		rate = append(rate, r)
		failed = append(failed, intervalSeries(d, labels[i], func(iv JSONInterval) float64 { return float64(iv.Failed) }))
		s := intervalSeries(d, labels[i], func(iv JSONInterval) float64 { return iv.P99MS })
		s.xys = withMessages(d, s)
		p99 = append(p99, s)
	}
	latencyTitle := "message latency p99 per second"
	if len(docs) == 1 {
		// One result: its median beside the tail, dashed.
		s := intervalSeries(docs[0], "p50", func(iv JSONInterval) float64 { return iv.P50MS })
		s.xys = withMessages(docs[0], s)
		s.dashed = true
		p99[0].label = "p99"
		p99 = append(p99, s)
		latencyTitle = "message latency per second: p99 (solid), p50 (dashed)"
	}
	span := 0.0
	for _, d := range docs {
		span = max(span, lastSecond(d))
	}
	charts := []struct {
		id, title, y, caption string
		ss                    []series
	}{
		{"rate", "accepted messages per second", "messages/s", "Messages the server accepted, per second of the run (dotted lines: stage boundaries, where the run had --stages).", rate},
		{"p99", latencyTitle, "ms", "Percentiles of the message phase from each second's own histogram, not averages.", p99},
		{"errors", "rejected or failed messages per second", "messages", "Messages the server rejected and messages that got no decision, per second.", failed},
	}
	if cpu, mem := serverSeries(docs, labels); cpu != nil {
		charts = append(charts,
			struct {
				id, title, y, caption string
				ss                    []series
			}{"server-cpu", "server CPU per second", "cores", "The server's own CPU time in each second (so the cores it kept busy), from its processes or cgroup.", cpu},
			struct {
				id, title, y, caption string
				ss                    []series
			}{"server-memory", "server memory", "MiB", "The server's memory sampled once a second: RSS summed over its processes, or its cgroup's usage.", mem})
	}
	for _, c := range charts {
		svg, err := timeChart(c.title, c.y, c.ss, span, stageMarks(docs))
		if err != nil {
			return err
		}
		page.Overview = append(page.Overview, htmlChart{ID: c.id, Caption: c.caption, SVG: template.HTML(svg)})
	}
	delivered, rows, err := deliveryHTML(docs, labels)
	if err != nil {
		return err
	}
	page.Delivery, page.DeliveryRows = delivered, rows
	return htmlTemplate.Execute(w, page)
}

// stageMarks are the boundaries between the stages of the first result
// with a load profile, in seconds, for the timelines.
func stageMarks(docs []*JSONReport) []float64 {
	for _, d := range docs {
		var marks []float64
		for i, st := range d.Stages {
			if i > 0 || st.StartS > 0 {
				marks = append(marks, st.StartS)
			}
		}
		if len(marks) > 0 {
			return marks
		}
	}
	return nil
}

// withMessages drops the seconds in which no message finished: they have no
// latency to plot.
func withMessages(d *JSONReport, s series) plotter.XYs {
	out := s.xys[:0]
	for i, iv := range d.Intervals {
		if iv.OK+iv.Failed > 0 {
			out = append(out, s.xys[i])
		}
	}
	return out
}

func phaseCaption(name, model string) string {
	switch name {
	case "message":
		if model == "open" {
			return "From each message's due time to its decision: what a client sending at this rate sees."
		}
		return "From a message's first envelope command to the reply that decided it."
	case metrics.SeriesService:
		return "From when a session began each message to its decision (not corrected for queueing)."
	case metrics.SeriesLag:
		return "How late each message started against its schedule."
	case metrics.SeriesDelivery:
		return "From the server's 250 to the end of data to the message's first arrival at the receiver: time in the server's queue."
	case metrics.SeriesEndToEnd:
		return "From the message's start to its first arrival at the receiver."
	}
	return ""
}

type htmlPage struct {
	Title   string
	Several bool
	// Server is set when any result measured its server.
	Server  bool
	Results []htmlResult
	Merges  []htmlMerge
	// Overview holds the message phase's percentile curve and the
	// timelines: what the top of the page shows.
	Overview []htmlChart
	// Phases holds the percentile curves of every other phase.
	Phases   []htmlChart
	Errors   []htmlError
	Warnings []string
	// Mix has a row per profile of each result run with a session mix.
	Mix []htmlMix
	// Sources says, per result and pipelined phase, where its figures
	// come from, beside how often the server batched its replies.
	Sources []htmlSource
	// Delivery holds the accepted-versus-delivered and backlog timelines
	// of results with a receiver (--receive), DeliveryRows their figures.
	Delivery     []htmlChart
	DeliveryRows []htmlDelivery
	// Stages lists the load profiles' stages, result by result.
	Stages []htmlStage
}

// htmlMix is one profile of one result's session mix.
type htmlMix struct {
	Label, Profile                            string
	Workers                                   int
	Sessions, OK, Failed, Dropped, Unanswered int64
	SessionP50, SessionMax, Ended             string
}

func mixRow(label, name string, p JSONProfile) htmlMix {
	m := htmlMix{Label: label, Profile: name, Workers: p.Workers, Sessions: p.Sessions, OK: p.MessagesOK, Failed: p.MessagesFailed,
		Dropped: p.MessagesDropped, Unanswered: p.MessagesUnanswered, SessionP50: "-", SessionMax: "-", Ended: endedText(p.Ended)}
	if s := p.SessionTime; s != nil {
		m.SessionP50, m.SessionMax = ms3(s.P50MS), ms3(s.MaxMS)
	}
	return m
}

type htmlSource struct {
	Label, Batching, Phase, Words string
	Unattributed                  bool
}

// sourceRows are d's rows of the page's table of phase sources.
func sourceRows(d *JSONReport, label string) []htmlSource {
	var batching []string
	for _, p := range d.Pipelining {
		if p.Groups > 0 {
			batching = append(batching, fmt.Sprintf("%s: %.0f%% of %d groups", p.Target, p.BatchedPct, p.Groups))
		}
	}
	var out []htmlSource
	for _, name := range orderedPhases(d.PhaseSources) {
		s := d.PhaseSources[name]
		out = append(out, htmlSource{Label: label, Batching: strings.Join(batching, ", "), Phase: name,
			Words: sourceWords(s), Unattributed: !s.Attributed()})
	}
	return out
}

// htmlStage is one row of the stages table.
type htmlStage struct {
	Label          string
	From, To       string // seconds
	Target         string
	Rate, P50, P99 string
	Errors         int64
}

type htmlResult struct {
	Label, Target, Model, Stop, Started string
	// Mix is the result's --mix, "none" without one: the figures are the
	// normal sessions' either way.
	Mix                  string
	Elapsed, Rate        string
	OK, Rejected, Failed int64
	P50, P99, P999       string
	// Generator is the generator's CPU use, empty when not recorded.
	Generator string
	// Server is the server's CPU per message and peak memory, empty when
	// not measured.
	Server string
}

type htmlMerge struct {
	Label string
	Info  *MergeInfo
}

type htmlError struct {
	Label string
	ErrorCount
}

type htmlChart struct {
	ID, Caption string
	SVG         template.HTML
}

func resultRow(d *JSONReport, label string) htmlResult {
	m := d.Phases["message"]
	return htmlResult{
		Label: label, Target: d.Target, Model: d.LoadModel, Stop: d.StopReason,
		Started: d.StartedAt.UTC().Format(time.RFC3339), Elapsed: fmt.Sprintf("%.2f s", d.ElapsedS),
		Rate: fmt.Sprintf("%.1f", d.Totals.MessagesPerS),
		OK:   d.Totals.MessagesOK, Rejected: d.Totals.MessagesRejected, Failed: d.Totals.MessagesFailed,
		P50: ms3(m.P50MS), P99: ms3(m.P99MS), P999: ms3(m.P999MS),
		Generator: generatorCPU(d),
		Mix:       mixOf(d),
		Server:    serverCell(d.Server),
	}
}

// mixOf names a result's session mix from its profiles.
func mixOf(d *JSONReport) string {
	if len(d.Profiles) == 0 {
		return "none"
	}
	var parts []string
	for _, name := range ProfileNames(d.Profiles) {
		parts = append(parts, fmt.Sprintf("%s:%d", name, d.Profiles[name].Workers))
	}
	return strings.Join(parts, ",")
}

// lastSecond is the start of a result's last second: the x axis of its
// timelines reaches that far.
func lastSecond(d *JSONReport) float64 {
	if n := len(d.Intervals); n > 0 {
		return float64(d.Intervals[n-1].T)
	}
	return math.Ceil(d.ElapsedS)
}

// serverCell sums up the server's cost for the results table.
func serverCell(s *ServerJSON) string {
	if s == nil {
		return ""
	}
	cell := fmt.Sprintf("%.2f cores, %s", s.Cores, fmtBytes(s.MemoryPeakBytes))
	if s.CPUUSPerMessage != nil {
		cell = fmt.Sprintf("%.1f µs/msg, ", *s.CPUUSPerMessage) + cell
	}
	return cell
}

// serverSeries are the per-second server CPU (cores) and memory (MiB) of
// each result; nil when no result measured its server.
func serverSeries(docs []*JSONReport, labels []string) (cpu, mem []series) {
	measured := false
	for i, d := range docs {
		c, m := series{label: labels[i]}, series{label: labels[i]}
		for k, iv := range d.Intervals {
			if iv.ServerCPUS == nil || iv.ServerMemoryBytes == nil {
				continue
			}
			measured = true
			length := min(1, d.ElapsedS-float64(iv.T))
			if k == len(d.Intervals)-1 && length < 0.5 {
				continue // a last second cut short: see the rate chart
			}
			c.xys = append(c.xys, plotter.XY{X: float64(iv.T), Y: *iv.ServerCPUS / length})
			m.xys = append(m.xys, plotter.XY{X: float64(iv.T), Y: float64(*iv.ServerMemoryBytes) / (1 << 20)})
		}
		cpu, mem = append(cpu, c), append(mem, m)
	}
	if !measured {
		return nil, nil
	}
	return cpu, mem
}

// generatorCPU says how busy smtpbench itself was: its CPU share of the cores
// it could use, for each generator of a merged result.
func generatorCPU(d *JSONReport) string {
	var parts []string
	one := func(g *GeneratorJSON) {
		if g != nil {
			parts = append(parts, fmt.Sprintf("%.0f%% of %d", g.CPUPercent, g.Cores))
		}
	}
	if d.Merged != nil {
		for _, src := range d.Merged.Sources {
			one(src.Generator)
		}
	} else {
		one(d.Generator)
	}
	return strings.Join(parts, ", ")
}

// pageHead opens every page smtpbench writes (a run's, an ab comparison's):
// the document head and the style rules they share, so that the pages look
// alike; each page's template adds its own rules and closes the style.
const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", "Liberation Sans", Arial, sans-serif; margin: 1.5em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; font-size: .9em; }
.wide { overflow-x: auto; }
th, td { padding: .25em .5em; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text { text-align: left; }
th { background: #f4f4f4; }
`

// pageCharts closes the head of every page with the rules of its charts
// and notes, and opens the body with the page's title.
const pageCharts = `.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1em; }
figure { margin: 0; border: 1px solid #e4e4e4; border-radius: 4px; padding: .5em; background: #fff; }
figure svg { width: 100%; height: auto; display: block; }
figure svg text { font-family: "Liberation Sans", Arial, Helvetica, sans-serif !important; }
figcaption { font-size: .85em; color: #555; margin-top: .3em; }
.warn { color: #8a4b00; }
.note { color: #555; font-size: .9em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
`

var htmlTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"values": func(d Difference) string {
		parts := make([]string, len(d.Values))
		for i, v := range d.Values {
			parts[i] = string(v)
		}
		return strings.Join(parts, ", ")
	},
}).Parse(pageHead + pageCharts + `<p class="note">Latencies in milliseconds. Percentiles come from HdrHistograms of every sample (1 µs to 1 h, 3 significant digits).</p>
<h2>Results</h2>
<div class="wide"><table id="results">
<tr>{{if .Several}}<th>result</th>{{end}}<th>target</th><th>model</th><th>started (UTC)</th><th>elapsed</th><th>stopped by</th><th>ok</th><th>rejected</th><th>failed</th><th>accepted/s</th><th>p50</th><th>p99</th><th>p99.9</th><th>smtpbench CPU</th>{{if .Server}}<th>server</th>{{end}}<th>session mix</th></tr>
{{range .Results}}<tr>{{if $.Several}}<td>{{.Label}}</td>{{end}}<td class="text">{{.Target}}</td><td class="text">{{.Model}}</td><td class="text">{{.Started}}</td><td>{{.Elapsed}}</td><td class="text">{{.Stop}}</td><td>{{.OK}}</td><td>{{.Rejected}}</td><td>{{.Failed}}</td><td>{{.Rate}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td>{{.P999}}</td><td>{{.Generator}}</td>{{if $.Server}}<td>{{.Server}}</td>{{end}}<td class="text">{{.Mix}}</td></tr>
{{end}}</table></div>
<p class="note">p50, p99, p99.9: latency of the message phase. With a session mix (--mix) every figure and chart is the normal sessions'; the other profiles are in the session mix table below, and a result without a mix beside one with it shows what the mix cost the good mail. smtpbench CPU: the tool's own share of the cores it could use; near 100&nbsp;% the figures may describe smtpbench rather than the server.</p>
{{if .Delivery}}<h2>Delivery</h2>
<div class="wide"><table id="delivery">
<tr>{{if .Several}}<th>result</th>{{end}}<th>receiver</th><th>accepted</th><th>delivered</th><th>lost</th><th>duplicates</th><th>strangers</th><th>unanswered, delivered</th><th>accepted/s</th><th>delivered/s</th><th>backlog max</th><th>drain</th><th>delivery p50</th><th>delivery p99</th></tr>
{{range .DeliveryRows}}<tr>{{if $.Several}}<td>{{.Label}}</td>{{end}}<td class="text">{{.Receiver}}</td><td>{{.Accepted}}</td><td>{{.Delivered}}</td><td>{{.Lost}}</td><td>{{.Duplicates}}</td><td>{{.Strangers}}</td><td>{{.Unanswered}}</td><td>{{.AcceptedRate}}</td><td>{{.DeliveredRate}}</td><td>{{.BacklogMax}}</td><td>{{.Drain}}</td><td>{{.P50}}</td><td>{{.P99}}</td></tr>
{{end}}</table></div>
<div class="charts">
{{range .Delivery}}<figure class="chart" id="chart-{{.ID}}">
{{.SVG}}{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}
</figure>
{{end}}</div>{{end}}
<h2>Overview</h2>
{{if .Stages}}<h2>Stages</h2>
<div class="wide"><table id="stages">
<tr>{{if $.Several}}<th>result</th>{{end}}<th>from s</th><th>to s</th><th>target</th><th>messages/s</th><th>p50 ms</th><th>p99 ms</th><th>errors</th></tr>
{{range .Stages}}<tr>{{if $.Several}}<td>{{.Label}}</td>{{end}}<td>{{.From}}</td><td>{{.To}}</td><td class="text">{{.Target}}</td><td>{{.Rate}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td>{{.Errors}}</td></tr>
{{end}}</table></div>
<p class="note">Target: sessions in the closed loop, messages per second in the open model; the timelines below mark the stage boundaries with dotted lines.</p>
{{end}}<h2>Overview</h2>
<p class="note">Percentile curves put 1/(1&minus;q) on a log scale, as HdrHistogram plots them: 90&nbsp;%, 99&nbsp;% and 99.9&nbsp;% are evenly spaced, so the tail is as visible as the median.</p>
<div class="charts">
{{range .Overview}}<figure class="chart" id="chart-{{.ID}}">
{{.SVG}}{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}
</figure>
{{end}}</div>
{{if .Phases}}<h2>Latency by percentile, per phase</h2>
<div class="charts">
{{range .Phases}}<figure class="chart" id="chart-{{.ID}}">
{{.SVG}}{{if .Caption}}<figcaption>{{.Caption}}</figcaption>{{end}}
</figure>
{{end}}</div>{{end}}
{{if .Mix}}<h2>Session mix</h2>
<div class="wide"><table id="mix">
<tr>{{if .Several}}<th>result</th>{{end}}<th>profile</th><th>workers</th><th>sessions</th><th>ok</th><th>failed</th><th>dropped</th><th>unanswered</th><th>session p50</th><th>session max</th><th>ended</th></tr>
{{range .Mix}}<tr>{{if $.Several}}<td>{{.Label}}</td>{{end}}<td class="text">{{.Profile}}</td><td>{{.Workers}}</td><td>{{.Sessions}}</td><td>{{.OK}}</td><td>{{.Failed}}</td><td>{{.Dropped}}</td><td>{{.Unanswered}}</td><td>{{.SessionP50}}</td><td>{{.SessionMax}}</td><td class="text">{{.Ended}}</td></tr>
{{end}}</table></div>
<p class="note">Session times run from the greeting to the session's end: for idle and slow clients, how long the server kept them. Dropped: transactions abandoned by the client before the end of data. Unanswered: the end of data sent and the connection dropped before the reply; the server may have delivered them.</p>{{end}}
{{if .Sources}}<h2>Where each phase's figures come from</h2>
<table id="sources">
<tr>{{if .Several}}<th>result</th>{{end}}<th>answered in one write</th><th>phase</th><th>figures</th></tr>
{{range .Sources}}<tr>{{if $.Several}}<td>{{.Label}}</td>{{end}}<td class="text">{{.Batching}}</td><td class="text">{{.Phase}}</td><td class="text{{if .Unattributed}} warn{{end}}">{{.Words}}</td></tr>
{{end}}</table>
<p class="note">Where the server answers a pipelined group in one write, a pipelined reply does not show which command took the time: the phases then take their figures from messages sent one command at a time (--lockstep-every), and a phase with none has no figures.</p>{{end}}
{{range .Merges}}<h2>{{.Label}}: merged from {{len .Info.Sources}} results</h2>
<table class="merge">
<tr><th>file</th><th>target</th><th>started</th><th>placed at</th><th>elapsed</th><th>ok</th></tr>
{{range .Info.Sources}}<tr><td>{{.File}}</td><td class="text">{{.Target}}</td><td class="text">{{.StartedAt}}</td><td>+{{.OffsetS}} s</td><td>{{printf "%.2f" .ElapsedS}} s</td><td>{{.MessagesOK}}</td></tr>
{{end}}</table>
{{if .Info.Differences}}<p>Settings that differed, in the order above:</p>
<table class="differences"><tr><th>setting</th><th>values</th></tr>
{{range .Info.Differences}}<tr><td>{{.Field}}</td><td class="text">{{values .}}</td></tr>
{{end}}</table>{{end}}
{{end}}
<h2>Errors</h2>
{{if .Errors}}<table id="errors">
<tr>{{if .Several}}<th>result</th>{{end}}<th>phase</th><th>class</th><th>code</th><th>count</th></tr>
{{range .Errors}}<tr>{{if $.Several}}<td>{{.Label}}</td>{{end}}<td class="text">{{.Phase}}</td><td class="text">{{.Class}}</td><td>{{if .Code}}{{.Code}}{{else}}-{{end}}</td><td>{{.Count}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
{{if .Warnings}}<h2>Warnings</h2>
<ul>{{range .Warnings}}<li class="warn">{{.}}</li>{{end}}</ul>{{end}}
</body>
</html>
`))
