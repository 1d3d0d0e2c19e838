package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/promexport"
	"github.com/smtpbench/smtpbench/report"
)

// longRunFlags are the flags for runs watched while they go on: live
// metrics and the streamed timeline (docs/live-metrics.md).
type longRunFlags struct{ metricsAddr, live string }

func (l *longRunFlags) register(fs *pflag.FlagSet, w *loadgen.Workload) {
	fs.StringVar(&l.metricsAddr, "metrics-addr", "", "serve live Prometheus metrics on http://HOST:PORT/metrics while the run goes on")
	fs.StringVar(&l.live, "live", "", "append one JSON line per completed second to this file as the run goes on (smtpbench report and merge read it)")
	fs.StringVar(&w.Stages, "stages", "", "load stages as DURATION:TARGET[,...]: each moves linearly from the previous target (0 at first) to TARGET, sessions in the closed loop or messages/s with --rate")
}

// closers are what the flags started before the load, closed after it.
type closers []io.Closer

func (cs closers) close() {
	for _, c := range cs {
		c.Close()
	}
}

// start opens the metrics address and the live file before any load, so
// that an address in use or a file that cannot be written is a usage error
// in a second, not a surprise after hours. startAt is --start-at's
// instant, zero without it.
func (l *longRunFlags) start(cfg *loadgen.Config, cj report.RunConfig, startAt time.Time, stderr io.Writer) (closers, error) {
	var cs closers
	if l.metricsAddr != "" {
		srv, err := promexport.ServeRun(l.metricsAddr, cfg)
		if err != nil {
			return nil, usagef("--metrics-addr %s: %v", l.metricsAddr, err)
		}
		cs = append(cs, srv)
		fmt.Fprintf(stderr, "smtpbench: metrics on http://%s/metrics\n", srv.Addr())
	}
	if l.live != "" {
		lw, err := cfg.StartLive(l.live, cj, startAt)
		if err != nil {
			cs.close()
			return nil, usagef("--live: %v", err)
		}
		var once sync.Once
		lw.Warn = func(s string) { once.Do(func() { fmt.Fprintf(stderr, "smtpbench run: %s\n", s) }) }
		cs = append(cs, lw)
	}
	return cs, nil
}

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
