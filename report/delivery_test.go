package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/metricstest"
	"github.com/smtpbench/smtpbench/metrics"
)

// withDelivery adds a delivery object: accepted messages in the seconds
// given, delivered a second later, and deliveries of 200 ms each.
func withDelivery(res *Result, accepted []int64, lost int64) *Result {
	res.Delivery = metricstest.Delivery(accepted, lost)
	return res
}

// Merging adds delivery up on one timeline, the two phases merge like any
// other, and the HTML page draws both delivery charts.
func TestDeliveryMergeAndRender(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := roundTrip(t, withDelivery(generatorResult(start, []int64{100, 200, 300}, RunConfig{}), []int64{3}, 0))
	b := roundTrip(t, withDelivery(generatorResult(start, []int64{100, 200}, RunConfig{}), []int64{2}, 1))
	if a.Delivery == nil || a.Phases[metrics.SeriesDelivery].Count != 3 || a.Phases[metrics.SeriesEndToEnd].Count != 3 {
		t.Fatalf("saved delivery: %+v, phases %+v", a.Delivery, a.Phases[metrics.SeriesDelivery])
	}
	m, err := Merge([]*JSONReport{a, b}, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	d := m.Delivery
	if d == nil || d.Accepted != 5 || d.Delivered != 4 || d.Lost != 1 || m.Phases[metrics.SeriesDelivery].Count != 4 {
		t.Fatalf("merged delivery %+v, delivery count %d; want accepted 5, delivered 4, lost 1", d, m.Phases[metrics.SeriesDelivery].Count)
	}
	if len(d.Intervals) != 2 || d.Intervals[0].Accepted != 5 || d.Intervals[1].Delivered != 4 || d.Intervals[1].Backlog != 1 || d.BacklogMax != 5 {
		t.Errorf("merged intervals %+v, backlog_max %d", d.Intervals, d.BacklogMax)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, []*JSONReport{a, b}, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="chart-delivery-rate"`, `id="chart-delivery-backlog"`, `<table id="delivery">`, "a delivered", "b backlog"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML page lacks %s", want)
		}
	}
	var table bytes.Buffer
	if err := WriteRunTable(&table, a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "backlog peaked at 3, drained in 0.0 s, lost 0, duplicates 0") {
		t.Errorf("table does not lead with the delivery line:\n%s", table.String())
	}
}

// A result with a receiver and one without have different phases and are
// not merged.
func TestDeliveryMergeRefusesMixed(t *testing.T) {
	start := time.Now()
	a := roundTrip(t, withDelivery(generatorResult(start, []int64{100}, RunConfig{}), []int64{1}, 0))
	b := roundTrip(t, generatorResult(start, []int64{100}, RunConfig{}))
	if _, err := Merge([]*JSONReport{a, b}, []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "phases.") {
		t.Fatalf("merge of a result with a receiver and one without: %v", err)
	}
}
