package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/report"
)

const compareUsage = `Usage: smtpbench compare [flags] A.json[#LABEL] [B.json[#LABEL]]

Compares saved results the way benchstat compares Go benchmarks: for
messages/s, the error rate and each phase's p50 and p99, each side's
median with its confidence interval, the change, and a Mann-Whitney U
test (Holm-adjusted, at --alpha) of whether it is more than noise. Each
side's samples are its runs (ab and sweep files hold several; LABEL picks
them, as ab.json#A or sweep.json#c=8), or with one run a side its seconds.
One ab file alone compares A with B. docs/analysis.md says more.

Exit status: 1 when --fail-if-slower finds B significantly slower than A
by more than the percentage allowed, or a file cannot be read; 2 on usage
errors.

Examples:
  smtpbench compare ab.json
  smtpbench compare old.json new.json
  smtpbench compare --fail-if-slower 5 --fail-if-slower message:p99=10 ab.json
  smtpbench compare -o json sweep-old.json#c=16 sweep-new.json#c=16

Flags:
`

// compareFlags are the flags compare and ab share.
type compareFlags struct {
	opt          analysis.CompareOptions
	failIfSlower []string
	output       string
}

func (o *compareFlags) register(fs *pflag.FlagSet) {
	fs.Float64Var(&o.opt.Alpha, "alpha", analysis.DefaultAlpha, "significance level for the whole table: the chance, at most, of calling any line different when none is")
	fs.Float64Var(&o.opt.Confidence, "confidence", analysis.DefaultConfidence, "confidence level of the medians' intervals")
	fs.StringArrayVar(&o.failIfSlower, "fail-if-slower", nil, "exit 1 if B is significantly slower than A by more than PCT percent: PCT for messages/s, or LINE=PCT for a line such as message:p99=10, server-cpu=10 or server-memory=10; repeatable")
	fs.StringVarP(&o.output, "output", "o", "table", "stdout format: table or json")
}

// failRule is one --fail-if-slower limit.
type failRule = analysis.SlowerRule

// check validates the flags and returns the --fail-if-slower rules.
func (o *compareFlags) check() ([]failRule, error) {
	if err := checkOutput(o.output); err != nil {
		return nil, err
	}
	var rules []failRule
	for _, v := range o.failIfSlower {
		r, err := analysis.ParseSlowerRule(v)
		if err != nil {
			return nil, usagef("--fail-if-slower %v", err)
		}
		rules = append(rules, r)
		o.opt.Lines = append(o.opt.Lines, r.Line) // compared even where the table would not show it
	}
	return rules, nil
}

// verdict prints the comparison and applies --fail-if-slower: one line on
// stderr per breach, and an exit code 1 error if there was any.
func (o *compareFlags) verdict(name string, c *report.Comparison, rules []failRule, stderr io.Writer) error {
	breached := false
	for _, r := range analysis.CheckSlower(c, rules) {
		switch r.Outcome {
		case analysis.RuleNoSamples, analysis.RuleUntestable:
			fmt.Fprintf(stderr, "smtpbench %s: --fail-if-slower %s\n", name, r)
		case analysis.RuleBroken:
			breached = true
			fmt.Fprintf(stderr, "smtpbench %s: %s\n", name, r)
		}
	}
	if breached {
		return exitError{exitRun, ""}
	}
	return nil
}

func compareCommand(args []string, stdout, stderr io.Writer) error {
	var o compareFlags
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	o.register(fs)
	if err := parseFlags(fs, args, compareUsage, stdout); err != nil {
		return err
	}
	rules, err := o.check()
	if err != nil {
		return err
	}
	a, b, err := analysis.Groups(&report.Inputs{Stdin: os.Stdin}, fs.Args())
	var ae *analysis.ArgError
	var se *analysis.SelectError
	if errors.As(err, &ae) || errors.As(err, &se) {
		return usagef("%v", err)
	} else if err != nil {
		return readError(err)
	}
	c, err := analysis.Compare(a, b, o.opt)
	if err != nil {
		return exitError{exitRun, err.Error()}
	}
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(c)
	} else {
		err = report.WriteCompareTable(stdout, c)
	}
	if err != nil {
		return exitError{exitRun, fmt.Sprintf("writing the comparison: %v", err)}
	}
	return o.verdict("compare", c, rules, stderr)
}
