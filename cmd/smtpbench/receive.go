package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/loadgen"
)

func (f *runFlags) registerReceive(fs *pflag.FlagSet) {
	fs.StringVar(&f.w.Receive, "receive", "", "track delivery: receive what the server relays on this SMTP/LMTP address (HOST:PORT), or watch maildir:DIR (docs/delivery.md)")
	fs.DurationVar(&f.w.Drain, "drain", delivery.DefaultDrain, "with --receive: after the load, wait up to this long for accepted messages to arrive")
	fs.Int64Var(&f.th.MaxLost, "max-lost", 0, "with --receive: fail (exit 1) if more than N accepted messages never arrived")
}

// startReceiving opens the receiver of --receive (a usage error when the
// address cannot work) and hooks a tracker into cfg. With progress, its
// drain says what it waits for.
func (f *runFlags) startReceiving(cfg *loadgen.Config, progress bool, stderr io.Writer) (*loadgen.Receiving, error) {
	r, err := loadgen.StartReceiving(f.w.Receive, cfg)
	if err != nil {
		var ue *delivery.UsageError
		if errors.As(err, &ue) {
			return nil, usagef("%s", flagText(err))
		}
		return nil, exitError{exitRun, fmt.Sprintf("--receive: %v", err)}
	}
	r.Wait = f.w.Drain
	if progress {
		r.Show = func(waited time.Duration, delivered, backlog int64) {
			if waited == 0 {
				fmt.Fprintf(stderr, "smtpbench: waiting up to %s for %d accepted messages to arrive at %s\n", f.w.Drain, backlog, r)
				return
			}
			fmt.Fprintf(stderr, "drain %5.1fs  delivered %d  backlog %d\n", waited.Seconds(), delivered, backlog)
		}
	}
	return r, nil
}
