package report

import (
	"strings"
	"testing"
)

func withServer(cpuUS float64, mem int64, ok int64) *JSONReport {
	v := cpuUS
	return &JSONReport{Totals: Totals{MessagesOK: ok, MessagesAttempted: ok, MessagesPerS: float64(ok)},
		Phases: map[string]Summary{}, Server: &ServerJSON{Method: "process_tree", CPUS: cpuUS * float64(ok) / 1e6,
			CPUUSPerMessage: &v, MemoryPeakBytes: mem}}
}

func TestCompareServerLines(t *testing.T) {
	var a, b []*JSONReport
	for i := range 6 {
		a = append(a, withServer(100+float64(i), 10<<20, 1000))
		b = append(b, withServer(300+float64(i), 10<<20+int64(i), 1000))
	}
	c, err := Compare(CompareGroup{Name: "A", Runs: a}, CompareGroup{Name: "B", Runs: b}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cpu, ok := c.Line(LineServerCPU)
	if !ok || cpu.Verdict != VerdictWorse || !cpu.WorseBy(20) || cpu.WorseBy(300) || cpu.Unit != "µs" {
		t.Errorf("server cpu/msg: %+v", cpu)
	}
	mem, ok := c.Line(LineServerMemory)
	if !ok || mem.Unit != "MiB" || mem.WorseBy(1) {
		t.Errorf("server memory: %+v", mem)
	}
	var out strings.Builder
	if err := WriteCompareTable(&out, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "server cpu/msg (µs)") || !strings.Contains(out.String(), "B more CPU") {
		t.Errorf("table:\n%s", out.String())
	}
	for _, name := range []string{"server-cpu", "server-memory"} {
		if _, err := ParseLine(name); err != nil {
			t.Errorf("ParseLine(%q): %v", name, err)
		}
	}
}

func TestCompareWithoutServerHasNoServerLines(t *testing.T) {
	r := &JSONReport{Totals: Totals{MessagesOK: 1}, Phases: map[string]Summary{}}
	c, err := Compare(CompareGroup{Name: "A", Runs: []*JSONReport{r, r}}, CompareGroup{Name: "B", Runs: []*JSONReport{r, r}}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Line(LineServerCPU); ok {
		t.Error("a server cpu/msg line without any server figures")
	}
}

// Generators side by side measured one server: the merge keeps the largest
// figures and divides by all generators' messages.
func TestMergeServerTakesLargestNotSum(t *testing.T) {
	a, b := withServer(100, 20<<20, 1000), withServer(120, 30<<20, 1000) // cpu_s 0.1 and 0.12
	s := mergeServer([]*JSONReport{a, b}, 2000)
	if s == nil || s.CPUS != 0.12 || s.MemoryPeakBytes != 30<<20 || s.CPUUSPerMessage == nil || *s.CPUUSPerMessage != 60 {
		t.Fatalf("merged server %+v", s)
	}
	if mergeServer([]*JSONReport{{}, {}}, 1) != nil {
		t.Error("a server object from results without one")
	}
}
