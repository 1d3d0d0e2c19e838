package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/servercost"
)

// serverFlags name the server whose own cost a run measures.
type serverFlags struct {
	pids   []int
	cgroup string
}

func (f *serverFlags) register(fs *pflag.FlagSet) {
	fs.IntSliceVar(&f.pids, "server-pid", nil, "measure the server's CPU and memory: this process and all its descendants, sampled once a second (Linux); repeatable")
	fs.StringVar(&f.cgroup, "server-cgroup", "", "measure the server's CPU and memory from this cgroup directory (v2, or a v1 cpuacct or memory group; Linux)")
}

// source checks the flags and returns what to measure.
func (f *serverFlags) source() (servercost.Source, error) {
	src := servercost.Source{PIDs: f.pids, Cgroup: f.cgroup}
	if len(f.pids) == 0 && f.cgroup == "" {
		return src, nil
	}
	if !servercost.Supported {
		return src, fmt.Errorf("--server-pid and --server-cgroup: %v", servercost.ErrUnsupported)
	}
	if len(f.pids) > 0 && f.cgroup != "" {
		return src, fmt.Errorf("--server-pid and --server-cgroup: give one or the other")
	}
	for _, p := range f.pids {
		if p <= 0 {
			return src, fmt.Errorf("--server-pid %d: want a process ID", p)
		}
	}
	return src, nil
}
