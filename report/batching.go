package report

import (
	"fmt"
	"slices"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// PipelinedPhases are the phases whose commands a session may write in one
// group with others; their figures depend on how the server wrote its
// replies (docs/phases.md).
var PipelinedPhases = []session.Phase{session.PhaseRset, session.PhaseMail, session.PhaseRcpt,
	session.PhaseData, session.PhaseBDAT, session.PhaseBody}

// Where a pipelined phase's figures come from (JSONPhaseSource.Source).
const (
	// SourceOneByOne: every reply counted answered its command alone
	// (lock-step, or a command that went out by itself).
	SourceOneByOne = "one_by_one"
	// SourcePipelined: the figures include replies to pipelined commands,
	// each timed from the previous reply of its write; the server wrote
	// its replies apart, so each is its command's own time.
	SourcePipelined = "pipelined"
	// SourceLockstep: the server answered pipelined groups in one write,
	// so the figures come only from commands answered one by one: the
	// messages sent lock-step under the same load (--lockstep-every), and
	// any command that went out alone; the pipelined replies are counted
	// in replies but not timed.
	SourceLockstep = "lockstep_sample"
	// SourceUnattributed: the server answered pipelined groups in one
	// write and no message went lock-step, so how the time split between
	// the commands of a group is unknown: the phase has no figures.
	SourceUnattributed = "unattributed"
)

// JSONPhaseSource says where one pipelined phase's figures come from.
type JSONPhaseSource struct {
	// Source is one_by_one, pipelined, lockstep_sample or unattributed
	// (docs/phases.md).
	Source string `json:"source"`
	// Replies counts every timed reply to the phase's commands; Timed how
	// many of them the phase's figures in "phases" are made of.
	Replies int64 `json:"replies"`
	Timed   int64 `json:"timed"`
}

// Attributed reports whether the phase's figures are its commands' own
// times; an unattributed phase has none.
func (s JSONPhaseSource) Attributed() bool { return s.Source != SourceUnattributed }

// Batched reports whether the server answered the pipelined groups of
// some target in one write often enough that pipelined replies do not
// show which command took the time (session.BatchedShare).
func (res *Result) Batched() bool {
	for _, p := range res.Pipelining {
		if batchedShare(p.Groups, p.Batched) {
			return true
		}
	}
	return false
}

func batchedShare(groups, batched int64) bool {
	return batched > 0 && float64(batched) >= session.BatchedShare*float64(groups)
}

// phaseFigures returns the histogram a report shows for phase p and where
// it comes from; source is empty for phases that are never pipelined.
func phaseFigures(res *Result, p session.Phase) (*hdrhistogram.Histogram, *JSONPhaseSource) {
	alone := res.Total.Phases[p]
	piped := res.Total.Pipelined[p]
	if !slices.Contains(PipelinedPhases, p) {
		return alone, nil
	}
	n, pn := alone.TotalCount(), int64(0)
	if piped != nil {
		pn = piped.TotalCount()
	}
	src := &JSONPhaseSource{Replies: n + pn}
	switch {
	case pn == 0:
		src.Source = SourceOneByOne
		src.Timed = n
		return alone, src
	case !res.Batched():
		h := metrics.NewHistogram()
		h.Merge(alone)
		h.Merge(piped)
		src.Source, src.Timed = SourcePipelined, n+pn
		return h, src
	case n > 0:
		src.Source, src.Timed = SourceLockstep, n
		return alone, src
	}
	src.Source = SourceUnattributed
	return metrics.NewHistogram(), src
}

// mergeSources combines the sources of one phase in several results: the
// merged figures are made of the results' figures, so they are attributed
// when any result's are; lock-step samples count first, because that is
// the least any part of them is.
func mergeSources(srcs []JSONPhaseSource) JSONPhaseSource {
	out := JSONPhaseSource{Source: SourceUnattributed}
	rank := map[string]int{SourceUnattributed: 0, SourceOneByOne: 1, SourcePipelined: 2, SourceLockstep: 3}
	for _, s := range srcs {
		out.Replies += s.Replies
		out.Timed += s.Timed
		if rank[s.Source] > rank[out.Source] {
			out.Source = s.Source
		}
	}
	return out
}

// Unattributed lists the phases of j whose split could not be measured.
func Unattributed(j *JSONReport) []string {
	var out []string
	for _, name := range orderedPhases(j.PhaseSources) {
		if !j.PhaseSources[name].Attributed() {
			out = append(out, name)
		}
	}
	return out
}

// batchingLines are the table's lines about reply batching: per target,
// how many of its groups the server answered in one write, and where the
// pipelined phases' figures come from.
func batchingLines(j *JSONReport) string {
	var b strings.Builder
	for _, p := range j.Pipelining {
		if p.Groups == 0 {
			continue
		}
		target := ""
		if len(j.Pipelining) > 1 {
			target = p.Target + " "
		}
		fmt.Fprintf(&b, "batching    %sthe server answered %.0f%% of %d pipelined groups in one write\n", target, p.BatchedPct, p.Groups)
	}
	var parts []string
	for _, name := range orderedPhases(j.PhaseSources) {
		parts = append(parts, name+" "+sourceWords(j.PhaseSources[name]))
	}
	if len(parts) > 0 && b.Len() > 0 {
		fmt.Fprintf(&b, "phases      %s\n", strings.Join(parts, "; "))
	}
	return b.String()
}

// sourceWords says in a few words where a phase's figures come from.
func sourceWords(s JSONPhaseSource) string {
	switch s.Source {
	case SourceOneByOne:
		return "answered one by one"
	case SourcePipelined:
		return "pipelined, answered apart"
	case SourceLockstep:
		return fmt.Sprintf("from %d commands answered one by one", s.Timed)
	case SourceUnattributed:
		return "not measured apart (replies batched, no lock-step sample)"
	}
	return s.Source
}

// UnattributedBreach is the sentence a threshold or objective on phase
// gets when the run could not time that phase command by command; "" when
// it could.
func UnattributedBreach(j *JSONReport, phase string) string {
	if src, ok := j.PhaseSources[phase]; ok && !src.Attributed() {
		return phase + ": not measured apart (the server answered pipelined commands in one write and no message went lock-step), so it cannot be checked"
	}
	return ""
}

// mergePhaseSources combines the phase sources of results being merged.
func mergePhaseSources(docs []*JSONReport) map[string]JSONPhaseSource {
	byPhase := map[string][]JSONPhaseSource{}
	for _, d := range docs {
		for name, s := range d.PhaseSources {
			byPhase[name] = append(byPhase[name], s)
		}
	}
	if len(byPhase) == 0 {
		return nil
	}
	out := map[string]JSONPhaseSource{}
	for name, srcs := range byPhase {
		out[name] = mergeSources(srcs)
	}
	return out
}

// mergePipelining combines the per-target pipelining outcomes of results
// being merged: counts add up per target; a mode or reason the results
// disagree on is listed with each value.
func mergePipelining(docs []*JSONReport) []JSONPipelining {
	var out []JSONPipelining
	at := map[string]int{}
	for _, d := range docs {
		for _, p := range d.Pipelining {
			i, ok := at[p.Target]
			if !ok {
				at[p.Target] = len(out)
				out = append(out, p)
				continue
			}
			m := &out[i]
			if m.Mode != p.Mode && !strings.Contains(m.Mode, p.Mode) {
				m.Mode += ", " + p.Mode
			}
			if m.Reason != p.Reason && !strings.Contains(m.Reason, p.Reason) {
				m.Reason += "; " + p.Reason
			}
			m.Resent += p.Resent
			m.Groups += p.Groups
			m.GroupsBatched += p.GroupsBatched
		}
	}
	for i := range out {
		if out[i].Groups > 0 {
			out[i].BatchedPct = 100 * float64(out[i].GroupsBatched) / float64(out[i].Groups)
		}
	}
	return out
}
