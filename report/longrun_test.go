package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
)

// A live file cut short mid-line (a killed run) reads as a partial result
// of its complete seconds.
func TestReadLiveSkipsCutLine(t *testing.T) {
	h := metrics.NewHistogram()
	h.RecordValues(1500, 10)
	var b bytes.Buffer
	b.WriteString(`{"schema":"smtpbench/v1","kind":"live","hdr_unit":"us","target":"127.0.0.1:25","started_at":"2026-12-06T10:00:00Z","load_model":"open"}` + "\n")
	b.WriteString(`{"t":0,"ok":10,"failed":0,"messages_per_s":10,"p50_ms":1.5,"p99_ms":1.5,"hdr":"` + EncodeHistogram(h) + `"}` + "\n")
	b.WriteString(`{"t":1,"ok":7,"failed":3,"messages_per_s":7,"p50_ms":1.5,"p99_ms":1.5,"hdr":"` + EncodeHistogram(h) + `"}` + "\n")
	b.WriteString(`{"t":2,"ok":9,"fai`)
	d, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	j := d.Runs[0].JSONReport
	if len(j.Intervals) != 2 || j.Totals.MessagesOK != 17 || j.Totals.MessagesFailed != 3 || j.Totals.MessagesAttempted != 20 || j.ElapsedS != 2 {
		t.Fatalf("partial result %+v", j.Totals)
	}
	if m := j.Phases["message"]; m.Count != 20 || m.P50MS < 1.4 || m.P50MS > 1.6 {
		t.Errorf("message phase %+v", m)
	}
	if len(j.Warnings) != 2 {
		t.Errorf("warnings %q: want the partial-result one and the skipped line", j.Warnings)
	}
	// The file has no connections, recipients or bytes: the table must not
	// print them as zeros.
	var tb bytes.Buffer
	if err := WriteRunTable(&tb, j); err != nil {
		t.Fatal(err)
	}
	if out := tb.String(); strings.Contains(out, "connections 0") || strings.Contains(out, "0 bytes") || !strings.Contains(out, "not in a live file") {
		t.Errorf("table of a live file:\n%s", out)
	}
	// Nor once merged with another.
	m, err := Merge([]*JSONReport{j, j}, []string{"a.live", "b.live"})
	if err != nil {
		t.Fatal(err)
	}
	tb.Reset()
	if err := WriteRunTable(&tb, m); err != nil {
		t.Fatal(err)
	}
	if out := tb.String(); !strings.Contains(out, "not in a live file") {
		t.Errorf("table of two merged live files:\n%s", out)
	}
}

// Stages of generators that ran side by side merge by their place in the
// profile: counts, rates and targets add up, histograms merge.
func TestMergeStages(t *testing.T) {
	var docs []*JSONReport
	for i := range 2 {
		res := fixedResult()
		res.StartedAt = res.StartedAt.Add(time.Duration(i) * time.Second)
		h := metrics.NewHistogram()
		h.RecordValues(int64(1000*(i+1)), 100)
		res.Stages = []Stage{
			{Start: 0, End: time.Second, From: 0, Target: 10, OK: 100, HDR: EncodeHistogram(h)},
			{Start: time.Second, End: 2 * time.Second, From: 10, Target: 20, OK: 200, Failed: 1, HDR: EncodeHistogram(h)},
		}
		docs = append(docs, roundTrip(t, res))
	}
	m, err := Merge(docs, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Stages) != 2 {
		t.Fatalf("merged stages %+v", m.Stages)
	}
	s := m.Stages[1]
	if s.MessagesOK != 400 || s.Errors != 2 || s.Target != 40 || s.From != 20 || s.MessagesPerS != 400 {
		t.Errorf("merged stage 2: %+v", s)
	}
	if s.P50MS != 1 || s.P99MS != 2 {
		t.Errorf("merged stage 2 percentiles %g and %g ms, want 1 and 2", s.P50MS, s.P99MS)
	}
}
