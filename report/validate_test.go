package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestReadRefusesWhatCannotBeAMeasurement: a document that is not one, or
// whose figures cannot have been measured, is refused in one line that says
// what is wrong and where, in JSON's words rather than Go's.
func TestReadRefusesWhatCannotBeAMeasurement(t *testing.T) {
	var good bytes.Buffer
	if err := WriteJSON(&good, fixedResult()); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON(bytes.NewReader(good.Bytes())); err != nil {
		t.Fatalf("the unaltered document: %v", err)
	}
	// edit changes one field of the saved run.
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		json.Unmarshal(good.Bytes(), &m)
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	totals := func(m map[string]any) map[string]any { return m["totals"].(map[string]any) }
	phase := func(m map[string]any, name string) map[string]any {
		return m["phases"].(map[string]any)[name].(map[string]any)
	}
	big := strings.Replace(good.String(), `"messages_ok": 990`, `"messages_ok": 99999999999999999999`, 1)
	huge := strings.Replace(good.String(), `"elapsed_s": 2`, `"elapsed_s": 1e400`, 1)
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"array", `[{"schema":"smtpbench/v1"}]`, []string{"JSON array"}},
		{"empty", ``, []string{"empty"}},
		{"a number", `42`, []string{"not a smtpbench report"}},
		{"number too big for a count", big, []string{"totals.messages_ok", "99999999999999999999", "whole number"}},
		{"number too big for any", huge, []string{"elapsed_s", "too large"}},
		{"string for a count", edit(func(m map[string]any) { totals(m)["messages_ok"] = "many" }), []string{"totals.messages_ok", "string", "whole number"}},
		{"negative count", edit(func(m map[string]any) {
			totals(m)["messages_ok"] = -3.0
			totals(m)["messages_attempted"] = 987.0
		}), []string{"totals.messages_ok", "-3", "negative"}},
		{"negative duration", edit(func(m map[string]any) { m["stopped_at_s"] = -5.0 }), []string{"stopped_at_s", "-5", "negative"}},
		{"negative phase count", edit(func(m map[string]any) { phase(m, "message")["count"] = -1.0 }), []string{"phases.message.count", "negative"}},
		{"totals that do not add up", edit(func(m map[string]any) { totals(m)["messages_ok"] = 5.0 }), []string{"messages_attempted 1000", "5 + 10 + 0"}},
		{"not a time", edit(func(m map[string]any) { m["started_at"] = "yesterday" }), []string{"started_at", `"yesterday"`, "RFC 3339"}},
		{"corrupt hdr", edit(func(m map[string]any) { phase(m, "message")["hdr"] = "HISTFAAAAnotbase64!!" }), []string{"phases.message.hdr", "decoding"}},
		{"hdr of another count", edit(func(m map[string]any) { phase(m, "message")["count"] = 3.0 }), []string{"phases.message.hdr", "count is 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			for _, goWord := range []string{"Go value", "Go struct", "int64", "float64", "struct {", "json:"} {
				if strings.Contains(msg, goWord) {
					t.Errorf("%q speaks Go (%q)", msg, goWord)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("%q is more than one line", msg)
			}
		})
	}
}

// TestReadIsBounded: endless input is refused after MaxDocumentBytes, not
// read until memory runs out.
func TestReadIsBounded(t *testing.T) {
	_, err := ReadJSON(endless{})
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("endless input: %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}
