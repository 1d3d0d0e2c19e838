package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

func TestReadJSONSingleRun(t *testing.T) {
	res := fixedResult()
	res.Config = RunConfig{Concurrency: 50}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	d, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindRun || len(d.Runs) != 1 || d.Runs[0].Label != "" {
		t.Fatalf("kind %q with %d runs", d.Kind, len(d.Runs))
	}
	j := d.Runs[0].JSONReport
	want := BuildJSON(res)
	if j.Totals != want.Totals || j.Target != want.Target || len(j.Intervals) != len(want.Intervals) {
		t.Errorf("read back %+v, want %+v", j.Totals, want.Totals)
	}
	if j.Config.Concurrency != 50 {
		t.Errorf("config %#v", j.Config)
	}
	// Every histogram decodes to what was recorded, count for count.
	for p := session.Phase(0); p < session.NumPhases; p++ {
		h, err := j.Phases[p.String()].Histogram()
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		orig := res.Total.Phases[p]
		if h.TotalCount() != orig.TotalCount() || h.ValueAtQuantile(99) != orig.ValueAtQuantile(99) || h.Max() != orig.Max() {
			t.Errorf("%v: decoded %d values (p99 %d), recorded %d (p99 %d)", p, h.TotalCount(), h.ValueAtQuantile(99), orig.TotalCount(), orig.ValueAtQuantile(99))
		}
	}
}

func TestReadJSONDocument(t *testing.T) {
	a, b := BuildJSON(fixedResult()), BuildJSON(fixedResult())
	doc := &Document{Schema: Schema, Kind: KindAB, AB: &ABJSON{A: "a:25", B: "b:25", Rounds: 1, Completed: 1},
		Runs: []LabeledRun{{Label: "A", Round: 1, JSONReport: a}, {Label: "B", Round: 1, JSONReport: b}}}
	var buf bytes.Buffer
	if err := WriteDocument(&buf, doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"label": "A"`) || !strings.Contains(buf.String(), `"hdr": "HISTF`) {
		t.Errorf("document lacks labels or histograms:\n%.600s", buf.String())
	}
	d, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != KindAB || d.AB.B != "b:25" || len(d.Runs) != 2 || d.Runs[1].Round != 1 {
		t.Fatalf("read back %+v", d)
	}
	if got := d.Labels(); len(got) != 2 || got[0] != "A" || got[1] != "B" {
		t.Errorf("labels %q", got)
	}
	if rs := d.RunsLabeled("B"); len(rs) != 1 || rs[0].Totals != b.Totals {
		t.Errorf("runs labelled B: %+v", rs)
	}
	if _, err := d.Runs[0].Phases["body"].Histogram(); err != nil {
		t.Error(err)
	}
}

func TestReadJSONRefuses(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not JSON", `hello`, "not a JSON document"},
		{"no schema", `{"target": "x"}`, "not a smtpbench report"},
		{"other schema", `{"schema": "smtpbench/v2"}`, `schema "smtpbench/v2"`},
		{"unknown kind", `{"schema": "smtpbench/v1", "kind": "party", "runs": []}`, `kind "party"`},
		{"run not a report", `{"schema": "smtpbench/v1", "kind": "ab", "runs": [{"label": "A"}]}`, "run 1 of the ab document"},
		{"wrong types", `{"schema": "smtpbench/v1", "totals": {"messages_ok": "many"}}`, "reading the run"},
	}
	for _, tt := range tests {
		_, err := ReadJSON(strings.NewReader(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.want)
		}
	}
	if _, err := (Summary{Count: 3}).Histogram(); err == nil {
		t.Error("a summary with samples and no hdr decoded")
	}
	if _, err := (Summary{Count: 3, HDR: "HISTFAAAAgarbage"}).Histogram(); err == nil {
		t.Error("garbage hdr decoded")
	}
	good := Summarize(metrics.NewHistogram())
	good.Count = 5
	if _, err := good.Histogram(); err == nil || !strings.Contains(err.Error(), "count is 5") {
		t.Errorf("count mismatch: %v", err)
	}
}
