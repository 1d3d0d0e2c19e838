package loadgen

import (
	"errors"
	"fmt"
	"github.com/smtpbench/smtpbench/internal/fielderr"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smtpbench/smtpbench/loadgen/profile"
	"github.com/smtpbench/smtpbench/message"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/servercost"
	"github.com/smtpbench/smtpbench/session"
)

// DefaultDuration applies when a Workload gives neither Messages nor
// Duration nor Stages, as in wrk.
const DefaultDuration = 10 * time.Second

// Workload is a run as a user describes it, each setting in the form a
// command line or a file gives it (sizes, lists and modes as text). Build
// checks it and makes the run's Config and the echo of it that a result
// carries. Its errors are *ConfigError naming a field of Workload, so a
// command line can name its own flag, errors of message.Prepare, and
// *os.PathError for a file that cannot be read.
type Workload struct {
	Concurrency int
	Messages    int64
	Duration    time.Duration
	PerConn     int

	// What each message is (see message.Spec).
	Rcpts, Size          string
	DataFile             string // - is standard input
	From, To, ToFile     string
	Domains              int
	Template             string // an .eml file with placeholders
	Corpus, CorpusOrder  string
	Seed                 uint64 // with Given("Seed"); else a random one
	Tracked              bool   // give each message a tracking Message-ID
	Helo                 string
	Targets, SourceAddrs []string // more targets as HOST[:PORT][=WEIGHT]; local addresses

	// How it goes on the wire.
	Pipelining, Chunking, ChunkSize, BusyPoll string
	Lockstep                                  int // 0: never
	BinaryMIME, LMTP                          bool
	Timeout, DataTimeout                      time.Duration
	NoTarget                                  bool // the built-in sink will be the target

	// How the load goes.
	Rate                float64
	Arrival             string // constant or poisson
	Warmup, Ramp, Grace time.Duration
	Stages              string

	// The session mix (docs/profiles.md).
	Mix          string
	SlowRate     int
	IdleFor      time.Duration
	HarvestTo    string
	HarvestRcpts int

	// Beside the load: the server whose cost is measured (its process
	// trees or its cgroup), this generator's share of a job, the job's
	// start, the delivery receiver and its drain.
	ServerPIDs   []int
	ServerCgroup string
	// ShardOf is this generator's shard as I/N; Shards, a shard count
	// whose index comes from JobIndexEnv (read by Getenv, os.Getenv when
	// nil). Build sets Shard from either.
	ShardOf string
	Shards  int
	Getenv  func(string) string
	Shard   JobShard
	StartAt string
	Receive string
	Drain   time.Duration

	// Given says whether a field was set explicitly rather than left at
	// its default; nil means none was.
	Given func(field string) bool
}

func (w *Workload) given(field string) bool { return w.Given != nil && w.Given(field) }

// relation is the error of a rule between settings (see fielderr.Relation).
var relation = fielderr.Relation

// DefaultPort is the port of a target given without one: 25, or 24 for
// LMTP (RFC 2033 7 asks that LMTP not use 25).
func (w *Workload) DefaultPort() int {
	if w.LMTP {
		return 24
	}
	return 25
}

// Build checks the workload, reads the files it names (once, bounded) and
// returns the run's Config, without its main target, and the echo of the
// workload for the result. Durations of zero take their defaults.
func (w *Workload) Build() (Config, report.RunConfig, error) {
	var cfg Config
	var cj report.RunConfig
	bad := func(err error) (Config, report.RunConfig, error) { return cfg, cj, err }
	// An empty address would silently become the default template.
	if w.From == "" {
		return bad(refuse("From", `""`, "want an address (the null reverse-path <> is not supported)"))
	}
	if w.To == "" {
		return bad(refuse("To", `""`, "want an address"))
	}
	// Where the Config's zero means its default, a zero given is a
	// mistake: the default is shown already.
	if w.Concurrency == 0 {
		return bad(refuse("Concurrency", 0, fmt.Sprintf("must be 1 to %d", MaxConcurrency)))
	}
	if w.Timeout == 0 {
		return bad(refuse("Timeout", "0s", "must be positive"))
	}
	if w.DataTimeout == 0 {
		return bad(refuse("DataTimeout", "0s", "must be positive"))
	}
	var stages []Stage
	if w.Stages == "" && w.given("Stages") {
		return bad(relation("Stages", ` "": want DURATION:TARGET[,...], e.g. 30s:50`))
	}
	if w.Stages != "" {
		var err error
		if stages, err = ParseStages(w.Stages, w.Rate > 0); err != nil {
			return bad(relation("Stages", " "+err.Error()))
		}
		if w.Ramp > 0 {
			return bad(relation("Ramp", " and {Stages} exclude each other: {Ramp} D is the one stage D:TARGET"))
		}
		if w.Rate == 0 && w.given("Concurrency") {
			return bad(relation("Concurrency", " and {Stages} exclude each other in the closed loop: the stages set the sessions"))
		}
		var total time.Duration
		for _, st := range stages {
			total += st.Duration
		}
		if total == 0 && w.Messages == 0 && w.Duration == 0 {
			return bad(relation("Stages", fmt.Sprintf(" %q last 0s: give a stage a duration, or {Messages} or {Duration}", w.Stages)))
		}
	}
	duration := w.Duration
	if w.Messages == 0 && duration == 0 && len(stages) == 0 {
		duration = DefaultDuration
	}
	pipe, err := session.ParsePipelining(w.Pipelining)
	if err != nil {
		return bad(relation("Pipelining", ": "+err.Error()))
	}
	if w.Lockstep < 0 {
		return bad(refuse("Lockstep", w.Lockstep, "must not be negative (0 = never)"))
	}
	lockstep := w.Lockstep
	if lockstep == 0 {
		lockstep = -1 // session.Options: negative is never, zero the default
	}
	if w.Helo == "" || strings.ContainsAny(w.Helo, " \r\n\t") {
		return bad(relation("Helo", fmt.Sprintf(": %q: want a domain or address literal without spaces", w.Helo)))
	}
	var arrival Arrival
	switch w.Arrival {
	case "constant":
	case "poisson":
		arrival = ArrivalPoisson
	default:
		return bad(refuse("Arrival", strconv.Quote(w.Arrival), "want constant or poisson"))
	}
	if w.given("Arrival") && w.Rate == 0 {
		return bad(relation("Arrival", " needs {Rate}"))
	}
	stdin := 0
	for _, name := range []string{w.DataFile, w.Template, w.Corpus, w.ToFile} {
		if name == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return bad(relation("", "standard input (-) is given twice among {DataFile}, {Template}, {Corpus} and {ToFile}: it can be read once"))
	}
	spec, err := w.messageSpec()
	if err == nil {
		cfg.Mail, err = message.Prepare(spec)
	}
	if err != nil {
		return bad(err)
	}
	mail := cfg.Mail
	chunking, err := session.ParseChunking(w.Chunking)
	if err != nil {
		return bad(relation("Chunking", ": "+err.Error()))
	}
	chunkSize, err := message.ParseSize(w.ChunkSize)
	if err != nil || chunkSize < 1 || chunkSize > message.MaxSize {
		return bad(refuse("ChunkSize", strconv.Quote(w.ChunkSize), "want a size from 1 byte to 1GiB"))
	}
	if w.given("ChunkSize") && chunking == session.ChunkingOff {
		return bad(relation("ChunkSize", " needs {Chunking} auto or on"))
	}
	if w.BinaryMIME && chunking == session.ChunkingOff {
		return bad(relation("BinaryMIME", " needs {Chunking} auto or on: BINARYMIME content goes only by BDAT (RFC 3030 3)"))
	}
	if w.LMTP && w.NoTarget && len(w.Targets) == 0 {
		return bad(relation("LMTP", " needs a target: the built-in sink speaks SMTP"))
	}
	targets, err := ParseTargets(w.Targets, w.DefaultPort())
	if err != nil {
		return bad(err)
	}
	var sources []netip.Addr
	for _, a := range w.SourceAddrs {
		ip, err := session.ParseSourceAddr(a)
		if err != nil {
			return bad(relation("SourceAddrs", ": "+err.Error()))
		}
		sources = append(sources, ip)
	}
	var busyPoll time.Duration
	switch w.BusyPoll {
	case "auto":
	case "off":
		busyPoll = -1
	default:
		if busyPoll, err = time.ParseDuration(w.BusyPoll); err != nil || busyPoll <= 0 || busyPoll > time.Second {
			return bad(refuse("BusyPoll", strconv.Quote(w.BusyPoll), "want auto, off or a duration up to 1s"))
		}
	}
	server, err := w.server()
	if err != nil {
		return bad(err)
	}
	if w.Shard, err = w.shard(); err != nil {
		return bad(err)
	}
	if w.Receive == "" {
		for _, name := range []string{"Drain"} {
			if w.given(name) {
				return bad(relation(name, " needs {Receive}"))
			}
		}
	} else if w.Drain < 0 || w.Drain > MaxDuration {
		return bad(relation("Drain", fmt.Sprintf(" %s: want a duration from 0 to %s", w.Drain, MaxDuration)))
	}
	if w.StartAt != "" {
		if _, err := ParseStartAt(w.StartAt); err != nil {
			return bad(relation("StartAt", " "+err.Error()))
		}
	}
	cfg = Config{
		Targets:     targets,
		Concurrency: w.Concurrency,
		Messages:    w.Messages,
		Duration:    duration,
		PerConn:     w.PerConn,
		Mail:        mail,
		SourceAddrs: sources,
		Session: session.Options{Hostname: w.Helo, Timeout: w.Timeout, DataTimeout: w.DataTimeout, Pipelining: pipe,
			LockstepEvery: lockstep, Chunking: chunking, ChunkSize: int(chunkSize), BinaryMIME: w.BinaryMIME, LMTP: w.LMTP, BusyPoll: busyPoll},
		Rate:    w.Rate,
		Arrival: arrival,
		Warmup:  w.Warmup,
		Ramp:    w.Ramp,
		Stages:  stages,
		Grace:   w.Grace,
		Server:  server,
	}
	if cfg.Grace == 0 {
		cfg.Grace = NoGrace // a grace of 0 given means abort at once
	}
	if err := w.applyMix(&cfg); err != nil {
		return bad(err)
	}
	// Checked now, before a sink starts or a file is created; the target
	// is set later, so a stand-in takes its place in the copy checked.
	probe := cfg
	if len(probe.Targets) == 0 {
		probe.Target = "127.0.0.1:25"
	}
	if err := probe.Validate(); err != nil {
		return bad(err)
	}
	cfg.Concurrency = probe.Concurrency // the stages may set it
	if duration == 0 {
		duration = probe.Duration // the stages' length, if any
		cfg.Duration = duration
	}
	if n := cfg.Messages; w.Shard.Apply(&cfg) != nil {
		return bad(relation("ShardOf", fmt.Sprintf(" %s with {Messages} %d: this shard would send no message", w.Shard, n)))
	}
	cj = w.echo(cfg, spec, duration)
	return cfg, cj, nil
}

// echo is the workload as the result's configuration shows it.
func (w *Workload) echo(cfg Config, spec message.Spec, duration time.Duration) report.RunConfig {
	mail, s := cfg.Mail, cfg.Session
	cj := report.RunConfig{
		Concurrency: cfg.Concurrency, Messages: w.Messages, DurationS: duration.Seconds(), PerConn: w.PerConn,
		Rcpts: mail.Rcpts().Min, DataFile: w.DataFile, MessageFile: w.Template, Corpus: w.Corpus,
		CorpusSize: mail.Corpus(), From: w.From, To: w.To, ToFile: w.ToFile, Domains: w.Domains,
		Seed: spec.Seed, SeedGiven: w.given("Seed"), SourceAddrs: w.SourceAddrs, Pipelining: s.Pipelining.String(), Lockstep: w.Lockstep, Chunking: s.Chunking.String(),
		BinaryMIME: w.BinaryMIME, LMTP: w.LMTP,
		TimeoutS: w.Timeout.Seconds(), DataTimeoutS: w.DataTimeout.Seconds(), Rate: w.Rate, WarmupS: w.Warmup.Seconds(), RampS: w.Ramp.Seconds(),
		ContentBytes: len(mail.Sample(1)), Stages: w.Stages,
		Helo: w.Helo, GraceS: w.Grace.Seconds(), BusyPoll: w.BusyPoll, StartAt: w.StartAt, Receive: w.Receive,
	}
	if s.Chunking != session.ChunkingOff {
		cj.ChunkSize = s.ChunkSize
	}
	if r := mail.Rcpts(); r.Max != r.Min {
		cj.RcptsMax = r.Max
	}
	if sz := mail.Sizes(); len(sz.Entries) > 0 {
		cj.Size = sz.String()
		cj.SizeBytes, _ = sz.Fixed()
	}
	if w.Corpus != "" {
		cj.CorpusOrder = w.CorpusOrder
	}
	if w.ToFile != "" {
		cj.To = ""
	}
	for _, t := range cfg.Targets {
		cj.Targets = append(cj.Targets, t.Addr+"="+strconv.Itoa(t.Weight))
	}
	if w.Rate > 0 {
		cj.Arrival = w.Arrival
	}
	if w.Shard.Count > 0 {
		cj.Shard = w.Shard.String()
	}
	if w.Receive != "" {
		cj.DrainS = w.Drain.Seconds()
	}
	if w.Mix != "" {
		cj.Mix, cj.SlowRate, cj.IdleForS, cj.HarvestTo, cj.HarvestRcpts = w.Mix, w.SlowRate, w.IdleFor.Seconds(), w.HarvestTo, w.HarvestRcpts
	}
	return cj
}

// messageSpec is the workload's message.Spec; the message package checks
// it and reads the files it names.
func (w *Workload) messageSpec() (message.Spec, error) {
	spec := message.Spec{From: w.From, ToFile: w.ToFile, Domains: w.Domains, Template: w.Template,
		Corpus: w.Corpus, Hostname: w.Helo, Seed: w.Seed}
	if w.given("To") || w.ToFile == "" {
		spec.To = w.To
	}
	if w.Tracked {
		spec.Tracked, spec.Token = true, NewRunToken()
	}
	if !w.given("Seed") {
		// 53 bits, so JSON readers that hold numbers as doubles (jq,
		// JavaScript) read the seed back exactly.
		spec.Seed = rand.Uint64() >> 11
	}
	var err error
	if spec.Rcpts, err = message.ParseRange(w.Rcpts); err != nil || spec.Rcpts.Min < 1 || spec.Rcpts.Max > message.MaxRcpts {
		return spec, refuse("Rcpts", strconv.Quote(w.Rcpts), fmt.Sprintf("want N or MIN-MAX from 1 to %d", message.MaxRcpts))
	}
	if w.given("Size") {
		if spec.Sizes, err = message.ParseSizes(w.Size); err != nil {
			return spec, relation("Size", ": "+err.Error())
		}
	}
	if spec.CorpusOrder, err = message.ParseOrder(w.CorpusOrder); err != nil {
		return spec, relation("CorpusOrder", ": "+err.Error())
	}
	if w.given("CorpusOrder") && w.Corpus == "" {
		return spec, relation("CorpusOrder", " needs {Corpus}")
	}
	if w.DataFile != "" {
		raw, err := message.ReadFileLimit(w.DataFile, message.MaxContentFile)
		if err != nil {
			var pe *os.PathError
			if !errors.As(err, &pe) {
				pe = &os.PathError{Op: "read", Path: w.DataFile, Err: err}
			}
			return spec, pe
		}
		spec.Data, spec.DataName = raw, w.DataFile
		if spec.Data == nil {
			spec.Data = []byte{}
		}
	}
	return spec, nil
}

// shard is this generator's share of the job, from ShardOf or Shards.
func (w *Workload) shard() (JobShard, error) {
	switch {
	case w.ShardOf != "" && w.given("Shards"):
		return JobShard{}, relation("ShardOf", fmt.Sprintf(" and {Shards} exclude each other ({Shards} takes the index from $%s)", JobIndexEnv))
	case w.ShardOf != "":
		sh, err := ParseShard(w.ShardOf)
		if err != nil {
			return sh, relation("ShardOf", " "+err.Error())
		}
		return sh, nil
	case w.given("Shards"):
		getenv := w.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		sh, err := ShardFromEnv(w.Shards, getenv)
		if err != nil {
			return sh, relation("Shards", fmt.Sprintf(" %d: %v; elsewhere use {ShardOf} I/N", w.Shards, err))
		}
		return sh, nil
	}
	return w.Shard, nil
}

// StartTime is when the run built from w (cfg) starts: zero for at once,
// else StartAt, and for shard I of a constant-rate job a little later
// still (ShardStart). Build has checked StartAt.
func (w *Workload) StartTime(cfg Config) time.Time {
	if w.StartAt == "" {
		return time.Time{}
	}
	at, _ := ParseStartAt(w.StartAt)
	return ShardStart(at, cfg)
}

// server is what to measure of the server's own cost, checked.
func (w *Workload) server() (servercost.Source, error) {
	src := servercost.Source{PIDs: w.ServerPIDs, Cgroup: w.ServerCgroup}
	switch {
	case len(src.PIDs) == 0 && src.Cgroup == "":
		return src, nil
	case !servercost.Supported:
		return src, relation("ServerPIDs", " and {ServerCgroup}: "+servercost.ErrUnsupported.Error())
	case len(src.PIDs) > 0 && src.Cgroup != "":
		return src, relation("ServerPIDs", " and {ServerCgroup}: give one or the other")
	}
	for _, p := range src.PIDs {
		if p <= 0 {
			return src, refuse("ServerPIDs", p, "want a process ID")
		}
	}
	return src, servercost.Check(src)
}

// applyMix puts the session mix into cfg; its settings need a mix.
func (w *Workload) applyMix(cfg *Config) error {
	if w.Mix == "" {
		for _, name := range []string{"SlowRate", "IdleFor", "HarvestTo", "HarvestRcpts"} {
			if w.given(name) {
				return relation(name, " needs {Mix}")
			}
		}
		return nil
	}
	mix, err := profile.ParseMix(w.Mix)
	if err != nil {
		return relation("Mix", ": "+err.Error())
	}
	if w.SlowRate < 1 || w.SlowRate > 1<<30 {
		return refuse("SlowRate", w.SlowRate, fmt.Sprintf("want 1 to %d bytes per second", 1<<30))
	}
	if w.IdleFor < 0 || w.IdleFor > MaxDuration {
		return refuse("IdleFor", w.IdleFor, fmt.Sprintf("want 0 to %s", MaxDuration))
	}
	if w.HarvestRcpts < 1 || w.HarvestRcpts > 10000 {
		return refuse("HarvestRcpts", w.HarvestRcpts, "want 1 to 10000")
	}
	to, err := message.ParseTemplate(w.HarvestTo)
	if err != nil {
		return relation("HarvestTo", ": "+err.Error())
	}
	cfg.Mix = mix
	cfg.Profiles = profile.Settings{SlowRate: w.SlowRate, IdleFor: w.IdleFor, HarvestTo: to, HarvestRcpts: w.HarvestRcpts}
	return nil
}

// ParseTargets reads targets written HOST[:PORT][=WEIGHT], port the
// default port. Errors are ConfigErrors on Targets.
func ParseTargets(vals []string, port int) ([]Target, error) {
	var out []Target
	for _, v := range vals {
		addr, weight := v, 1
		if i := strings.LastIndexByte(v, '='); i >= 0 {
			wt, err := strconv.Atoi(v[i+1:])
			if err != nil || wt < 1 || wt > MaxWeight {
				return nil, refuse("Targets", strconv.Quote(v), fmt.Sprintf("weight %q: want a whole number from 1 to %d", v[i+1:], MaxWeight))
			}
			addr, weight = v[:i], wt
		}
		a, err := session.ParseTargetPort(addr, port)
		if err != nil {
			return nil, relation("Targets", ": "+err.Error())
		}
		out = append(out, Target{Addr: a, Weight: weight})
	}
	return out, nil
}
