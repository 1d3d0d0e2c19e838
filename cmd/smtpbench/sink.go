package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/internal/sysres"
	"github.com/smtpbench/smtpbench/promexport"
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
	var spec sink.Spec
	fs.StringVar(&spec.Listen, "listen", "127.0.0.1:2525", "address to listen on")
	fs.StringArrayVar(&spec.Delays, "delay", nil, "delay the reply to STEP, as STEP=DURATION; repeatable")
	fs.StringArrayVar(&spec.Rejects, "reject", nil, "reject PERCENT of STEP's replies, as STEP=PERCENT[:CODE]; repeatable")
	fs.StringVar(&spec.Stall, "stall", "", "hold every reply due in a window, as START:LENGTH after start (e.g. 4s:1s)")
	fs.DurationVar(&spec.IdleTimeout, "idle-timeout", 0, "end a session that sends no command for this long with 421, as real servers do (0 = never)")
	fs.DurationVar(&spec.CommandTimeout, "command-timeout", 0, "end with 421 a session whose command line, or whose content from 354 to the end of data, takes longer than this to arrive (0 = never)")
	fs.IntVar(&spec.MaxSessions, "max-sessions", 0, "serve at most N sessions at once (0 = no limit); see --over-limit")
	fs.StringVar(&spec.OverLimit, "over-limit", "wait", "what a connection beyond --max-sessions gets: wait (accepted, greeted when a session ends) or refuse (421 and close)")
	fs.BoolVar(&spec.Chunking, "chunking", false, "offer CHUNKING and BINARYMIME (RFC 3030); BDAT is understood either way")
	fs.BoolVar(&spec.BatchReplies, "batch-replies", false, "keep the replies of a pipelined group in one write even across --delay, as Postfix does (without it a delayed reply leaves on its own)")
	fs.IntVar(&spec.Workers, "workers", 0, "end-of-data work goes through N shared workers, each taking the body delay: at most N/delay messages per second (0 = one per session)")
	fs.DurationVar(&spec.CPU, "cpu", 0, "spend this much CPU time on each message after its end of data (real work, not a sleep), to check a measurement of the server's cost against")
	var sec sinkSecFlags
	sec.register(fs)
	fs.StringVar(&spec.AfterDot, "after-dot", "serve", "what to do with commands that arrive in the same read as the end of data: serve, drop (leave them unanswered) or reject (answer 503)")
	fs.StringVar(&spec.RelayTo, "relay-to", "", "store and forward: hold each accepted message, then relay it over SMTP to this address (docs/delivery.md)")
	fs.DurationVar(&spec.Hold, "hold", 0, "with --relay-to: how long each message waits before it is forwarded")
	fs.IntVar(&spec.DropEvery, "drop-every", 0, "with --relay-to: never forward the Nth, 2Nth, … accepted message")
	fs.IntVar(&spec.DuplicateEvery, "duplicate-every", 0, "with --relay-to: forward the (N/2)th, (N/2+N)th, … accepted message twice")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics (messages accepted, sessions, bytes received) on http://HOST:PORT/metrics")
	fs.StringVar(&spec.MaxPerSession, "max-per-session", "", "refuse MAIL after N accepted messages in a session, as N[:CODE]; CODE 421 (the default) also closes the session")
	if err := parseFlags(fs, args, sinkUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	flag := func(field string) string { return "--" + sinkFlags[field] }
	spec.Given = func(field string) bool { return fs.Changed(sinkFlags[field]) }
	cfg, err := spec.Build()
	var se *sink.SpecError
	if errors.As(err, &se) {
		return usagef("%s", se.Explain(flag))
	}
	// Every client session holds one of our descriptors: allow as many as
	// the system lets us.
	sysres.RaiseFileLimit()
	secDesc, err := sec.apply(&cfg, spec.Listen)
	if err != nil {
		return err
	}
	srv, err := sink.Listen(spec.Listen, cfg)
	if err != nil {
		return exitError{exitRun, err.Error()}
	}
	if *metricsAddr != "" {
		ms, err := promexport.ServeSink(*metricsAddr, srv)
		if err != nil {
			srv.Close()
			return usagef("--metrics-addr %s: %v", *metricsAddr, err)
		}
		defer ms.Close()
		fmt.Fprintf(stderr, "smtpbench sink: metrics on http://%s/metrics\n", ms.Addr())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "smtpbench sink: listening on %s (%s)\n", srv.Addr(), secDesc)
	err = srv.Serve(ctx)
	fmt.Fprintln(stdout, "smtpbench sink: "+srv.Summary(cfg))
	if err != nil {
		return exitError{exitRun, err.Error()}
	}
	return nil
}

// sinkFlags names the flag of each sink.Spec and sink.Security field.
var sinkFlags = map[string]string{"Listen": "listen", "Delays": "delay", "Rejects": "reject", "Stall": "stall", "IdleTimeout": "idle-timeout",
	"CommandTimeout": "command-timeout", "MaxSessions": "max-sessions", "OverLimit": "over-limit", "Workers": "workers",
	"CPU": "cpu", "AfterDot": "after-dot", "MaxPerSession": "max-per-session", "RelayTo": "relay-to", "Hold": "hold",
	"DropEvery": "drop-every", "DuplicateEvery": "duplicate-every", "Cert": "cert", "Key": "key", "NoTLS": "no-tls",
	"ImplicitTLS": "implicit-tls", "Users": "users", "RequireTLS": "require-tls", "RequireAuth": "require-auth"}

// sinkSecFlags are the sink's TLS and AUTH flags.
type sinkSecFlags struct{ sink.Security }

func (f *sinkSecFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Cert, "cert", "", "server certificate (PEM) for TLS; default: a self-signed ECDSA P-256 certificate made at start")
	fs.StringVar(&f.Key, "key", "", "private key (PEM) of --cert")
	fs.BoolVar(&f.ImplicitTLS, "implicit-tls", false, "speak TLS from the first byte (RFC 8314, as on port 465) instead of offering STARTTLS")
	fs.BoolVar(&f.NoTLS, "no-tls", false, "offer no TLS at all")
	fs.StringVar(&f.Users, "users", "", "offer AUTH PLAIN, LOGIN and CRAM-MD5 for the user:password lines of this file")
	fs.BoolVar(&f.RequireTLS, "require-tls", false, "refuse MAIL (530) before STARTTLS, and AUTH (538) outside TLS")
	fs.BoolVar(&f.RequireAuth, "require-auth", false, "refuse MAIL (530) before a successful AUTH")
}

// apply sets up TLS and AUTH on cfg and describes the result for the
// "listening" line. A file that cannot be read is exit 1, content or
// settings that cannot be used a usage error.
func (f *sinkSecFlags) apply(cfg *sink.Config, listen string) (string, error) {
	desc, err := f.Security.Apply(cfg, listen)
	var le *sink.LoadError
	var se *sink.SpecError
	switch {
	case err == nil:
		return desc, nil
	case errors.As(err, &se):
		return "", usagef("%s", se.Explain(func(field string) string { return "--" + sinkFlags[field] }))
	case !errors.As(err, &le):
		return "", exitError{exitRun, err.Error()}
	case le.Unreadable:
		return "", exitError{exitRun, fmt.Sprintf("--%s: %v", sinkFlags[le.Field], le.Err)}
	case le.Field == "KeyPair":
		return "", usagef("--cert %s --key %s: %v", f.Cert, f.Key, le.Err)
	}
	return "", usagef("--%s %s: %v", sinkFlags[le.Field], le.Value, le.Err)
}
