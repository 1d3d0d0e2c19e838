package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
)

// parseShard reads --shard I/N, or --shards N with the index from the
// environment.
func (f *runFlags) parseShard(fs *pflag.FlagSet, getenv func(string) string) (loadgen.JobShard, error) {
	switch {
	case f.shard != "" && fs.Changed("shards"):
		return loadgen.JobShard{}, fmt.Errorf("--shard and --shards exclude each other (--shards takes the index from $%s)", loadgen.JobIndexEnv)
	case f.shard != "":
		sh, err := loadgen.ParseShard(f.shard)
		if err != nil {
			return sh, fmt.Errorf("--shard %v", err)
		}
		return sh, nil
	case fs.Changed("shards"):
		sh, err := loadgen.ShardFromEnv(f.shards, getenv)
		if err != nil {
			return sh, fmt.Errorf("--shards %d: %v; elsewhere use --shard I/N", f.shards, err)
		}
		return sh, nil
	}
	return loadgen.JobShard{}, nil
}

// startTime is when the run should start: --start-at, and for shard I of a
// constant-rate job a little later still (loadgen.ShardStart).
func (f *runFlags) startTime(cfg loadgen.Config) (time.Time, error) {
	if f.w.StartAt == "" {
		return time.Time{}, nil
	}
	at, err := loadgen.ParseStartAt(f.w.StartAt)
	if err != nil {
		return time.Time{}, usagef("--start-at %v", err)
	}
	return loadgen.ShardStart(at, cfg), nil
}

// waitUntil sleeps until at, saying so; a signal ends the wait and the run.
func waitUntil(ctx context.Context, at time.Time, stderr io.Writer) error {
	say := func(wait time.Duration) {
		fmt.Fprintf(stderr, "smtpbench: waiting until %s (%.1f s) to start\n", at.UTC().Format(time.RFC3339Nano), wait.Seconds())
	}
	if !loadgen.WaitUntil(ctx, at, say) {
		return exitError{exitRun, "interrupted while waiting for --start-at; nothing was measured"}
	}
	return nil
}
