package main

// What run, sweep and ab share: the workload flags and their checks, the
// signal handling, and the progress line.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/internal/atomicfile"
	"github.com/smtpbench/smtpbench/internal/sysres"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/report"
)

// defaultSeriesWarmup is the warm-up before each step of a sweep and each
// run of ab: connections are set up and the server's caches filled before
// anything is measured, so steps compare like with like.
const defaultSeriesWarmup = time.Second

// registerSeries registers the workload flags of a series of runs (each
// a step or a run of a round: what), whose warm-up comes before -d.
func (f *runFlags) registerSeries(fs *pflag.FlagSet, what string) {
	f.registerWorkload(fs)
	fl := fs.Lookup("warmup")
	fl.Value.Set(defaultSeriesWarmup.String())
	fl.DefValue, fl.Usage = defaultSeriesWarmup.String(), "warm-up before each "+what+"'s measured -d"
	fs.Lookup("duration").Usage = "how long each " + what + " is measured, after its warm-up (default 10s when -n is not given either)"
}

// seriesConfig turns the workload flags of sweep and ab into a run config.
// Unlike run, where --warmup is the start of -d, each of their runs lasts
// the warm-up plus -d, so every step measures -d.
func (f *runFlags) seriesConfig(fs *pflag.FlagSet) (loadgen.Config, report.RunConfig, error) {
	if f.w.Messages == 0 && f.w.Duration == 0 {
		f.w.Duration = loadgen.DefaultDuration
	}
	measured := f.w.Duration
	if f.w.Duration > 0 {
		f.w.Duration += f.w.Warmup
	}
	cfg, cj, _, err := f.config(fs)
	f.w.Duration = measured
	return cfg, cj, err
}

// stopOnSignals turns the first SIGINT or SIGTERM into a cancelled context
// (no new messages; in-flight ones get grace) and the second into a closed
// abort channel (drop every connection). release stops listening.
func stopOnSignals(stderr io.Writer, grace time.Duration) (ctx context.Context, abort <-chan struct{}, release func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ab := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		fmt.Fprintf(stderr, "smtpbench: stopping; messages in flight, if any, have %s to finish (signal again to abort)\n", grace)
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "smtpbench: aborting")
			close(ab)
		case <-done:
		}
	}()
	return ctx, ab, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// noSession says why a run measured nothing: no session could be
// established with its targets. It returns nil for a run that got through.
func noSession(res *report.Result, cfg loadgen.Config) error {
	if err := loadgen.CheckSession(res, cfg); err != nil {
		return seriesError(err)
	}
	return nil
}

// seriesError turns the error of a run, a sweep or ab into the command's:
// no session (with a hint at the flag that fixes it), a server that would
// not start, a comparison that could not be made, or a refused
// configuration (in the words of the flags).
func seriesError(err error) error {
	var ns *loadgen.NoSessionError
	var se *loadgen.ServerStartError
	var ce *loadgen.CompareError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ns):
		return exitError{exitRun, ns.Words(flagName)}
	case errors.As(err, &se):
		return exitError{exitRun, se.Error()}
	case errors.As(err, &ce):
		return exitError{exitRun, ce.Error()}
	}
	return configError(err)
}

// seriesTarget resolves what sweep and ab need beyond the run config, as
// run does: the open-file limit for the most sessions any run opens, and
// TLS and AUTH (applied to cfg).
func (f *runFlags) seriesTarget(fs *pflag.FlagSet, cfg *loadgen.Config, cj *report.RunConfig, sessions int, stderr io.Writer) (*security, error) {
	if err := checkFileLimit(sessions, false); err != nil {
		return nil, err
	}
	sec, err := f.sec.load(fs, sessions, stderr)
	if err != nil {
		return nil, err
	}
	sec.Apply(cfg, cj, nil)
	return sec, nil
}

// seriesProgress reports the runs of a sweep or ab on stderr: on a terminal
// a line per run that updates every second and ends with the run's
// figures; with --progress elsewhere, only the final line of each run.
type seriesProgress struct {
	w    io.Writer
	on   bool // print final lines
	live bool // rewrite a live line every second
}

func newSeriesProgress(stderr io.Writer, flag bool, output string) *seriesProgress {
	live := isTerminal(os.Stderr) && stderr == io.Writer(os.Stderr) && wantProgress(output)
	return &seriesProgress{w: stderr, on: flag || live, live: live}
}

// RunStarting returns the Progress callback for a run named name, or nil.
func (p *seriesProgress) RunStarting(name string) func(loadgen.Progress) {
	if !p.live {
		return nil
	}
	return func(pr loadgen.Progress) {
		fmt.Fprintf(p.w, "\r\033[K%s  %.1fs  ok %d  failed %d  %.0f msg/s  p99 %s", name, pr.Elapsed.Seconds(), pr.OK, pr.Failed, pr.Rate, fmtDur(pr.P99))
	}
}

// RunDone prints a run's final line.
func (p *seriesProgress) RunDone(name string, j *report.JSONReport) {
	if !p.on {
		return
	}
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
	m := j.Phases["message"]
	t := j.Totals
	fmt.Fprintf(p.w, "%s  %.1f msg/s  message p50 %s ms  p99 %s ms  errors %d\n", name, t.MessagesPerS, report.FormatMS(m.P50MS), report.FormatMS(m.P99MS), t.MessagesRejected+t.MessagesFailed)
}

// openOut starts the --out file before the runs, so a bad path fails at
// once rather than after minutes of load; the file replaces the old one
// only when writeOut completes it.
func openOut(name string) (*atomicfile.File, error) {
	return createOutput("--out", name)
}

// printDoc prints a series' document on stdout as JSON, or as table
// renders it.
func printDoc(stdout io.Writer, output string, doc *report.Document, table func(io.Writer, *report.Document) error) error {
	write := table
	if output == "json" {
		write = report.WriteDocument
	}
	if err := write(stdout, doc); err != nil {
		return exitError{exitRun, fmt.Sprintf("writing the result: %v", err)}
	}
	return nil
}

// writeOut writes a document to the --out file and puts it in place.
func writeOut(f *atomicfile.File, d *report.Document) error {
	return writeFile("--out", f, func(w io.Writer) error { return report.WriteDocument(w, d) })
}

// acceptedNothing fails a sweep or ab, as run fails, when a run attempted
// messages and the server accepted none: such a run measured nothing, and a
// script must notice. It is checked after the output is written.
func acceptedNothing(runs []report.LabeledRun) error {
	names := loadgen.AcceptedNothing(runs)
	if len(names) == 0 {
		return nil
	}
	return exitError{exitRun, fmt.Sprintf("the server accepted no message in %s (see the warnings)", strings.Join(names, ", "))}
}

// checkFileLimit refuses, before anything starts, a -c that cannot fit
// under the open-file limit.
func checkFileLimit(concurrency int, builtinSink bool) error {
	if err := sysres.CheckSessions(concurrency, builtinSink); err != nil {
		return exitError{exitUsage, err.Error()}
	}
	return nil
}

// registerServer registers the flags that name the server whose own cost
// a run measures.
func registerServer(fs *pflag.FlagSet, w *loadgen.Workload) {
	fs.IntSliceVar(&w.ServerPIDs, "server-pid", nil, "measure the server's CPU and memory: this process and all its descendants, sampled once a second (Linux); repeatable")
	fs.StringVar(&w.ServerCgroup, "server-cgroup", "", "measure the server's CPU and memory from this cgroup directory (v2, or a v1 cpuacct or memory group; Linux)")
}

// serverCmdFlags are the flags of ab and sweep that start the server
// themselves.
type serverCmdFlags struct {
	startTimeout time.Duration
	stopGrace    time.Duration
	logDir       string
}

func (f *serverCmdFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.startTimeout, "server-start-timeout", loadgen.DefaultServerStartTimeout, "how long a started server has to greet (220) on the target before the command fails")
	fs.DurationVar(&f.stopGrace, "server-stop-grace", loadgen.DefaultServerStopGrace, "how long a started server has to exit after SIGTERM before its process group is killed")
	fs.StringVar(&f.logDir, "server-log-dir", "", "keep each started server's output here (default: a new temporary directory)")
}

// runner checks the flags and returns a runner for command cmd (given
// by flag) answering on addr; name labels its output files.
func (f *serverCmdFlags) runner(flag, cmd, addr, name string, restart bool) (*loadgen.ServerRunner, error) {
	c := loadgen.ServerCommand{Command: cmd, Addr: addr, StartTimeout: f.startTimeout, StopGrace: f.stopGrace, LogDir: f.logDir, Name: name}
	var ce *loadgen.ConfigError
	if err := c.Prepare(); errors.As(err, &ce) {
		names := map[string]string{"Command": flag, "StartTimeout": "--server-start-timeout", "StopGrace": "--server-stop-grace"}
		return nil, usagef("%s", ce.Explain(func(field string) string { return names[field] }))
	} else if err != nil {
		return nil, exitError{exitRun, fmt.Sprintf("--server-log-dir: %v", err)}
	}
	return &loadgen.ServerRunner{RestartEachRun: restart, Command: c}, nil
}
