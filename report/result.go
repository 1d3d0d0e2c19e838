package report

import (
	"time"

	"github.com/smtpbench/smtpbench/metrics"
)

// Result is everything a run measured, ready to render.
type Result struct {
	Target    string
	Config    RunConfig // echoed into the JSON
	StartedAt time.Time
	Elapsed   time.Duration
	// Warmup is the length of the warm-up period (--warmup), zero without
	// one; rates of the totals are taken over Elapsed minus Warmup.
	Warmup time.Duration
	// Open is true for an open-model (--rate) run: the "message" phase is
	// then measured from each message's due time.
	Open bool
	// StopReason is why the run stopped: "messages" (the count was
	// reached), "duration" (-d was over), "signal" (SIGINT or SIGTERM) or
	// "connect_failed" (no session could be established).
	StopReason string
	// StoppedAt is when, from the start, the run stopped starting
	// messages; what follows is the drain of messages in flight.
	StoppedAt time.Duration
	// LastDecidedAt is when, from the start, the last message was decided;
	// from there to the end of Elapsed the sessions were closed.
	LastDecidedAt time.Duration
	// Grace is how long in-flight messages could take after the stop.
	Grace time.Duration
	Total *metrics.Recorder
	// WarmupTotals holds what happened during the warm-up period, kept
	// apart. Connections and bytes are always counted in Total.
	WarmupTotals *metrics.Recorder
	Intervals    []Interval
	Stages       []Stage // the load profile's stages; nil without --stages
	Warnings     []string
	// CPU is the process's user+system CPU time over the run.
	CPU time.Duration
	// Generator is what the run cost smtpbench itself; nil when unknown.
	Generator *Generator
	// Server is what the run cost the server, when it was measured.
	Server *ServerCost
	// FirstError is the text of the first failure to establish a session,
	// for saying why a run could not start.
	FirstError string
	// Pipelining says, per target, which pipelining mode its sessions
	// ended in and why.
	Pipelining []PipeliningOutcome
	// Targets are the per-target shares when a run has several targets.
	Targets []TargetTotals
	// Sizes counts messages sent per entry of the size mix of generated
	// messages (--size); empty for other content.
	Sizes []SizeCount
	// Profiles is the session mix (--mix), normal included; empty without
	// one. Total and everything above are the normal sessions' only.
	Profiles []ProfileResult
	// Delivery is what a receiver saw of the run's messages after the
	// server accepted them; nil without --receive.
	Delivery *metrics.Delivery
}

// TargetTotals are one target's share of a run: messages after any
// warm-up, connections and bytes over the whole run, as in the totals.
type TargetTotals struct {
	Addr   string
	Weight int
	metrics.TargetCounts
}

// SizeCount is how many messages one entry of a size mix sent.
type SizeCount struct {
	Label    string // a size in bytes, or a range MIN-MAX
	Weight   float64
	Messages int64
}

// Stage is one stage of a load profile (--stages) and what the run did in
// it. Seconds are counted in the stage their middle falls in.
type Stage struct {
	Start, End time.Duration // since the run started; End is cut at the end of the run
	// From and Target are the target at the stage's start and end:
	// sessions in the closed loop, messages per second in the open model.
	From, Target float64
	OK, Failed   int64 // messages decided in the stage; Failed includes rejected
	P50, P99     time.Duration
	HDR          string // message-phase histogram, encoded; empty without messages
}

// Interval is one second of the run's timeline, or a folded row of several
// seconds beyond the run's detail window.
type Interval struct {
	// T is the interval's start in seconds since the run started.
	T int
	// Length is how many seconds the row covers; 0 means 1.
	Length   int
	OK       int64
	Failed   int64 // rejected and failed messages
	P50, P99 time.Duration
	// HDR is the second's message-phase histogram, encoded (EncodeHistogram)
	// when the second is final: a run keeps one per second, and encoded
	// they take a few hundred bytes instead of tens of kilobytes.
	HDR string
	// Server is the server's cost in this second; nil when not measured.
	Server *ServerSecond
}
