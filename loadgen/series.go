package loadgen

// What the runs made of runs share: sweep and ab run one configuration
// after another, each perhaps against a server they start, and report
// each run to the caller as it ends.

import (
	"context"
	"fmt"
	"github.com/smtpbench/smtpbench/internal/fielderr"
	"strings"
	"time"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
)

// SeriesHooks is how Sweep and AB tell their caller about each run, for a
// progress display; names are such as "step 2/5 c=4" or "round 1/6 A host:25".
type SeriesHooks interface {
	// RunStarting returns the Progress callback for the run named name,
	// or nil for none.
	RunStarting(name string) func(Progress)
	// RunDone is called with each run's figures once it is recorded.
	RunDone(name string, j *report.JSONReport)
}

// noHooks reports nothing.
type noHooks struct{}

func (noHooks) RunStarting(string) func(Progress)  { return nil }
func (noHooks) RunDone(string, *report.JSONReport) {}

// NoSessionError says that a run measured nothing because no session could
// be established with its targets.
type NoSessionError struct {
	Targets    []string
	FirstError string // the first error a session met, "" if none was seen
	// Hint, when not empty, suggests the setting that fixes FirstError,
	// naming settings as {Field} (of SecuritySpec): see Words.
	Hint string
}

// Words is the error with name(field) for each setting the hint names.
func (e *NoSessionError) Words(name func(field string) string) string {
	return e.Error() + fielderr.Words(e.Hint, name)
}

func (e *NoSessionError) Error() string {
	msg := fmt.Sprintf("could not establish any session with %s", strings.Join(e.Targets, " or "))
	if e.FirstError != "" {
		msg += ": " + e.FirstError
	}
	return msg
}

// CheckSession returns a NoSessionError when the run that gave res, run
// with cfg, could establish no session with its targets, and nil for a
// run that got through.
func CheckSession(res *report.Result, cfg Config) *NoSessionError {
	if res.StopReason != StopConnect && (res.Total.Connections > 0 || res.Total.Attempted == 0 || res.Total.OK+res.Total.Rejected > 0) {
		return nil
	}
	names := []string{}
	if cfg.Target != "" {
		names = append(names, cfg.Target)
	}
	for _, t := range cfg.Targets {
		names = append(names, t.Addr)
	}
	return &NoSessionError{Targets: names, FirstError: res.FirstError, Hint: sessionHint(res.FirstError, cfg.Session.TLS.Mode)}
}

// sessionHint suggests, for the failures a setting fixes, which one.
func sessionHint(firstError string, mode session.TLSMode) string {
	switch {
	case strings.HasPrefix(firstError, "tls: certificate"):
		return " (trust the server's CA with {CA} FILE, or skip the check with {Insecure})"
	case strings.HasPrefix(firstError, "tls: handshake") && mode == session.TLSImplicit && strings.Contains(firstError, "plain SMTP"):
		return " (on a plaintext port use {TLS} starttls or {TLS} none)"
	case strings.HasPrefix(firstError, "banner: timeout") && mode != session.TLSImplicit:
		return "; for TLS on connect (port 465) use {TLS} implicit"
	case strings.HasPrefix(firstError, "tls: unsupported"):
		return " ({TLS} opportunistic goes on without TLS)"
	}
	return ""
}

// runWith runs cfg, through sr when the series starts its server.
func runWith(ctx context.Context, sr *ServerRunner, cfg Config, abort <-chan struct{}) (*report.Result, error) {
	if sr == nil {
		return Run(ctx, cfg, abort)
	}
	return sr.Run(ctx, cfg, abort)
}

// AcceptedNothing names the runs of a series in which messages were
// attempted and the server accepted none, not for a signal: such a run
// measured nothing, and a script must notice. A run of ab is named with its
// round ("B of round 2").
func AcceptedNothing(runs []report.LabeledRun) []string {
	var names []string
	for _, r := range runs {
		if t := r.Totals; t.MessagesAttempted > 0 && t.MessagesOK == 0 && r.StopReason != StopSignal {
			name := r.Label
			if r.Round > 0 {
				name = fmt.Sprintf("%s of round %d", r.Label, r.Round)
			}
			names = append(names, name)
		}
	}
	return names
}

// RunTracked runs cfg (Run), and with rcv drains what the server
// delivers of it (Drain) into the result, whose configuration is cj. A
// run meant to start at start (not zero) that began later than LateStart
// says so in its warnings: other generators of its job may have started
// earlier.
func RunTracked(ctx context.Context, cfg Config, cj report.RunConfig, start time.Time, rcv *Receiving, abort <-chan struct{}) (*report.Result, error) {
	res, err := Run(ctx, cfg, abort)
	if err != nil {
		return nil, err
	}
	if rcv != nil {
		res.Delivery = rcv.Drain(ctx, abort)
	}
	res.Config = cj
	if late := res.StartedAt.Sub(start); !start.IsZero() && late > LateStart {
		res.Warnings = append(res.Warnings, fmt.Sprintf("started %.2f s after its start time %s: other generators of this job may have started earlier",
			late.Seconds(), start.UTC().Format(time.RFC3339Nano)))
	}
	return res, nil
}

// MeasuredNothing says whether a run that attempted messages (in its
// measured part or its warm-up), or skipped every one as too large for the
// server, had none accepted, for a reason other than a signal: a benchmark
// that measured nothing, which a script must notice.
func MeasuredNothing(res *report.Result) bool {
	attempted := res.Total.Attempted > 0 || res.WarmupTotals != nil && res.WarmupTotals.Attempted > 0
	skippedAll := res.Total.Attempted == 0 && res.Total.Skipped > 0 // every message over the server's SIZE
	return (attempted || skippedAll) && res.Total.OK == 0 && res.StopReason != StopSignal
}
