package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/loadgen/profile"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
)

// defaultSearchMaxErrorPct is the error rate a capacity probe may show: a
// server that answers fast by rejecting mail has not kept up.
const defaultSearchMaxErrorPct = 1.0

const sweepUsage = `Usage: smtpbench sweep [flags] HOST[:PORT]

Runs the same workload at a series of concurrencies (-c) or, in the open
model, of rates (--rate), each step -d long after its own warm-up, and
prints one row per step: sessions or rate, messages/s, message p50 and
p99, errors. It marks the knee: the first step after which messages/s
grows by less than 5% while the message p99 grows by more than 5%, where
more load only adds waiting.

Lists: 1,2,4,8 or ranges, A..BxF multiplying by F (1..256x2 doubles) and
A..B+S adding S (100..2000+100); items combine: 1,2..10+2,16..64x2.

With --slo and --rate-max it searches for capacity instead: the highest
open-model rate at which every objective holds and errors stay at most
--max-error-rate, by bisection between 0 and --rate-max (first probe at
--rate-max, then halfway between the best rate that held and the lowest
that did not), until the bracket is within --precision or --probes are
spent. Every probe is a row.

With --abuse PROFILE:LIST it answers the stress question instead: -c
normal sessions send the same load at every step, and each step adds the
number of PROFILE sessions (idle, slow, …; see --mix) the list names,
after a first step with none. Each row shows the normal sessions'
messages/s and p99s; the line after the table names the first step at
which the good mail suffered (docs/profiles.md). A server's session
limit shows when the normal sessions reconnect (--per-conn 1) or in the
open model (--rate).

-o json (or --out) gives every step's full result, histograms included.

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
	f.registerWorkload(fs)
	setDefault(fs, "warmup", defaultSeriesWarmup.String())
	fs.Lookup("warmup").Usage = "warm-up before each step's measured -d"
	fs.Lookup("duration").Usage = "how long each step is measured, after its warm-up (default 10s when -n is not given either)"
	slos := fs.StringArray("slo", nil, "capacity search objective, PHASE:pNN=DURATION such as message:p99=50ms; repeatable")
	rateMax := fs.Float64("rate-max", 0, "capacity search: the highest rate to try, and the first probe")
	probes := fs.Int("probes", loadgen.DefaultSearchProbes, "capacity search: at most this many probes")
	precision := fs.Float64("precision", 100*loadgen.DefaultSearchPrecision, "capacity search: stop when the best rate that held is within PCT percent of the lowest that did not")
	fs.Float64Var(&f.maxErrorRate, "max-error-rate", defaultSearchMaxErrorPct, "capacity search: a probe with more than PCT percent of messages rejected or failed fails")
	fs.StringVarP(&f.output, "output", "o", "table", "stdout format: table or json")
	fs.StringVar(&f.outFile, "out", "", "also write every step's full result to this JSON file")
	fs.BoolVar(&f.progress, "progress", false, "print a line per step to stderr (default: when stderr is a terminal)")
	abuseFlag := fs.String("abuse", "", "abuse sweep: PROFILE:LIST, sessions of PROFILE added beside the -c normal ones, a step each after one with none, such as idle:10..100+10")
	serverCmd := fs.String("server-cmd", "", "start the server with this shell command before the first step (and stop it after the last), measuring its cost")
	restart := fs.Bool("restart-each-step", false, "with --server-cmd: stop and start the server again for each step, so each meets a cold server")
	var sf serverCmdFlags // server.go
	sf.register(fs)
	fs.StringVar(&f.w.Receive, "receive", "", "track delivery in every step: receive on this SMTP/LMTP address or watch maildir:DIR; steps are then judged by delivered/s, lost mail and a bounded backlog (docs/delivery.md)")
	fs.DurationVar(&f.w.Drain, "drain", delivery.DefaultDrain, "with --receive: after each step's load, wait up to this long for its accepted messages to arrive")
	if err := parseFlags(fs, args, sweepUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one target, got %d (start a server with smtpbench sink if you have none)", fs.NArg())
	}
	if f.output != "table" && f.output != "json" {
		return usagef("--output %q: want table or json", f.output)
	}
	if err := distinctOutputs([]pathFlag{{"--out", f.outFile}}, f.inputs()); err != nil {
		return err
	}
	search := len(*slos) > 0 || fs.Changed("rate-max")
	varies := report.VariesConcurrency
	var abuseName string
	var abuseSteps []int
	if *abuseFlag != "" {
		var err error
		if abuseName, abuseSteps, err = parseAbuse(*abuseFlag); err != nil {
			return usagef("%v", err)
		}
		if search || fs.Changed("rate") && strings.Contains(*rateList, ",") || strings.Contains(*rateList, "..") {
			return usagef("--abuse varies the abusive sessions: give one --rate at most, and no capacity search")
		}
		if f.w.Mix != "" {
			return usagef("--abuse and --mix exclude each other: the sweep makes each step's mix")
		}
		// The profile's settings (--slow-rate, --idle-for…) are read as
		// for --mix; each step then sets its own weights.
		f.w.Mix = metrics.NormalProfile + ":1," + abuseName + ":1"
		varies = report.VariesAbuse
	}
	var concs, rates []float64
	var objectives []analysis.SLO
	var err error
	if concs, err = parseSteps("concurrency", *concList, true, maxConcurrency); err != nil {
		return usagef("%v", err)
	}
	switch {
	case search:
		varies = report.VariesSearch
		if len(*slos) == 0 || *rateMax <= 0 {
			return usagef("a capacity search needs --slo and a positive --rate-max")
		}
		if fs.Changed("rate") {
			return usagef("--rate and --rate-max exclude each other: the search picks the rates")
		}
		for _, s := range *slos {
			o, err := analysis.ParseSLO(s)
			if err != nil {
				return usagef("--slo %v", err)
			}
			objectives = append(objectives, o)
		}
		if *probes < 1 || *probes > loadgen.MaxSteps {
			return usagef("--probes %d: want 1 to %d", *probes, loadgen.MaxSteps)
		}
		if !(*precision > 0 && *precision < 100) {
			return usagef("--precision %g: want a percentage between 0 and 100", *precision)
		}
		if f.maxErrorRate < 0 || f.maxErrorRate > 100 {
			return usagef("--max-error-rate %g: want a percent from 0 to 100", f.maxErrorRate)
		}
		f.w.Rate = *rateMax
	case fs.Changed("rate") && varies == report.VariesAbuse:
		if rates, err = parseSteps("rate", *rateList, false, maxRate); err != nil {
			return usagef("%v", err)
		}
		f.w.Rate, rates = rates[0], nil
	case fs.Changed("rate"):
		varies = report.VariesRate
		if rates, err = parseSteps("rate", *rateList, false, maxRate); err != nil {
			return usagef("%v", err)
		}
		f.w.Rate = rates[0]
	default:
		for _, name := range []string{"slo", "probes", "precision", "max-error-rate"} {
			if fs.Changed(name) {
				return usagef("--%s belongs to a capacity search: give --slo and --rate-max", name)
			}
		}
	}
	if varies != report.VariesConcurrency && len(concs) > 1 {
		return usagef("-c %q: with --rate or a search, -c is one number (the most sessions that may be open); a sweep varies one thing", *concList)
	}
	f.w.Concurrency = int(concs[0])
	base, cj, err := f.seriesConfig(fs)
	if err != nil {
		return err
	}
	most := f.w.Concurrency
	if varies == report.VariesConcurrency {
		most = int(concs[len(concs)-1])
	}
	if varies == report.VariesAbuse {
		most += abuseSteps[len(abuseSteps)-1]
	}
	sec, parseTarget, err := f.seriesTarget(fs, &base, &cj, most, stderr)
	if err != nil {
		return err
	}
	if base.Target, err = parseTarget(fs.Arg(0)); err != nil {
		return usagef("%v", err)
	}
	plan := loadgen.SweepPlan{Base: base, Echo: cj, Arrival: f.w.Arrival, Warmup: f.w.Warmup, Duration: f.w.Duration,
		Varies: varies, Rates: rates, AbuseProfile: abuseName, AbuseSessions: abuseSteps,
		RateMax: *rateMax, PrecisionPct: *precision, Probes: *probes, Objectives: objectives, MaxErrorPct: f.maxErrorRate,
		Warnings: sec.warnings()}
	for _, c := range concs {
		plan.Concurrencies = append(plan.Concurrencies, int(c))
	}
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
	runErr = seriesError(runErr, sec.hint)
	sw := doc.Sweep
	if len(sw.Steps) == 0 {
		if runErr != nil {
			return runErr
		}
		return exitError{exitRun, "stopped before the first step ended: nothing measured"}
	}
	// What was measured is printed even when a step could not run.
	if f.output == "json" {
		err = report.WriteDocument(stdout, doc)
	} else {
		err = report.WriteSweepTable(stdout, doc)
	}
	if err != nil {
		return exitError{exitRun, fmt.Sprintf("writing the sweep: %v", err)}
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

// parseAbuse reads --abuse PROFILE:LIST: a profile other than normal and
// the numbers of its sessions per step, a list as -c takes (a leading 0,
// or a range from 0, stands for the first step, which always runs).
func parseAbuse(v string) (string, []int, error) {
	name, list, ok := strings.Cut(v, ":")
	if !ok || list == "" {
		return "", nil, fmt.Errorf("--abuse %q: want PROFILE:LIST such as idle:10..100+10", v)
	}
	if _, err := profile.ParseMix(name + ":1"); err != nil || name == metrics.NormalProfile {
		return "", nil, fmt.Errorf("--abuse %q: unknown abusive profile %q (profiles: %s)", v, name, strings.Join(profile.Names()[1:], ", "))
	}
	if rest, ok := strings.CutPrefix(list, "0.."); ok {
		// 0..B+S: the first step, then S, 2S, … B.
		if i := strings.IndexByte(rest, '+'); i > 0 {
			list = rest[i+1:] + ".." + rest
		}
	}
	list = strings.TrimPrefix(list, "0,")
	steps := []int{0}
	if list != "0" {
		vals, err := parseSteps("abuse", list, true, 0)
		if err != nil {
			return "", nil, err
		}
		for _, n := range vals {
			if n > maxConcurrency {
				return "", nil, fmt.Errorf("--abuse %q: %g sessions is more than %d", v, n, maxConcurrency)
			}
			steps = append(steps, int(n))
		}
	}
	return name, steps, nil
}
