package report

import (
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// Schema names the JSON layout; it changes only when a field changes meaning
// or disappears. New fields may be added within a version.
const Schema = "smtpbench/v1"

// JSONReport is the JSON document. Durations are milliseconds (suffix _ms) or
// seconds (suffix _s); quantiles are named by percent (p99 = 99th percentile).
type JSONReport struct {
	// Schema is always "smtpbench/v1" for this layout.
	Schema string `json:"schema"`
	// countsOnly marks a result read from a live file, which has the
	// messages and their latencies but not recipients, connections or
	// bytes: those are unknown, not zero. It is not part of the JSON.
	countsOnly bool
	// HDRUnit is the unit of the values inside every "hdr" histogram: "us"
	// (microseconds). Results whose units differ cannot be merged.
	HDRUnit string `json:"hdr_unit"`
	// Target is the server address as dialed.
	Target string `json:"target"`
	// Config echoes the run's settings.
	Config RunConfig `json:"config"`
	// StartedAt is the wall-clock start of the run (RFC 3339).
	StartedAt time.Time `json:"started_at"`
	// ElapsedS is the run's wall time in seconds, from start until every
	// session has finished.
	ElapsedS float64 `json:"elapsed_s"`
	// LoadModel is "closed" (a fixed number of sessions sending back to
	// back) or "open" (messages due on a schedule, --rate).
	LoadModel string `json:"load_model"`
	// StopReason is why the run ended: messages, duration, signal or
	// connect_failed.
	StopReason string `json:"stop_reason"`
	// StoppedAtS is when, in seconds from the start, the run stopped
	// starting messages; the rest of elapsed_s went to messages in flight
	// (at most --grace) and to closing sessions.
	StoppedAtS float64 `json:"stopped_at_s"`
	// LastMessageAtS is when the last message was decided; from there to
	// elapsed_s the sessions said QUIT and closed.
	LastMessageAtS float64 `json:"last_message_at_s"`
	// Totals counts messages after any warm-up.
	Totals Totals `json:"totals"`
	// Warmup counts what happened during --warmup; absent without one.
	Warmup *Totals `json:"warmup,omitempty"`
	// Phases holds one latency summary per phase name (connect, banner,
	// ehlo, tls, auth, mail, rcpt, data, bdat, body, rset, quit, message:
	// session.Phase) and, in the open model, message_service and
	// start_lag; with a receiver, delivery and end_to_end. Phases with no
	// samples are included with count 0.
	Phases map[string]Summary `json:"phases"`
	// Replies counts reply codes per phase: phase → code → count.
	Replies map[string]map[string]int64 `json:"replies"`
	// Errors lists failures by phase, class and reply code.
	Errors []ErrorCount `json:"errors"`
	// TLS counts handshakes and what they agreed on; absent when no
	// handshake completed.
	TLS *TLSReport `json:"tls,omitempty"`
	// Intervals is the per-second timeline.
	Intervals []JSONInterval `json:"intervals"`
	// Stages describes each stage of the load profile (--stages, or a
	// --ramp) and what the run did in it; absent without a profile.
	Stages []JSONStage `json:"stages,omitempty"`
	// Warnings say when the figures may not describe the server.
	Warnings []string `json:"warnings"`
	// Generator is what the run cost smtpbench itself.
	Generator *GeneratorJSON `json:"generator,omitempty"`
	// Server is what the run cost the server (--server-pid,
	// --server-cgroup, or a server ab or sweep started); absent when not
	// measured.
	Server *ServerJSON `json:"server,omitempty"`
	// Sizes is the size mix of generated messages as sent; absent for
	// other content.
	Sizes []JSONSize `json:"sizes,omitempty"`
	// Targets splits the totals by target; absent with one target.
	Targets []JSONTarget `json:"targets,omitempty"`
	// Merged says which results a merged result was made of (smtpbench
	// merge); absent for a single run.
	Merged *MergeInfo `json:"merged,omitempty"`
	// Pipelining says, per target, which pipelining mode its sessions
	// ended in, and why (docs/pipelining.md).
	Pipelining []JSONPipelining `json:"pipelining,omitempty"`
	// PhaseSources says, for each phase that may be pipelined and has
	// replies (rset, mail, rcpt, data, bdat, body), where its figures in
	// phases come from; an unattributed phase has count 0 there
	// (docs/phases.md).
	PhaseSources map[string]JSONPhaseSource `json:"phase_sources,omitempty"`
	// SessionLimits describes sessions the server ended after some
	// messages (its limit per session); absent when it ended none.
	SessionLimits *JSONSessionLimits `json:"session_limits,omitempty"`
	// Profiles describes each profile of the session mix (--mix), keyed by
	// name, normal included; absent without a mix. With a mix, totals,
	// phases, replies, errors and intervals are the normal sessions' only.
	Profiles map[string]JSONProfile `json:"profiles,omitempty"`
	// MixTotals counts everyone, normal sessions and every profile, as
	// totals does; absent without a mix.
	MixTotals *Totals `json:"mix_totals,omitempty"`
	// Delivery is what the receiver saw past the server's 250 (--receive);
	// absent without one. See docs/delivery.md.
	Delivery *JSONDelivery `json:"delivery,omitempty"`
}

// GeneratorJSON tells whether smtpbench itself may have limited the figures.
type GeneratorJSON struct {
	// Cores is how many CPUs the generator could use (GOMAXPROCS).
	Cores int `json:"cores"`
	// CPUS is the generator's user+system CPU time in seconds.
	CPUS float64 `json:"cpu_s"`
	// CPUPercent is cpu_s over elapsed_s and all cores, 0 to 100.
	CPUPercent float64 `json:"cpu_percent"`
	// SchedDelay*MS summarise how long the generator's goroutines waited,
	// runnable, for a CPU during the run (the Go runtime's scheduling
	// latency histogram, read at its bucket bounds): time the tool added to
	// the latencies it measured.
	SchedDelayP50MS float64 `json:"sched_delay_p50_ms"`
	SchedDelayP99MS float64 `json:"sched_delay_p99_ms"`
	SchedDelayMaxMS float64 `json:"sched_delay_max_ms"`
	// Shards is how many recorders the sessions shared.
	Shards int `json:"shards"`
}

// JSONSize is one entry of the size mix (--size).
type JSONSize struct {
	// Size is the body size in bytes, or a range MIN-MAX drawn uniformly.
	Size string `json:"size"`
	// WeightPct is the share asked for, in percent.
	WeightPct float64 `json:"weight_pct"`
	// Messages were sent with a body of this entry (attempted, whatever
	// the outcome).
	Messages int64 `json:"messages"`
	// SharePct is Messages over all messages sent, in percent.
	SharePct float64 `json:"share_pct"`
}

// JSONTarget is one target's share of the totals, counted the same way.
type JSONTarget struct {
	Target            string `json:"target"`
	Weight            int    `json:"weight"`
	MessagesAttempted int64  `json:"messages_attempted"`
	MessagesOK        int64  `json:"messages_ok"`
	MessagesRejected  int64  `json:"messages_rejected"`
	MessagesFailed    int64  `json:"messages_failed"`
	Connections       int64  `json:"connections"`
	ConnectAttempts   int64  `json:"connect_attempts"`
	BytesSent         int64  `json:"bytes_sent"`
}

// Totals are the run's counters. The invariant
// messages_attempted = messages_ok + messages_rejected + messages_failed
// always holds.
type Totals struct {
	MessagesAttempted int64 `json:"messages_attempted"`
	// MessagesOK were accepted by the server after end of data.
	MessagesOK int64 `json:"messages_ok"`
	// MessagesRejected got a 4yz or 5yz reply (other than 421) to MAIL, to
	// every RCPT, to DATA or to the content.
	MessagesRejected int64 `json:"messages_rejected"`
	// MessagesFailed got no decision: connect failure, timeout, protocol
	// error, 421 or a dropped connection.
	MessagesFailed int64 `json:"messages_failed"`
	// MessagesPerS is messages_ok divided by elapsed_s, less the warm-up.
	MessagesPerS       float64 `json:"messages_per_s"`
	RecipientsAccepted int64   `json:"recipients_accepted"`
	RecipientsRejected int64   `json:"recipients_rejected"`
	// Connections counts sessions that completed the greeting and EHLO.
	// Connections, connect attempts and bytes cover the whole run, warm-up
	// included (a session spans both).
	Connections     int64 `json:"connections"`
	ConnectAttempts int64 `json:"connect_attempts"`
	// BytesSent counts every byte written to the server, commands included.
	BytesSent int64 `json:"bytes_sent"`
	// MBPerS is bytes_sent / 10^6 / elapsed_s.
	MBPerS float64 `json:"mb_per_s"`
	// IdleCloses counts sessions the server closed (421 or EOF) while they
	// sat idle; they were redialed without charging any message.
	IdleCloses int64 `json:"idle_closes"`
	// MessagesAbandoned had their envelope pipelined ahead when the run
	// stopped (signal or -d): their content was never sent, the server
	// dropped the transaction, and they are not in messages_attempted.
	MessagesAbandoned int64 `json:"messages_abandoned"`
	// MessagesSkipped were not sent because they were larger than the
	// server's SIZE limit (RFC 1870); they are not in messages_attempted.
	MessagesSkipped int64 `json:"messages_skipped"`
	// TransactionsContinued counts further transactions that carried
	// recipients a 452 recipient limit put off (RFC 5321 3.3).
	TransactionsContinued int64 `json:"transactions_continued"`
	// RecipientsDelivered and RecipientsUndelivered count LMTP's
	// per-recipient replies after the content (RFC 2033 4.2): 2yz or not.
	RecipientsDelivered   int64 `json:"recipients_delivered,omitempty"`
	RecipientsUndelivered int64 `json:"recipients_undelivered,omitempty"`
	// CPUS is smtpbench's own user+system CPU time in seconds.
	CPUS float64 `json:"cpu_s,omitempty"`
}

// Summary describes one histogram. Values are milliseconds.
type Summary struct {
	Count  int64   `json:"count"`
	MinMS  float64 `json:"min_ms"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p999_ms"`
	MaxMS  float64 `json:"max_ms"`
	// HDR is the histogram (microsecond values, 1 µs to 1 h, 3 significant
	// digits) in HdrHistogram's compressed base64 encoding (V2), so that
	// runs can be merged exactly with any HdrHistogram library.
	HDR string `json:"hdr"`
}

// ErrorCount is one error bucket.
type ErrorCount struct {
	Phase string `json:"phase"`
	// Class is refused, resolve, timeout, protocol, temp_reject,
	// perm_reject, closed, aborted, local_fds, local_ports, handshake,
	// certificate or unsupported (session.Class).
	Class string `json:"class"`
	// Code is the reply code, 0 when there was no reply.
	Code  int   `json:"code"`
	Count int64 `json:"count"`
	// Hint says what to do, for classes about this host rather than the
	// server (resolve, local_fds, local_ports).
	Hint string `json:"hint,omitempty"`
	// Text is the first explanation seen for this row, cut to one line:
	// the server's reply text, or what happened to the connection.
	Text string `json:"text,omitempty"`
	// Meaning explains a TLS or AUTH failure in one line.
	Meaning string `json:"meaning,omitempty"`
}

// JSONInterval is one second of the timeline or, before the run's detail
// window (its most recent five to six minutes by default), a folded row of a
// minute.
type JSONInterval struct {
	// T is seconds since the start.
	T int `json:"t"`
	// LengthS is how many seconds a folded row covers; absent for a
	// single second. MessagesPerS is taken over the row's length.
	LengthS      int     `json:"length_s,omitempty"`
	OK           int64   `json:"ok"`
	Failed       int64   `json:"failed"`
	MessagesPerS float64 `json:"messages_per_s"`
	// P50MS and P99MS come from that second's histogram of the message
	// phase, not from averages.
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// HDR is that second's message-phase histogram (microseconds, 2
	// significant digits) in the same encoding as Summary.HDR, so that
	// timelines of several generators can be merged exactly; absent for a
	// second with no messages.
	HDR string `json:"hdr,omitempty"`
	// ServerCPUS is the server's CPU time in that second, in seconds (so
	// also the cores it kept busy); ServerMemoryBytes its memory sampled
	// at the second's end. Both are absent when the server was not
	// measured.
	ServerCPUS        *float64 `json:"server_cpu_s,omitempty"`
	ServerMemoryBytes *int64   `json:"server_memory_bytes,omitempty"`
}

// JSONStage is one stage of a load profile. Each second of the timeline
// counts in the stage its middle falls in; a stage of zero duration (a step)
// has no row, and a run that goes on after the last stage gets one more row
// for the hold at the last target.
type JSONStage struct {
	// StartS and EndS are the stage's bounds in seconds since the start;
	// EndS is cut at the end of the run.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// From and Target are the target at the stage's start and end:
	// sessions in the closed loop, messages per second in the open model.
	From   float64 `json:"from"`
	Target float64 `json:"target"`
	// MessagesOK were accepted during the stage; MessagesPerS is that over
	// the stage's length, as totals.messages_per_s is over the run.
	MessagesOK   int64   `json:"messages_ok"`
	MessagesPerS float64 `json:"messages_per_s"`
	// Errors counts messages rejected or failed during the stage.
	Errors int64 `json:"errors"`
	// P50MS and P99MS are message-phase percentiles from the stage's
	// histogram (2 significant digits).
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// HDR is that histogram, encoded as Summary.HDR, for merging; absent
	// without messages.
	HDR string `json:"hdr,omitempty"`
}

// HDRUnit is the unit of recorded values: microseconds.
const HDRUnit = "us"

// Summarize turns a histogram of microseconds into a Summary.
func Summarize(h *hdrhistogram.Histogram) Summary { return summarize(h, true) }

// EncodeHistogram returns h in HdrHistogram's V2 compressed base64 encoding,
// which every HdrHistogram library decodes.
func EncodeHistogram(h *hdrhistogram.Histogram) string {
	e := hdrEncoders.Get().(*hdrEncoder)
	defer hdrEncoders.Put(e)
	return e.encode(h)
}

// summarize leaves HDR empty unless asked: compressing a histogram costs
// more than everything else in a report, and only the JSON needs it.
func summarize(h *hdrhistogram.Histogram, withHDR bool) Summary {
	if h == nil {
		h = metrics.NewHistogram()
	}
	s := Summary{Count: h.TotalCount()}
	if withHDR {
		s.HDR = EncodeHistogram(h)
	}
	if s.Count == 0 {
		return s
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	s.MinMS = ms(h.Min())
	s.MeanMS = h.Mean() / 1000
	s.P50MS = ms(h.ValueAtQuantile(50))
	s.P90MS = ms(h.ValueAtQuantile(90))
	s.P99MS = ms(h.ValueAtQuantile(99))
	s.P999MS = ms(h.ValueAtQuantile(99.9))
	s.MaxMS = ms(h.Max())
	return s
}

// totals summarises r; message rates are over window, byte rates over the
// whole run because connections and bytes are counted for the whole run.
func totals(r *metrics.Recorder, window, elapsed time.Duration) Totals {
	t := Totals{
		MessagesAttempted:  r.Attempted,
		MessagesOK:         r.OK,
		MessagesRejected:   r.Rejected,
		MessagesFailed:     r.Failed,
		RecipientsAccepted: r.RcptAccepted,
		RecipientsRejected: r.RcptRejected,
		Connections:        r.Connections,
		ConnectAttempts:    r.ConnectAttempts,
		BytesSent:          r.BytesSent,
		IdleCloses:         r.IdleCloses,
		MessagesAbandoned:  r.Abandoned,
		MessagesSkipped:    r.Skipped,

		TransactionsContinued: r.Continued,
		RecipientsDelivered:   r.Delivered,
		RecipientsUndelivered: r.Undelivered,
	}
	if s := window.Seconds(); s > 0 {
		t.MessagesPerS = float64(r.OK) / s
	}
	if s := elapsed.Seconds(); s > 0 {
		t.MBPerS = float64(r.BytesSent) / 1e6 / s
	}
	return t
}

// errorCounts lists errors sorted by phase, class and code.
func errorCounts(r *metrics.Recorder) []ErrorCount {
	keys := make([]metrics.ErrorKey, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		if a.Class != b.Class {
			return a.Class < b.Class
		}
		return a.Code < b.Code
	})
	out := make([]ErrorCount, 0, len(keys))
	for _, k := range keys {
		out = append(out, ErrorCount{Phase: k.Phase.String(), Class: k.Class.String(), Code: k.Code, Count: r.Errors[k],
			Text: r.ErrorText[k], Hint: classHints[k.Class],
			Meaning: errorMeaning(k)})
	}
	return out
}

// BuildJSON assembles the JSON document for res.
func BuildJSON(res *Result) *JSONReport { return buildJSON(res, true) }

// Figures is BuildJSON without the hdr encodings, for reading figures
// (tables, thresholds) cheaply.
func Figures(res *Result) *JSONReport { return buildJSON(res, false) }

func buildJSON(res *Result, withHDR bool) *JSONReport {
	j := &JSONReport{
		Schema:         Schema,
		HDRUnit:        HDRUnit,
		Target:         res.Target,
		Config:         res.Config,
		StartedAt:      res.StartedAt.UTC(),
		ElapsedS:       res.Elapsed.Seconds(),
		LoadModel:      "closed",
		StopReason:     res.StopReason,
		StoppedAtS:     res.StoppedAt.Seconds(),
		LastMessageAtS: res.LastDecidedAt.Seconds(),
		Totals:         totals(res.Total, res.Elapsed-min(res.Warmup, res.Elapsed), res.Elapsed),
		Phases:         map[string]Summary{},
		Replies:        map[string]map[string]int64{},
		Errors:         errorCounts(res.Total),
		Intervals:      []JSONInterval{},
		Warnings:       append([]string{}, res.Warnings...),
		TLS:            tlsReport(&res.Total.TLS),
		Pipelining:     pipeliningJSON(res),
		SessionLimits:  sessionLimitsJSON(&res.Total.Ended),
	}
	j.Totals.CPUS = res.CPU.Seconds()
	j.Profiles = profilesJSON(res, withHDR)
	j.MixTotals = mixTotals(res, res.Elapsed-min(res.Warmup, res.Elapsed), res.Elapsed)
	if g := res.Generator; g != nil {
		j.Generator = &GeneratorJSON{Cores: g.Cores, CPUS: g.CPU.Seconds(), CPUPercent: 100 * g.CPUShare,
			SchedDelayP50MS: msOf(g.SchedP50), SchedDelayP99MS: msOf(g.SchedP99), SchedDelayMaxMS: msOf(g.SchedMax),
			Shards: g.Shards}
	}
	j.Server = serverJSON(res.Server, j.Totals.MessagesOK)
	if res.Open {
		j.LoadModel = "open"
		j.Phases[metrics.SeriesService] = summarize(res.Total.Service, withHDR)
		j.Phases[metrics.SeriesLag] = summarize(res.Total.Lag, withHDR)
	}
	if res.WarmupTotals != nil {
		w := totals(res.WarmupTotals, min(res.Warmup, res.Elapsed), 0)
		j.Warmup = &w
	}
	for p := session.Phase(0); p < session.NumPhases; p++ {
		h, src := phaseFigures(res, p)
		j.Phases[p.String()] = summarize(h, withHDR)
		if src != nil && src.Replies > 0 {
			if j.PhaseSources == nil {
				j.PhaseSources = map[string]JSONPhaseSource{}
			}
			j.PhaseSources[p.String()] = *src
		}
		for code, n := range res.Total.Codes[p] {
			if n == 0 {
				continue
			}
			if j.Replies[p.String()] == nil {
				j.Replies[p.String()] = map[string]int64{}
			}
			j.Replies[p.String()][strconv.Itoa(code)] = n
		}
	}
	deliveryJSON(j, res.Delivery, withHDR)
	var sent int64
	var weights float64
	for _, sc := range res.Sizes {
		sent += sc.Messages
		weights += sc.Weight
	}
	for _, sc := range res.Sizes {
		js := JSONSize{Size: sc.Label, WeightPct: 100 * sc.Weight / weights, Messages: sc.Messages}
		if sent > 0 {
			js.SharePct = 100 * float64(sc.Messages) / float64(sent)
		}
		j.Sizes = append(j.Sizes, js)
	}
	for _, t := range res.Targets {
		j.Targets = append(j.Targets, JSONTarget{Target: t.Addr, Weight: t.Weight, MessagesAttempted: t.Attempted,
			MessagesOK: t.OK, MessagesRejected: t.Rejected, MessagesFailed: t.Failed, Connections: t.Connections,
			ConnectAttempts: t.ConnectAttempts, BytesSent: t.BytesSent})
	}
	for _, iv := range res.Intervals {
		// The last second is usually cut short by the end of the run; its
		// rate is taken over what is left of it, but over at least half a
		// second so that a run ending just past a boundary shows no spike.
		span := float64(max(1, iv.Length))
		length := max(0.5, min(span, res.Elapsed.Seconds()-float64(iv.T)))
		rate := float64(iv.OK) / length
		ji := JSONInterval{
			T: iv.T, LengthS: iv.Length, OK: iv.OK, Failed: iv.Failed, MessagesPerS: rate,
			P50MS: float64(iv.P50.Microseconds()) / 1000, P99MS: float64(iv.P99.Microseconds()) / 1000,
		}
		if withHDR {
			ji.HDR = iv.HDR
		}
		if s := iv.Server; s != nil {
			cpu, mem := s.CPU.Seconds(), s.Memory
			ji.ServerCPUS, ji.ServerMemoryBytes = &cpu, &mem
		}
		j.Intervals = append(j.Intervals, ji)
	}
	for _, st := range res.Stages {
		js := JSONStage{StartS: st.Start.Seconds(), EndS: st.End.Seconds(), From: st.From, Target: st.Target,
			MessagesOK: st.OK, Errors: st.Failed, P50MS: msOf(st.P50), P99MS: msOf(st.P99)}
		if d := st.End - st.Start; d > 0 {
			js.MessagesPerS = float64(st.OK) / d.Seconds()
		}
		if withHDR {
			js.HDR = st.HDR
		}
		j.Stages = append(j.Stages, js)
	}
	return j
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteJSON renders res as one indented JSON document.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(BuildJSON(res))
}
