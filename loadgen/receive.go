package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/metrics"
)

// Receiving is a run's delivery receiver (delivery.Open) and the tracker
// of the run, or of the current step of a series, behind a router. It
// implements StepDelivery for Sweep.
type Receiving struct {
	// Wait is how long Drain waits for accepted messages to arrive.
	Wait time.Duration
	// Show, when set, is called as Drain begins to wait (waited 0), and
	// then about once a second while it waits.
	Show func(waited time.Duration, delivered, backlog int64)

	rcv     delivery.Receiver
	router  delivery.Router
	tracker *delivery.Tracker
	token   string
	stopped bool
}

var _ StepDelivery = (*Receiving)(nil)

// stepSeqGap separates the message numbers of a series' steps, so that a
// late arrival from one step is a stranger to the next, not a match.
const stepSeqGap = 1 << 40

// NewRunToken is a Message-ID token of this run alone, so that mail of an
// earlier run (an old queue draining) is never taken for ours.
func NewRunToken() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// StartReceiving opens the receiver at addr (see delivery.Open; a
// *delivery.UsageError when addr cannot work) before the load, so that a
// busy address or a missing Maildir fails at once, and hooks a tracker
// into cfg, whose messages must carry a tracking token (message.Spec.Tracked).
func StartReceiving(addr string, cfg *Config) (*Receiving, error) {
	rcv, err := delivery.Open(addr)
	if err != nil {
		return nil, err
	}
	r := &Receiving{rcv: rcv, token: cfg.Mail.Token(), Wait: delivery.DefaultDrain}
	if err := rcv.Start(&r.router); err != nil {
		rcv.Stop()
		return nil, err
	}
	r.Begin(cfg, 0)
	return r, nil
}

// Begin gives step (0 for a single run) a tracker of its own, and numbers
// its messages apart from other steps'.
func (r *Receiving) Begin(cfg *Config, step int) {
	cfg.SeqOffset += uint64(step) * stepSeqGap
	r.tracker = delivery.NewTracker(r.token, cfg.SeqOffset, cfg.SeqStride, time.Now())
	r.router.Set(r.tracker)
	cfg.Delivery = r.tracker
}

// Backlog is how many accepted messages have not arrived yet.
func (r *Receiving) Backlog() int64 {
	_, _, backlog := r.tracker.Counts()
	return backlog
}

// String names the receiver, as the report does.
func (r *Receiving) String() string { return r.rcv.String() }

// Drain waits up to Wait for outstanding deliveries and returns what the
// receiver saw. A signal during the drain ends it: the first one (ctx)
// if the load ended by itself, the second (abort) if a signal ended the
// load.
func (r *Receiving) Drain(ctx context.Context, abort <-chan struct{}) *metrics.Delivery {
	dctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		dctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-abort:
				cancel()
			case <-stop:
			}
		}()
	}
	if _, delivered, backlog := r.tracker.Counts(); backlog > 0 && r.Show != nil {
		r.Show(0, delivered, backlog)
	}
	took, interrupted := r.tracker.Drain(dctx, r.Wait, r.Show)
	r.router.Set(nil)
	return r.tracker.Finish(r.rcv.String(), took, interrupted)
}

// Stop closes the receiver; later calls do nothing.
func (r *Receiving) Stop() {
	if !r.stopped {
		r.stopped = true
		r.rcv.Stop()
	}
}
