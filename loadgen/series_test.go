package loadgen

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/analysis"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

// recordHooks keeps the names a series reports, in order.
type recordHooks struct {
	mu            sync.Mutex
	started, done []string
	okOfDone      []int64
}

func (h *recordHooks) RunStarting(name string) func(Progress) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started = append(h.started, name)
	return nil
}

func (h *recordHooks) RunDone(name string, j *report.JSONReport) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = append(h.done, name)
	h.okOfDone = append(h.okOfDone, j.Totals.MessagesOK)
}

// A concurrency sweep runs each step against the server once, in order,
// records what each sent, and reports each run to the hooks.
func TestSweepRunsEachStep(t *testing.T) {
	srv := startSink(t, sink.Config{})
	plan := SweepPlan{
		Base:          Config{Target: srv.Addr(), Concurrency: 1, Messages: 60, Data: testData(t)},
		Varies:        report.VariesConcurrency,
		Concurrencies: []int{1, 2, 3},
		Warnings:      []string{"a caller's warning"},
	}
	if err := plan.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &recordHooks{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	doc, err := Sweep(ctx, plan, h)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"step 1/3 c=1", "step 2/3 c=2", "step 3/3 c=3"}
	if !reflect.DeepEqual(h.started, want) || !reflect.DeepEqual(h.done, want) {
		t.Errorf("hooks saw %q started and %q done, want %q", h.started, h.done, want)
	}
	if got := len(doc.Sweep.Steps); got != 3 || len(doc.Runs) != 3 {
		t.Fatalf("%d steps and %d runs, want 3", got, len(doc.Runs))
	}
	for i, st := range doc.Sweep.Steps {
		r := doc.Runs[i]
		if st.Concurrency != i+1 || r.Config.Concurrency != i+1 || r.Totals.MessagesOK != 60 {
			t.Errorf("step %d: concurrency %d (echo %d), %d ok; want %d and 60 ok", i+1, st.Concurrency, r.Config.Concurrency, r.Totals.MessagesOK, i+1)
		}
		if len(r.Warnings) == 0 || r.Warnings[len(r.Warnings)-1] != "a caller's warning" {
			t.Errorf("step %d warnings %q: the caller's is missing", i+1, r.Warnings)
		}
	}
	if got := srv.Accepted(); got != 180 {
		t.Errorf("server accepted %d messages, want 180", got)
	}
	if doc.Sweep.Interrupted || doc.Kind != report.KindSweep || doc.StartedAt.IsZero() {
		t.Errorf("document: interrupted %v kind %q started %v", doc.Sweep.Interrupted, doc.Kind, doc.StartedAt)
	}

	// A step the Config refuses is found before any load.
	plan.Concurrencies = []int{1, MaxConcurrency + 1}
	var ce *ConfigError
	if err := plan.Validate(); !errors.As(err, &ce) || ce.Field != "Concurrency" {
		t.Errorf("Validate of a step above MaxConcurrency: %v, want a ConfigError on Concurrency", err)
	}
}

// ab alternates A and B round after round; a side with no server ends the
// rounds with a NoSessionError, keeping the runs so far.
func TestABAlternatesAndStopsWithoutAServer(t *testing.T) {
	a, b := startSink(t, sink.Config{}), startSink(t, sink.Config{})
	plan := ABPlan{
		Base:    Config{Concurrency: 2, Messages: 40, Data: testData(t), Session: session.Options{Timeout: time.Second}},
		Targets: [2]string{a.Addr(), b.Addr()},
		Rounds:  2,
	}
	h := &recordHooks{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	doc, err := AB(ctx, plan, h)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"round 1/2 A " + a.Addr(), "round 1/2 B " + b.Addr(), "round 2/2 A " + a.Addr(), "round 2/2 B " + b.Addr()}
	if !reflect.DeepEqual(h.done, want) {
		t.Errorf("runs %q, want %q", h.done, want)
	}
	if doc.AB.Completed != 2 || len(doc.RunsLabeled("A")) != 2 || len(doc.RunsLabeled("B")) != 2 {
		t.Errorf("completed %d rounds, %d A and %d B runs; want 2 each", doc.AB.Completed, len(doc.RunsLabeled("A")), len(doc.RunsLabeled("B")))
	}
	if a.Accepted() != 80 || b.Accepted() != 80 {
		t.Errorf("A accepted %d and B %d, want 80 each", a.Accepted(), b.Accepted())
	}

	b.Close()
	doc, err = AB(ctx, plan, nil)
	var ns *NoSessionError
	if !errors.As(err, &ns) || len(ns.Targets) != 1 || ns.Targets[0] != b.Addr() {
		t.Fatalf("B closed: error %v, want a NoSessionError naming %s", err, b.Addr())
	}
	if doc == nil || len(doc.Runs) != 2 || doc.AB.Completed != 0 {
		t.Fatalf("B closed: want A's run and B's kept and no round completed, got %+v", doc)
	}
	if got := AcceptedNothing(doc.Runs); !reflect.DeepEqual(got, []string{"B of round 1"}) {
		t.Errorf("runs that accepted nothing: %q, want B of round 1", got)
	}
}

// A capacity search probes at RateMax first; a server that keeps every
// objective there has that capacity, and the search records its settings.
func TestSweepSearchRecordsProbes(t *testing.T) {
	srv := startSink(t, sink.Config{})
	slo, err := analysis.ParseSLO("message:p99=10s")
	if err != nil {
		t.Fatal(err)
	}
	plan := SweepPlan{
		Base:   Config{Target: srv.Addr(), Concurrency: 4, Duration: 300 * time.Millisecond, Data: testData(t)},
		Varies: report.VariesSearch, RateMax: 200, PrecisionPct: 60, Probes: 2,
		Objectives: []analysis.SLO{slo}, MaxErrorPct: 1,
	}
	if err := plan.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	doc, err := Sweep(ctx, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := doc.Sweep.Search
	if q == nil || q.Capacity != 200 || q.MaxProbes != 2 || len(q.SLO) != 1 || q.SLO[0] != slo.String() {
		t.Fatalf("search %+v: want capacity 200 of at most 2 probes under %s", q, slo)
	}
	st := doc.Sweep.Steps[0]
	if st.Label != "rate=200" || st.SLOMet == nil || !*st.SLOMet {
		t.Errorf("first probe %q met %v: want rate=200, met", st.Label, st.SLOMet)
	}
}
