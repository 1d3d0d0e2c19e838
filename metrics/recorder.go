// Package metrics is the recorder of the hot path: per-phase HdrHistograms,
// reply codes, errors by key and the run's counters, filled while a run
// goes on. A worker keeps its samples until a message is decided and then
// moves them into the recorder it shares with a few other workers (a shard
// of the run, in loadgen) under that shard's lock: hdrhistogram-go is not
// safe for concurrent use, and a lock per sample would cost more than the
// sample. Package report turns a recorder's content into the result
// document; this package knows nothing of the document.
package metrics

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/session"
)

// Histogram range: 1 µs to 1 hour at 3 significant digits. Values are
// recorded in microseconds; loopback replies take tens of microseconds, so a
// coarser unit would lose the figures users compare.
const (
	histMin     = 1
	histMax     = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
)

// NewHistogram returns a histogram with the range every smtpbench histogram
// uses, so any two can be merged exactly.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histSigFigs)
}

// RecordDuration records d in microseconds, clamped to the histogram's range
// so that a sample is never dropped.
func RecordDuration(h *hdrhistogram.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < histMin {
		us = histMin
	} else if us > histMax {
		us = histMax
	}
	h.RecordValue(us) // cannot fail inside the range
}

// Series names histograms that are not session phases.
const (
	// SeriesService is the message time measured from when a session started
	// it, kept beside the corrected "message" phase in the open model.
	SeriesService = "message_service"
	// SeriesLag is how late each message started against its schedule.
	SeriesLag = "start_lag"
)

// ErrorKey counts errors by small keys, never by message text.
type ErrorKey struct {
	Phase session.Phase
	Class session.Class
	Code  int
}

// maxCode bounds reply codes kept per phase; anything from 200 to 599 fits.
const maxCode = 600

// Recorder is what a group of workers measured: counters, one histogram
// per phase, reply codes per phase and errors by key. It has no lock of its
// own: the caller guards it (loadgen keeps one per shard of workers, each
// under the shard's lock), and recorders are merged when the run ends and
// once a second for the timeline.
type Recorder struct {
	// Phases holds, per phase, the replies to commands answered one by
	// one; Pipelined those to commands written in a group with others (nil
	// for a phase that had none). Which of them a report shows depends on
	// how the server wrote its replies (report/batching.go).
	Phases    [session.NumPhases]*hdrhistogram.Histogram
	Pipelined [session.NumPhases]*hdrhistogram.Histogram

	Service *hdrhistogram.Histogram // nil unless the run is open-model
	Lag     *hdrhistogram.Histogram // nil unless the run is open-model
	Codes   [session.NumPhases][maxCode]int64
	Errors  map[ErrorKey]int64
	// ErrorText is the first explanation seen per error key: the server's
	// reply text, or what happened to the connection (session.Error.Explain).
	ErrorText map[ErrorKey]string

	Attempted, OK, Rejected, Failed int64
	RcptAccepted, RcptRejected      int64
	Connections                     int64 // sessions that got past the greeting and EHLO
	ConnectAttempts                 int64
	BytesSent                       int64
	IdleCloses                      int64 // sessions closed by the server while idle
	// Ended counts sessions the server ended after some messages
	// (SessionEnds).
	Ended SessionEnds
	// Abandoned counts messages whose envelope had gone out ahead, behind
	// the previous content, when the run stopped: their content was never
	// sent and they are not counted as attempted.
	Abandoned int64
	TLS       TLSCounts

	// Skipped counts messages not sent because they were larger than the
	// server's SIZE limit (RFC 1870), the largest of which is SkipLimit.
	Skipped, SkipLimit int64
	// Continued counts further transactions for recipients a 452
	// recipient limit put off; Delivered and Undelivered count LMTP's
	// per-recipient replies after the content.
	Continued, Delivered, Undelivered int64

	// Targets splits messages, connections and bytes by target, indexed
	// as the run's targets; empty when there is one target.
	Targets []TargetCounts
	// Sizes counts messages sent per entry of the size mix of generated
	// messages; empty for other content.
	Sizes []int64
}

// TargetCounts are one target's share of a recorder's counters.
type TargetCounts struct {
	Attempted, OK, Rejected, Failed int64
	Connections, ConnectAttempts    int64
	BytesSent                       int64
}

// Target returns the counters of target i of n, making room for them.
func (r *Recorder) Target(i, n int) *TargetCounts {
	if len(r.Targets) < n {
		r.Targets = append(r.Targets, make([]TargetCounts, n-len(r.Targets))...)
	}
	return &r.Targets[i]
}

// TargetMessage counts a finished message against target i of n.
func (r *Recorder) TargetMessage(i, n int, o session.Outcome) {
	t := r.Target(i, n)
	t.Attempted++
	switch o {
	case session.OutcomeOK:
		t.OK++
	case session.OutcomeRejected:
		t.Rejected++
	default:
		t.Failed++
	}
}

// SizeSent counts a message sent with entry i of a size mix of n entries.
func (r *Recorder) SizeSent(i, n int) {
	if len(r.Sizes) < n {
		r.Sizes = append(r.Sizes, make([]int64, n-len(r.Sizes))...)
	}
	r.Sizes[i]++
}

// NewRecorder returns an empty recorder; open adds the service-time and lag
// histograms of the open model.
func NewRecorder(open bool) *Recorder {
	r := &Recorder{Errors: map[ErrorKey]int64{}, ErrorText: map[ErrorKey]string{}}
	for i := range r.Phases {
		r.Phases[i] = NewHistogram()
	}
	if open {
		r.Service = NewHistogram()
		r.Lag = NewHistogram()
	}
	return r
}

// Reset empties r, keeping its histograms and maps for reuse.
func (r *Recorder) Reset() {
	*r = Recorder{Phases: r.Phases, Service: r.Service, Lag: r.Lag, Errors: r.Errors, ErrorText: r.ErrorText,
		Targets: r.Targets[:0], Sizes: r.Sizes[:0]}
	for _, h := range r.Phases {
		h.Reset()
	}
	for _, h := range []*hdrhistogram.Histogram{r.Service, r.Lag} {
		if h != nil {
			h.Reset()
		}
	}
	clear(r.Errors)
	clear(r.ErrorText)
}

// Observe implements session.Observer.
func (r *Recorder) Observe(p session.Phase, code int, d time.Duration) {
	RecordDuration(r.Phases[p], d)
	if code > 0 && code < maxCode {
		r.Codes[p][code]++
	}
}

// ObservePipelined records a reply to a command written in a group with
// others (session.PipelinedObserver). The histogram of a phase is made on
// its first such reply, so a run that never pipelines does not carry them.
func (r *Recorder) ObservePipelined(p session.Phase, code int, d time.Duration) {
	h := r.Pipelined[p]
	if h == nil {
		h = NewHistogram()
		r.Pipelined[p] = h
	}
	RecordDuration(h, d)
	if code > 0 && code < maxCode {
		r.Codes[p][code]++
	}
}

// Message counts one finished message.
func (r *Recorder) Message(res *session.Result) {
	r.Attempted++
	r.RcptAccepted += int64(res.RcptAccepted)
	r.RcptRejected += int64(res.RcptRejected)
	r.Continued += int64(res.Continued)
	r.Delivered += int64(res.Delivered)
	r.Undelivered += int64(res.Undelivered)
	switch res.Outcome {
	case session.OutcomeOK:
		r.OK++
	case session.OutcomeRejected:
		r.Rejected++
	default:
		r.Failed++
	}
	if res.Err != nil {
		r.Error(res.Err)
	}
}

// Error counts an error by phase, class and code.
func (r *Recorder) Error(e *session.Error) {
	k := ErrorKey{e.Phase, e.Class, e.Code}
	if r.Errors[k] == 0 {
		r.ErrorText[k] = e.Explain()
	}
	r.Errors[k]++
}

// Merge adds o into r.
func (r *Recorder) Merge(o *Recorder) {
	for i := range r.Phases {
		r.Phases[i].Merge(o.Phases[i])
		if o.Pipelined[i] != nil {
			if r.Pipelined[i] == nil {
				r.Pipelined[i] = NewHistogram()
			}
			r.Pipelined[i].Merge(o.Pipelined[i])
		}
		for c, n := range o.Codes[i] {
			r.Codes[i][c] += n
		}
	}
	if o.Service != nil {
		if r.Service == nil {
			r.Service, r.Lag = NewHistogram(), NewHistogram()
		}
		r.Service.Merge(o.Service)
		r.Lag.Merge(o.Lag)
	}
	for k, n := range o.Errors {
		if r.Errors[k] == 0 {
			r.ErrorText[k] = o.ErrorText[k]
		}
		r.Errors[k] += n
	}
	r.Attempted += o.Attempted
	r.OK += o.OK
	r.Rejected += o.Rejected
	r.Failed += o.Failed
	r.RcptAccepted += o.RcptAccepted
	r.RcptRejected += o.RcptRejected
	r.Connections += o.Connections
	r.ConnectAttempts += o.ConnectAttempts
	r.BytesSent += o.BytesSent
	r.IdleCloses += o.IdleCloses
	r.Abandoned += o.Abandoned
	r.Skipped += o.Skipped
	r.SkipLimit = max(r.SkipLimit, o.SkipLimit)
	r.Continued += o.Continued
	r.Delivered += o.Delivered
	r.Undelivered += o.Undelivered
	r.Ended.Merge(&o.Ended)
	for i, t := range o.Targets {
		m := r.Target(i, len(o.Targets))
		m.Attempted += t.Attempted
		m.OK += t.OK
		m.Rejected += t.Rejected
		m.Failed += t.Failed
		m.Connections += t.Connections
		m.ConnectAttempts += t.ConnectAttempts
		m.BytesSent += t.BytesSent
	}
	for i, n := range o.Sizes {
		if len(r.Sizes) < len(o.Sizes) {
			r.Sizes = append(r.Sizes, make([]int64, len(o.Sizes)-len(r.Sizes))...)
		}
		r.Sizes[i] += n
	}
	r.TLS.Merge(&o.TLS)
}
