package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/servercost"
)

// registerServer registers the flags that name the server whose own cost
// a run measures.
func registerServer(fs *pflag.FlagSet, w *loadgen.Workload) {
	fs.IntSliceVar(&w.ServerPIDs, "server-pid", nil, "measure the server's CPU and memory: this process and all its descendants, sampled once a second (Linux); repeatable")
	fs.StringVar(&w.ServerCgroup, "server-cgroup", "", "measure the server's CPU and memory from this cgroup directory (v2, or a v1 cpuacct or memory group; Linux)")
}

// serverCmdFlags are the flags of ab and sweep that start the server
// themselves.
type serverCmdFlags struct {
	startTimeout time.Duration
	stopGrace    time.Duration
	logDir       string
}

func (f *serverCmdFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.startTimeout, "server-start-timeout", loadgen.DefaultServerStartTimeout, "how long a started server has to greet (220) on the target before the command fails")
	fs.DurationVar(&f.stopGrace, "server-stop-grace", loadgen.DefaultServerStopGrace, "how long a started server has to exit after SIGTERM before its process group is killed")
	fs.StringVar(&f.logDir, "server-log-dir", "", "keep each started server's output here (default: a new temporary directory)")
}

// runner checks the flags and returns a runner for command cmd answering
// on addr; name labels its output files.
func (f *serverCmdFlags) runner(flag, cmd, addr, name string, restart bool) (*loadgen.ServerRunner, error) {
	if strings.TrimSpace(cmd) == "" {
		return nil, usagef("%s: want a command", flag)
	}
	if !servercost.Supported {
		return nil, usagef("%s: %v", flag, servercost.ErrUnsupported)
	}
	if f.startTimeout <= 0 || f.stopGrace <= 0 {
		return nil, usagef("--server-start-timeout and --server-stop-grace: want positive durations")
	}
	dir := f.logDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "smtpbench-servers-"); err != nil {
			return nil, exitError{exitRun, err.Error()}
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, exitError{exitRun, fmt.Sprintf("--server-log-dir: %v", err)}
	}
	return &loadgen.ServerRunner{RestartEachRun: restart, Command: loadgen.ServerCommand{Command: cmd, Addr: addr,
		StartTimeout: f.startTimeout, StopGrace: f.stopGrace, LogDir: dir, Name: name}}, nil
}
