package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
)

// KindLive marks the first line of a live file (--live): a stream of JSON
// lines, one per completed second, that a killed run leaves behind.
const KindLive = "live"

// LiveHeader is the first line of a live file.
type LiveHeader struct {
	// Schema is "smtpbench/v1", as for a finished result.
	Schema string `json:"schema"`
	// Kind is always "live".
	Kind string `json:"kind"`
	// HDRUnit is the unit of the values in each line's "hdr": "us".
	HDRUnit   string    `json:"hdr_unit"`
	Target    string    `json:"target"`
	StartedAt time.Time `json:"started_at"`
	// LoadModel is "closed" or "open", as in the result.
	LoadModel string    `json:"load_model"`
	Config    RunConfig `json:"config"`
}

// LiveWriter appends one JSON line per completed second to a file. Each line
// goes out in a single write, unbuffered, so a process killed at any moment
// leaves every earlier line whole; at worst the last line is cut short, and
// ReadJSON skips it. When a write fails (a full disk) the writer stops, says
// so once through Warn, and the run goes on.
type LiveWriter struct {
	mu      sync.Mutex
	f       *os.File
	name    string
	stopped bool
	// Warn, if set, is called once when the file stops taking lines.
	Warn func(string)
}

// CreateLive creates (or truncates) the live file and writes its header, so
// that a file that cannot be written is known before the run starts.
func CreateLive(name string, h LiveHeader) (*LiveWriter, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	h.Schema, h.Kind, h.HDRUnit = Schema, KindLive, HDRUnit
	h.StartedAt = h.StartedAt.UTC()
	line, err := json.Marshal(h)
	if err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return nil, err
	}
	return &LiveWriter{f: f, name: name}, nil
}

// WriteSecond appends one completed second; rates are taken over one whole
// second, as in the result for every second but the last.
func (w *LiveWriter) WriteSecond(iv Interval) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	ji := JSONInterval{T: iv.T, OK: iv.OK, Failed: iv.Failed, MessagesPerS: float64(iv.OK),
		P50MS: float64(iv.P50.Microseconds()) / 1000, P99MS: float64(iv.P99.Microseconds()) / 1000, HDR: iv.HDR}
	line, err := json.Marshal(ji)
	if err == nil {
		_, err = w.f.Write(append(line, '\n'))
	}
	if err != nil {
		w.stopped = true
		if w.Warn != nil {
			w.Warn(fmt.Sprintf("live file %s stopped at second %d: %v; the run goes on and its report is complete", w.name, iv.T, err))
		}
	}
}

// liveEnd is the last line of the live file of a run that ended rather
// than was killed: how long it lasted and why it stopped. The last second
// is usually cut short, and its rate, and the run's, need its length.
type liveEnd struct {
	End        bool    `json:"end"`
	ElapsedS   float64 `json:"elapsed_s"`
	StopReason string  `json:"stop_reason"`
}

// liveEndPrefix starts the end line as End writes it, so that readers
// parse only that line as one, not every second's line twice.
var liveEndPrefix = []byte(`{"end":`)

// End appends the line that says the run ended, after elapsed, for reason.
func (w *LiveWriter) End(elapsed time.Duration, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if line, err := json.Marshal(liveEnd{End: true, ElapsedS: elapsed.Seconds(), StopReason: reason}); err == nil {
		w.f.Write(append(line, '\n'))
	}
}

// Close closes the file.
func (w *LiveWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// isLive says whether raw starts with a live file's header line.
func isLive(raw []byte) bool {
	first, _, _ := bytes.Cut(raw, []byte("\n"))
	var h struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(first, &h) == nil && h.Kind == KindLive
}

// readLive turns a live file into a partial result: its totals are the sum
// of its seconds and its only phase is the message phase, from the seconds'
// histograms. A line that does not parse (the last one of a killed run, cut
// short) is skipped.
func readLive(raw []byte) (*JSONReport, error) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	if !sc.Scan() {
		return nil, errors.New("empty live file")
	}
	var h LiveHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		return nil, fmt.Errorf("live file header: %v", jsonErr(err))
	}
	if h.Schema != Schema {
		return nil, fmt.Errorf("schema %q: this smtpbench reads %s", h.Schema, Schema)
	}
	j := &JSONReport{countsOnly: true, Schema: Schema, HDRUnit: h.HDRUnit, Target: h.Target, Config: h.Config, StartedAt: h.StartedAt,
		LoadModel: h.LoadModel, StopReason: "partial", Phases: map[string]Summary{}, Replies: map[string]map[string]int64{},
		Errors: []ErrorCount{}, Intervals: []JSONInterval{}}
	msg := metrics.NewHistogram()
	skipped := 0
	var end liveEnd
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), liveEndPrefix) {
			if json.Unmarshal(sc.Bytes(), &end) == nil && end.End {
				break // the run's last line
			}
		}
		var iv JSONInterval
		if err := json.Unmarshal(sc.Bytes(), &iv); err != nil {
			skipped++
			continue
		}
		if n := len(j.Intervals); n > 0 && iv.T < j.Intervals[n-1].T+j.Intervals[n-1].Seconds() {
			skipped++ // out of order: not from one run
			continue
		}
		if iv.OK+iv.Failed > 0 && iv.HDR != "" {
			hh, err := DecodeHistogram(iv.HDR)
			if err != nil {
				skipped++
				continue
			}
			msg.Merge(hh)
		}
		j.Intervals = append(j.Intervals, iv)
		j.Totals.MessagesOK += iv.OK
		j.Totals.MessagesFailed += iv.Failed
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	j.Totals.MessagesAttempted = j.Totals.MessagesOK + j.Totals.MessagesFailed
	// The run's length: up to the last second with a message. Zero seconds
	// after it are the end of the run (or a stall just before a kill);
	// counting them would understate the rate.
	n := len(j.Intervals)
	for n > 0 && j.Intervals[n-1].OK+j.Intervals[n-1].Failed == 0 {
		n--
	}
	if n > 0 {
		last := j.Intervals[n-1]
		j.ElapsedS = float64(last.T + last.Seconds())
		j.StoppedAtS, j.LastMessageAtS = j.ElapsedS, j.ElapsedS
	}
	what := fmt.Sprintf("partial result from a live file: %d complete seconds", len(j.Intervals))
	if end.End && end.ElapsedS > 0 {
		// The run ended: its length is known, and its last second's rate is
		// taken over what the run had of it, as in its own report.
		j.ElapsedS, j.StoppedAtS, j.StopReason = end.ElapsedS, end.ElapsedS, end.StopReason
		j.LastMessageAtS = min(j.LastMessageAtS, end.ElapsedS)
		if n := len(j.Intervals); n > 0 {
			last := &j.Intervals[n-1]
			if span := end.ElapsedS - float64(last.T); span < float64(last.Seconds()) {
				last.MessagesPerS = float64(last.OK) / max(0.5, span)
			}
		}
		what = fmt.Sprintf("result from the live file of a run that ended: %d seconds", len(j.Intervals))
	}
	if j.ElapsedS > 0 {
		j.Totals.MessagesPerS = float64(j.Totals.MessagesOK) / j.ElapsedS
	}
	j.Phases["message"] = Summarize(msg)
	j.Warnings = append(j.Warnings, what+"; totals are the sum of those seconds "+
		"(rejected messages counted as failed), and only the message phase is known, at 2 significant digits")
	if skipped > 0 {
		j.Warnings = append(j.Warnings, fmt.Sprintf("%d lines of the live file were cut short or unreadable and were skipped", skipped))
	}
	return j, nil
}
