package main

import (
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/report"
)

// defaultRounds is ab's default number of rounds: six runs a side are the
// fewest at which the Mann-Whitney U test can call a whole table of lines
// significant (see report.Compare).
const defaultRounds = 6

// maxRounds bounds --rounds.
const maxRounds = 1000

const abUsage = `Usage: smtpbench ab [flags] A_HOST[:PORT] B_HOST[:PORT]
       smtpbench ab --a-cmd CMD --b-cmd CMD [flags] HOST[:PORT]

Compares two servers (two builds of one, say) fairly on one machine: the
same workload runs against A, then B, A, B ... for --rounds rounds, each
run after its own warm-up (default 1s + 10s; the workload flags are
run's), so that drift in the machine falls on both sides alike; then it
prints the comparison as "smtpbench compare" does. With --a-cmd and
--b-cmd it starts and stops each build itself around each of its runs
and also compares the server's CPU per message and memory. --out keeps
every round. docs/sweep-and-ab.md says how it works.

Exit status: 1 when --fail-if-slower finds B significantly slower than A
by more than the percentage allowed, or no session could be established;
2 on usage errors.

Examples:
  smtpbench ab 127.0.0.1:2525 127.0.0.1:2526
  smtpbench ab -c 4 -d 5s --rounds 10 --out ab.json 127.0.0.1:2525 127.0.0.1:2526
  smtpbench ab --fail-if-slower 5 --fail-if-slower message:p99=10 old.test:25 new.test:25
  smtpbench ab --a-cmd './old/server -p 2525' --b-cmd './new/server -p 2525' --fail-if-slower server-cpu=10 127.0.0.1:2525

Flags:
`

func abCommand(args []string, stdout, stderr io.Writer) error {
	var f runFlags
	var o compareFlags
	fs := pflag.NewFlagSet("ab", pflag.ContinueOnError)
	fs.IntVarP(&f.w.Concurrency, "concurrency", "c", loadgen.DefaultConcurrency, "concurrent SMTP sessions (with --rate: the most that may be open)")
	fs.Float64VarP(&f.w.Rate, "rate", "r", 0, "open model: messages per second on a fixed schedule (0 = closed loop)")
	f.registerSeries(fs, "run")
	o.register(fs)
	rounds := fs.Int("rounds", defaultRounds, "rounds; each runs A, then B")
	fs.StringVar(&f.outFile, "out", "", "also write every round's full result and the comparison to this JSON file")
	fs.BoolVar(&f.progress, "progress", false, "print a line per run to stderr (default: when stderr is a terminal)")
	var cmds [2]string
	fs.StringVar(&cmds[0], "a-cmd", "", "start build A with this shell command before each of its runs, and stop it after")
	fs.StringVar(&cmds[1], "b-cmd", "", "start build B with this shell command before each of its runs, and stop it after")
	var sf serverCmdFlags // workload.go
	sf.register(fs)
	fs.StringVar(&f.htmlFile, "html", "", "also write the comparison as a self-contained HTML page with charts to this file")
	if err := parseFlags(fs, args, abUsage, stdout); err != nil {
		return err
	}
	started := cmds[0] != "" || cmds[1] != ""
	if started && fs.NArg() != 1 {
		return usagef("with --a-cmd and --b-cmd, want one target (both builds answer there), got %d", fs.NArg())
	}
	if !started && fs.NArg() != 2 {
		return usagef("want two targets, A and B, got %d", fs.NArg())
	}
	rules, err := o.check()
	if err != nil {
		return err
	}
	if need := analysis.MinRunsPerSide(o.opt.Alpha, maxRounds); len(rules) > 0 && *rounds >= 2 && *rounds < need {
		// Known before any load: with so few runs a side no difference
		// can be significant, and the check would pass unchecked.
		return usagef("--rounds %d with --fail-if-slower: %d runs a side cannot show a difference at alpha %g; the check needs --rounds %d or more", *rounds, *rounds, o.opt.Alpha, need)
	}
	if err := distinctOutputs([]pathFlag{{"--out", f.outFile}, {"--html", f.htmlFile}}, f.inputs()); err != nil {
		return err
	}
	cfg, cj, err := f.seriesConfig(fs)
	if err != nil {
		return err
	}
	sec, err := f.seriesTarget(fs, &cfg, &cj, f.w.Concurrency, stderr)
	if err != nil {
		return err
	}
	plan := loadgen.ABPlan{Base: cfg, Echo: cj, Warmup: f.w.Warmup, Duration: f.w.Duration, Rounds: *rounds, Warnings: sec.warnings(), Compare: &o.opt}
	for i := range plan.Targets {
		if plan.Targets[i], err = sec.ParseTarget(fs.Arg(min(i, fs.NArg()-1)), f.w.LMTP); err != nil {
			return usagef("%v", err)
		}
		if started {
			flag := "--" + strings.ToLower(string(rune('A'+i))) + "-cmd"
			if plan.Servers[i], err = sf.runner(flag, cmds[i], plan.Targets[i], string(rune('A'+i)), true); err != nil {
				return err
			}
		}
	}
	out, err := openOut(f.outFile)
	if err != nil {
		return err
	}
	defer out.Close()
	page, err := createOutput("--html", f.htmlFile)
	if err != nil {
		return err
	}
	defer page.Close()

	ctx, abort, release := stopOnSignals(stderr, cfg.Grace)
	defer release()
	plan.Abort = abort
	doc, runErr := loadgen.AB(ctx, plan, newSeriesProgress(stderr, f.progress, o.output))
	if runErr = seriesError(runErr); doc == nil {
		return runErr
	}
	if runErr != nil {
		// What was measured is printed and saved, as run does, though
		// there is nothing to compare.
		printDoc(stdout, o.output, doc, report.WriteDocumentTable)
		if err := writeOut(out, doc); err != nil {
			return err
		}
		return runErr
	}
	if doc.AB.Completed == 0 {
		return exitError{exitRun, "stopped before the first round was complete: nothing to compare"}
	}
	c := doc.Comparison
	table := func(w io.Writer, _ *report.Document) error { return report.WriteCompareTable(w, c) }
	if err := printDoc(stdout, o.output, doc, table); err != nil {
		return err
	}
	if err := writeOut(out, doc); err != nil {
		return err
	}
	if err := writeFile("--html", page, func(w io.Writer) error { return report.WriteABHTML(w, doc) }); err != nil {
		return err
	}
	if err := acceptedNothing(doc.Runs); err != nil {
		return err
	}
	return o.verdict("ab", c, rules, stderr)
}
