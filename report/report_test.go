package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/internal/metricstest"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixedResult is a deterministic result: every figure below is known.
func fixedResult() *Result {
	rec := metricstest.Sample()
	return &Result{
		Target: "127.0.0.1:2525", StartedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Elapsed: 2 * time.Second, StopReason: "messages", Total: rec,
		Intervals: []Interval{{T: 0, OK: 600, P50: time.Millisecond, P99: 2 * time.Millisecond}, {T: 1, OK: 390, Failed: 10}},
		Warnings:  []string{"example warning"},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestWriteTableGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, fixedResult()); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", b.Bytes())
}

func TestWriteJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, fixedResult()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json.golden", b.Bytes())
}

func TestJSONFigures(t *testing.T) {
	j := BuildJSON(fixedResult())
	tot := j.Totals
	if tot.MessagesAttempted != 1000 || tot.MessagesOK != 990 || tot.MessagesRejected != 10 || tot.MessagesFailed != 0 {
		t.Errorf("totals %+v", tot)
	}
	if tot.MessagesPerS != 495 {
		t.Errorf("messages_per_s %g, want 990/2 s", tot.MessagesPerS)
	}
	mail := j.Phases["mail"]
	// 1..1000 µs: p50 is 0.5 ms, p99 0.99 ms, max 1 ms (3 significant digits).
	if mail.Count != 1000 || mail.P50MS != 0.5 || mail.P99MS != 0.99 || mail.MaxMS != 1 || mail.MinMS != 0.001 {
		t.Errorf("mail summary %+v", mail)
	}
	if j.Replies["data"]["354"] != 1000 {
		t.Errorf("replies %v", j.Replies)
	}
	if len(j.Errors) != 1 || j.Errors[0] != (ErrorCount{Phase: "rcpt", Class: "perm_reject", Code: 550, Count: 10, Text: "no such user"}) {
		t.Errorf("errors %+v", j.Errors)
	}
	if _, err := json.Marshal(j); err != nil {
		t.Fatal(err)
	}
}

// TestHDRRoundTrip checks the promise that the JSON's hdr field can be
// decoded and merged exactly.
func TestHDRRoundTrip(t *testing.T) {
	a, b := fixedResult(), fixedResult()
	ja, jb := BuildJSON(a), BuildJSON(b)
	ha, err := hdrhistogram.Decode([]byte(ja.Phases["message"].HDR))
	if err != nil {
		t.Fatal(err)
	}
	hb, err := hdrhistogram.Decode([]byte(jb.Phases["message"].HDR))
	if err != nil {
		t.Fatal(err)
	}
	ha.Merge(hb)
	direct := metrics.NewHistogram()
	direct.Merge(a.Total.Phases[session.PhaseMessage])
	direct.Merge(b.Total.Phases[session.PhaseMessage])
	if ha.TotalCount() != 2000 || !ha.Equals(direct) {
		t.Errorf("decoded and merged histogram differs: count %d", ha.TotalCount())
	}
}
