package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/loadgen/profile"
	"github.com/smtpbench/smtpbench/message"
)

// mixFlags are the session-mix flags (docs/profiles.md).
type mixFlags struct {
	mix          string
	slowRate     int
	idleFor      time.Duration
	harvestTo    string
	harvestRcpts int
}

func (f *mixFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.mix, "mix", "", "share the sessions (-c) among client profiles by weight, as NAME:WEIGHT,…: "+strings.Join(profile.Names(), ", ")+" (default: all normal; a profile not named has weight 0)")
	fs.IntVar(&f.slowRate, "slow-rate", profile.DefaultSlowRate, "bytes per second the slow profile writes, commands and content alike")
	fs.DurationVar(&f.idleFor, "idle-for", 0, "how long an idle session waits for the server to give up before it says QUIT (0: until the server ends it or the run ends)")
	fs.StringVar(&f.harvestTo, "harvest-to", profile.DefaultHarvestTo, "recipients the harvest profile tries, addresses the server should refuse; {n} the message number, {r} the recipient number")
	fs.IntVar(&f.harvestRcpts, "harvest-rcpts", profile.DefaultHarvestRcpts, "RCPTs per harvest session")
}

// apply puts the mix into cfg; the settings flags need --mix.
func (f *mixFlags) apply(fs *pflag.FlagSet, cfg *loadgen.Config) error {
	if f.mix == "" {
		for _, name := range []string{"slow-rate", "idle-for", "harvest-to", "harvest-rcpts"} {
			if fs.Changed(name) {
				return fmt.Errorf("--%s needs --mix", name)
			}
		}
		return nil
	}
	mix, err := profile.ParseMix(f.mix)
	if err != nil {
		return fmt.Errorf("--mix: %v", err)
	}
	if f.slowRate < 1 || f.slowRate > 1<<30 {
		return fmt.Errorf("--slow-rate %d: want 1 to %d bytes per second", f.slowRate, 1<<30)
	}
	if f.idleFor < 0 || f.idleFor > loadgen.MaxDuration {
		return fmt.Errorf("--idle-for %s: want 0 to %s", f.idleFor, loadgen.MaxDuration)
	}
	if f.harvestRcpts < 1 || f.harvestRcpts > 10000 {
		return fmt.Errorf("--harvest-rcpts %d: want 1 to 10000", f.harvestRcpts)
	}
	to, err := message.ParseTemplate(f.harvestTo)
	if err != nil {
		return fmt.Errorf("--harvest-to: %v", err)
	}
	cfg.Mix = mix
	cfg.Profiles = profile.Settings{SlowRate: f.slowRate, IdleFor: f.idleFor, HarvestTo: to, HarvestRcpts: f.harvestRcpts}
	return nil
}
