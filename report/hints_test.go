package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// The classes about this host render in the table with one hint each, and in
// the JSON with the hint beside the count.
func TestHostClassesRenderWithHints(t *testing.T) {
	res := fixedResult()
	res.Total.Errors[metrics.ErrorKey{Phase: session.PhaseConnect, Class: session.ClassLocalPorts, Code: 0}] = 7
	res.Total.Errors[metrics.ErrorKey{Phase: session.PhaseConnect, Class: session.ClassLocalFDs, Code: 0}] = 2
	res.Total.Errors[metrics.ErrorKey{Phase: session.PhaseConnect, Class: session.ClassResolve, Code: 0}] = 1

	var table bytes.Buffer
	if err := WriteTable(&table, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"local_ports  -     7", "local_fds    -     2", "resolve      -     1",
		"hint (local_ports): out of local ports: use --per-conn 0",
		"hint (local_fds): smtpbench ran out of file descriptors",
		"hint (resolve): "} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if n := strings.Count(table.String(), "hint ("); n != 3 {
		t.Errorf("table has %d hints, want 3", n)
	}

	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	var doc struct{ Errors []ErrorCount }
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]ErrorCount{}
	for _, e := range doc.Errors {
		got[e.Class] = e
	}
	if e := got["local_ports"]; e.Count != 7 || !strings.Contains(e.Hint, "--per-conn 0") {
		t.Errorf("JSON local_ports = %+v", e)
	}
	if e := got["local_fds"]; e.Count != 2 || !strings.Contains(e.Hint, "ulimit -n") {
		t.Errorf("JSON local_fds = %+v", e)
	}
	if e := got["perm_reject"]; e.Hint != "" {
		t.Errorf("a server's rejection got a hint: %+v", e)
	}
}
