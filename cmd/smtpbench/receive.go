package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/metrics"
)

func (f *runFlags) registerReceive(fs *pflag.FlagSet) {
	fs.StringVar(&f.receive, "receive", "", "track delivery: receive what the server relays on this SMTP/LMTP address (HOST:PORT), or watch maildir:DIR (docs/delivery.md)")
	fs.DurationVar(&f.drain, "drain", delivery.DefaultDrain, "with --receive: after the load, wait up to this long for accepted messages to arrive")
	fs.Int64Var(&f.maxLost, "max-lost", 0, "with --receive: fail (exit 1) if more than N accepted messages never arrived")
}

// checkReceive refuses delivery flags without --receive.
func (f *runFlags) checkReceive(fs *pflag.FlagSet, th *thresholds) error {
	th.MaxLost = -1
	if f.receive == "" {
		for _, name := range []string{"drain", "max-lost"} {
			if fs.Changed(name) {
				return fmt.Errorf("--%s needs --receive", name)
			}
		}
		return nil
	}
	if f.drain < 0 || f.drain > loadgen.MaxDuration {
		return fmt.Errorf("--drain %s: want a duration from 0 to %s", f.drain, loadgen.MaxDuration)
	}
	if f.maxLost < 0 {
		return fmt.Errorf("--max-lost %d: must not be negative", f.maxLost)
	}
	th.MaxLost = f.maxLost
	return nil
}

// newRunToken is a Message-ID token of this run alone, so that mail of an
// earlier run (an old queue draining) is never taken for ours.
func newRunToken() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// receiving is a run's receiver, and the tracker of the run (or of the
// current step of a series) behind a router.
type receiving struct {
	rcv     delivery.Receiver
	router  delivery.Router
	tracker *delivery.Tracker
	token   string
	stopped bool
}

// stepSeqGap separates the message numbers of a series' steps, so that a
// late arrival from one step is a stranger to the next, not a match.
const stepSeqGap = 1 << 40

// startReceiving opens the receiver (a usage error when it cannot work)
// and hooks a tracker into cfg.
func (f *runFlags) startReceiving(cfg *loadgen.Config) (*receiving, error) {
	rcv, err := delivery.Open(f.receive)
	if err != nil {
		var ue *delivery.UsageError
		if errors.As(err, &ue) {
			return nil, usagef("%v", err)
		}
		return nil, exitError{exitRun, err.Error()}
	}
	r := &receiving{rcv: rcv, token: cfg.Mail.Token()}
	if err := rcv.Start(&r.router); err != nil {
		rcv.Stop()
		return nil, exitError{exitRun, fmt.Sprintf("--receive: %v", err)}
	}
	r.begin(cfg, 0)
	return r, nil
}

// begin gives step (0 for a single run) a tracker of its own, and numbers
// its messages apart from other steps'.
func (r *receiving) begin(cfg *loadgen.Config, step int) {
	cfg.SeqOffset += uint64(step) * stepSeqGap
	r.tracker = delivery.NewTracker(r.token, cfg.SeqOffset, cfg.SeqStride, time.Now())
	r.router.Set(r.tracker)
	cfg.Delivery = r.tracker
}

// drain waits for outstanding deliveries and returns what the receiver
// saw. A signal during the drain ends it: the first one if the load ended
// by itself, the second if a signal ended the load.
func (r *receiving) drain(ctx context.Context, abort <-chan struct{}, d time.Duration, progress bool, stderr io.Writer) *metrics.Delivery {
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
	if _, _, backlog := r.tracker.Counts(); backlog > 0 && progress {
		fmt.Fprintf(stderr, "smtpbench: waiting up to %s for %d accepted messages to arrive at %s\n", d, backlog, r.rcv)
	}
	var show func(time.Duration, int64, int64)
	if progress {
		show = func(waited time.Duration, delivered, backlog int64) {
			fmt.Fprintf(stderr, "drain %5.1fs  delivered %d  backlog %d\n", waited.Seconds(), delivered, backlog)
		}
	}
	took, interrupted := r.tracker.Drain(dctx, d, show)
	r.router.Set(nil)
	return r.tracker.Finish(r.rcv.String(), took, interrupted)
}

func (r *receiving) stop() {
	if !r.stopped {
		r.stopped = true
		r.rcv.Stop()
	}
}

// sweepDelivery follows delivery across a sweep's steps for loadgen.Sweep,
// with no progress line of its own (the sweep prints one per step).
type sweepDelivery struct {
	r      *receiving
	drain  time.Duration
	stderr io.Writer
}

func (d sweepDelivery) Begin(cfg *loadgen.Config, step int) { d.r.begin(cfg, step) }

func (d sweepDelivery) Drain(ctx context.Context, abort <-chan struct{}) *metrics.Delivery {
	return d.r.drain(ctx, abort, d.drain, false, d.stderr)
}
