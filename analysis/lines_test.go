package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/report"
)

// Compare gains a delivered/s line and the delivery percentiles.
func TestDeliveryCompareLines(t *testing.T) {
	start := time.Now()
	a := roundTrip(t, withDelivery(generatorResult(start, []int64{100, 200}, report.RunConfig{}), []int64{2}, 0))
	b := roundTrip(t, withDelivery(generatorResult(start, []int64{100, 200}, report.RunConfig{}), []int64{2}, 0))
	c, err := Compare(CompareGroup{Name: "a", Runs: []*report.JSONReport{a}}, CompareGroup{Name: "b", Runs: []*report.JSONReport{b}}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{report.LineDeliveredPerS, "delivery:p50", "delivery:p99"} {
		if _, ok := c.Line(name); !ok {
			t.Errorf("no %s line", name)
		}
	}
}

func TestCompareServerLines(t *testing.T) {
	var a, b []*report.JSONReport
	for i := range 6 {
		a = append(a, withServer(100+float64(i), 10<<20, 1000))
		b = append(b, withServer(300+float64(i), 10<<20+int64(i), 1000))
	}
	c, err := Compare(CompareGroup{Name: "A", Runs: a}, CompareGroup{Name: "B", Runs: b}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cpu, ok := c.Line(report.LineServerCPU)
	if !ok || cpu.Verdict != report.VerdictWorse || !cpu.WorseBy(20) || cpu.WorseBy(300) || cpu.Unit != "µs" {
		t.Errorf("server cpu/msg: %+v", cpu)
	}
	mem, ok := c.Line(report.LineServerMemory)
	if !ok || mem.Unit != "MiB" || mem.WorseBy(1) {
		t.Errorf("server memory: %+v", mem)
	}
	var out strings.Builder
	if err := report.WriteCompareTable(&out, c); err != nil {
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
	r := &report.JSONReport{Totals: report.Totals{MessagesOK: 1}, Phases: map[string]report.Summary{}}
	c, err := Compare(CompareGroup{Name: "A", Runs: []*report.JSONReport{r, r}}, CompareGroup{Name: "B", Runs: []*report.JSONReport{r, r}}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Line(report.LineServerCPU); ok {
		t.Error("a server cpu/msg line without any server figures")
	}
}
