package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/smtpbench/smtpbench/metrics"
)

// JSONDelivery is the "delivery" object of the JSON report.
type JSONDelivery struct {
	// Receiver is where arrivals were watched: an SMTP/LMTP listener's
	// address or maildir:DIR.
	Receiver string `json:"receiver"`
	// Accepted counts messages the server answered 250 to after their
	// content, warm-up included.
	Accepted int64 `json:"accepted"`
	// Delivered counts distinct messages of this run that arrived.
	Delivered int64 `json:"delivered"`
	// Lost counts accepted messages that had not arrived when the drain
	// ended.
	Lost int64 `json:"lost"`
	// Duplicates counts arrivals of a message after all its accepted
	// recipients had arrived.
	Duplicates int64 `json:"duplicates"`
	// Strangers counts arrivals that are not this run's messages (another
	// run's, an old queue draining, or no smtpbench Message-ID).
	Strangers int64 `json:"strangers"`
	// UnansweredDelivered counts messages that arrived although the run
	// recorded a failure or no reply for them.
	UnansweredDelivered int64 `json:"unanswered_delivered"`
	// DeliveredPerS is delivered over the time from the run's start to the
	// last arrival, messages per second: the rate the server sustained.
	DeliveredPerS float64 `json:"delivered_per_s"`
	// BacklogMax is the largest number of accepted messages not yet
	// arrived at any moment.
	BacklogMax int64 `json:"backlog_max"`
	// DrainS is how long, in seconds, the run waited after the load for
	// outstanding deliveries.
	DrainS float64 `json:"drain_s"`
	// DrainInterrupted says a signal ended the drain early.
	DrainInterrupted bool `json:"drain_interrupted,omitempty"`
	// LastArrivalS is when, in seconds from the run's start, the last
	// message arrived.
	LastArrivalS float64 `json:"last_arrival_s"`
	// Intervals is the per-second timeline from the run's start, drain
	// included.
	Intervals []JSONDeliverySecond `json:"intervals"`
}

// JSONDeliverySecond is one second of the delivery timeline.
type JSONDeliverySecond struct {
	// T is seconds since the run's start.
	T int `json:"t"`
	// Accepted and Delivered count messages answered 250 and messages
	// that first arrived in this second.
	Accepted  int64 `json:"accepted"`
	Delivered int64 `json:"delivered"`
	// Backlog is accepted minus delivered, summed from the start to the
	// end of this second.
	Backlog int64 `json:"backlog"`
}

// deliveryJSON fills the delivery object and the two phases.
func deliveryJSON(j *JSONReport, d *metrics.Delivery, withHDR bool) {
	if d == nil {
		return
	}
	jd := &JSONDelivery{
		Receiver: d.Receiver, Accepted: d.Accepted, Delivered: d.Delivered, Lost: d.Lost,
		Duplicates: d.Duplicates, Strangers: d.Strangers, UnansweredDelivered: d.UnansweredDelivered,
		BacklogMax: d.BacklogMax, DrainS: d.Drain.Seconds(), DrainInterrupted: d.Interrupted,
		LastArrivalS: d.LastArrival.Seconds(), Intervals: []JSONDeliverySecond{},
	}
	if s := d.LastArrival.Seconds(); s > 0 {
		jd.DeliveredPerS = float64(d.Delivered) / s
	}
	for _, s := range d.Seconds {
		jd.Intervals = append(jd.Intervals, JSONDeliverySecond{T: s.T, Accepted: s.Accepted, Delivered: s.Delivered, Backlog: s.Backlog})
	}
	j.Delivery = jd
	j.Phases[metrics.SeriesDelivery] = summarize(d.DeliveryHist, withHDR)
	j.Phases[metrics.SeriesEndToEnd] = summarize(d.EndToEndHist, withHDR)
}

// writeDeliveryLine leads the table of a run with a receiver.
func writeDeliveryLine(w io.Writer, j *JSONReport) {
	d := j.Delivery
	if d == nil {
		return
	}
	drained := fmt.Sprintf("drained in %.1f s", d.DrainS)
	switch {
	case d.DrainInterrupted:
		drained = fmt.Sprintf("drain interrupted after %.1f s", d.DrainS)
	case d.Lost > 0:
		// The drain waited its whole time and some never came.
		drained = fmt.Sprintf("gave up waiting after %.1f s", d.DrainS)
	}
	fmt.Fprintf(w, "delivery (%s): accepted %.1f/s, delivered %.1f/s, backlog peaked at %d, %s, lost %d, duplicates %d\n",
		d.Receiver, j.Totals.MessagesPerS, d.DeliveredPerS, d.BacklogMax, drained, d.Lost, d.Duplicates)
	fmt.Fprintf(w, "  accepted %d, delivered %d, strangers %d, unanswered but delivered %d, last arrival at %.1f s\n",
		d.Accepted, d.Delivered, d.Strangers, d.UnansweredDelivered, d.LastArrivalS)
	if s, ok := j.Phases[metrics.SeriesDelivery]; ok && s.Count > 0 {
		fmt.Fprintf(w, "  delivery p50 %s ms  p99 %s ms  max %s ms", ms3(s.P50MS), ms3(s.P99MS), ms3(s.MaxMS))
		if e := j.Phases[metrics.SeriesEndToEnd]; e.Count > 0 {
			fmt.Fprintf(w, "; end to end p50 %s ms  p99 %s ms", ms3(e.P50MS), ms3(e.P99MS))
		}
		fmt.Fprintln(w)
	}
}

// htmlDelivery is one result's row of the page's delivery table.
type htmlDelivery struct {
	Label, Receiver                                  string
	Accepted, Delivered, Lost, Duplicates, Strangers int64
	Unanswered, BacklogMax                           int64
	AcceptedRate, DeliveredRate, Drain, P50, P99     string
}

// deliveryHTML draws, for the results that had a receiver, messages
// accepted and delivered per second on one chart and the backlog on
// another: a server whose queue grows shows the two curves apart.
func deliveryHTML(docs []*JSONReport, labels []string) ([]htmlChart, []htmlDelivery, error) {
	var flow, backlog []series
	var rows []htmlDelivery
	for i, d := range docs {
		jd := d.Delivery
		if jd == nil {
			continue
		}
		p := d.Phases[metrics.SeriesDelivery]
		rows = append(rows, htmlDelivery{Label: labels[i], Receiver: jd.Receiver, Accepted: jd.Accepted, Delivered: jd.Delivered,
			Lost: jd.Lost, Duplicates: jd.Duplicates, Strangers: jd.Strangers, Unanswered: jd.UnansweredDelivered,
			BacklogMax: jd.BacklogMax, AcceptedRate: fmt.Sprintf("%.1f", d.Totals.MessagesPerS),
			DeliveredRate: fmt.Sprintf("%.1f", jd.DeliveredPerS), Drain: fmt.Sprintf("%.1f s", jd.DrainS),
			P50: ms3(p.P50MS), P99: ms3(p.P99MS)})
		acc, del, bl := make(plotter.XYs, len(jd.Intervals)), make(plotter.XYs, len(jd.Intervals)), make(plotter.XYs, len(jd.Intervals))
		for k, s := range jd.Intervals {
			x := float64(s.T)
			acc[k] = plotter.XY{X: x, Y: float64(s.Accepted)}
			del[k] = plotter.XY{X: x, Y: float64(s.Delivered)}
			bl[k] = plotter.XY{X: x, Y: float64(s.Backlog)}
		}
		name := func(what string) string {
			if len(docs) > 1 {
				return labels[i] + " " + what
			}
			return what
		}
		flow = append(flow, series{label: name("accepted"), xys: acc}, series{label: name("delivered"), xys: del, dashed: true})
		backlog = append(backlog, series{label: name("backlog"), xys: bl})
	}
	if len(rows) == 0 {
		return nil, nil, nil
	}
	var charts []htmlChart
	for _, c := range []struct {
		id, title, y, caption string
		ss                    []series
	}{
		{"delivery-rate", "accepted and delivered messages per second", "messages/s",
			"Messages the server answered 250 to (solid) and messages that arrived at the receiver (dashed), per second from the start, the drain included.", flow},
		{"delivery-backlog", "backlog: accepted, not yet delivered", "messages",
			"Messages accepted and not yet arrived, at the end of each second: a queue that keeps growing is past the server's capacity however fast its 250s came.", backlog},
	} {
		svg, err := timeChart(c.title, c.y, c.ss, 0, stageMarks(docs)) // the timeline runs on through the drain
		if err != nil {
			return nil, nil, err
		}
		charts = append(charts, htmlChart{ID: c.id, Caption: c.caption, SVG: template.HTML(svg)})
	}
	return charts, rows, nil
}

// mergeDelivery adds up the delivery objects of results that all had a
// receiver (checkMergeable has made sure their phases match): counts are
// summed, and the per-second series are aligned on the merged start and
// summed, so the merged backlog is the backlog of the whole job.
func mergeDelivery(docs []*JSONReport, start time.Time) *JSONDelivery {
	out := &JSONDelivery{Intervals: []JSONDeliverySecond{}}
	var receivers []string
	seen := map[string]bool{}
	for _, d := range docs {
		jd := d.Delivery
		if jd == nil {
			return nil
		}
		if !seen[jd.Receiver] {
			seen[jd.Receiver] = true
			receivers = append(receivers, jd.Receiver)
		}
		out.Accepted += jd.Accepted
		out.Delivered += jd.Delivered
		out.Lost += jd.Lost
		out.Duplicates += jd.Duplicates
		out.Strangers += jd.Strangers
		out.UnansweredDelivered += jd.UnansweredDelivered
		out.DrainS = max(out.DrainS, jd.DrainS)
		out.DrainInterrupted = out.DrainInterrupted || jd.DrainInterrupted
		out.BacklogMax = max(out.BacklogMax, jd.BacklogMax)
		off := d.StartedAt.Sub(start)
		if jd.LastArrivalS > 0 {
			out.LastArrivalS = max(out.LastArrivalS, (off + seconds(jd.LastArrivalS)).Seconds())
		}
		shift := int(off.Round(time.Second) / time.Second)
		for _, iv := range jd.Intervals {
			t := iv.T + shift
			for len(out.Intervals) <= t {
				out.Intervals = append(out.Intervals, JSONDeliverySecond{T: len(out.Intervals)})
			}
			out.Intervals[t].Accepted += iv.Accepted
			out.Intervals[t].Delivered += iv.Delivered
		}
	}
	out.Receiver = strings.Join(receivers, ", ")
	var acc, del int64
	for i := range out.Intervals {
		acc += out.Intervals[i].Accepted
		del += out.Intervals[i].Delivered
		out.Intervals[i].Backlog = max(acc-del, 0)
		out.BacklogMax = max(out.BacklogMax, out.Intervals[i].Backlog)
	}
	if out.LastArrivalS > 0 {
		out.DeliveredPerS = float64(out.Delivered) / out.LastArrivalS
	}
	return out
}
