package main

import (
	"errors"
	"math"

	"github.com/smtpbench/smtpbench/delivery"
	"github.com/smtpbench/smtpbench/internal/cliflag"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/message"
)

// Bounds on numeric flags: loadgen's, so that the CLI and a library user
// of loadgen refuse the same values (see loadgen.Config.Validate).
const (
	maxConcurrency = loadgen.MaxConcurrency
	maxRate        = loadgen.MaxRate
	maxDuration    = loadgen.MaxDuration
)

// numberRules bound the numeric flags of every command, by flag name; a
// flag not listed accepts any value of its type. The run's own checks
// (loadgen.Config.Validate) stay behind these, for library users.
var numberRules = map[string]cliflag.Rule{
	"concurrency":    {Lo: 1, Hi: maxConcurrency},
	"messages":       {Lo: 0, Hi: math.MaxInt64},
	"per-conn":       {Lo: 0, Hi: math.MaxInt32},
	"domains":        {Lo: 0, Hi: math.MaxInt32},
	"trace":          {Lo: 0, Hi: maxConcurrency},
	"shards":         {Lo: 1, Hi: maxConcurrency},
	"workers":        {Lo: 0, Hi: maxConcurrency},
	"rounds":         {Lo: 1, Hi: maxRounds},
	"probes":         {Lo: 1, Hi: loadgen.MaxSteps},
	"rate":           {Lo: 0, Hi: maxRate},
	"rate-max":       {Lo: 0, Hi: maxRate, LoOpen: true},
	"min-rate":       {Lo: 0, Hi: maxRate},
	"max-error-rate": {Lo: 0, Hi: 100},
	"precision":      {Lo: 0, Hi: 100, LoOpen: true, HiOpen: true},
	"alpha":          {Lo: 0, Hi: 1, LoOpen: true, HiOpen: true},
	"confidence":     {Lo: 0, Hi: 1, LoOpen: true, HiOpen: true},
	"duration":       {Lo: 0, Hi: float64(maxDuration)},
	"warmup":         {Lo: 0, Hi: float64(maxDuration)},
	"ramp":           {Lo: 0, Hi: float64(maxDuration)},
	"grace":          {Lo: 0, Hi: float64(maxDuration)},
	"idle-timeout":   {Lo: 0, Hi: float64(maxDuration)},
	"timeout":        {Lo: 0, Hi: float64(maxDuration), LoOpen: true},
	"data-timeout":   {Lo: 0, Hi: float64(maxDuration), LoOpen: true},
}

// flagText words a library's refusal of a setting with the flags that set
// it: message.Prepare's SpecError and ExcludeError, delivery.Open's
// UsageError (--receive). Any other error keeps its own words.
func flagText(err error) string {
	var se *message.SpecError
	var xe *message.ExcludeError
	var ue *delivery.UsageError
	switch {
	case errors.As(err, &se):
		return se.Text(flagName)
	case errors.As(err, &xe):
		return xe.Text(flagName)
	case errors.As(err, &ue):
		return ue.Text("--receive")
	}
	return err.Error()
}
