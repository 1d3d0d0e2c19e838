package main

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/loadgen/profile"
)

// registerMix registers the session-mix flags (docs/profiles.md).
func registerMix(fs *pflag.FlagSet, w *loadgen.Workload) {
	fs.StringVar(&w.Mix, "mix", "", "share the sessions (-c) among client profiles by weight, as NAME:WEIGHT,…: "+strings.Join(profile.Names(), ", ")+" (default: all normal; a profile not named has weight 0)")
	fs.IntVar(&w.SlowRate, "slow-rate", profile.DefaultSlowRate, "bytes per second the slow profile writes, commands and content alike")
	fs.DurationVar(&w.IdleFor, "idle-for", 0, "how long an idle session waits for the server to give up before it says QUIT (0: until the server ends it or the run ends)")
	fs.StringVar(&w.HarvestTo, "harvest-to", profile.DefaultHarvestTo, "recipients the harvest profile tries, addresses the server should refuse; {n} the message number, {r} the recipient number")
	fs.IntVar(&w.HarvestRcpts, "harvest-rcpts", profile.DefaultHarvestRcpts, "RCPTs per harvest session")
}
