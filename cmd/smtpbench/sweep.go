package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/report"
)

// defaultSearchMaxErrorPct is the error rate a capacity probe may show: a
// server that answers fast by rejecting mail has not kept up.
const defaultSearchMaxErrorPct = 1.0

const sweepUsage = `Usage: smtpbench sweep [flags] HOST[:PORT]

Runs one workload at a series of concurrencies (-c) or open-model rates
(--rate), each step -d long after its own warm-up, and prints a row per
step (messages/s, message p50 and p99, errors) with the knee: the step
after which more load only adds waiting. Lists: 1,2,4,8, or ranges
A..BxF (multiply by F) and A..B+S (add S), combined as 1,2..10+2,16..64x2.
With --slo and --rate-max it searches for capacity instead: the highest
rate at which every objective holds, by bisection. With --abuse
PROFILE:LIST each step adds that many abusive sessions beside -c normal
ones and shows what the normal mail suffered. -o json (or --out) keeps
every step's full result. docs/sweep-and-ab.md says how each works.

Examples:
  smtpbench sweep -c 1,2,4,8,16 -d 5s 127.0.0.1:2525
  smtpbench sweep -c 1..256x2 --out sweep.json 127.0.0.1:2525
  smtpbench sweep --rate 100..2000+100 -c 200 127.0.0.1:2525
  smtpbench sweep --slo message:p99=50ms --rate-max 5000 -c 200 127.0.0.1:2525
  smtpbench sweep --abuse idle:10..100+10 -c 10 --per-conn 1 -d 10s 127.0.0.1:25

Flags:
`

func sweepCommand(args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fs := pflag.NewFlagSet("sweep", pflag.ContinueOnError)
	concList := fs.StringP("concurrency", "c", strconv.Itoa(loadgen.DefaultConcurrency), "sessions per step: N, a list 1,2,4,8 or a range 1..256x2; with --rate or --slo one N, the most that may be open")
	rateList := fs.StringP("rate", "r", "", "open model: messages per second per step: R, a list or a range such as 100..2000+100")
	f.registerSeries(fs, "step")
	slos := fs.StringArray("slo", nil, "capacity search objective, PHASE:pNN=DURATION such as message:p99=50ms; repeatable")
	rateMax := fs.Float64("rate-max", 0, "capacity search: the highest rate to try, and the first probe")
	probes := fs.Int("probes", loadgen.DefaultSearchProbes, "capacity search: at most this many probes")
	precision := fs.Float64("precision", 100*loadgen.DefaultSearchPrecision, "capacity search: stop when the best rate that held is within PCT percent of the lowest that did not")
	fs.Float64Var(&f.th.MaxErrorPct, "max-error-rate", defaultSearchMaxErrorPct, "capacity search: a probe with more than PCT percent of messages rejected or failed fails")
	fs.StringVarP(&f.output, "output", "o", "table", "stdout format: table or json")
	fs.StringVar(&f.outFile, "out", "", "also write every step's full result to this JSON file")
	fs.BoolVar(&f.progress, "progress", false, "print a line per step to stderr (default: when stderr is a terminal)")
	abuseFlag := fs.String("abuse", "", "abuse sweep: PROFILE:LIST, sessions of PROFILE added beside the -c normal ones, a step each after one with none, such as idle:10..100+10")
	serverCmd := fs.String("server-cmd", "", "start the server with this shell command before the first step (and stop it after the last), measuring its cost")
	restart := fs.Bool("restart-each-step", false, "with --server-cmd: stop and start the server again for each step, so each meets a cold server")
	var sf serverCmdFlags // workload.go
	sf.register(fs)
	fs.StringVar(&f.w.Receive, "receive", "", "track delivery in every step: receive on this SMTP/LMTP address or watch maildir:DIR; steps are then judged by delivered/s, lost mail and a bounded backlog (docs/delivery.md)")
	fs.DurationVar(&f.w.Drain, "drain", delivery.DefaultDrain, "with --receive: after each step's load, wait up to this long for its accepted messages to arrive")
	if err := parseFlags(fs, args, sweepUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one target, got %d (start a server with smtpbench sink if you have none)", fs.NArg())
	}
	if err := checkOutput(f.output); err != nil {
		return err
	}
	if err := distinctOutputs([]pathFlag{{"--out", f.outFile}}, f.inputs()); err != nil {
		return err
	}
	plan := loadgen.SweepPlan{Arrival: f.w.Arrival, Warmup: f.w.Warmup, Duration: f.w.Duration}
	spec := loadgen.SweepSpec{Concurrency: *concList, Rate: *rateList, SLOs: *slos, RateMax: *rateMax, Probes: *probes,
		PrecisionPct: *precision, MaxErrorPct: f.th.MaxErrorPct, Abuse: *abuseFlag, Given: f.given(fs)}
	most, err := spec.Steps(&plan, &f.w)
	if err != nil {
		return configError(err)
	}
	base, cj, err := f.seriesConfig(fs)
	if err != nil {
		return err
	}
	sec, err := f.seriesTarget(fs, &base, &cj, most, stderr)
	if err != nil {
		return err
	}
	if base.Target, err = sec.ParseTarget(fs.Arg(0), f.w.LMTP); err != nil {
		return usagef("%v", err)
	}
	plan.Base, plan.Echo, plan.Warnings = base, cj, sec.warnings()
	if *serverCmd != "" {
		if plan.Server, err = sf.runner("--server-cmd", *serverCmd, base.Target, "server", *restart); err != nil {
			return err
		}
		defer plan.Server.Close()
	} else if *restart {
		return usagef("--restart-each-step needs --server-cmd")
	}
	if err := plan.Validate(); err != nil {
		return configError(err)
	}
	out, err := openOut(f.outFile)
	if err != nil {
		return err
	}
	if out != nil {
		defer out.Close()
	}

	if f.w.Receive != "" {
		// No progress of its own: the sweep prints a line per step.
		rcv, err := f.startReceiving(&base, false, stderr)
		if err != nil {
			return err
		}
		defer rcv.Stop()
		plan.Base = base // as the receiver set it up
		plan.Delivery = rcv
	}
	ctx, abort, release := stopOnSignals(stderr, base.Grace)
	defer release()
	plan.Abort = abort
	doc, runErr := loadgen.Sweep(ctx, plan, newSeriesProgress(stderr, f.progress, f.output))
	runErr = seriesError(runErr)
	sw := doc.Sweep
	if len(sw.Steps) == 0 {
		if runErr != nil {
			return runErr
		}
		return exitError{exitRun, "stopped before the first step ended: nothing measured"}
	}
	// What was measured is printed even when a step could not run.
	if err := printDoc(stdout, f.output, doc, report.WriteSweepTable); err != nil {
		return err
	}
	if err := writeOut(out, doc); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	if err := acceptedNothing(doc.Runs); err != nil {
		return err
	}
	if sw.Interrupted {
		fmt.Fprintf(stderr, "smtpbench sweep: stopped by a signal after %d of the steps\n", len(sw.Steps))
	}
	return nil
}
