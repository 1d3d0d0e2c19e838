package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/metrics"
)

// MergeInfo is the "merged" object of a merged result.
type MergeInfo struct {
	// Sources are the merged results, in the order given.
	Sources []MergeSource `json:"sources"`
	// Differences lists the settings (config members, and any other member
	// that is not a figure) that were not the same in every result, with
	// each result's value in source order (null where one lacks it).
	Differences []Difference `json:"differences"`
}

// MergeSource is one merged result.
type MergeSource struct {
	// File names the result, as given to merge.
	File       string  `json:"file"`
	Target     string  `json:"target"`
	StartedAt  string  `json:"started_at"`
	ElapsedS   float64 `json:"elapsed_s"`
	MessagesOK int64   `json:"messages_ok"`
	// OffsetS is the merged second this result's interval 0 was placed at.
	OffsetS int `json:"offset_s"`
	// Generator is what this result's run cost its generator: each
	// machine's own figures, which do not add up into one.
	Generator *GeneratorJSON `json:"generator,omitempty"`
}

// Difference is one setting that differed between merged results.
type Difference struct {
	// Field is the member's path, such as "config.shard".
	Field  string            `json:"field"`
	Values []json.RawMessage `json:"values"`
}

// MismatchError says why results cannot be merged: a member whose meaning
// differs between them, so that adding them up would mix units.
type MismatchError struct {
	// Field is the member's path in the JSON document, such as "load_model"
	// or "phases.start_lag".
	Field string
	// Detail says how it differs, naming the files.
	Detail string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("cannot merge: %s differs: %s", e.Field, e.Detail)
}

// Merge combines the results of generators that ran side by side (names are
// their file names, for messages and the "merged" object) into one result, as
// if one generator had done all their work:
//
//   - every histogram is the exact sum of theirs, decoded from the "hdr"
//     encodings, so merged percentiles are those of all samples together (a
//     mean of percentiles would be meaningless);
//   - counters are summed; message rates are taken over the span from the
//     first measured second to the last;
//   - intervals are placed by wall-clock time: each result's interval t goes
//     to the merged second nearest to its started_at + t;
//   - settings that differ are listed in Merged.Differences.
//
// Results whose schema, histogram unit, load model, set of phases or
// histogram precision differ cannot be merged: the error names the member.
// Phases are merged by name, so phases this version does not know are merged
// like the others.
func Merge(docs []*JSONReport, names []string) (*JSONReport, error) {
	if len(docs) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	if len(names) != len(docs) {
		return nil, fmt.Errorf("merge: %d names for %d results", len(names), len(docs))
	}
	if err := checkMergeable(docs, names); err != nil {
		return nil, err
	}
	first := docs[0]
	countsOnly := false
	for _, d := range docs {
		// One live file among the inputs leaves the merged recipients,
		// connections and bytes short by its share: unknown.
		countsOnly = countsOnly || d.countsOnly
	}
	out := &JSONReport{
		countsOnly: countsOnly,
		Schema:     first.Schema,
		HDRUnit:    hdrUnit(first),
		LoadModel:  first.LoadModel,
		Phases:     map[string]Summary{},
		Replies:    map[string]map[string]int64{},
		Errors:     []ErrorCount{},
		Intervals:  []JSONInterval{},
		Warnings:   []string{},
	}
	info := &MergeInfo{Sources: make([]MergeSource, len(docs)), Differences: []Difference{}}
	out.Merged = info

	// Time: the merged result starts with the first generator and ends with
	// the last; the measured window starts after the earliest warm-up end.
	start, end := docs[0].StartedAt, time.Time{}
	measuredFrom := time.Time{}
	for _, d := range docs {
		if d.StartedAt.Before(start) {
			start = d.StartedAt
		}
	}
	for i, d := range docs {
		stop := d.StartedAt.Add(seconds(d.ElapsedS))
		if stop.After(end) {
			end = stop
		}
		from := d.StartedAt.Add(seconds(d.Config.WarmupS))
		if i == 0 || from.Before(measuredFrom) {
			measuredFrom = from
		}
		off := int(math.Round(d.StartedAt.Sub(start).Seconds()))
		info.Sources[i] = MergeSource{File: names[i], Target: d.Target, StartedAt: d.StartedAt.Format(time.RFC3339Nano),
			ElapsedS: d.ElapsedS, MessagesOK: d.Totals.MessagesOK, OffsetS: off, Generator: d.Generator}
	}
	out.StartedAt = start
	out.ElapsedS = end.Sub(start).Seconds()
	// The merged run stopped starting messages, and decided its last one,
	// when the last generator did.
	for _, d := range docs {
		if d.StoppedAtS > 0 {
			out.StoppedAtS = max(out.StoppedAtS, d.StartedAt.Add(seconds(d.StoppedAtS)).Sub(start).Seconds())
		}
		if d.LastMessageAtS > 0 {
			out.LastMessageAtS = max(out.LastMessageAtS, d.StartedAt.Add(seconds(d.LastMessageAtS)).Sub(start).Seconds())
		}
	}
	if skew := maxStartSkew(docs); skew > time.Second {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the results started up to %.1f s apart: their intervals were aligned to the nearest second", skew.Seconds()))
	}

	out.Target = joinDistinct(docs, func(d *JSONReport) string { return d.Target })
	out.StopReason = joinDistinct(docs, func(d *JSONReport) string { return d.StopReason })

	// Counters.
	var warm *Totals
	for _, d := range docs {
		addTotals(&out.Totals, &d.Totals)
		if d.Warmup != nil {
			if warm == nil {
				warm = &Totals{}
			}
			addTotals(warm, d.Warmup)
		}
	}
	if s := end.Sub(measuredFrom).Seconds(); s > 0 {
		out.Totals.MessagesPerS = float64(out.Totals.MessagesOK) / s
	}
	if out.ElapsedS > 0 {
		out.Totals.MBPerS = float64(out.Totals.BytesSent) / 1e6 / out.ElapsedS
	}
	out.Warmup = warm
	out.Server = mergeServer(docs, out.Totals.MessagesOK)

	// Histograms, by phase name.
	for name := range first.Phases {
		var sum *hdrhistogram.Histogram
		for i, d := range docs {
			h, err := d.Phases[name].Histogram()
			if err != nil {
				return nil, fmt.Errorf("%s: phases.%s: %v", names[i], name, err)
			}
			if sum == nil {
				sum = h
			} else if dropped := sum.Merge(h); dropped > 0 {
				return nil, fmt.Errorf("%s: phases.%s: %d values outside the histogram's range", names[i], name, dropped)
			}
		}
		out.Phases[name] = Summarize(sum)
	}

	// Reply codes and errors. Errors are counted by phase, class and code,
	// as a run counts them; the text and hint of a row are what the first
	// result that has it says.
	type errorKey struct {
		phase, class string
		code         int
	}
	errs := map[errorKey]*ErrorCount{}
	var errOrder []errorKey
	for _, d := range docs {
		for phase, codes := range d.Replies {
			if out.Replies[phase] == nil {
				out.Replies[phase] = map[string]int64{}
			}
			for code, n := range codes {
				out.Replies[phase][code] += n
			}
		}
		for _, e := range d.Errors {
			k := errorKey{e.Phase, e.Class, e.Code}
			if errs[k] == nil {
				row := e
				errs[k] = &row
				errOrder = append(errOrder, k)
				continue
			}
			errs[k].Count += e.Count
		}
	}
	sort.Slice(errOrder, func(i, j int) bool {
		a, b := errOrder[i], errOrder[j]
		if a.phase != b.phase {
			return a.phase < b.phase
		}
		if a.class != b.class {
			return a.class < b.class
		}
		return a.code < b.code
	})
	for _, k := range errOrder {
		out.Errors = append(out.Errors, *errs[k])
	}

	out.Sizes = mergeSizes(docs)
	out.Targets = mergeTargets(docs)
	profiles, err := mergeProfiles(docs, names)
	if err != nil {
		return nil, err
	}
	out.Profiles = profiles
	for _, d := range docs {
		if d.MixTotals != nil {
			if out.MixTotals == nil {
				out.MixTotals = &Totals{}
			}
			addTotals(out.MixTotals, d.MixTotals)
		}
	}
	if t := out.MixTotals; t != nil {
		if s := end.Sub(measuredFrom).Seconds(); s > 0 {
			t.MessagesPerS = float64(t.MessagesOK) / s
		}
		if out.ElapsedS > 0 {
			t.MBPerS = float64(t.BytesSent) / 1e6 / out.ElapsedS
		}
	}
	out.TLS = mergeTLS(docs)
	out.PhaseSources = mergePhaseSources(docs)
	out.Pipelining = mergePipelining(docs)
	out.SessionLimits = mergeSessionLimits(docs)
	out.Delivery = mergeDelivery(docs, start)

	ivs, missing, err := mergeIntervals(docs, names, info.Sources, end.Sub(start))
	if err != nil {
		return nil, err
	}
	out.Intervals = ivs
	if out.Stages, err = mergeStages(docs, names, info.Sources); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%s have no per-second histograms (written by an older smtpbench): merged per-second p50/p99 are left at 0", strings.Join(missing, ", ")))
	}

	for i, d := range docs {
		for _, w := range d.Warnings {
			out.Warnings = append(out.Warnings, names[i]+": "+w)
		}
	}

	// Settings: what every result agrees on is kept, the rest is listed.
	cfg, diffs := mergeConfig(docs)
	out.Config = cfg
	info.Differences = append(info.Differences, diffs...)
	info.Differences = append(info.Differences, mergeOtherMembers(out, docs, mergedMembers)...)
	return out, nil
}

// checkMergeable refuses results whose figures mean different things.
func checkMergeable(docs []*JSONReport, names []string) error {
	first := docs[0]
	same := func(field string, get func(d *JSONReport) string) error {
		for i, d := range docs[1:] {
			if a, b := get(first), get(d); a != b {
				return &MismatchError{field, fmt.Sprintf("%q in %s, %q in %s", a, names[0], b, names[i+1])}
			}
		}
		return nil
	}
	if err := same("schema", func(d *JSONReport) string { return d.Schema }); err != nil {
		return err
	}
	if err := same("hdr_unit", hdrUnit); err != nil {
		return err
	}
	// The open model measures "message" from each due time, the closed
	// loop from when a session began it: the same name, different figures.
	if err := same("load_model", func(d *JSONReport) string { return d.LoadModel }); err != nil {
		return err
	}
	for i, d := range docs[1:] {
		for name := range first.Phases {
			if _, ok := d.Phases[name]; !ok {
				return &MismatchError{"phases." + name, fmt.Sprintf("present in %s, absent from %s", names[0], names[i+1])}
			}
		}
		for name := range d.Phases {
			if _, ok := first.Phases[name]; !ok {
				return &MismatchError{"phases." + name, fmt.Sprintf("present in %s, absent from %s", names[i+1], names[0])}
			}
		}
	}
	// Histograms of different precision or range would merge, but not
	// exactly: refuse them rather than return figures that look exact.
	for _, name := range PhaseNames(first) {
		var ref *hdrhistogram.Histogram
		var refName string
		for i, d := range docs {
			s := d.Phases[name]
			if s.HDR == "" {
				continue
			}
			h, err := s.Histogram()
			if err != nil {
				return fmt.Errorf("%s: phases.%s: %v", names[i], name, err)
			}
			if ref == nil {
				ref, refName = h, names[i]
				continue
			}
			if g, r := geometry(h), geometry(ref); g != r {
				return &MismatchError{"phases." + name + ".hdr", fmt.Sprintf("%s in %s, %s in %s", r, refName, g, names[i])}
			}
		}
	}
	return nil
}

// hdrUnit is the unit of r's histograms; results written before the member
// existed recorded microseconds.
func hdrUnit(r *JSONReport) string {
	if r.HDRUnit == "" {
		return HDRUnit
	}
	return r.HDRUnit
}

func geometry(h *hdrhistogram.Histogram) string {
	return fmt.Sprintf("%d to %d at %d significant digits", h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures())
}

// addTotals adds every counter of o into t. It walks the struct, so counters
// added to Totals later are summed too; rates are left for the caller to
// recompute.
func addTotals(t, o *Totals) {
	tv, ov := reflect.ValueOf(t).Elem(), reflect.ValueOf(o).Elem()
	for i := range tv.NumField() {
		tag := tv.Type().Field(i).Tag.Get("json")
		if strings.Contains(tag, "_per_s") {
			continue
		}
		switch f := tv.Field(i); f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(f.Int() + ov.Field(i).Int())
		case reflect.Float64:
			f.SetFloat(f.Float() + ov.Field(i).Float())
		}
	}
}

// mergeIntervals places each result's seconds on the merged timeline by
// wall-clock time and merges the seconds that land together. It returns the
// files that lack per-second histograms.
func mergeIntervals(docs []*JSONReport, names []string, srcs []MergeSource, span time.Duration) ([]JSONInterval, []string, error) {
	type slot struct {
		iv      JSONInterval
		h       *hdrhistogram.Histogram
		partial bool // a contributing second had no histogram
	}
	n := int(math.Ceil(span.Seconds()))
	for i, d := range docs {
		if len(d.Intervals) > 0 {
			n = max(n, srcs[i].OffsetS+d.Intervals[len(d.Intervals)-1].T+1)
		}
	}
	slots := make([]slot, n)
	var missing []string
	for i, d := range docs {
		lacks := false
		for _, iv := range d.Intervals {
			k := srcs[i].OffsetS + iv.T
			if k < 0 || k >= n {
				continue
			}
			s := &slots[k]
			s.iv.LengthS = max(s.iv.LengthS, iv.LengthS)
			s.iv.OK += iv.OK
			s.iv.Failed += iv.Failed
			// Generators run side by side, so their rates add up.
			s.iv.MessagesPerS += iv.MessagesPerS
			// Every generator measured the same server: its figures
			// are not added up but the largest reading kept.
			if iv.ServerCPUS != nil {
				v := *iv.ServerCPUS
				if s.iv.ServerCPUS != nil {
					v = max(v, *s.iv.ServerCPUS)
				}
				s.iv.ServerCPUS = &v
			}
			if iv.ServerMemoryBytes != nil {
				v := *iv.ServerMemoryBytes
				if s.iv.ServerMemoryBytes != nil {
					v = max(v, *s.iv.ServerMemoryBytes)
				}
				s.iv.ServerMemoryBytes = &v
			}
			if iv.OK+iv.Failed == 0 {
				continue
			}
			if iv.HDR == "" {
				lacks, s.partial = true, true
				continue
			}
			h, err := iv.Histogram()
			if err != nil {
				return nil, nil, fmt.Errorf("%s: intervals[%d]: %v", names[i], iv.T, err)
			}
			if s.h == nil {
				s.h = h
			} else {
				s.h.Merge(h)
			}
		}
		if lacks {
			missing = append(missing, names[i])
		}
	}
	out := make([]JSONInterval, 0, n)
	for k := 0; k < n; k++ {
		s := &slots[k]
		iv := s.iv
		iv.T = k
		// A folded row (beyond a result's detail window) takes in the
		// seconds it covers that other results placed one by one, so the
		// merged timeline has no overlapping rows; its rate is over its
		// length.
		if l := iv.LengthS; l > 1 {
			iv.MessagesPerS = 0
			for j := k + 1; j < min(n, k+l); j++ {
				o := &slots[j]
				iv.OK += o.iv.OK
				iv.Failed += o.iv.Failed
				iv.LengthS = max(iv.LengthS, j-k+o.iv.LengthS)
				if o.h != nil {
					if s.h == nil {
						s.h = metrics.NewHistogram()
					}
					s.h.Merge(o.h)
				}
				s.partial = s.partial || o.partial
			}
			iv.MessagesPerS = float64(iv.OK) / float64(iv.LengthS)
			k += iv.LengthS - 1
		}
		if s.h != nil && !s.partial {
			iv.P50MS = float64(s.h.ValueAtQuantile(50)) / 1000
			iv.P99MS = float64(s.h.ValueAtQuantile(99)) / 1000
			iv.HDR = EncodeHistogram(s.h)
		}
		out = append(out, iv)
	}
	return out, missing, nil
}

// mergeStages merges the load profiles' stages by their place in the
// profile: generators of one job run the same --stages, each with its share.
// Counts and rates add up, histograms merge, and the bounds are placed by
// wall-clock time from the earliest start.
func mergeStages(docs []*JSONReport, names []string, srcs []MergeSource) ([]JSONStage, error) {
	var out []JSONStage
	var hists []*hdrhistogram.Histogram
	for i, d := range docs {
		off := float64(srcs[i].OffsetS)
		for k, st := range d.Stages {
			if k == len(out) {
				out = append(out, JSONStage{StartS: st.StartS + off, EndS: st.EndS + off, From: st.From, Target: 0})
				hists = append(hists, nil)
			}
			m := &out[k]
			m.StartS = min(m.StartS, st.StartS+off)
			m.EndS = max(m.EndS, st.EndS+off)
			// Targets add up like the load: each generator took its share.
			if i > 0 {
				m.From += st.From
			}
			m.Target += st.Target
			m.MessagesOK += st.MessagesOK
			m.MessagesPerS += st.MessagesPerS
			m.Errors += st.Errors
			if st.HDR == "" {
				continue
			}
			h, err := DecodeHistogram(st.HDR)
			if err != nil {
				return nil, fmt.Errorf("%s: stages[%d]: %v", names[i], k, err)
			}
			if hists[k] == nil {
				hists[k] = h
			} else {
				hists[k].Merge(h)
			}
		}
	}
	for k, h := range hists {
		if h != nil {
			out[k].P50MS = float64(h.ValueAtQuantile(50)) / 1000
			out[k].P99MS = float64(h.ValueAtQuantile(99)) / 1000
			out[k].HDR = EncodeHistogram(h)
		}
	}
	return out, nil
}

// mergeSizes adds up the size mix by entry; shares are taken again over
// all messages.
func mergeSizes(docs []*JSONReport) []JSONSize {
	var out []JSONSize
	at := map[JSONSize]int{} // entry (size and weight) → index in out
	var total int64
	for _, d := range docs {
		for _, sz := range d.Sizes {
			k := JSONSize{Size: sz.Size, WeightPct: sz.WeightPct}
			i, ok := at[k]
			if !ok {
				i = len(out)
				at[k] = i
				out = append(out, k)
			}
			out[i].Messages += sz.Messages
			total += sz.Messages
		}
	}
	for i := range out {
		if total > 0 {
			out[i].SharePct = 100 * float64(out[i].Messages) / float64(total)
		}
	}
	return out
}

// mergeTLS adds up the handshake counts; nil when no result had any.
func mergeTLS(docs []*JSONReport) *TLSReport {
	var out *TLSReport
	for _, d := range docs {
		if d.TLS == nil {
			continue
		}
		if out == nil {
			out = &TLSReport{Versions: map[string]int64{}, CipherSuites: map[string]int64{}}
		}
		out.HandshakesFull += d.TLS.HandshakesFull
		out.HandshakesResumed += d.TLS.HandshakesResumed
		for k, n := range d.TLS.Versions {
			out.Versions[k] += n
		}
		for k, n := range d.TLS.CipherSuites {
			out.CipherSuites[k] += n
		}
	}
	return out
}

// mergeTargets adds up the per-target counters by target.
func mergeTargets(docs []*JSONReport) []JSONTarget {
	var out []JSONTarget
	at := map[string]int{}
	for _, d := range docs {
		for _, t := range d.Targets {
			i, ok := at[t.Target]
			if !ok {
				i = len(out)
				at[t.Target] = i
				out = append(out, JSONTarget{Target: t.Target, Weight: t.Weight})
			}
			o := &out[i]
			o.MessagesAttempted += t.MessagesAttempted
			o.MessagesOK += t.MessagesOK
			o.MessagesRejected += t.MessagesRejected
			o.MessagesFailed += t.MessagesFailed
			o.Connections += t.Connections
			o.ConnectAttempts += t.ConnectAttempts
			o.BytesSent += t.BytesSent
		}
	}
	return out
}

// mergeConfig keeps the config members every result agrees on and lists the
// others, which the merged config leaves out.
func mergeConfig(docs []*JSONReport) (RunConfig, []Difference) {
	sets := make([]map[string]json.RawMessage, len(docs))
	for i, d := range docs {
		sets[i] = rawMembers(d.Config)
	}
	keys := map[string]bool{}
	for _, s := range sets {
		for k := range s {
			keys[k] = true
		}
	}
	common := map[string]json.RawMessage{}
	var diffs []Difference
	for _, k := range sortedKeys(keys) {
		vals := make([]json.RawMessage, len(sets))
		for i, s := range sets {
			vals[i] = compact(s[k])
		}
		if d, differ := difference("config."+k, vals); differ {
			diffs = append(diffs, d)
			continue
		}
		common[k] = vals[0]
	}
	var out RunConfig
	if b, err := json.Marshal(common); err == nil {
		_ = json.Unmarshal(b, &out) // members of one RunConfig's own encoding
	}
	return out, diffs
}

// mergedMembers are the JSONReport members Merge computes; any other
// (added to JSONReport after this was written) is kept when every result
// has the same value and listed as a difference otherwise.
var mergedMembers = map[string]bool{
	"schema": true, "hdr_unit": true, "target": true, "config": true, "started_at": true, "elapsed_s": true,
	"load_model": true, "stop_reason": true, "stopped_at_s": true, "last_message_at_s": true, "sizes": true, "targets": true, "tls": true, "totals": true, "warmup": true, "phases": true, "replies": true,
	"errors": true, "intervals": true, "warnings": true, "merged": true, "generator": true, "server": true,
	"pipelining": true, "phase_sources": true, "session_limits": true, "profiles": true, "mix_totals": true, "delivery": true, "stages": true,
}

// mergeSessionLimits adds up the sessions the server ended, keeps the range
// of messages they carried and the first reply, and says it again.
func mergeSessionLimits(docs []*JSONReport) *JSONSessionLimits {
	var out *JSONSessionLimits
	for _, d := range docs {
		s := d.SessionLimits
		if s == nil {
			continue
		}
		if out == nil {
			c := *s
			out = &c
			continue
		}
		out.Sessions += s.Sessions
		out.MessagesMin = min(out.MessagesMin, s.MessagesMin)
		out.MessagesMax = max(out.MessagesMax, s.MessagesMax)
	}
	if out != nil {
		out.Summary = out.summary()
	}
	return out
}

func mergeOtherMembers(out *JSONReport, docs []*JSONReport, handled map[string]bool) []Difference {
	var diffs []Difference
	ov := reflect.ValueOf(out).Elem()
	for i := range ov.NumField() {
		name, _, _ := strings.Cut(ov.Type().Field(i).Tag.Get("json"), ",")
		// A member Merge has already filled in is never replaced by one
		// result's value, even when it is missing from handled.
		if name == "" || name == "-" || handled[name] || !ov.Field(i).IsZero() {
			continue
		}
		vals := make([]json.RawMessage, len(docs))
		for k, d := range docs {
			b, err := json.Marshal(reflect.ValueOf(d).Elem().Field(i).Interface())
			if err != nil {
				b = []byte("null")
			}
			vals[k] = b
		}
		if d, differ := difference(name, vals); differ {
			diffs = append(diffs, d)
		} else {
			ov.Field(i).Set(reflect.ValueOf(docs[0]).Elem().Field(i))
		}
	}
	return diffs
}

// difference reports whether the values (nil for a missing one) are not
// all the same, and if so lists them.
func difference(field string, vals []json.RawMessage) (Difference, bool) {
	differ := false
	for i, v := range vals {
		if v == nil {
			vals[i] = json.RawMessage("null")
			differ = true
		}
		if !bytes.Equal(vals[i], vals[0]) {
			differ = true
		}
	}
	return Difference{Field: field, Values: vals}, differ
}

// ConfigMembers turns a config (as read back, or as a struct) into its
// JSON members, for comparing two configs member by member; nil when it
// cannot.
func ConfigMembers(v any) map[string]json.RawMessage { return rawMembers(v) }

// CompactJSON removes the insignificant space of a JSON value, so that two
// equal values compare equal byte for byte.
func CompactJSON(v json.RawMessage) json.RawMessage { return compact(v) }

// rawMembers turns a config (as read back, or as a struct) into its members.
func rawMembers(v any) map[string]json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func compact(v json.RawMessage) json.RawMessage {
	if v == nil {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func maxStartSkew(docs []*JSONReport) time.Duration {
	lo, hi := docs[0].StartedAt, docs[0].StartedAt
	for _, d := range docs {
		if d.StartedAt.Before(lo) {
			lo = d.StartedAt
		}
		if d.StartedAt.After(hi) {
			hi = d.StartedAt
		}
	}
	return hi.Sub(lo)
}

// joinDistinct is the value every result shares, or the distinct values in
// order, comma-separated.
func joinDistinct(docs []*JSONReport, get func(*JSONReport) string) string {
	var vals []string
	seen := map[string]bool{}
	for _, d := range docs {
		if v := get(d); !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	return strings.Join(vals, ", ")
}
