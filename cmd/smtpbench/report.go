package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/internal/atomicfile"
	"github.com/smtpbench/smtpbench/report"
)

const reportUsage = `Usage: smtpbench report [flags] FILE...

Renders saved results again: as the table, the JSON document, the
per-second timeline (CSV), each phase's percentile distribution (.hgrm),
or one HTML page with charts, several FILEs overlaid. FILE - reads
standard input.

Examples:
  smtpbench report result.json
  smtpbench report -o html --out result.html result.json
  smtpbench report -o html --out compare.html before.json after.json
  smtpbench report -o csv result.json > timeline.csv
  smtpbench report -o hgrm --phase message result.json > message.hgrm
  smtpbench report -o hgrm --out result.hgrm result.json   # result.connect.hgrm, result.message.hgrm, ...

Flags:
`

const mergeUsage = `Usage: smtpbench merge [flags] FILE...

Merges the results of generators that ran side by side (--shard,
--start-at) into one, as if one generator had done all their work:
histograms are added (percentiles of all samples, never a mean of
percentiles), counters summed, seconds aligned by the clock, differing
settings listed. docs/distributed.md says more.

Examples:
  smtpbench merge --out merged.json shard-0.json shard-1.json shard-2.json
  smtpbench merge -o json results/*.json > merged.json

Flags:
`

func reportCommand(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("report", pflag.ContinueOnError)
	output := fs.StringP("output", "o", "table", "format: table, json, csv, hgrm or html")
	outFile := fs.String("out", "", "write to this file instead of stdout (hgrm with several phases: one file per phase, the phase name before the extension)")
	phases := fs.StringSlice("phase", nil, "hgrm: only these phases (comma-separated or repeated; default every phase with samples)")
	if err := parseFlags(fs, args, reportUsage, stdout); err != nil {
		return err
	}
	switch *output {
	case "table", "json", "csv", "hgrm", "html":
	default:
		return usagef("--output %q: want table, json, csv, hgrm or html", *output)
	}
	if fs.NArg() == 0 {
		return usagef("no FILE given")
	}
	if len(*phases) > 0 && *output != "hgrm" {
		return usagef("--phase applies to -o hgrm only")
	}
	if *output == "json" && fs.NArg() > 1 {
		return usagef("-o json renders one FILE, got %d (to combine results use smtpbench merge)", fs.NArg())
	}
	if err := distinctOutputs([]pathFlag{{"--out", *outFile}}, fileArgs(fs.Args())); err != nil {
		return err
	}
	docs, err := readResults(fs.Args())
	if err != nil {
		return err
	}
	if *output == "hgrm" {
		runs, labels := report.RunsOf(docs, fs.Args())
		return writeHGRMs(runs, labels, *phases, *outFile, fileArgs(fs.Args()), stdout, stderr)
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, *output, docs, fs.Args()); err != nil {
		return exitError{exitRun, err.Error()}
	}
	return writeOutput(*outFile, buf.Bytes(), stdout)
}

// writeHGRMs writes one percentile distribution per phase (and per file):
// with --out and several, one file per phase.
func writeHGRMs(docs []*report.JSONReport, labels, only []string, outFile string, inputs []pathFlag, stdout, stderr io.Writer) error {
	if outFile != "" && len(docs) > 1 {
		return usagef("-o hgrm with --out takes one result, got %d (%s)", len(docs), strings.Join(labels, ", "))
	}
	parts, err := report.HGRMParts(docs, labels, only)
	var pe *report.PhaseError
	if errors.As(err, &pe) {
		return usagef("--phase %v", err)
	} else if err != nil {
		return exitError{exitRun, err.Error()}
	}
	if outFile == "" || len(parts) == 1 {
		return writeOutput(outFile, report.JoinHGRMs(parts), stdout)
	}
	var names []pathFlag
	for _, p := range parts {
		names = append(names, pathFlag{"--out (phase " + p.Phase + ")", report.HGRMFile(outFile, p.Phase)})
	}
	if err := distinctOutputs(names, inputs); err != nil {
		return err
	}
	for i, p := range parts {
		if err := writeOutput(names[i].path, p.Body, stdout); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "smtpbench report: wrote %s\n", names[i].path)
	}
	return nil
}

func mergeCommand(args []string, stdout, _ io.Writer) error {
	fs := pflag.NewFlagSet("merge", pflag.ContinueOnError)
	output := fs.StringP("output", "o", "table", "stdout format: table or json")
	outFile := fs.String("out", "", "also write the merged JSON result to this file (stdout keeps the table)")
	if err := parseFlags(fs, args, mergeUsage, stdout); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("no FILE given")
	}
	if err := distinctOutputs([]pathFlag{{"--out", *outFile}}, fileArgs(fs.Args())); err != nil {
		return err
	}
	files, err := readResults(fs.Args())
	if err != nil {
		return err
	}
	merged, err := report.MergeDocuments(files, fs.Args())
	if err != nil {
		return exitError{exitRun, err.Error()}
	}
	var js bytes.Buffer
	if err := report.WriteRunJSON(&js, merged); err != nil {
		return exitError{exitRun, err.Error()}
	}
	if *outFile != "" {
		if err := writeOutput(*outFile, js.Bytes(), nil); err != nil {
			return err
		}
	}
	if *output == "json" {
		_, err = stdout.Write(js.Bytes())
		return err
	}
	return report.WriteRunTable(stdout, merged)
}

// readResults reads every FILE ("-" is stdin, once), naming the bad one.
func readResults(files []string) ([]*report.Document, error) {
	in := report.Inputs{Stdin: os.Stdin}
	docs, err := in.ReadAll(files)
	return docs, readError(err)
}

// readError maps a reading error to its exit status: a second "-" is a
// usage error, a file that cannot be read is exit 1.
func readError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, report.ErrStdinTwice):
		return usagef("%v", err)
	}
	return exitError{exitRun, err.Error()}
}

// writeOutput writes b to name, or to stdout when name is empty.
func writeOutput(name string, b []byte, stdout io.Writer) error {
	if name == "" {
		_, err := stdout.Write(b)
		return err
	}
	if err := atomicfile.WriteFile(name, b); err != nil {
		return exitError{exitRun, fmt.Sprintf("--out: %v", err)}
	}
	return nil
}

// fileArgs names the FILE arguments, for distinctOutputs.
func fileArgs(files []string) []pathFlag {
	var out []pathFlag
	for _, f := range files {
		out = append(out, pathFlag{"an input", f})
	}
	return out
}

// pathFlag is a file named on the command line, with the flag (or
// argument) that named it, for errors.
type pathFlag struct {
	flag, path string
}

// distinctOutputs refuses, as a usage error before anything is read or
// any load sent, an output that is also an input or another output: the
// write would destroy the input, or one output would silently replace the
// other. Empty paths, "-" (standard input or output) and devices such as
// /dev/null, which writing does not destroy, are skipped.
func distinctOutputs(outs, ins []pathFlag) error {
	used := func(p pathFlag) bool {
		if p.path == "" || p.path == "-" {
			return false
		}
		fi, err := os.Stat(p.path)
		return err != nil || fi.Mode().IsRegular() || fi.IsDir()
	}
	for i, o := range outs {
		if !used(o) {
			continue
		}
		for _, in := range ins {
			if used(in) && atomicfile.Same(o.path, in.path) {
				return usagef("%s %s is also %s: writing it would destroy the input", o.flag, o.path, in.flag)
			}
		}
		for _, p := range outs[:i] {
			if used(p) && atomicfile.Same(o.path, p.path) {
				return usagef("%s %s is also %s: one would overwrite the other", o.flag, o.path, p.flag)
			}
		}
	}
	return nil
}

// createOutput starts an output file (written whole at the end, see
// atomicfile), failing at once on a path that cannot be written.
func createOutput(flag, name string) (*atomicfile.File, error) {
	switch name {
	case "":
		return nil, nil
	case "-":
		return nil, usagef("%s -: standard output has the report already (-o json for JSON); give a file name", flag)
	}
	f, err := atomicfile.Create(name)
	if err != nil {
		return nil, exitError{exitRun, fmt.Sprintf("%s: %v", flag, err)}
	}
	return f, nil
}

// writeFile writes an output started by createOutput (none if f is nil)
// with write, and puts it in place.
func writeFile(flag string, f *atomicfile.File, write func(io.Writer) error) error {
	if f == nil {
		return nil
	}
	if err := write(f); err != nil {
		return exitError{exitRun, fmt.Sprintf("%s: %v", flag, err)}
	}
	return commitOutput(flag, f)
}

// commitOutput puts a finished output in place.
func commitOutput(flag string, f *atomicfile.File) error {
	if f == nil {
		return nil
	}
	if err := f.Commit(); err != nil {
		return exitError{exitRun, fmt.Sprintf("%s: %v", flag, err)}
	}
	return nil
}

// inputs lists the files the workload flags of run, sweep and ab read.
func (f *runFlags) inputs() []pathFlag {
	return []pathFlag{
		{"--data", f.w.DataFile}, {"--message", f.w.Template}, {"--corpus", f.w.Corpus}, {"--to-file", f.w.ToFile},
		{"--ca", f.sec.CA}, {"--cert", f.sec.Cert}, {"--key", f.sec.Key}, {"--password-file", f.sec.PasswordFile},
		{"--html-baseline", f.htmlBaseline},
	}
}
