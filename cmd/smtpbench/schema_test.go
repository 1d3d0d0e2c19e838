package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/smtpbench/smtpbench/sink"
)

// compileSchema loads the published JSON Schema of smtpbench/v1 documents.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	const file = "../../docs/smtpbench-v1.schema.json"
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("smtpbench-v1.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("smtpbench-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateDoc(t *testing.T, s *jsonschema.Schema, name string, raw []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: not JSON: %v", name, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s does not validate against docs/smtpbench-v1.schema.json:\n%v", name, err)
	}
}

// TestDocumentsValidateAgainstSchema writes one document of each kind with
// the real commands and checks each against the published schema.
func TestDocumentsValidateAgainstSchema(t *testing.T) {
	s := compileSchema(t)
	a := startTestSink(t, sink.Config{}).Addr()
	b := startTestSink(t, sink.Config{}).Addr()
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }

	steps := []struct {
		name string
		args []string
	}{
		{"run.json", []string{"run", "-c", "2", "-d", "1200ms", "--warmup", "200ms", "--out", path("run.json"), a}},
		{"run2.json", []string{"run", "-c", "2", "-d", "1200ms", "--warmup", "200ms", "--out", path("run2.json"), a}},
		{"run3.json", []string{"run", "-c", "2", "-n", "50", "--size", "1KiB:1,4KiB:1", "--out", path("run3.json"), "--target", b, a}},
		{"merged.json", []string{"merge", "--out", path("merged.json"), path("run.json"), path("run2.json")}},
		{"sweep.json", []string{"sweep", "-c", "1,2", "-d", "300ms", "--out", path("sweep.json"), a}},
		{"ab.json", []string{"ab", "-c", "2", "-d", "300ms", "--rounds", "2", "--out", path("ab.json"), a, b}},
	}
	for _, st := range steps {
		if code, _, errOut := cliRun(t, st.args...); code != exitOK {
			t.Fatalf("smtpbench %s: exit %d\n%s", strings.Join(st.args, " "), code, errOut)
		}
		raw, err := os.ReadFile(path(st.name))
		if err != nil {
			t.Fatal(err)
		}
		validateDoc(t, s, st.name, raw)
	}

	// The schema must be able to fail: a negative count and an unknown
	// member are refused.
	raw, _ := os.ReadFile(path("run.json"))
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["totals"].(map[string]any)["messages_ok"] = -3
	doc["no_such_member"] = true
	bad, _ := json.Marshal(doc)
	v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	err := s.Validate(v)
	if err == nil || !strings.Contains(err.Error(), "messages_ok") || !strings.Contains(err.Error(), "no_such_member") {
		t.Errorf("a negative count and an unknown member validate: %v", err)
	}
}
