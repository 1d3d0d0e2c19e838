package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/internal/cliflag"
	"github.com/smtpbench/smtpbench/internal/sysres"
	"github.com/smtpbench/smtpbench/sink"
)

const sinkUsage = `Usage: smtpbench sink [flags]

Runs the built-in SMTP server: it accepts every message, throws it away,
and prints how many it accepted when stopped (SIGINT or SIGTERM). It
advertises PIPELINING, SIZE, 8BITMIME and ENHANCEDSTATUSCODES, and
STARTTLS with a self-signed certificate made at start unless told otherwise.

STEP is one of connect, ehlo, mail, rcpt, data, body, rset, quit.

Examples:
  smtpbench sink --listen 127.0.0.1:2525
  smtpbench sink --delay body=5ms --reject rcpt=10:450
  smtpbench sink --stall 4s:1s      # hold every reply from 4s to 5s after start
  smtpbench sink --delay body=5ms --workers 4   # at most 4/5ms = 800 messages/s
  smtpbench sink --cert c.pem --key k.pem --users users.txt --require-tls --require-auth
  smtpbench sink --listen 127.0.0.1:2465 --implicit-tls
  smtpbench sink --after-dot drop   # ignore commands sent in the same read as the end of data
  smtpbench sink --max-per-session 100:452
  smtpbench sink --max-sessions 20 --idle-timeout 2s   # a server with 20 processes
  smtpbench sink --max-sessions 20 --over-limit refuse --command-timeout 5s
  smtpbench sink --delay rcpt=5ms --batch-replies   # answer each pipelined group in one write, as Postfix does
  smtpbench sink --cpu 200us        # 200µs of CPU per message: a known cost to measure
  smtpbench sink --relay-to 127.0.0.1:2631 --hold 0.5s --drop-every 50 --duplicate-every 50

Flags:
`

func sinkCommand(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("sink", pflag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:2525", "address to listen on")
	delays := fs.StringArray("delay", nil, "delay the reply to STEP, as STEP=DURATION; repeatable")
	rejects := fs.StringArray("reject", nil, "reject PERCENT of STEP's replies, as STEP=PERCENT[:CODE]; repeatable")
	stall := fs.String("stall", "", "hold every reply due in a window, as START:LENGTH after start (e.g. 4s:1s)")
	idle := fs.Duration("idle-timeout", 0, "end a session that sends no command for this long with 421, as real servers do (0 = never)")
	cmdTimeout := fs.Duration("command-timeout", 0, "end with 421 a session whose command line, or whose content from 354 to the end of data, takes longer than this to arrive (0 = never)")
	maxSessions := fs.Int("max-sessions", 0, "serve at most N sessions at once (0 = no limit); see --over-limit")
	overLimit := fs.String("over-limit", "wait", "what a connection beyond --max-sessions gets: wait (accepted, greeted when a session ends) or refuse (421 and close)")
	chunking := fs.Bool("chunking", false, "offer CHUNKING and BINARYMIME (RFC 3030); BDAT is understood either way")
	batch := fs.Bool("batch-replies", false, "keep the replies of a pipelined group in one write even across --delay, as Postfix does (without it a delayed reply leaves on its own)")
	workers := fs.Int("workers", 0, "end-of-data work goes through N shared workers, each taking the body delay: at most N/delay messages per second (0 = one per session)")
	cpu := fs.Duration("cpu", 0, "spend this much CPU time on each message after its end of data (real work, not a sleep), to check a measurement of the server's cost against")
	var sec sinkSecFlags // sinktls.go
	sec.register(fs)
	afterDot := fs.String("after-dot", "serve", "what to do with commands that arrive in the same read as the end of data: serve, drop (leave them unanswered) or reject (answer 503)")
	relayTo := fs.String("relay-to", "", "store and forward: hold each accepted message, then relay it over SMTP to this address (docs/delivery.md)")
	hold := fs.Duration("hold", 0, "with --relay-to: how long each message waits before it is forwarded")
	dropEvery := fs.Int("drop-every", 0, "with --relay-to: never forward the Nth, 2Nth, … accepted message")
	dupEvery := fs.Int("duplicate-every", 0, "with --relay-to: forward the (N/2)th, (N/2+N)th, … accepted message twice")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics (messages accepted, sessions, bytes received) on http://HOST:PORT/metrics")
	perSession := fs.String("max-per-session", "", "refuse MAIL after N accepted messages in a session, as N[:CODE]; CODE 421 (the default) also closes the session")
	if err := parseFlags(fs, args, sinkUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if strings.TrimSpace(*listen) == "" {
		// An empty address would listen on every interface on a random
		// port: a sink reachable from the network that no one asked for.
		return usagef("--listen \"\": want HOST:PORT, such as 127.0.0.1:2525")
	}
	cfg, err := sinkConfig(*delays, *rejects, *stall)
	if err != nil {
		return err
	}
	if err := cliflag.CheckDuration("idle-timeout", *idle); err != nil {
		return usagef("%v", err)
	}
	cfg.IdleTimeout = *idle
	if err := cliflag.CheckDuration("command-timeout", *cmdTimeout); err != nil {
		return usagef("%v", err)
	}
	cfg.CommandTimeout = *cmdTimeout
	if *maxSessions < 0 || *maxSessions > maxConcurrency {
		return usagef("--max-sessions %d: want 0 to %d", *maxSessions, maxConcurrency)
	}
	cfg.MaxSessions = *maxSessions
	if cfg.SessionLimit, err = sink.ParseSessionLimit(*overLimit); err != nil {
		return usagef("--over-limit: %v", err)
	}
	if fs.Changed("over-limit") && cfg.MaxSessions == 0 {
		return usagef("--over-limit needs --max-sessions")
	}
	if *workers < 0 || *workers > maxConcurrency {
		return usagef("--workers %d: want 0 to %d", *workers, maxConcurrency)
	}
	if *workers > 0 && cfg.Delay[sink.StepBody] == 0 {
		return usagef("--workers needs --delay body=D: the workers spend the body delay")
	}
	cfg.Workers = *workers
	if *cpu < 0 || *cpu > time.Second {
		return usagef("--cpu %s: want 0 to 1s", *cpu)
	}
	cfg.CPU = *cpu
	if cfg.AfterDot, err = sink.ParseAfterDot(*afterDot); err != nil {
		return usagef("--after-dot: %v", err)
	}
	if *perSession != "" {
		if cfg.MaxPerSession, cfg.MaxPerSessionCode, err = sink.ParsePerSession(*perSession); err != nil {
			return usagef("--max-per-session %v", err)
		}
	}
	cfg.Chunking = *chunking
	cfg.BatchReplies = *batch
	if cfg.Relay, err = relayConfig(fs, *relayTo, *hold, *dropEvery, *dupEvery); err != nil {
		return err
	}
	// Every client session holds one of our descriptors: allow as many as
	// the system lets us.
	sysres.RaiseFileLimit()
	secDesc, err := sec.apply(&cfg, *listen)
	if err != nil {
		return err
	}
	srv, err := sink.Listen(*listen, cfg)
	if err != nil {
		return exitError{exitRun, err.Error()}
	}
	ms, err := sinkMetrics(*metricsAddr, srv, stderr)
	if err != nil {
		srv.Close()
		return err
	}
	if ms != nil {
		defer ms.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "smtpbench sink: listening on %s (%s)\n", srv.Addr(), secDesc)
	err = srv.Serve(ctx)
	fmt.Fprintf(stdout, "smtpbench sink: %s", srv.Summary(cfg))
	fmt.Fprintln(stdout)
	if err != nil {
		return exitError{exitRun, err.Error()}
	}
	return nil
}

func sinkConfig(delays, rejects []string, stall string) (sink.Config, error) {
	var cfg sink.Config
	for _, d := range delays {
		step, v, err := sink.ParseDelay(d)
		if err != nil {
			return cfg, usagef("--delay %v", err)
		}
		cfg.Delay[step] = v
	}
	for _, r := range rejects {
		step, rj, err := sink.ParseReject(r)
		if err != nil {
			return cfg, usagef("--reject %v", err)
		}
		cfg.Reject[step] = rj
	}
	if stall != "" {
		var err error
		if cfg.StallAt, cfg.StallFor, err = sink.ParseStall(stall); err != nil {
			return cfg, usagef("--stall %v", err)
		}
	}
	return cfg, nil
}

// relayConfig checks the store-and-forward flags of the sink.
func relayConfig(fs *pflag.FlagSet, to string, hold time.Duration, dropEvery, dupEvery int) (*sink.Relay, error) {
	if to == "" {
		for _, name := range []string{"hold", "drop-every", "duplicate-every"} {
			if fs.Changed(name) {
				return nil, usagef("--%s needs --relay-to", name)
			}
		}
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(to); err != nil {
		return nil, usagef("--relay-to %q: want HOST:PORT", to)
	}
	if hold < 0 || hold > maxDuration {
		return nil, usagef("--hold %s: want a duration from 0 to %s", hold, maxDuration)
	}
	if dropEvery < 0 || dupEvery < 0 {
		return nil, usagef("--drop-every and --duplicate-every: must not be negative (0 = never)")
	}
	return &sink.Relay{To: to, Hold: hold, DropEvery: dropEvery, DuplicateEvery: dupEvery}, nil
}
