package metrics

import (
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
