package main

import (
	"fmt"
	"os"

	"github.com/smtpbench/smtpbench/internal/atomicfile"
)

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
	if name == "" {
		return nil, nil
	}
	f, err := atomicfile.Create(name)
	if err != nil {
		return nil, exitError{exitRun, fmt.Sprintf("%s: %v", flag, err)}
	}
	return f, nil
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
