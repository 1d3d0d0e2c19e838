package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/message"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

// defaultDuration applies when neither -n nor -d is given, as in wrk.
const defaultDuration = 10 * time.Second

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

// runFlags holds the parsed command line of "run".
type runFlags struct {
	concurrency  int
	messages     int64
	duration     time.Duration
	perConn      int
	rcpts        string
	size         string
	dataFile     string
	from, to     string
	toFile       string
	domains      int
	message      string
	corpus       string
	corpusOrder  string
	seed         uint64
	targets      []string
	sourceAddrs  []string
	pipelining   string
	lockstep     int
	chunking     string
	chunkSize    string
	binaryMIME   bool
	lmtp         bool
	timeout      time.Duration
	dataTimeout  time.Duration
	helo         string
	output       string
	outFile      string
	rate         float64
	arrival      string
	warmup       time.Duration
	ramp         time.Duration
	grace        time.Duration
	progress     bool
	maxP50       []string
	maxP99       []string
	maxErrorRate float64
	minRate      float64
	trace        int
	cpuProfile   string
	busyPoll     string
	sec          secFlags // tlsflags.go
	mix          mixFlags // mixflags.go
	htmlFile     string
	htmlBaseline string
	startAt      string
	shard        string
	shards       int
	server       serverFlags   // server.go
	receive      string        // receive.go
	drain        time.Duration // receive.go
	maxLost      int64         // receive.go
	long         longRunFlags  // longrun.go
}

func (f *runFlags) register(fs *pflag.FlagSet) {
	fs.IntVarP(&f.concurrency, "concurrency", "c", loadgen.DefaultConcurrency, "concurrent SMTP sessions (with --rate: the most that may be open)")
	f.registerWorkload(fs)
	fs.StringArrayVar(&f.targets, "target", nil, "one more server, as HOST[:PORT][=WEIGHT]; sessions are spread by weight; repeatable")
	fs.StringVarP(&f.output, "output", "o", "table", "stdout format: table or json")
	fs.StringVar(&f.outFile, "out", "", "also write the JSON report to this file")
	fs.Float64VarP(&f.rate, "rate", "r", 0, "open model: messages per second on a fixed schedule (0 = closed loop)")
	fs.BoolVar(&f.progress, "progress", false, "print progress to stderr every second (default: when stderr is a terminal and, with -o json, stdout too)")
	fs.StringArrayVar(&f.maxP50, "max-p50", nil, "fail (exit 1) if PHASE's p50 exceeds DURATION, as PHASE=DURATION; repeatable")
	fs.StringArrayVar(&f.maxP99, "max-p99", nil, "fail (exit 1) if PHASE's p99 exceeds DURATION, as PHASE=DURATION; repeatable")
	fs.Float64Var(&f.maxErrorRate, "max-error-rate", 100, "fail (exit 1) if more than PERCENT of messages were rejected or failed")
	fs.Float64Var(&f.minRate, "min-rate", 0, "fail (exit 1) if fewer than R messages/s were accepted")
	fs.IntVar(&f.trace, "trace", 0, "print the SMTP conversation of the first N sessions to stderr")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of smtpbench itself to this file")
	fs.StringVar(&f.htmlFile, "html", "", "also write the results as a self-contained HTML page with charts to this file")
	fs.StringVar(&f.htmlBaseline, "html-baseline", "", "with --html, draw this saved result (a JSON report, e.g. the same load without --mix) beside this run, curve for curve")
	fs.StringVar(&f.startAt, "start-at", "", "wait until this time (RFC 3339, e.g. 2026-11-25T20:30:00Z) before starting, so generators on several machines start together")
	fs.StringVar(&f.shard, "shard", "", "run shard I of N (as I/N, I from 0): 1/N of -n and --rate, with message numbers of its own")
	fs.IntVar(&f.shards, "shards", 0, "run one of N shards, its index taken from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)")
	f.server.register(fs)
	f.registerReceive(fs)
	f.long.register(fs)
}

// registerWorkload registers the flags that describe the load itself, which
// sweep and ab take from run. -c and --rate are each command's own (sweep
// takes lists for them), and so are the outputs, thresholds and the flags
// for generators run side by side.
func (f *runFlags) registerWorkload(fs *pflag.FlagSet) {
	fs.Int64VarP(&f.messages, "messages", "n", 0, "total messages to send (0 = no limit; the run ends at -n or -d, whichever comes first)")
	fs.DurationVarP(&f.duration, "duration", "d", 0, "how long to send (default 10s when -n is not given either)")
	fs.IntVar(&f.perConn, "per-conn", 0, "messages per connection (0 = reuse without limit, 1 = new connection for each message)")
	fs.StringVar(&f.rcpts, "rcpts", "1", "recipients per message: N, or MIN-MAX drawn for each message")
	fs.StringVar(&f.size, "size", strconv.Itoa(message.DefaultSize), "body size of generated messages, headers not included: 1000, 4KiB, a range 1KiB-100KiB, or a weighted mix 1KiB:60,10KiB:30,1MiB:10")
	fs.StringVar(&f.dataFile, "data", "", "send this file as the message content (headers and body) instead of a generated one; - reads stdin")
	fs.StringVar(&f.message, "message", "", "send this .eml file as a template: placeholders in its headers are filled in per message")
	fs.StringVar(&f.corpus, "corpus", "", "replay real messages: a directory (one message a file) or an mbox file")
	fs.StringVar(&f.corpusOrder, "corpus-order", "round-robin", "order of --corpus messages: round-robin or random")
	fs.StringVar(&f.from, "from", message.DefaultFrom, "envelope sender; {n} is the message number")
	fs.StringVar(&f.to, "to", message.DefaultTo, "envelope recipient; {n} is the message number, {r} the recipient number within it")
	fs.StringVar(&f.toFile, "to-file", "", "take recipients in turn from this file, one address a line")
	fs.IntVar(&f.domains, "domains", 0, "spread recipients over N domains (user@d1.example.net ... dN)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed for every random choice, for a run that can be repeated exactly (default: a random seed, printed in the report)")
	fs.StringArrayVar(&f.sourceAddrs, "source-addr", nil, "local IP address to connect from; sessions take them in turn; repeatable")
	fs.StringVar(&f.pipelining, "pipelining", "auto", "RFC 2920 pipelining: auto (when advertised; the next envelope behind the end of data once the server has shown it serves it), on (always, behind the end of data too), groups (each envelope after the end-of-data reply), off")
	fs.IntVar(&f.lockstep, "lockstep-every", session.DefaultLockstepEvery, "where the server answers pipelined commands in one write, send one message in N one command at a time, so each phase is timed on its own (0 = never; docs/phases.md)")
	fs.StringVar(&f.chunking, "chunking", "off", "send content with BDAT (RFC 3030): auto (when the server offers CHUNKING), on, off")
	fs.StringVar(&f.chunkSize, "chunk-size", "64KiB", "largest BDAT chunk")
	fs.BoolVar(&f.binaryMIME, "binarymime", false, "declare BODY=BINARYMIME where BDAT is used and the server offers BINARYMIME")
	fs.BoolVar(&f.lmtp, "lmtp", false, "speak LMTP (RFC 2033): LHLO, one reply per recipient after the content; targets default to port 24")
	fs.DurationVar(&f.timeout, "timeout", session.DefaultTimeout, "how long to wait for each reply but the one to the end of data (and for connect)")
	fs.DurationVar(&f.dataTimeout, "data-timeout", session.DefaultDataTimeout, "how long to wait for the reply to the end of data, which servers send after scanning the content")
	fs.StringVar(&f.helo, "helo", session.DefaultHostname, "name to give in EHLO/HELO")
	fs.StringVar(&f.arrival, "arrival", "constant", "open-model spacing: constant or poisson")
	fs.DurationVar(&f.warmup, "warmup", 0, "count the first part of the run apart and leave it out of the histograms")
	fs.DurationVar(&f.ramp, "ramp", 0, "raise concurrency (closed) or rate (open) linearly over this time")
	fs.DurationVar(&f.grace, "grace", loadgen.DefaultGrace, "after a stop, how long in-flight messages may take before connections are dropped")
	fs.StringVar(&f.busyPoll, "busy-poll", "auto", "spin on the socket this long before sleeping while waiting for a reply: auto (50µs when sessions are at most half the CPUs, never against the in-process built-in sink), off, or a duration")
	f.sec.register(fs)
	f.mix.register(fs)
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
	if err := distinctOutputs([]pathFlag{{"--out", f.outFile}, {"--html", f.htmlFile}, {"--cpuprofile", f.cpuProfile}}, f.inputs()); err != nil {
		return err
	}
	cfg, cj, th, err := f.config(fs)
	if err != nil {
		return err
	}
	start, err := f.startTime(cfg)
	if err != nil {
		return err
	}
	if f.output != "table" && f.output != "json" {
		return usagef("--output %q: want table or json", f.output)
	}
	if err := checkFileLimit(f.concurrency, fs.NArg() == 0); err != nil {
		return err
	}
	sec, err := f.sec.load(fs, f.concurrency, stderr)
	if err != nil {
		return err
	}
	if probe := cfg; len(probe.Mix) > 0 {
		// authfail needs the AUTH flags: refused before any file or
		// server is touched.
		probe.Session.Auth = sec.auth
		if err := probe.CheckMix(); err != nil {
			return configError(err)
		}
	}
	var baseRuns []*report.JSONReport
	var baseLabels []string
	if f.htmlBaseline != "" {
		if f.htmlFile == "" {
			return usagef("--html-baseline needs --html")
		}
		docs, err := readResults([]string{f.htmlBaseline})
		if err != nil {
			return err
		}
		baseRuns, baseLabels = report.RunsOf(docs, []string{f.htmlBaseline})
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
		parse := sec.parseTarget
		if f.lmtp {
			parse = func(arg string) (string, error) { return session.ParseTargetPort(arg, f.defaultPort()) }
		}
		if cfg.Target, err = parse(fs.Arg(0)); err != nil {
			return usagef("%v", err)
		}
		if len(cj.Targets) > 0 {
			cj.Targets = append([]string{cfg.Target + "=1"}, cj.Targets...)
		}
	} else if len(cfg.Targets) == 0 {
		// The sink lives until the run returns, not until its context is
		// cancelled: a first signal stops new messages, and the ones in
		// flight still need their server.
		scfg, err := sec.builtinSink(f.concurrency)
		if err != nil {
			return exitError{exitRun, fmt.Sprintf("starting the built-in sink: %v", err)}
		}
		scfg.Chunking = cfg.Session.Chunking != session.ChunkingOff
		srv, err := sink.Start("127.0.0.1:0", scfg)
		if err != nil {
			return exitError{exitRun, fmt.Sprintf("starting the built-in sink: %v", err)}
		}
		defer srv.Stop()
		cfg.Target = srv.Addr()
		cj.BuiltinSink = true
		cfg.InProcessServer = true
		if cfg.Session.BusyPoll == 0 {
			// The sink shares our CPUs: a spinning session would take the
			// CPU the server needs to answer it.
			cfg.Session.BusyPoll = -1
		}
		fmt.Fprintf(stderr, "smtpbench: no target given; benchmarking the built-in sink on %s\n", srv.Addr())
	}
	sec.apply(&cfg, &cj, f.targets)
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
	var rcv *receiving
	if f.receive != "" {
		// Before the load, so that a busy address or a missing Maildir
		// fails at once.
		if rcv, err = f.startReceiving(&cfg); err != nil {
			return err
		}
		defer rcv.stop()
	}
	res, err := loadgen.Run(ctx, cfg, abort)
	if err != nil {
		return usagef("%v", err)
	}
	if rcv != nil {
		res.Delivery = rcv.drain(ctx, abort, f.drain, f.progress || wantProgress(f.output), stderr)
	}
	res.Config = cj
	res.Warnings = append(res.Warnings, sec.warnings()...)
	if late := res.StartedAt.Sub(start); !start.IsZero() && late > lateStart {
		res.Warnings = append(res.Warnings, fmt.Sprintf("started %.2f s after --start-at %s: other generators of this job may have started earlier", late.Seconds(), f.startAt))
	}

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
	if outFile != nil {
		if err := report.WriteJSON(outFile, res); err != nil {
			return exitError{exitRun, fmt.Sprintf("--out: %v", err)}
		}
		if err := commitOutput("--out", outFile); err != nil {
			return err
		}
	}
	if htmlFile != nil {
		label := res.Target
		if baseRuns != nil {
			label = "this run"
		}
		runs := append(baseRuns, report.BuildJSON(res))
		if err := report.WriteHTML(htmlFile, runs, append(baseLabels, label)); err != nil {
			return exitError{exitRun, fmt.Sprintf("--html: %v", err)}
		}
		if err := commitOutput("--html", htmlFile); err != nil {
			return err
		}
	}
	if err := noSession(res, cfg, sec.hint); err != nil {
		return err
	}
	if breaches := th.check(res); len(breaches) > 0 {
		for _, b := range breaches {
			fmt.Fprintf(stderr, "smtpbench run: threshold breached: %s\n", b)
		}
		return exitError{exitRun, ""}
	}
	measuredNothing := res.Total.Attempted == 0 && res.WarmupTotals != nil && res.WarmupTotals.Attempted > 0
	if (res.Total.Attempted > 0 || measuredNothing) && res.Total.OK == 0 && res.StopReason != loadgen.StopSignal {
		// The report's warning says why; a benchmark in which the server
		// accepted nothing measured nothing, and a script must notice.
		return exitError{exitRun, ""}
	}
	return nil
}

// configFlags names the flag behind each loadgen.Config field that
// Validate may refuse.
var configFlags = map[string]string{
	"Concurrency": "--concurrency", "Messages": "--messages", "PerConn": "--per-conn",
	"Duration": "--duration", "Warmup": "--warmup", "Ramp": "--ramp", "Grace": "--grace",
	"Timeout": "--timeout", "DataTimeout": "--data-timeout", "Rate": "--rate", "Mix": "--mix", "Stages": "--stages",
}

// configError turns loadgen.Config.Validate's refusal into a usage error
// that names the flag.
func configError(err error) error {
	var ce *loadgen.ConfigError
	if errors.As(err, &ce) {
		if flag, ok := configFlags[ce.Field]; ok {
			return usagef("%s %v: %s", flag, ce.Value, ce.Want)
		}
	}
	return usagef("%v", err)
}

// config turns the flags into a loadgen.Config, checking every value.
func (f *runFlags) config(fs *pflag.FlagSet) (loadgen.Config, report.RunConfig, thresholds, error) {
	var cfg loadgen.Config
	var cj report.RunConfig
	var th thresholds
	bad := func(format string, a ...any) (loadgen.Config, report.RunConfig, thresholds, error) {
		return cfg, cj, th, usagef(format, a...)
	}
	// Ranges of the numbers that go into loadgen.Config are checked by its
	// Validate (see configError), so a library user gets the same errors;
	// here only what the command line adds.
	if err := checkFloat("rate", f.rate, 0, maxRate); err != nil {
		return bad("%v", err) // NaN and infinities, before they reach the Config
	}
	// An empty address would silently become the default template.
	if f.from == "" {
		return bad("--from \"\": want an address (the null reverse-path <> is not supported)")
	}
	if f.to == "" {
		return bad("--to \"\": want an address")
	}
	// Where the Config's zero means its default, the flag's zero is a
	// mistake: the flag shows the default already.
	if f.concurrency == 0 {
		return bad("--concurrency 0: must be 1 to %d", maxConcurrency)
	}
	if f.timeout == 0 {
		return bad("--timeout 0s: must be positive")
	}
	if f.dataTimeout == 0 {
		return bad("--data-timeout 0s: must be positive")
	}
	if f.trace < 0 {
		return bad("--trace %d: must not be negative", f.trace)
	}
	var stages []loadgen.Stage
	if f.long.stages != "" {
		var err error
		if stages, err = parseStages(f.long.stages, f.rate > 0); err != nil {
			return bad("%v", err)
		}
		if f.ramp > 0 {
			return bad("--ramp and --stages exclude each other: --ramp D is the one stage D:TARGET")
		}
		if f.rate == 0 && fs.Changed("concurrency") {
			return bad("-c and --stages exclude each other in the closed loop: the stages set the sessions")
		}
	}
	if f.messages == 0 && f.duration == 0 && len(stages) == 0 {
		f.duration = defaultDuration
	}
	pipe, err := session.ParsePipelining(f.pipelining)
	if err != nil {
		return bad("--pipelining: %v", err)
	}
	if f.lockstep < 0 {
		return bad("--lockstep-every %d: must not be negative (0 = never)", f.lockstep)
	}
	lockstep := f.lockstep
	if lockstep == 0 {
		lockstep = -1 // session.Options: negative is never, zero the default
	}
	if err := checkHelo(f.helo); err != nil {
		return bad("--helo: %v", err)
	}
	var arrival loadgen.Arrival
	switch f.arrival {
	case "constant":
	case "poisson":
		arrival = loadgen.ArrivalPoisson
	default:
		return bad("--arrival %q: want constant or poisson", f.arrival)
	}
	if fs.Changed("arrival") && f.rate == 0 {
		return bad("--arrival needs --rate")
	}
	spec, err := f.messageSpec(fs)
	if err == nil {
		var mail *message.Set
		mail, err = message.Prepare(spec)
		cfg.Mail = mail
	}
	if err != nil {
		// A file that cannot be read is not a usage error.
		var pe *os.PathError
		if errors.As(err, &pe) {
			return cfg, cj, th, exitError{exitRun, fmt.Sprintf("%s: %v", fileFlag(f, pe.Path), pe.Err)}
		}
		return bad("%s", flagText(err))
	}
	mail := cfg.Mail
	chunking, err := session.ParseChunking(f.chunking)
	if err != nil {
		return bad("--chunking: %v", err)
	}
	chunkSize, err := message.ParseSize(f.chunkSize)
	if err != nil || chunkSize < 1 || chunkSize > message.MaxSize {
		return bad("--chunk-size %q: want a size from 1 byte to 1GiB", f.chunkSize)
	}
	if fs.Changed("chunk-size") && chunking == session.ChunkingOff {
		return bad("--chunk-size needs --chunking auto or on")
	}
	if f.binaryMIME && chunking == session.ChunkingOff {
		return bad("--binarymime needs --chunking auto or on: BINARYMIME content goes only by BDAT (RFC 3030 3)")
	}
	if f.lmtp && fs.NArg() == 0 && len(f.targets) == 0 {
		return bad("--lmtp needs a target: the built-in sink speaks SMTP")
	}
	targets, err := parseTargets(f.targets, f.defaultPort())
	if err != nil {
		return bad("%v", err)
	}
	var sources []netip.Addr
	for _, a := range f.sourceAddrs {
		ip, err := session.ParseSourceAddr(a)
		if err != nil {
			return bad("--source-addr: %v", err)
		}
		sources = append(sources, ip)
	}
	var busyPoll time.Duration
	switch f.busyPoll {
	case "auto":
	case "off":
		busyPoll = -1
	default:
		if busyPoll, err = time.ParseDuration(f.busyPoll); err != nil || busyPoll <= 0 || busyPoll > time.Second {
			return bad("--busy-poll %q: want auto, off or a duration up to 1s", f.busyPoll)
		}
	}
	if cfg.Server, err = f.server.source(); err != nil {
		return bad("%v", err)
	}
	if th, err = parseThresholds(f); err != nil {
		return bad("%v", err)
	}
	if err := f.checkReceive(fs, &th); err != nil {
		return bad("%v", err)
	}
	cj.Receive = f.receive
	if f.receive != "" {
		cj.DrainS = f.drain.Seconds()
	}
	sh, err := f.parseShard(fs, os.Getenv)
	if err != nil {
		return bad("%v", err)
	}
	if f.startAt != "" {
		if _, err := time.Parse(time.RFC3339, f.startAt); err != nil {
			return bad("--start-at %q: want an RFC 3339 time such as 2026-11-25T20:30:00Z", f.startAt)
		}
	}

	cfg = loadgen.Config{
		Targets:     targets,
		Concurrency: f.concurrency,
		Messages:    f.messages,
		Duration:    f.duration,
		PerConn:     f.perConn,
		Mail:        mail,
		SourceAddrs: sources,
		Session: session.Options{Hostname: f.helo, Timeout: f.timeout, DataTimeout: f.dataTimeout, Pipelining: pipe,
			LockstepEvery: lockstep, Chunking: chunking, ChunkSize: int(chunkSize), BinaryMIME: f.binaryMIME, LMTP: f.lmtp, BusyPoll: busyPoll},
		Rate:    f.rate,
		Arrival: arrival,
		Warmup:  f.warmup,
		Ramp:    f.ramp,
		Stages:  stages,
		Grace:   f.grace,
		Server:  cfg.Server,
	}
	if cfg.Grace == 0 {
		cfg.Grace = loadgen.NoGrace // "--grace 0" means abort at once
	}
	if err := f.mix.apply(fs, &cfg); err != nil {
		return bad("%v", err)
	}
	// Checked now, before a sink starts or a file is created; the target
	// is set later, so a stand-in takes its place in the copy checked.
	probe := cfg
	if len(probe.Targets) == 0 {
		probe.Target = "127.0.0.1:25"
	}
	if err := probe.Validate(); err != nil {
		return cfg, cj, th, configError(err)
	}
	f.concurrency = probe.Concurrency // the stages may set it
	cfg.Concurrency = probe.Concurrency
	if f.duration == 0 {
		f.duration = probe.Duration // the stages' length, if any
		cfg.Duration = probe.Duration
	}
	if err := sh.apply(&cfg); err != nil {
		return bad("%v", err)
	}
	sample := mail.Sample(1)
	cj = report.RunConfig{
		Concurrency: f.concurrency, Messages: f.messages, DurationS: f.duration.Seconds(), PerConn: f.perConn,
		Rcpts: mail.Rcpts().Min, DataFile: f.dataFile, MessageFile: f.message, Corpus: f.corpus,
		CorpusSize: mail.Corpus(), From: f.from, To: f.to, ToFile: f.toFile, Domains: f.domains,
		Seed: spec.Seed, SeedGiven: fs.Changed("seed"), SourceAddrs: f.sourceAddrs, Pipelining: pipe.String(), Lockstep: f.lockstep, Chunking: chunking.String(),
		BinaryMIME: f.binaryMIME, LMTP: f.lmtp,
		TimeoutS: f.timeout.Seconds(), DataTimeoutS: f.dataTimeout.Seconds(), Rate: f.rate, WarmupS: f.warmup.Seconds(), RampS: f.ramp.Seconds(),
		ContentBytes: len(sample), Stages: f.long.stages,
		Helo: f.helo, GraceS: f.grace.Seconds(), BusyPoll: f.busyPoll,
	}
	if chunking != session.ChunkingOff {
		cj.ChunkSize = int(chunkSize)
	}
	if r := mail.Rcpts(); r.Max != r.Min {
		cj.RcptsMax = r.Max
	}
	if sz := mail.Sizes(); len(sz.Entries) > 0 {
		cj.Size = sz.String()
		cj.SizeBytes, _ = sz.Fixed()
	}
	if f.corpus != "" {
		cj.CorpusOrder = f.corpusOrder
	}
	if f.toFile != "" {
		cj.To = ""
	}
	for _, t := range targets {
		cj.Targets = append(cj.Targets, t.Addr+"="+strconv.Itoa(t.Weight))
	}
	if f.rate > 0 {
		cj.Arrival = f.arrival
	}
	if sh.count > 0 {
		cj.Shard = sh.String()
	}
	cj.StartAt = f.startAt
	if f.mix.mix != "" {
		cj.Mix, cj.SlowRate, cj.IdleForS, cj.HarvestTo, cj.HarvestRcpts = f.mix.mix, f.mix.slowRate, f.mix.idleFor.Seconds(), f.mix.harvestTo, f.mix.harvestRcpts
	}
	return cfg, cj, th, nil
}

func checkHelo(s string) error {
	if s == "" || strings.ContainsAny(s, " \r\n\t") {
		return fmt.Errorf("%q: want a domain or address literal without spaces", s)
	}
	return nil
}

// messageSpec turns the message flags into a message.Spec; the message
// package checks it and reads the files it names.
func (f *runFlags) messageSpec(fs *pflag.FlagSet) (message.Spec, error) {
	spec := message.Spec{From: f.from, ToFile: f.toFile, Domains: f.domains, Template: f.message,
		Corpus: f.corpus, Hostname: f.helo, Seed: f.seed}
	if fs.Changed("to") || f.toFile == "" {
		spec.To = f.to
	}
	if f.receive != "" {
		spec.Tracked, spec.Token = true, newRunToken()
	}
	if !fs.Changed("seed") {
		// 53 bits, so JSON readers that hold numbers as doubles (jq,
		// JavaScript) read the seed back exactly.
		spec.Seed = rand.Uint64() >> 11
	}
	var err error
	if spec.Rcpts, err = message.ParseRange(f.rcpts); err != nil || spec.Rcpts.Min < 1 || spec.Rcpts.Max > message.MaxRcpts {
		return spec, fmt.Errorf("--rcpts %q: want N or MIN-MAX from 1 to %d", f.rcpts, message.MaxRcpts)
	}
	if fs.Changed("size") {
		if spec.Sizes, err = message.ParseSizes(f.size); err != nil {
			return spec, fmt.Errorf("--size: %v", err)
		}
	}
	if spec.CorpusOrder, err = message.ParseOrder(f.corpusOrder); err != nil {
		return spec, fmt.Errorf("--corpus-order: %v", err)
	}
	if fs.Changed("corpus-order") && f.corpus == "" {
		return spec, fmt.Errorf("--corpus-order needs --corpus")
	}
	if f.dataFile != "" {
		raw, err := readContent(f.dataFile)
		if err != nil {
			var pe *os.PathError
			if !errors.As(err, &pe) {
				pe = &os.PathError{Op: "read", Path: f.dataFile, Err: err}
			}
			return spec, pe
		}
		spec.Data, spec.DataName = raw, f.dataFile
		if spec.Data == nil {
			spec.Data = []byte{}
		}
	}
	return spec, nil
}

// fileFlag names the flag that gave a file name, for errors.
func fileFlag(f *runFlags, name string) string {
	switch {
	case name == f.dataFile:
		return "--data " + name
	case name == f.message:
		return "--message " + name
	case name == f.toFile:
		return "--to-file " + name
	}
	return "--corpus " + name
}

// defaultPort is the port of a target given without one: 25, or 24 for
// LMTP (RFC 2033 7 asks that LMTP not use 25).
func (f *runFlags) defaultPort() int {
	if f.lmtp {
		return 24
	}
	return 25
}

// parseTargets reads --target HOST[:PORT][=WEIGHT] values.
func parseTargets(vals []string, port int) ([]loadgen.Target, error) {
	var out []loadgen.Target
	for _, v := range vals {
		addr, weight := v, 1
		if i := strings.LastIndexByte(v, '='); i >= 0 {
			w, err := strconv.Atoi(v[i+1:])
			if err != nil || w < 1 || w > loadgen.MaxWeight {
				return nil, fmt.Errorf("--target %q: weight %q: want a whole number from 1 to %d", v, v[i+1:], loadgen.MaxWeight)
			}
			addr, weight = v[:i], w
		}
		a, err := session.ParseTargetPort(addr, port)
		if err != nil {
			return nil, fmt.Errorf("--target: %v", err)
		}
		out = append(out, loadgen.Target{Addr: a, Weight: weight})
	}
	return out, nil
}

func readContent(name string) ([]byte, error) {
	return message.ReadFileLimit(name, message.MaxContentFile)
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
