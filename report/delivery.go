package report

import (
	"fmt"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Phases measured past the server's 250, present when a run had a
// receiver (--receive).
const (
	// SeriesDelivery runs from the 250 to a message's end of data to its
	// first arrival at the receiver: the time it spent in the server's
	// queue and on its way.
	SeriesDelivery = "delivery"
	// SeriesEndToEnd runs from the message's start (the origin of the
	// "message" phase) to its first arrival.
	SeriesEndToEnd = "end_to_end"
)

// Delivery is what a receiver saw of the messages a run sent.
type Delivery struct {
	Receiver string
	// Accepted is messages the server answered with acceptance, warm-up
	// included; Delivered distinct messages of this run that arrived.
	Accepted, Delivered int64
	// Lost were accepted and had not arrived when the drain ended.
	Lost int64
	// Duplicates are arrivals of a message after all its recipients had
	// arrived.
	Duplicates int64
	// Strangers are arrivals that are not this run's messages.
	Strangers int64
	// UnansweredDelivered arrived though their answer was a failure or
	// never came.
	UnansweredDelivered int64
	BacklogMax          int64
	// Drain is how long the wait for outstanding deliveries after the load
	// took; Interrupted says a signal ended it.
	Drain       time.Duration
	Interrupted bool
	// LastArrival is when, from the run's start, the last message arrived.
	LastArrival                time.Duration
	DeliveryHist, EndToEndHist *hdrhistogram.Histogram
	Seconds                    []DeliverySecond
}

// DeliverySecond is one second of the delivery timeline, from the run's
// start (the drain included).
type DeliverySecond struct {
	T                   int
	Accepted, Delivered int64
	Backlog             int64 // accepted − delivered up to the end of this second
}

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
func deliveryJSON(j *JSONReport, d *Delivery, withHDR bool) {
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
	j.Phases[SeriesDelivery] = summarize(d.DeliveryHist, withHDR)
	j.Phases[SeriesEndToEnd] = summarize(d.EndToEndHist, withHDR)
}

// writeDeliveryLine leads the table of a run with a receiver.
func writeDeliveryLine(w io.Writer, j *JSONReport) {
	d := j.Delivery
	if d == nil {
		return
	}
	drained := fmt.Sprintf("drained in %.1f s", d.DrainS)
	if d.DrainInterrupted {
		drained = fmt.Sprintf("drain interrupted after %.1f s", d.DrainS)
	}
	fmt.Fprintf(w, "delivery (%s): accepted %.1f/s, delivered %.1f/s, backlog peaked at %d, %s, lost %d, duplicates %d\n",
		d.Receiver, j.Totals.MessagesPerS, d.DeliveredPerS, d.BacklogMax, drained, d.Lost, d.Duplicates)
	fmt.Fprintf(w, "  accepted %d, delivered %d, strangers %d, unanswered but delivered %d, last arrival at %.1f s\n",
		d.Accepted, d.Delivered, d.Strangers, d.UnansweredDelivered, d.LastArrivalS)
	if s, ok := j.Phases[SeriesDelivery]; ok && s.Count > 0 {
		fmt.Fprintf(w, "  delivery p50 %s ms  p99 %s ms  max %s ms", ms3(s.P50MS), ms3(s.P99MS), ms3(s.MaxMS))
		if e := j.Phases[SeriesEndToEnd]; e.Count > 0 {
			fmt.Fprintf(w, "; end to end p50 %s ms  p99 %s ms", ms3(e.P50MS), ms3(e.P99MS))
		}
		fmt.Fprintln(w)
	}
}
