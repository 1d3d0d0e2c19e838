package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart size in points; the page scales the SVG to its column's width.
const (
	chartWidth  = 6.4 * vg.Inch
	chartHeight = 3.4 * vg.Inch
)

// seriesColors tell up to eight results apart, also to colour-blind readers
// (Okabe and Ito's palette); more results reuse them with dashes.
var seriesColors = []color.RGBA{
	{0x00, 0x72, 0xb2, 0xff}, // blue
	{0xd5, 0x5e, 0x00, 0xff}, // vermilion
	{0x00, 0x9e, 0x73, 0xff}, // bluish green
	{0xcc, 0x79, 0xa7, 0xff}, // reddish purple
	{0xe6, 0x9f, 0x00, 0xff}, // orange
	{0x56, 0xb4, 0xe9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xf0, 0xe4, 0x42, 0xff}, // yellow
}

// series is one line of a chart.
type series struct {
	label  string
	xys    plotter.XYs
	dashed bool
	// colour, when set, is the series' colour; otherwise its position
	// picks one. An ab page gives every run of a side its side's colour.
	colour color.Color
	// unlabelled series stay out of the legend (the later runs of a side).
	unlabelled bool
}

// newPlot returns a plot with the page's look: sans-serif text, a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	sans := font.Font{Typeface: "Liberation", Variant: "Sans"}
	for _, st := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		size := st.Size
		*st = font.From(sans, size)
	}
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Y.Min = 0
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{0xdd}
	grid.Horizontal.Color = color.Gray{0xdd}
	p.Add(grid)
	return p
}

// addSeries draws each series as a line, labelled in the legend when there
// is more than one.
func addSeries(p *plot.Plot, ss []series) error {
	legend := 0
	for i, s := range ss {
		if len(s.xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return err
		}
		l.Color = seriesColors[i%len(seriesColors)]
		if s.colour != nil {
			l.Color = s.colour
		}
		l.Width = vg.Points(1.5)
		if s.dashed || (s.colour == nil && i >= len(seriesColors)) {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l)
		if len(s.xys) < 3 {
			// One or two points make no visible line: mark them.
			pts, err := plotter.NewScatter(s.xys)
			if err != nil {
				return err
			}
			pts.Color = l.Color
			pts.GlyphStyle.Shape = draw.CircleGlyph{}
			pts.GlyphStyle.Radius = vg.Points(3)
			p.Add(pts)
		}
		if len(ss) > 1 && !s.unlabelled {
			p.Legend.Add(s.label, l)
			legend++
		}
	}
	if legend > 0 && p.Y.Max > p.Y.Min {
		// Room above the curves for the legend, a line per entry.
		p.Y.Max += (p.Y.Max - p.Y.Min) * (0.1 + 0.07*float64(legend))
	}
	return nil
}

// renderSVG draws p as an SVG element to inline in a page: the XML prologue
// dropped, with an accessible name.
func renderSVG(p *plot.Plot, name string) (string, error) {
	c := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("chart %q: no svg element", name)
	}
	// The name is escaped by strconv.Quote's rules only for quotes; keep
	// it to characters that need no escaping in an attribute.
	label := strings.Map(func(r rune) rune {
		if r == '"' || r == '<' || r == '>' || r == '&' {
			return -1
		}
		return r
	}, name)
	return `<svg role="img" aria-label="` + label + `"` + s[i+len("<svg"):], nil
}

// percentileChart plots latency against percentile the way HdrHistogram's
// plotter does: the x axis is 1/(1−q) on a log scale, so 90 %, 99 %, 99.9 %
// are evenly spaced and the tail gets as much room as the median.
func percentileChart(phase string, hists []*hdrhistogram.Histogram, labels []string) (string, error) {
	p := newPlot("latency by percentile: "+phase, "percentile", "ms")
	p.X.Scale = plot.LogScale{}
	maxX := 10.0
	var ss []series
	for i, h := range hists {
		s := series{label: labels[i]}
		if h != nil && h.TotalCount() > 0 {
			for _, pct := range hgrmLevels(h) {
				if pct >= 100 {
					continue
				}
				x := 1 / (1 - pct/100)
				s.xys = append(s.xys, plotter.XY{X: x, Y: float64(h.ValueAtQuantile(pct)) / 1000})
				maxX = max(maxX, x)
			}
		}
		ss = append(ss, s)
	}
	if err := addSeries(p, ss); err != nil {
		return "", err
	}
	p.X.Min = 1
	p.X.Max = math.Pow(10, math.Ceil(math.Log10(maxX)))
	p.X.Tick.Marker = percentileTicks{}
	return renderSVG(p, "latency by percentile, "+phase)
}

// percentileTicks label 1/(1−q) = 10^k as the percentile: 0 %, 90 %, 99 %…
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for k := 0; math.Pow(10, float64(k)) <= hi*1.0001; k++ {
		x := math.Pow(10, float64(k))
		if x < lo*0.9999 {
			continue
		}
		label := "0%"
		if k > 0 {
			label = strconv.FormatFloat(100-100/x, 'f', -1, 64) + "%"
		}
		ticks = append(ticks, plot.Tick{Value: x, Label: label})
	}
	return ticks
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// (25000, not 25000.00).
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if l := ticks[i].Label; strings.Contains(l, ".") && !strings.ContainsAny(l, "eE") {
			ticks[i].Label = strings.TrimSuffix(strings.TrimRight(l, "0"), ".")
		}
	}
	return ticks
}

// timeChart plots one figure per second of each result; span is the
// longest result's length in seconds, so that the axis covers the run even
// where only one second has a figure, and marks are the stage boundaries,
// drawn as dotted lines.
func timeChart(title, yLabel string, ss []series, span float64, marks []float64) (string, error) {
	return xyChart(title, "seconds since start", yLabel, ss, span, marks)
}

// xyChart plots series over an x axis from 0 to at least xMax, with a
// dotted vertical line at each of marks.
func xyChart(title, xLabel, yLabel string, ss []series, xMax float64, marks []float64) (string, error) {
	p := newPlot(title, xLabel, yLabel)
	if err := addSeries(p, ss); err != nil {
		return "", err
	}
	p.X.Min = 0
	p.X.Max = max(p.X.Max, xMax, 1)
	p.X.Tick.Marker = plainTicks{}
	if p.Y.Max <= p.Y.Min {
		p.Y.Max = 1 // an all-zero series still gets a readable axis
	}
	for _, x := range marks {
		// A stage boundary: a thin dotted line across the chart.
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
		if err != nil {
			return "", err
		}
		l.Color = color.Gray{0x88}
		l.Width = vg.Points(0.8)
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
	}
	return renderSVG(p, title)
}

// intervalSeries picks one figure from every interval of d.
func intervalSeries(d *JSONReport, label string, get func(JSONInterval) float64) series {
	s := series{label: label}
	for _, iv := range d.Intervals {
		s.xys = append(s.xys, plotter.XY{X: float64(iv.T), Y: get(iv)})
	}
	return s
}
