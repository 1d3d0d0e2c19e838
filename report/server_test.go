package report

import (
	"testing"
)

func withServer(cpuUS float64, mem int64, ok int64) *JSONReport {
	v := cpuUS
	return &JSONReport{Totals: Totals{MessagesOK: ok, MessagesAttempted: ok, MessagesPerS: float64(ok)},
		Phases: map[string]Summary{}, Server: &ServerJSON{Method: "process_tree", CPUS: cpuUS * float64(ok) / 1e6,
			CPUUSPerMessage: &v, MemoryPeakBytes: mem}}
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
