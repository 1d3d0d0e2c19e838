package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/report"
)

// ABPlan is an A/B comparison's runs: the same workload against A, then B,
// then A, then B … for Rounds rounds, so that drift in the machine's state
// falls on both sides alike.
type ABPlan struct {
	// Base is every run's configuration but its target; Duration is the
	// warm-up plus the measured time. Echo is Base as the results show it.
	Base Config
	Echo report.RunConfig
	// Warmup and Duration (the measured part of each run) are echoed in
	// the document.
	Warmup, Duration time.Duration
	Targets          [2]string
	// Servers, where not nil, start side A's or B's build before each of
	// its runs and stop it after (RestartEachRun); the caller closes them.
	Servers [2]*ServerRunner
	Rounds  int
	// Warnings go into every run's result (of the caller's settings).
	Warnings []string
	// Abort drops every connection of the run under way when closed.
	Abort <-chan struct{}
	// Compare, when set, compares B with A after the rounds
	// (analysis.Compare) into the document's Comparison, whose warnings
	// then say if a signal cut the rounds short.
	Compare *analysis.CompareOptions
}

// AB runs the plan's rounds and returns them as an ab document, with its
// comparison when the plan asks for one: its Completed rounds, each run
// labeled A or B. A signal (the end of ctx) stops it after the last whole
// round: a short or unpaired run would tilt the comparison. A run that
// could establish no session is kept and ends the rounds with a
// NoSessionError beside the document. Any other error of a run (a server
// that would not start, a refused configuration) returns no document.
func AB(ctx context.Context, p ABPlan, hooks SeriesHooks) (*report.Document, error) {
	if hooks == nil {
		hooks = noHooks{}
	}
	doc := &report.Document{Schema: report.Schema, Kind: report.KindAB,
		AB: &report.ABJSON{A: p.Targets[0], B: p.Targets[1], Rounds: p.Rounds, WarmupS: p.Warmup.Seconds(), DurationS: p.Duration.Seconds()}}
	labels := [2]string{"A", "B"}
	var runErr error
rounds:
	for round := 1; round <= p.Rounds; round++ {
		for i, target := range p.Targets {
			name := fmt.Sprintf("round %d/%d %s %s", round, p.Rounds, labels[i], target)
			run := p.Base
			run.Target = target
			run.Progress = hooks.RunStarting(name)
			res, err := runWith(ctx, p.Servers[i], run, p.Abort)
			if err != nil && ctx.Err() != nil {
				// A signal came while the server started: as below.
				doc.Runs = doc.Runs[:len(doc.Runs)-i]
				break rounds
			}
			if err != nil {
				return nil, err
			}
			res.Config = p.Echo
			res.Warnings = append(res.Warnings, p.Warnings...)
			j := report.BuildJSON(res)
			if doc.StartedAt.IsZero() {
				doc.StartedAt = j.StartedAt
			}
			doc.Runs = append(doc.Runs, report.LabeledRun{Label: labels[i], Round: round, JSONReport: j})
			hooks.RunDone(name, j)
			if err := CheckSession(res, run); err != nil {
				// Kept, as run keeps its report: the runs so far and the
				// one that found no server.
				runErr = err
				break rounds
			}
			if ctx.Err() != nil {
				// A signal cut this run short: drop its round, since a
				// short run or an unpaired one would tilt the comparison.
				doc.Runs = doc.Runs[:len(doc.Runs)-1-i]
				break rounds
			}
		}
		doc.AB.Completed = round
	}
	if p.Servers[0] != nil {
		doc.AB.ACmd = p.Servers[0].Command.Command
	}
	if p.Servers[1] != nil {
		doc.AB.BCmd = p.Servers[1].Command.Command
	}
	if runErr != nil || p.Compare == nil || doc.AB.Completed == 0 {
		return doc, runErr
	}
	c, err := analysis.Compare(
		analysis.CompareGroup{Name: "A", Runs: doc.RunsLabeled("A")},
		analysis.CompareGroup{Name: "B", Runs: doc.RunsLabeled("B")}, *p.Compare)
	if err != nil {
		return doc, &CompareError{err}
	}
	if doc.AB.Completed < p.Rounds {
		c.Warnings = append(c.Warnings, fmt.Sprintf("stopped by a signal after %d of %d rounds", doc.AB.Completed, p.Rounds))
	}
	doc.Comparison = c
	return doc, nil
}

// CompareError is a comparison that could not be made of the rounds run.
type CompareError struct{ Err error }

func (e *CompareError) Error() string { return e.Err.Error() }
func (e *CompareError) Unwrap() error { return e.Err }
