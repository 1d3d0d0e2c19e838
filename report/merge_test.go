package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/internal/metricstest"
	"github.com/smtpbench/smtpbench/metrics"
)

// roundTrip writes res as the JSON document and reads it back, as merge and
// report see a saved result.
func roundTrip(t *testing.T, res *Result) *JSONReport {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	d, err := ReadJSON(&b)
	if err != nil {
		t.Fatalf("reading back: %v", err)
	}
	return d.Runs[0].JSONReport
}

// generatorResult is one generator's result holding the given message
// latencies (µs), all accepted, in interval 0.
func generatorResult(start time.Time, us []int64, cfg RunConfig) *Result {
	rec, iv := metricstest.Accepted(us)
	return &Result{
		Target: "127.0.0.1:2525", Config: cfg, StartedAt: start, Elapsed: time.Second, StopReason: "messages", Total: rec,
		Intervals: []Interval{{T: 0, OK: int64(len(us)),
			P50: time.Duration(iv.ValueAtQuantile(50)) * time.Microsecond,
			P99: time.Duration(iv.ValueAtQuantile(99)) * time.Microsecond, HDR: EncodeHistogram(iv)}},
	}
}

// newIvHist is the per-second histogram the timeline keeps.
func newIvHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)
}

// TestMergedHistogramEqualsHistogramOfAllSamples records the same samples
// two ways: split over three generators whose saved results are merged, and
// all in one histogram. The merged histogram must equal it count for count.
func TestMergedHistogramEqualsHistogramOfAllSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := metrics.NewHistogram()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var docs []*JSONReport
	var total int64
	for g := range 3 {
		us := make([]int64, 5000+g*1000)
		for i := range us {
			// Log-normal-ish latencies spanning 20 µs to about 1 s, so many
			// buckets and sub-buckets are hit.
			us[i] = int64(math.Exp(rng.NormFloat64()*1.5+5+float64(g))) + 20
			all.RecordValue(us[i])
		}
		total += int64(len(us))
		docs = append(docs, roundTrip(t, generatorResult(start.Add(time.Duration(g)*time.Millisecond), us, RunConfig{})))
	}
	merged, err := Merge(docs, []string{"a.json", "b.json", "c.json"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := merged.Phases["message"].Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equals(all) {
		t.Fatalf("merged histogram differs from the histogram of all samples: %d vs %d samples", got.TotalCount(), all.TotalCount())
	}
	wantBars, gotBars := all.Distribution(), got.Distribution()
	if len(wantBars) != len(gotBars) {
		t.Fatalf("%d bars merged, %d in the histogram of all samples", len(gotBars), len(wantBars))
	}
	for i := range wantBars {
		if wantBars[i] != gotBars[i] {
			t.Fatalf("bar %d: merged %v, all samples %v", i, gotBars[i], wantBars[i])
		}
	}
	if s, want := merged.Phases["message"], Summarize(all); s.Count != want.Count || s.P50MS != want.P50MS || s.P99MS != want.P99MS || s.P999MS != want.P999MS || s.MaxMS != want.MaxMS {
		t.Errorf("merged summary %+v, want %+v", s, want)
	}
	if merged.Totals.MessagesOK != total || merged.Totals.MessagesAttempted != total {
		t.Errorf("merged ok %d attempted %d, want %d", merged.Totals.MessagesOK, merged.Totals.MessagesAttempted, total)
	}
	if merged.Totals.Connections != 6 || merged.Totals.BytesSent != 1000*total {
		t.Errorf("connections %d bytes %d: not summed", merged.Totals.Connections, merged.Totals.BytesSent)
	}
	// All three started within 2 ms: one interval, holding every sample.
	if len(merged.Intervals) == 0 || merged.Intervals[0].OK != total {
		t.Fatalf("intervals %+v: want interval 0 with %d messages", merged.Intervals, total)
	}
	ivh, err := merged.Intervals[0].Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if ivh.TotalCount() != total {
		t.Errorf("interval 0 histogram holds %d samples, want %d", ivh.TotalCount(), total)
	}
}

// TestMergedP99IsNotMeanOfP99s builds three generators whose p99s differ
// widely: the merged p99 is that of all samples, far from their mean.
func TestMergedP99IsNotMeanOfP99s(t *testing.T) {
	repeat := func(v int64, n int) []int64 {
		s := make([]int64, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	gens := [][]int64{
		repeat(1000, 1000), // p99 1 ms
		append(repeat(1000, 980), repeat(100_000, 20)...), // 2 % at 100 ms: p99 100 ms
		repeat(2000, 1000), // p99 2 ms
	}
	var docs []*JSONReport
	var meanP99 float64
	for _, us := range gens {
		d := roundTrip(t, generatorResult(start, us, RunConfig{}))
		meanP99 += d.Phases["message"].P99MS / 3
		docs = append(docs, d)
	}
	if p := docs[1].Phases["message"].P99MS; p < 99 || p > 101 {
		t.Fatalf("constructed case is wrong: generator 2 p99 %.3f ms, want 100", p)
	}
	merged, err := Merge(docs, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	// 3000 samples: 1980 at 1 ms, 1000 at 2 ms, 20 at 100 ms (0.67 %), so
	// the 99th percentile is 2 ms.
	got := merged.Phases["message"].P99MS
	if math.Abs(got-2) > 0.002 {
		t.Errorf("merged p99 %.3f ms, want 2 ms (the p99 of all 3000 samples)", got)
	}
	if math.Abs(got-meanP99) < 1 {
		t.Errorf("merged p99 %.3f ms equals the mean of the p99s (%.3f ms)", got, meanP99)
	}
	if got := merged.Intervals[0].P99MS; math.Abs(got-2) > 0.05 {
		t.Errorf("merged interval p99 %.3f ms, want 2 ms", got)
	}
}

func TestMergeRefusesMismatches(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	base := func() *JSONReport { return roundTrip(t, generatorResult(start, []int64{100, 200}, RunConfig{})) }
	for _, tc := range []struct {
		name  string
		edit  func(d *JSONReport)
		field string
	}{
		{"load model", func(d *JSONReport) { d.LoadModel = "open" }, "load_model"},
		{"unit", func(d *JSONReport) { d.HDRUnit = "ns" }, "hdr_unit"},
		{"extra phase", func(d *JSONReport) { d.Phases["start_lag"] = Summary{} }, "phases.start_lag"},
		{"missing phase", func(d *JSONReport) { delete(d.Phases, "rset") }, "phases.rset"},
		{"precision", func(d *JSONReport) {
			h := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)
			h.RecordValue(100)
			s := Summarize(h)
			d.Phases["body"] = s
		}, "phases.body.hdr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := base()
			tc.edit(other)
			_, err := Merge([]*JSONReport{base(), other}, []string{"a.json", "b.json"})
			var me *MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("err %v, want a MismatchError", err)
			}
			if me.Field != tc.field {
				t.Errorf("error names %q, want %q (%v)", me.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), "a.json") || !strings.Contains(err.Error(), "b.json") {
				t.Errorf("error %q does not name the files", err)
			}
		})
	}
}

// TestMergeAlignsIntervalsByWallClock starts the second result 2.2 s after
// the first: its interval 0 belongs to the merged second 2.
func TestMergeAlignsIntervalsByWallClock(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	a := roundTrip(t, generatorResult(start, []int64{1000, 1000}, RunConfig{}))
	b := roundTrip(t, generatorResult(start.Add(2200*time.Millisecond), []int64{5000, 5000, 5000}, RunConfig{}))
	m, err := Merge([]*JSONReport{a, b}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Intervals) != 4 {
		t.Fatalf("%d intervals, want 4 (3.2 s rounded up): %+v", len(m.Intervals), m.Intervals)
	}
	for i, want := range []int64{2, 0, 3, 0} {
		if m.Intervals[i].OK != want || m.Intervals[i].T != i {
			t.Errorf("interval %d: t %d ok %d, want ok %d", i, m.Intervals[i].T, m.Intervals[i].OK, want)
		}
	}
	if m.Merged.Sources[1].OffsetS != 2 {
		t.Errorf("second source placed at +%d s, want +2", m.Merged.Sources[1].OffsetS)
	}
	if !m.StartedAt.Equal(start) || math.Abs(m.ElapsedS-3.2) > 1e-9 {
		t.Errorf("merged start %s elapsed %.3f, want %s and 3.2", m.StartedAt, m.ElapsedS, start)
	}
	if len(m.Warnings) == 0 || !strings.Contains(m.Warnings[0], "2.2 s apart") {
		t.Errorf("warnings %q: want one about the 2.2 s skew", m.Warnings)
	}
}

// TestMergeToleratesNewerDocuments reads documents with members this
// version does not know (a newer writer's top-level object, an extra phase,
// a new error member, a new counter) and merges them: the phases by name,
// the rest without failing.
func TestMergeToleratesNewerDocuments(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var docs []*JSONReport
	for i, host := range []string{"gen-a", "gen-b"} {
		res := generatorResult(start, []int64{100, 200, 300}, RunConfig{Concurrency: 10, Shard: []string{"0/2", "1/2"}[i]})
		var b bytes.Buffer
		if err := WriteJSON(&b, res); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		h := metrics.NewHistogram()
		h.RecordValue(int64(500 * (i + 1)))
		m["machine"] = map[string]any{"host": host}
		m["generator"] = map[string]any{"cores": 2 * (i + 1), "cpu_s": 1.5}
		m["phases"].(map[string]any)["tls"] = map[string]any{"count": 1, "hdr": EncodeHistogram(h)}
		m["errors"] = []any{map[string]any{"phase": "rcpt", "class": "perm_reject", "code": 550, "count": 2,
			"text": "550 no such user " + host, "origin": host}}
		m["totals"].(map[string]any)["tls_handshakes"] = 7
		raw, _ := json.Marshal(m)
		d, err := ReadJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("reading a document with unknown members: %v", err)
		}
		docs = append(docs, d.Runs[0].JSONReport)
	}
	merged, err := Merge(docs, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	if tls := merged.Phases["tls"]; tls.Count != 2 || tls.MaxMS != 1.0 {
		t.Errorf("unknown phase tls merged to %+v, want 2 samples, max 1 ms", tls)
	}
	if len(merged.Errors) != 1 || merged.Errors[0].Count != 4 || merged.Errors[0].Text != "550 no such user gen-a" {
		t.Errorf("errors %+v, want one bucket of 4 with the first file's text", merged.Errors)
	}
	if merged.Generator != nil || merged.Merged.Sources[1].Generator == nil || merged.Merged.Sources[1].Generator.Cores != 4 {
		t.Errorf("generator figures: merged %+v, second source %+v; want them per source", merged.Generator, merged.Merged.Sources[1].Generator)
	}
	diffs := differences(merged)
	if diffs["config.shard"] != `"0/2" "1/2"` {
		t.Errorf("differences %q: want config.shard listed per file", diffs)
	}
	if _, ok := diffs["config.concurrency"]; ok {
		t.Errorf("config.concurrency listed as a difference though both are 10")
	}
	if c := merged.Config; c.Concurrency != 10 || c.Shard != "" {
		t.Errorf("merged config: concurrency %d, want the common 10; shard %q, want none", c.Concurrency, c.Shard)
	}

	// Written and read back, the merged result is a run result like any.
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(merged); err != nil {
		t.Fatal(err)
	}
	again, err := ReadJSON(&b)
	if err != nil {
		t.Fatalf("reading the merged document: %v\n%s", err, b.String())
	}
	if r := again.Runs[0].JSONReport; r.Merged == nil || len(r.Merged.Sources) != 2 || r.Phases["tls"].Count != 2 {
		t.Errorf("merged document did not survive a round trip: %+v", r)
	}
}

// TestMergeOtherMembers: a member Merge does not compute (one added to
// JSONReport later) is kept when every result agrees and listed otherwise.
func TestMergeOtherMembers(t *testing.T) {
	a := &JSONReport{Target: "a:25", StopReason: "duration"}
	b := &JSONReport{Target: "b:25", StopReason: "duration"}
	handled := map[string]bool{}
	for k := range mergedMembers {
		handled[k] = k != "target" && k != "stop_reason"
	}
	out := &JSONReport{}
	diffs := mergeOtherMembers(out, []*JSONReport{a, b}, handled)
	if len(diffs) != 1 || diffs[0].Field != "target" || string(diffs[0].Values[0]) != `"a:25"` || string(diffs[0].Values[1]) != `"b:25"` {
		t.Errorf("differences %+v, want target listed", diffs)
	}
	if out.StopReason != "duration" || out.Target != "" {
		t.Errorf("merged stop_reason %q target %q: want the common one kept, the differing one left out", out.StopReason, out.Target)
	}
}

func differences(j *JSONReport) map[string]string {
	diffs := map[string]string{}
	for _, d := range j.Merged.Differences {
		var parts []string
		for _, v := range d.Values {
			parts = append(parts, string(v))
		}
		diffs[d.Field] = strings.Join(parts, " ")
	}
	return diffs
}

// TestDocumentTableMatchesRunTable renders a saved result and the live one:
// the same table.
func TestDocumentTableMatchesRunTable(t *testing.T) {
	res := fixedResult()
	var live, saved bytes.Buffer
	if err := WriteTable(&live, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunTable(&saved, roundTrip(t, res)); err != nil {
		t.Fatal(err)
	}
	if live.String() != saved.String() {
		t.Errorf("table of the saved result differs:\n--- live\n%s\n--- saved\n%s", live.String(), saved.String())
	}
}

func TestMergeSizesTargetsAndTimes(t *testing.T) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	a := roundTrip(t, generatorResult(start, []int64{100}, RunConfig{}))
	b := roundTrip(t, generatorResult(start.Add(500*time.Millisecond), []int64{100}, RunConfig{}))
	a.Sizes = []JSONSize{{Size: "1000", WeightPct: 75, Messages: 30}, {Size: "5000-9000", WeightPct: 25, Messages: 10}}
	b.Sizes = []JSONSize{{Size: "1000", WeightPct: 75, Messages: 45}, {Size: "5000-9000", WeightPct: 25, Messages: 15}}
	a.Targets = []JSONTarget{{Target: "a:25", Weight: 1, MessagesOK: 3, BytesSent: 10}, {Target: "b:25", Weight: 1, MessagesOK: 4}}
	b.Targets = []JSONTarget{{Target: "b:25", Weight: 1, MessagesOK: 5, BytesSent: 7}}
	a.TLS = &TLSReport{HandshakesFull: 2, Versions: map[string]int64{"TLS 1.3": 2}, CipherSuites: map[string]int64{"TLS_AES_128_GCM_SHA256": 2}}
	b.TLS = &TLSReport{HandshakesFull: 1, HandshakesResumed: 3, Versions: map[string]int64{"TLS 1.3": 4}, CipherSuites: map[string]int64{"TLS_AES_128_GCM_SHA256": 4}}
	a.StoppedAtS, a.LastMessageAtS = 0.9, 0.95
	b.StoppedAtS, b.LastMessageAtS = 0.8, 0.85
	m, err := Merge([]*JSONReport{a, b}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Sizes) != 2 || m.Sizes[0].Messages != 75 || m.Sizes[0].SharePct != 75 || m.Sizes[1].Messages != 25 {
		t.Errorf("sizes %+v: want 75 and 25 messages, shares over all", m.Sizes)
	}
	if len(m.Targets) != 2 || m.Targets[1].Target != "b:25" || m.Targets[1].MessagesOK != 9 || m.Targets[1].BytesSent != 7 {
		t.Errorf("targets %+v: want b:25 summed to 9 ok", m.Targets)
	}
	if tls := m.TLS; tls == nil || tls.HandshakesFull != 3 || tls.HandshakesResumed != 3 || tls.Versions["TLS 1.3"] != 6 || tls.CipherSuites["TLS_AES_128_GCM_SHA256"] != 6 {
		t.Errorf("tls %+v: want the handshakes added up", m.TLS)
	}
	// b started 0.5 s later: its stop at 0.8 s is 1.3 s into the merged run.
	if math.Abs(m.StoppedAtS-1.3) > 1e-6 || math.Abs(m.LastMessageAtS-1.35) > 1e-6 {
		t.Errorf("stopped_at_s %.3f last_message_at_s %.3f, want 1.3 and 1.35", m.StoppedAtS, m.LastMessageAtS)
	}
}

// notCounts are the integer members that are not counts, so merging a
// result with itself leaves them as they are: codes, weights, indexes,
// bounds and settings. Every other integer member of a result is a count,
// and Merge must add it up.
var notCounts = map[string]bool{
	"ErrorCount.Code": true, "JSONTarget.Weight": true, "JSONInterval.T": true,
	"JSONSessionLimits.MessagesMin": true, "JSONSessionLimits.MessagesMax": true, "JSONSessionLimits.Code": true,
	"GeneratorJSON.Cores": true, "GeneratorJSON.Shards": true, "MergeSource.OffsetS": true,
	"MergeSource.MessagesOK": true, "JSONProfile.Weight": true, "JSONDeliverySecond.T": true,
	// Derived from the merged per-second counts, not added up.
	"JSONDelivery.BacklogMax": true, "JSONDeliverySecond.Backlog": true,
}

// TestMergeAddsEveryCount merges a result with itself and checks, by
// reflection over the result type, that every count doubled: a count added
// to the type and forgotten in Merge fails here. Every count of the result
// is first set to a value of its own, and every optional member is present.
func TestMergeAddsEveryCount(t *testing.T) {
	d := roundTrip(t, fixedResult())
	d.SessionLimits = &JSONSessionLimits{Code: 421}
	d.Pipelining = []JSONPipelining{{Target: d.Target, Mode: "full"}}
	d.Targets = []JSONTarget{{Target: "a"}, {Target: "b"}}
	d.Sizes = []JSONSize{{Size: "1000"}}
	d.TLS = &TLSReport{}
	d.Warmup = &Totals{}
	d.MixTotals = &Totals{}
	d.PhaseSources = map[string]JSONPhaseSource{"rcpt": {Source: SourceLockstep}}
	d.Stages = []JSONStage{{Target: 10}}
	d.Delivery = &JSONDelivery{Receiver: "127.0.0.1:2631", Intervals: []JSONDeliverySecond{{T: 0}, {T: 1}}}
	d.Profiles = map[string]JSONProfile{"idle": {Ended: map[string]int64{"server_421": 0}, BadCommandReplies: map[string]int64{"500": 0}}}
	next := int64(1)
	fillCounts(reflect.ValueOf(d).Elem(), "JSONReport", &next)

	m, err := Merge([]*JSONReport{d, d}, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	checkDoubled(t, reflect.ValueOf(d).Elem(), reflect.ValueOf(m).Elem(), "JSONReport", "")
	for phase, codes := range d.Replies {
		for code, n := range codes {
			if got := m.Replies[phase][code]; got != 2*n {
				t.Errorf("replies.%s.%s: %d, merged with itself %d", phase, code, n, got)
			}
		}
	}
}

// fillCounts gives every count under v a distinct value, skipping what
// Merge derives from histograms (phases) or keeps per source.
func fillCounts(v reflect.Value, typ string, next *int64) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fillCounts(v.Elem(), v.Elem().Type().Name(), next)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || skipMember(f) {
				continue
			}
			if k := f.Type.Kind(); (k == reflect.Int || k == reflect.Int64) && !notCounts[typ+"."+f.Name] {
				v.Field(i).SetInt(*next)
				*next++
				continue
			}
			fillCounts(v.Field(i), f.Type.Name(), next)
		}
	case reflect.Slice:
		for i := range v.Len() {
			fillCounts(v.Index(i), v.Type().Elem().Name(), next)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			if e.Kind() == reflect.Int64 {
				e.SetInt(*next)
				*next++
			} else {
				fillCounts(e, e.Type().Name(), next)
			}
			v.SetMapIndex(k, e)
		}
	}
}

// skipMember: phases are merged as histograms (their counts come from the
// hdr, tested apart), replies are maps of counts (checked by the test),
// and merge information and config are not counts of the run.
func skipMember(f reflect.StructField) bool {
	switch f.Name {
	case "Phases", "Replies", "Merged", "Config", "Intervals", "Generator":
		return true
	}
	return false
}

func checkDoubled(t *testing.T, one, two reflect.Value, typ, path string) {
	t.Helper()
	switch one.Kind() {
	case reflect.Pointer:
		if one.IsNil() {
			return
		}
		if two.IsNil() {
			t.Errorf("%s: present in the result, absent from the merge", path)
			return
		}
		checkDoubled(t, one.Elem(), two.Elem(), one.Elem().Type().Name(), path)
	case reflect.Struct:
		for i := range one.NumField() {
			f := one.Type().Field(i)
			if !f.IsExported() || skipMember(f) {
				continue
			}
			p := path + "." + f.Name
			if k := f.Type.Kind(); (k == reflect.Int || k == reflect.Int64) && !notCounts[typ+"."+f.Name] {
				if a, b := one.Field(i).Int(), two.Field(i).Int(); b != 2*a {
					t.Errorf("%s: %d in the result, %d in the result merged with itself; want %d (a count Merge does not add up?)", p, a, b, 2*a)
				}
				continue
			}
			checkDoubled(t, one.Field(i), two.Field(i), f.Type.Name(), p)
		}
	case reflect.Slice:
		if k := one.Type().Elem().Kind(); k != reflect.Struct && k != reflect.Pointer {
			return // warnings, names: not counts
		}
		if one.Len() != two.Len() {
			t.Errorf("%s: %d entries in the result, %d in the merge", path, one.Len(), two.Len())
			return
		}
		for i := range one.Len() {
			checkDoubled(t, one.Index(i), two.Index(i), one.Type().Elem().Name(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		for _, k := range one.MapKeys() {
			p := fmt.Sprintf("%s[%v]", path, k)
			b := two.MapIndex(k)
			if !b.IsValid() {
				t.Errorf("%s: present in the result, absent from the merge", p)
				continue
			}
			a := one.MapIndex(k)
			if a.Kind() == reflect.Int64 {
				if b.Int() != 2*a.Int() {
					t.Errorf("%s: %d in the result, %d merged with itself; want %d", p, a.Int(), b.Int(), 2*a.Int())
				}
				continue
			}
			checkDoubled(t, a, b, a.Type().Name(), p)
		}
	}
}
