package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/loadgen/profile"
	"github.com/smtpbench/smtpbench/message"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

const runUsage = `Usage: smtpbench run [flags] [HOST[:PORT]]

Runs SMTP sessions against HOST (port 25 by default; IPv6 as [::1]:2525)
and reports throughput and latency per SMTP phase. Without a target it
starts the built-in sink on a free loopback port and benchmarks that.
Without -n or -d it runs for 10s.

Examples:
  smtpbench run
  smtpbench run -c 50 -n 100000 --size 1000 127.0.0.1:2525
  smtpbench run -c 50 -d 30s --pipelining off -o json --out result.json 127.0.0.1:2525
  smtpbench run --rate 500 -c 20 -d 10s --max-p99 message=50ms 127.0.0.1:2525
  smtpbench run -n 1 --trace 1 --from test@example.com --to recipient@example.com 127.0.0.1:1025
  smtpbench run -c 10 -n 2000 --size 1KiB:60,10KiB:30,1MiB:10 --rcpts 1-5 --seed 42 127.0.0.1:2525
  smtpbench run -d 60s --corpus archive.mbox --to-file rcpts.txt 127.0.0.1:2525 --target 127.0.0.1:2526=3
  smtpbench run -c 40 -n 1000 --per-conn 1 --mix normal:10,idle:25,slow:5 --slow-rate 100 127.0.0.1:25
  smtpbench run -c 20 -n 5000 --receive 127.0.0.1:2631 127.0.0.1:2630   # also track delivery to a relay host

Flags:
`

// runFlags holds the parsed command line of "run": the workload's
// settings go straight into w, the rest are the command's own.
type runFlags struct {
	w            loadgen.Workload
	output       string
	outFile      string
	progress     bool
	th           analysis.ThresholdSpec
	trace        int
	cpuProfile   string
	sec          secFlags // tlsflags.go
	htmlFile     string
	htmlBaseline string
	long         longRunFlags // longrun.go
}

// workloadFlags names the flag of each field of loadgen.Workload, Config,
// SweepSpec, SecuritySpec, message.Spec and analysis.ThresholdSpec,
// for errors (see configError).
var workloadFlags = map[string]string{
	"Concurrency": "--concurrency", "Messages": "--messages", "Duration": "--duration", "PerConn": "--per-conn",
	"Rcpts": "--rcpts", "Size": "--size", "DataFile": "--data", "From": "--from", "To": "--to", "ToFile": "--to-file",
	"Domains": "--domains", "Template": "--message", "Corpus": "--corpus", "CorpusOrder": "--corpus-order", "Seed": "--seed",
	"Helo": "--helo", "Targets": "--target", "SourceAddrs": "--source-addr", "Pipelining": "--pipelining",
	"Chunking": "--chunking", "ChunkSize": "--chunk-size", "BusyPoll": "--busy-poll", "Lockstep": "--lockstep-every",
	"BinaryMIME": "--binarymime", "LMTP": "--lmtp", "Timeout": "--timeout", "DataTimeout": "--data-timeout",
	"Rate": "--rate", "Arrival": "--arrival", "Warmup": "--warmup", "Ramp": "--ramp", "Grace": "--grace",
	"Stages": "--stages", "Mix": "--mix", "SlowRate": "--slow-rate", "IdleFor": "--idle-for", "HarvestTo": "--harvest-to",
	"HarvestRcpts": "--harvest-rcpts", "ShardOf": "--shard", "Shards": "--shards", "StartAt": "--start-at",
	"Receive": "--receive", "Drain": "--drain",
	"SLOs": "--slo", "RateMax": "--rate-max", "Probes": "--probes", "PrecisionPct": "--precision", "MaxErrorPct": "--max-error-rate",
	"MaxP50": "--max-p50", "MaxP99": "--max-p99", "MinRate": "--min-rate", "MaxLost": "--max-lost", "Abuse": "--abuse",
	"TLS": "--tls", "CA": "--ca", "Insecure": "--insecure", "SNI": "--sni", "TLSMin": "--tls-min", "TLSMax": "--tls-max",
	"Cert": "--cert", "Key": "--key", "Resume": "--tls-resume", "Auth": "--auth", "User": "--user",
	"PasswordFile": "--password-file", "AuthPlaintext": "--auth-plaintext", "Secret": "$" + passwordEnv,
	"ServerPIDs": "--server-pid", "ServerCgroup": "--server-cgroup",
	"Sizes": "--size", "Data": "--data", "Hostname": "--helo", // message.Spec's own names
}

func (f *runFlags) register(fs *pflag.FlagSet) {
	fs.IntVarP(&f.w.Concurrency, "concurrency", "c", loadgen.DefaultConcurrency, "concurrent SMTP sessions (with --rate: the most that may be open)")
	f.registerWorkload(fs)
	fs.StringArrayVar(&f.w.Targets, "target", nil, "one more server, as HOST[:PORT][=WEIGHT]; sessions are spread by weight; repeatable")
	fs.StringVarP(&f.output, "output", "o", "table", "stdout format: table or json")
	fs.StringVar(&f.outFile, "out", "", "also write the JSON report to this file")
	fs.Float64VarP(&f.w.Rate, "rate", "r", 0, "open model: messages per second on a fixed schedule (0 = closed loop)")
	fs.BoolVar(&f.progress, "progress", false, "print progress to stderr every second (default: when stderr is a terminal and, with -o json, stdout too)")
	fs.StringArrayVar(&f.th.MaxP50, "max-p50", nil, "fail (exit 1) if PHASE's p50 exceeds DURATION, as PHASE=DURATION; repeatable")
	fs.StringArrayVar(&f.th.MaxP99, "max-p99", nil, "fail (exit 1) if PHASE's p99 exceeds DURATION, as PHASE=DURATION; repeatable")
	fs.Float64Var(&f.th.MaxErrorPct, "max-error-rate", 100, "fail (exit 1) if more than PERCENT of messages were rejected or failed")
	fs.Float64Var(&f.th.MinRate, "min-rate", 0, "fail (exit 1) if fewer than R messages/s were accepted")
	fs.IntVar(&f.trace, "trace", 0, "print the SMTP conversation of the first N sessions to stderr")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of smtpbench itself to this file")
	fs.StringVar(&f.htmlFile, "html", "", "also write the results as a self-contained HTML page with charts to this file")
	fs.StringVar(&f.htmlBaseline, "html-baseline", "", "with --html, draw this saved result (a JSON report, e.g. the same load without --mix) beside this run, curve for curve")
	fs.StringVar(&f.w.StartAt, "start-at", "", "wait until this time (RFC 3339, e.g. 2026-11-25T20:30:00Z) before starting, so generators on several machines start together")
	fs.StringVar(&f.w.ShardOf, "shard", "", "run shard I of N (as I/N, I from 0): 1/N of -n and --rate, with message numbers of its own")
	fs.IntVar(&f.w.Shards, "shards", 0, "run one of N shards, its index taken from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)")
	registerServer(fs, &f.w)
	f.registerReceive(fs)
	f.long.register(fs, &f.w)
}

// registerWorkload registers the flags that describe the load itself, which
// sweep and ab take from run. -c and --rate are each command's own (sweep
// takes lists for them), and so are the outputs, thresholds and the flags
// for generators run side by side.
func (f *runFlags) registerWorkload(fs *pflag.FlagSet) {
	fs.Int64VarP(&f.w.Messages, "messages", "n", 0, "total messages to send (0 = no limit; the run ends at -n or -d, whichever comes first)")
	fs.DurationVarP(&f.w.Duration, "duration", "d", 0, "how long to send (default 10s when -n is not given either)")
	fs.IntVar(&f.w.PerConn, "per-conn", 0, "messages per connection (0 = reuse without limit, 1 = new connection for each message)")
	fs.StringVar(&f.w.Rcpts, "rcpts", "1", "recipients per message: N, or MIN-MAX drawn for each message")
	fs.StringVar(&f.w.Size, "size", strconv.Itoa(message.DefaultSize), "body size of generated messages, headers not included: 1000, 4KiB, a range 1KiB-100KiB, or a weighted mix 1KiB:60,10KiB:30,1MiB:10")
	fs.StringVar(&f.w.DataFile, "data", "", "send this file as the message content (headers and body) instead of a generated one; - reads stdin")
	fs.StringVar(&f.w.Template, "message", "", "send this .eml file as a template: placeholders in its headers are filled in per message")
	fs.StringVar(&f.w.Corpus, "corpus", "", "replay real messages: a directory (one message a file) or an mbox file")
	fs.StringVar(&f.w.CorpusOrder, "corpus-order", "round-robin", "order of --corpus messages: round-robin or random")
	fs.StringVar(&f.w.From, "from", message.DefaultFrom, "envelope sender; {n} is the message number")
	fs.StringVar(&f.w.To, "to", message.DefaultTo, "envelope recipient; {n} is the message number, {r} the recipient number within it")
	fs.StringVar(&f.w.ToFile, "to-file", "", "take recipients in turn from this file, one address a line")
	fs.IntVar(&f.w.Domains, "domains", 0, "spread recipients over N domains (user@d1.example.net ... dN)")
	fs.Uint64Var(&f.w.Seed, "seed", 0, "seed for every random choice, for a run that can be repeated exactly (default: a random seed, printed in the report)")
	fs.StringArrayVar(&f.w.SourceAddrs, "source-addr", nil, "local IP address to connect from; sessions take them in turn; repeatable")
	fs.StringVar(&f.w.Pipelining, "pipelining", "auto", "RFC 2920 pipelining: auto (when advertised; the next envelope behind the end of data once the server has shown it serves it), on (always, behind the end of data too), groups (each envelope after the end-of-data reply), off")
	fs.IntVar(&f.w.Lockstep, "lockstep-every", session.DefaultLockstepEvery, "where the server answers pipelined commands in one write, send one message in N one command at a time, so each phase is timed on its own (0 = never; docs/phases.md)")
	fs.StringVar(&f.w.Chunking, "chunking", "off", "send content with BDAT (RFC 3030): auto (when the server offers CHUNKING), on, off")
	fs.StringVar(&f.w.ChunkSize, "chunk-size", "64KiB", "largest BDAT chunk")
	fs.BoolVar(&f.w.BinaryMIME, "binarymime", false, "declare BODY=BINARYMIME where BDAT is used and the server offers BINARYMIME")
	fs.BoolVar(&f.w.LMTP, "lmtp", false, "speak LMTP (RFC 2033): LHLO, one reply per recipient after the content; targets default to port 24")
	fs.DurationVar(&f.w.Timeout, "timeout", session.DefaultTimeout, "how long to wait for each reply but the one to the end of data (and for connect)")
	fs.DurationVar(&f.w.DataTimeout, "data-timeout", session.DefaultDataTimeout, "how long to wait for the reply to the end of data, which servers send after scanning the content")
	fs.StringVar(&f.w.Helo, "helo", session.DefaultHostname, "name to give in EHLO/HELO")
	fs.StringVar(&f.w.Arrival, "arrival", "constant", "open-model spacing: constant or poisson")
	fs.DurationVar(&f.w.Warmup, "warmup", 0, "count the first part of the run apart and leave it out of the histograms")
	fs.DurationVar(&f.w.Ramp, "ramp", 0, "raise concurrency (closed) or rate (open) linearly over this time")
	fs.DurationVar(&f.w.Grace, "grace", loadgen.DefaultGrace, "after a stop, how long in-flight messages may take before connections are dropped")
	fs.StringVar(&f.w.BusyPoll, "busy-poll", "auto", "spin on the socket this long before sleeping while waiting for a reply: auto (50µs when sessions are at most half the CPUs, never against the in-process built-in sink), off, or a duration")
	f.sec.register(fs)
	registerMix(fs, &f.w)
}

func runCommand(args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	f.register(fs)
	if err := parseFlags(fs, args, runUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("want at most one target, got %d: %s", fs.NArg(), strings.Join(fs.Args(), " "))
	}
	if err := distinctOutputs([]pathFlag{{"--out", f.outFile}, {"--html", f.htmlFile}, {"--cpuprofile", f.cpuProfile}, {"--live", f.long.live}}, f.inputs()); err != nil {
		return err
	}
	cfg, cj, th, err := f.config(fs)
	if err != nil {
		return err
	}
	start := f.w.StartTime(cfg)
	if err := checkOutput(f.output); err != nil {
		return err
	}
	if err := checkFileLimit(f.w.Concurrency, fs.NArg() == 0); err != nil {
		return err
	}
	sec, err := f.sec.load(fs, f.w.Concurrency, stderr)
	if err != nil {
		return err
	}
	if probe := cfg; len(probe.Mix) > 0 {
		// authfail needs the AUTH flags: refused before any file or
		// server is touched.
		probe.Session.Auth = sec.Auth
		if err := probe.CheckMix(); err != nil {
			return configError(err)
		}
	}
	var baseRuns []*report.JSONReport
	var baseLabels []string
	var baseLabel string // this run's label beside a baseline
	if f.htmlBaseline != "" {
		if f.htmlFile == "" {
			return usagef("--html-baseline needs --html")
		}
		docs, err := (&report.Inputs{Stdin: os.Stdin}).ReadAll([]string{f.htmlBaseline})
		if err != nil {
			return exitError{exitRun, fmt.Sprintf("--html-baseline: %v", err)}
		}
		baseRuns, baseLabels = report.RunsOf(docs, []string{f.htmlBaseline})
		baseLabel = "this run"
	}
	// Every output is written to a temporary file and renamed into place
	// when complete: a run that fails or is interrupted leaves the user's
	// earlier files as they were. Created now so a bad path fails at once.
	outFile, err := createOutput("--out", f.outFile)
	if err != nil {
		return err
	}
	defer outFile.Close()
	htmlFile, err := createOutput("--html", f.htmlFile)
	if err != nil {
		return err
	}
	defer htmlFile.Close()
	profFile, err := createOutput("--cpuprofile", f.cpuProfile)
	if err != nil {
		return err
	}
	defer profFile.Close()

	if fs.NArg() == 1 {
		if cfg.Target, err = sec.ParseTarget(fs.Arg(0), f.w.LMTP); err != nil {
			return usagef("%v", err)
		}
		if len(cj.Targets) > 0 {
			cj.Targets = append([]string{cfg.Target + "=1"}, cj.Targets...)
		}
	} else if len(cfg.Targets) == 0 {
		srv, err := loadgen.StartBuiltinSink(&cfg, &sec.Security)
		if err != nil {
			return exitError{exitRun, fmt.Sprintf("starting the built-in sink: %v", err)}
		}
		defer srv.Stop()
		cj.BuiltinSink = true
		fmt.Fprintf(stderr, "smtpbench: no target given; benchmarking the built-in sink on %s\n", srv.Addr())
	}
	sec.Apply(&cfg, &cj, f.w.Targets)
	long, err := f.long.start(&cfg, cj, start, stderr)
	if err != nil {
		return err
	}
	defer long.close()
	if f.trace > 0 {
		cfg.TraceSessions, cfg.TraceTo = f.trace, stderr
	}
	if f.progress || wantProgress(f.output) {
		cfg.Progress = func(p loadgen.Progress) {
			fmt.Fprintf(stderr, "%6.1fs  ok %d  failed %d  %.0f msg/s  p50 %s  p99 %s  sessions %d\n",
				p.Elapsed.Seconds(), p.OK, p.Failed, p.Rate, fmtDur(p.P50), fmtDur(p.P99), p.OpenSessions)
		}
	}

	// First signal: stop starting messages and let in-flight ones finish.
	// Second: drop every connection. Either way the report is written.
	ctx, abort, release := stopOnSignals(stderr, cfg.Grace)
	defer release()

	if profFile != nil {
		if err := pprof.StartCPUProfile(profFile); err != nil {
			return exitError{exitRun, fmt.Sprintf("--cpuprofile: %v", err)}
		}
		defer pprof.StopCPUProfile() // on early returns; stopped below otherwise
	}
	if !start.IsZero() {
		if err := waitUntil(ctx, start, stderr); err != nil {
			return err
		}
	}
	var rcv *loadgen.Receiving
	if f.w.Receive != "" {
		if rcv, err = f.startReceiving(&cfg, f.progress || wantProgress(f.output), stderr); err != nil {
			return err
		}
		defer rcv.Stop()
	}
	res, err := loadgen.RunTracked(ctx, cfg, cj, start, rcv, abort)
	if err != nil {
		return usagef("%v", err)
	}
	res.Warnings = append(res.Warnings, sec.warnings()...)

	if f.output == "json" {
		err = report.WriteJSON(stdout, res)
	} else {
		err = report.WriteTable(stdout, res)
	}
	if err != nil {
		return exitError{exitRun, fmt.Sprintf("writing the report: %v", err)}
	}
	if profFile != nil {
		pprof.StopCPUProfile()
		if err := commitOutput("--cpuprofile", profFile); err != nil {
			return err
		}
	}
	if err := writeFile("--out", outFile, func(w io.Writer) error { return report.WriteJSON(w, res) }); err != nil {
		return err
	}
	if err := writeFile("--html", htmlFile, func(w io.Writer) error {
		label := cmp.Or(baseLabel, res.Target)
		return report.WriteHTML(w, append(baseRuns, report.BuildJSON(res)), append(baseLabels, label))
	}); err != nil {
		return err
	}
	if err := noSession(res, cfg); err != nil {
		return err
	}
	if breaches := th.check(res); len(breaches) > 0 {
		for _, b := range breaches {
			fmt.Fprintf(stderr, "smtpbench run: threshold breached: %s\n", b)
		}
		return exitError{exitRun, ""}
	}
	if loadgen.MeasuredNothing(res) {
		return exitError{exitRun, ""} // the report's warning says why
	}
	return nil
}

// configError turns a refusal of loadgen (Workload.Build, Config.Validate)
// into a usage error that names the flags.
func configError(err error) error {
	var ce *loadgen.ConfigError
	if errors.As(err, &ce) {
		return usagef("%s", ce.Explain(flagName))
	}
	return usagef("%s", flagText(err))
}

// given says whether the flag of a loadgen field was on the command line.
func (f *runFlags) given(fs *pflag.FlagSet) func(field string) bool {
	return func(field string) bool { return fs.Changed(strings.TrimPrefix(flagName(field), "--")) }
}

// flagName names the flag of a loadgen field.
func flagName(field string) string {
	if flag, ok := workloadFlags[field]; ok {
		return flag
	}
	return field
}

// config turns the flags into a loadgen.Config and the thresholds; the
// workload's own checks are loadgen's (Workload.Build), here only what
// the command line adds.
func (f *runFlags) config(fs *pflag.FlagSet) (loadgen.Config, report.RunConfig, thresholds, error) {
	var th thresholds
	bad := func(err error) (loadgen.Config, report.RunConfig, thresholds, error) {
		return loadgen.Config{}, report.RunConfig{}, th, err
	}
	if f.trace < 0 {
		return bad(usagef("--trace %d: must not be negative", f.trace))
	}
	var err error
	f.th.Given = f.given(fs)
	if th.Thresholds, err = f.th.Build(f.w.Rate > 0, f.w.Receive != ""); err != nil {
		return bad(configError(err))
	}
	f.w.Tracked, f.w.NoTarget = f.w.Receive != "", fs.NArg() == 0
	f.w.Given = f.given(fs)
	cfg, cj, err := f.w.Build()
	if err != nil {
		// A file that cannot be read is not a usage error.
		var pe *os.PathError
		if errors.As(err, &pe) {
			return bad(exitError{exitRun, fmt.Sprintf("%s: %v", fileFlag(f, pe.Path), pe.Err)})
		}
		return bad(configError(err))
	}
	f.w.Concurrency = cfg.Concurrency // the stages may set it
	return cfg, cj, th, nil
}

// fileFlag names the flag that gave a file name, for errors.
func fileFlag(f *runFlags, name string) string {
	switch {
	case name == f.w.DataFile:
		return "--data " + name
	case name == f.w.Template:
		return "--message " + name
	case name == f.w.ToFile:
		return "--to-file " + name
	}
	return "--corpus " + name
}

// checkOutput refuses an --output other than table or json.
func checkOutput(o string) error {
	if o != "table" && o != "json" {
		return usagef("--output %q: want table or json", o)
	}
	return nil
}

// wantProgress shows progress by default only on a terminal, and not when
// JSON goes to a pipe (a script is reading; it did not ask).
func wantProgress(output string) bool {
	if !isTerminal(os.Stderr) {
		return false
	}
	return output != "json" || isTerminal(os.Stdout)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func fmtDur(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + "ms"
}

// thresholds turn a run into a pass/fail for CI: analysis's evaluator
// with the limits the flags give.
type thresholds struct{ analysis.Thresholds }

// check returns one line per breached threshold.
func (th thresholds) check(res *report.Result) []string {
	var out []string
	for _, b := range th.Check(report.Figures(res)) {
		out = append(out, b.String())
	}
	return out
}

// waitUntil sleeps until at, saying so; a signal ends the wait and the run.
func waitUntil(ctx context.Context, at time.Time, stderr io.Writer) error {
	say := func(wait time.Duration) {
		fmt.Fprintf(stderr, "smtpbench: waiting until %s (%.1f s) to start\n", at.UTC().Format(time.RFC3339Nano), wait.Seconds())
	}
	if !loadgen.WaitUntil(ctx, at, say) {
		return exitError{exitRun, "interrupted while waiting for --start-at; nothing was measured"}
	}
	return nil
}

// registerMix registers the session-mix flags (docs/profiles.md).
func registerMix(fs *pflag.FlagSet, w *loadgen.Workload) {
	fs.StringVar(&w.Mix, "mix", "", "share the sessions (-c) among client profiles by weight, as NAME:WEIGHT,…: "+strings.Join(profile.Names(), ", ")+" (default: all normal; a profile not named has weight 0)")
	fs.IntVar(&w.SlowRate, "slow-rate", profile.DefaultSlowRate, "bytes per second the slow profile writes, commands and content alike")
	fs.DurationVar(&w.IdleFor, "idle-for", 0, "how long an idle session waits for the server to give up before it says QUIT (0: until the server ends it or the run ends)")
	fs.StringVar(&w.HarvestTo, "harvest-to", profile.DefaultHarvestTo, "recipients the harvest profile tries, addresses the server should refuse; {n} the message number, {r} the recipient number")
	fs.IntVar(&w.HarvestRcpts, "harvest-rcpts", profile.DefaultHarvestRcpts, "RCPTs per harvest session")
}
