package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
)

// jobIndexEnv is the variable a Kubernetes Indexed Job sets to the pod's
// completion index (0 to completions−1).
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// Bounds on --start-at: further ahead is taken for a typo; starting later
// than lateStart after it earns a warning in the report.
const (
	maxStartWait = 24 * time.Hour
	lateStart    = 100 * time.Millisecond
)

// shard is this generator's part of a job split count ways; count 0 means
// the run is not sharded.
type shard struct{ index, count int }

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.index, s.count) }

// parseShard reads --shard I/N, or --shards N with the index from the
// environment.
func (f *runFlags) parseShard(fs *pflag.FlagSet, getenv func(string) string) (shard, error) {
	switch {
	case f.shard != "" && fs.Changed("shards"):
		return shard{}, fmt.Errorf("--shard and --shards exclude each other (--shards takes the index from $%s)", jobIndexEnv)
	case f.shard != "":
		i, n, ok := strings.Cut(f.shard, "/")
		index, err1 := strconv.Atoi(i)
		count, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil || count < 1 || index < 0 || index >= count {
			return shard{}, fmt.Errorf("--shard %q: want I/N with 0 <= I < N, such as 0/3", f.shard)
		}
		return shard{index, count}, nil
	case fs.Changed("shards"):
		if f.shards < 1 {
			return shard{}, fmt.Errorf("--shards %d: must be at least 1", f.shards)
		}
		env := getenv(jobIndexEnv)
		if env == "" {
			return shard{}, fmt.Errorf("--shards needs $%s (set by a Kubernetes Indexed Job); elsewhere use --shard I/N", jobIndexEnv)
		}
		index, err := strconv.Atoi(env)
		if err != nil || index < 0 || index >= f.shards {
			return shard{}, fmt.Errorf("$%s=%q: want a number from 0 to %d for --shards %d", jobIndexEnv, env, f.shards-1, f.shards)
		}
		return shard{index, f.shards}, nil
	}
	return shard{}, nil
}

// apply gives cfg this shard's share (see loadgen.JobShard.Apply), in the
// words of the flags.
func (s shard) apply(cfg *loadgen.Config) error {
	n := cfg.Messages
	if err := (loadgen.JobShard{Index: s.index, Count: s.count}).Apply(cfg); err != nil {
		return fmt.Errorf("--shard %s with -n %d: this shard would send no message", s, n)
	}
	return nil
}

// startTime is when the run should start: --start-at, and for shard I of a
// constant-rate job, I/R later still (R the whole job's rate), so that the
// shards' messages interleave evenly instead of arriving N at a time.
func (f *runFlags) startTime(cfg loadgen.Config) (time.Time, error) {
	if f.startAt == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339, f.startAt)
	if err != nil {
		return time.Time{}, usagef("--start-at %q: want an RFC 3339 time such as 2026-11-25T20:30:00Z", f.startAt)
	}
	if wait := time.Until(at); wait > maxStartWait {
		return time.Time{}, usagef("--start-at %s is %s away: more than %s", f.startAt, wait.Round(time.Second), maxStartWait)
	}
	return loadgen.ShardStart(at, cfg), nil
}

// waitUntil sleeps until at, saying so; a signal ends the wait and the run.
func waitUntil(ctx context.Context, at time.Time, stderr io.Writer) error {
	wait := time.Until(at)
	if wait <= 0 {
		return nil
	}
	fmt.Fprintf(stderr, "smtpbench: waiting until %s (%.1f s) to start\n", at.UTC().Format(time.RFC3339Nano), wait.Seconds())
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return exitError{exitRun, "interrupted while waiting for --start-at; nothing was measured"}
	}
}
