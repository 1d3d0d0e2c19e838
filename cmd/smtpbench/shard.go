package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/smtpbench/smtpbench/loadgen"
)

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
