package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/promexport"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/sink"
)

// longRunFlags are the flags for runs watched while they go on: live
// metrics, the streamed timeline and load stages (docs/live-metrics.md).
type longRunFlags struct {
	metricsAddr string
	live        string
	stages      string
}

func (l *longRunFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&l.metricsAddr, "metrics-addr", "", "serve live Prometheus metrics on http://HOST:PORT/metrics while the run goes on")
	fs.StringVar(&l.live, "live", "", "append one JSON line per completed second to this file as the run goes on (smtpbench report and merge read it)")
	fs.StringVar(&l.stages, "stages", "", "load stages as DURATION:TARGET[,...]: each moves linearly from the previous target (0 at first) to TARGET, sessions in the closed loop or messages/s with --rate")
}

// longRun is what the flags started before the load: closed after it.
type longRun struct {
	metrics *promexport.Server
	live    *report.LiveWriter
}

// start opens the metrics address and the live file before any load, so
// that an address in use or a file that cannot be written is a usage error
// in a second, not a surprise after hours; then hooks both into cfg.
// startAt is --start-at's instant, zero without it: the run begins then,
// not now.
func (l *longRunFlags) start(cfg *loadgen.Config, cj report.RunConfig, startAt time.Time, stderr io.Writer) (*longRun, error) {
	lr := &longRun{}
	if l.metricsAddr != "" {
		w := loadgen.NewWatch()
		reg := prometheus.NewRegistry()
		reg.MustRegister(promexport.NewRunCollector(w))
		srv, err := promexport.Listen(l.metricsAddr, reg)
		if err != nil {
			return nil, usagef("--metrics-addr %s: %v", l.metricsAddr, err)
		}
		cfg.Watch = w
		lr.metrics = srv
		fmt.Fprintf(stderr, "smtpbench: metrics on http://%s/metrics\n", srv.Addr())
	}
	if l.live != "" {
		model := "closed"
		if cfg.Rate > 0 {
			model = "open"
		}
		target := cfg.Target
		if target == "" && len(cfg.Targets) > 0 {
			target = cfg.Targets[0].Addr
		}
		began := time.Now()
		if startAt.After(began) {
			began = startAt
		}
		lw, err := report.CreateLive(l.live, report.LiveHeader{Target: target, StartedAt: began, LoadModel: model, Config: cj})
		if err != nil {
			lr.close()
			return nil, usagef("--live: %v", err)
		}
		var once sync.Once
		lw.Warn = func(s string) { once.Do(func() { fmt.Fprintf(stderr, "smtpbench run: %s\n", s) }) }
		cfg.OnSecond = lw.WriteSecond
		lr.live = lw
	}
	return lr, nil
}

func (lr *longRun) close() {
	if lr.metrics != nil {
		lr.metrics.Close()
	}
	if lr.live != nil {
		lr.live.Close()
	}
}

// sinkMetrics serves the sink's counters on addr, if given.
func sinkMetrics(addr string, srv *sink.Server, stderr io.Writer) (*promexport.Server, error) {
	if addr == "" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(promexport.NewSinkCollector(srv))
	ms, err := promexport.Listen(addr, reg)
	if err != nil {
		return nil, usagef("--metrics-addr %s: %v", addr, err)
	}
	fmt.Fprintf(stderr, "smtpbench sink: metrics on http://%s/metrics\n", ms.Addr())
	return ms, nil
}

// parseStages reads --stages: DURATION:TARGET[,DURATION:TARGET...].
func parseStages(v string, open bool) ([]loadgen.Stage, error) {
	var out []loadgen.Stage
	for i, part := range strings.Split(v, ",") {
		d, n, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("--stages %q: stage %d %q: want DURATION:TARGET, e.g. 30s:50", v, i+1, part)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 || dur > loadgen.MaxDuration {
			return nil, fmt.Errorf("--stages %q: stage %d: duration %q: want e.g. 30s or 5m, up to %s", v, i+1, d, loadgen.MaxDuration)
		}
		target, err := strconv.ParseFloat(n, 64)
		what := "a number of sessions"
		if open {
			what = "messages per second"
		}
		if err != nil || math.IsNaN(target) || math.IsInf(target, 0) || target < 0 || !open && target != math.Trunc(target) {
			return nil, fmt.Errorf("--stages %q: stage %d: target %q: want %s, 0 or more", v, i+1, n, what)
		}
		out = append(out, loadgen.Stage{Duration: dur, Target: target})
	}
	if len(out) > loadgen.MaxStages {
		return nil, fmt.Errorf("--stages: %d stages: at most %d", len(out), loadgen.MaxStages)
	}
	return out, nil
}
