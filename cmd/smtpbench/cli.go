package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/internal/cliflag"
)

// Exit codes, documented in docs/run.md.
const (
	exitOK    = 0 // the run completed; failed messages are in the report
	exitRun   = 1 // could not run, or a --max-*/--min-* threshold was breached
	exitUsage = 2 // bad command line
)

// usageError is a bad command line: one line naming the flag or value, exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitError carries an exit code for a failure that already printed its
// explanation (a threshold breach prints one line per breach).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"run":     {"benchmark an SMTP server (the built-in sink when no target is given)", runCommand},
	"sweep":   {"run one workload at a series of concurrencies or rates; find the knee or the capacity", sweepCommand},
	"ab":      {"compare two servers, alternating runs A B A B ...", abCommand},
	"compare": {"compare saved results, with a significance test per line", compareCommand},
	"report":  {"render saved results as a table, JSON, CSV, hgrm or an HTML page", reportCommand},
	"merge":   {"merge the results of generators that ran side by side", mergeCommand},
	"sink":    {"run the built-in SMTP sink server", sinkCommand},
	"version": {"print the version", versionCommand},
}

const mainUsage = `smtpbench is a load generator and benchmark for SMTP servers.

Usage:
  smtpbench <command> [flags] [arguments]

Commands:
%s
Examples:
  smtpbench run                                  # 10 s against a built-in sink
  smtpbench run -c 50 -n 100000 127.0.0.1:2525   # 100000 messages over 50 sessions
  smtpbench run --rate 500 -d 30s mx.test:25     # open model at 500 messages/s
  smtpbench sweep -c 1..64x2 127.0.0.1:2525      # where does it saturate?
  smtpbench ab 127.0.0.1:2525 127.0.0.1:2526     # which build is faster?
  smtpbench compare old.json new.json
  smtpbench sink --listen 127.0.0.1:2525
  smtpbench report -o html --out run.html run.json

Run "smtpbench <command> --help" for a command's flags.
`

// commandOrder is the order of the commands in the help.
var commandOrder = []string{"run", "sweep", "ab", "compare", "report", "merge", "sink", "version"}

// help is the main usage with the commands' summaries.
func help() string {
	var b strings.Builder
	for _, name := range commandOrder {
		fmt.Fprintf(&b, "  %-9s %s\n", name, commands[name].summary)
	}
	return fmt.Sprintf(mainUsage, b.String())
}

// Main runs the command line and returns the process exit code; only main
// exits.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, help())
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if len(args) > 1 {
			if _, ok := commands[args[1]]; ok {
				return Main([]string{args[1], "--help"}, stdout, stderr)
			}
		}
		fmt.Fprint(stdout, help())
		return exitOK
	case "-v", "--version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "smtpbench: unknown command %q (want one of %s; see smtpbench --help)\n", name, strings.Join(commandOrder, ", "))
		return exitUsage
	}
	err := cmd.run(args[1:], stdout, stderr)
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, pflag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "smtpbench %s: %s (see smtpbench %s --help)\n", name, ue.msg, name)
		return exitUsage
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "smtpbench %s: %s\n", name, ee.msg)
		}
		return ee.code
	default:
		fmt.Fprintf(stderr, "smtpbench %s: %v\n", name, err)
		return exitRun
	}
}

// parseFlags parses with pflag, turning its errors into one-line usage errors
// and printing help to stdout on -h.
func parseFlags(fs *pflag.FlagSet, args []string, usage string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	cliflag.Wrap(fs, numberRules)
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, usage)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return usageError{cliflag.Error(err)}
	}
	return nil
}

func version() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return v
}

func versionCommand(args []string, stdout, _ io.Writer) error {
	fs := pflag.NewFlagSet("version", pflag.ContinueOnError)
	if err := parseFlags(fs, args, "Usage: smtpbench version\n\nPrints the version and the Go release it was built with.\n", stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintf(stdout, "smtpbench %s (%s %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
