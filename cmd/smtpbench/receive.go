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
	"github.com/smtpbench/smtpbench/report"
)

func (f *runFlags) registerReceive(fs *pflag.FlagSet) {
	fs.StringVar(&f.receive, "receive", "", "track delivery: receive what the server relays on this SMTP/LMTP address (HOST:PORT), or watch maildir:DIR (docs/delivery.md)")
	fs.DurationVar(&f.drain, "drain", delivery.DefaultDrain, "with --receive: after the load, wait up to this long for accepted messages to arrive")
	fs.Int64Var(&f.maxLost, "max-lost", 0, "with --receive: fail (exit 1) if more than N accepted messages never arrived")
}

// checkReceive refuses delivery flags without --receive.
func (f *runFlags) checkReceive(fs *pflag.FlagSet, th *thresholds) error {
	th.maxLost = -1
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
	th.maxLost = f.maxLost
	return nil
}

// newRunToken is a Message-ID token of this run alone, so that mail of an
// earlier run (an old queue draining) is never taken for ours.
func newRunToken() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// receiving is a run's receiver and tracker.
type receiving struct {
	rcv     delivery.Receiver
	tracker *delivery.Tracker
	stopped bool
}

// startReceiving opens the receiver (a usage error when it cannot work)
// and hooks its tracker into cfg.
func (f *runFlags) startReceiving(cfg *loadgen.Config) (*receiving, error) {
	rcv, err := delivery.Open(f.receive)
	if err != nil {
		var ue *delivery.UsageError
		if errors.As(err, &ue) {
			return nil, usagef("%v", err)
		}
		return nil, exitError{exitRun, err.Error()}
	}
	t := delivery.NewTracker(cfg.Mail.Token(), cfg.SeqOffset, cfg.SeqStride, time.Now())
	if err := rcv.Start(t); err != nil {
		rcv.Stop()
		return nil, exitError{exitRun, fmt.Sprintf("--receive: %v", err)}
	}
	cfg.Delivery = t
	return &receiving{rcv: rcv, tracker: t}, nil
}

// drain waits for outstanding deliveries, then stops the receiver and
// returns what it saw. A signal during the drain ends it: the first one if
// the load ended by itself, the second if a signal ended the load.
func (r *receiving) drain(ctx context.Context, abort <-chan struct{}, d time.Duration, progress bool, stderr io.Writer) *report.Delivery {
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
	r.stop()
	return r.tracker.Finish(r.rcv.String(), took, interrupted)
}

func (r *receiving) stop() {
	if !r.stopped {
		r.stopped = true
		r.rcv.Stop()
	}
}
