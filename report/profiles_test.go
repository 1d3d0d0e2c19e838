package report

import (
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// mixResult is a generator's result with a session mix: normal sessions
// and idle ones that the server ended after the given session times (ms).
func mixResult(start time.Time, idleMS []int64) *Result {
	res := generatorResult(start, []int64{100, 200}, RunConfig{Mix: "normal:1,idle:2"})
	idle := metrics.NewProfileRecorder()
	for _, ms := range idleMS {
		idle.End(metrics.EndServer421, time.Duration(ms)*time.Millisecond)
		idle.Observe(session.PhaseBanner, 220, time.Millisecond)
	}
	idle.Unanswered = 1
	res.Profiles = []ProfileResult{{Name: metrics.NormalProfile, Weight: 1, Workers: 1}, {Name: "idle", Weight: 2, Workers: 2, Rec: idle}}
	return res
}

// The profiles survive the JSON round trip, the table shows a row each,
// and merging two results adds their counters and merges their session
// times exactly.
func TestProfilesJSONTableAndMerge(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := roundTrip(t, mixResult(start, []int64{2000, 2001}))
	b := roundTrip(t, mixResult(start.Add(time.Second), []int64{4000}))
	p := a.Profiles["idle"]
	if p.Sessions != 2 || p.Ended[metrics.EndServer421] != 2 || p.SessionTime == nil || p.SessionTime.Count != 2 || p.MessagesUnanswered != 1 {
		t.Fatalf("idle profile after the round trip: %+v", p)
	}
	if n := a.Profiles[metrics.NormalProfile]; n.MessagesOK != 2 || n.Workers != 1 {
		t.Errorf("normal profile: %+v, want the totals' 2 ok", n)
	}
	if a.MixTotals == nil || a.MixTotals.MessagesOK != 2 {
		t.Errorf("mix_totals %+v", a.MixTotals)
	}
	var tb strings.Builder
	if err := WriteRunTable(&tb, a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.String(), "session mix") || !strings.Contains(tb.String(), "server_421 x2") {
		t.Errorf("table lacks the mix:\n%s", tb.String())
	}
	m, err := Merge([]*JSONReport{a, b}, []string{"a.json", "b.json"})
	if err != nil {
		t.Fatal(err)
	}
	mp := m.Profiles["idle"]
	if mp.Sessions != 3 || mp.Workers != 4 || mp.Ended[metrics.EndServer421] != 3 || mp.MessagesUnanswered != 2 {
		t.Errorf("merged idle: %+v", mp)
	}
	if s := mp.SessionTime; s == nil || s.Count != 3 || s.MaxMS < 3990 || s.MinMS > 2001 {
		t.Errorf("merged session time %+v, want the three sessions", s)
	}
	if mp.Phases["banner"].Count != 3 {
		t.Errorf("merged banner phase %+v", mp.Phases["banner"])
	}
	if m.MixTotals == nil || m.MixTotals.MessagesOK != 4 {
		t.Errorf("merged mix_totals %+v", m.MixTotals)
	}
	var html strings.Builder
	if err := WriteHTML(&html, []*JSONReport{a, m}, []string{"a", "merged"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `id="mix"`) || !strings.Contains(html.String(), "normal:1,idle:2") {
		t.Errorf("HTML page lacks the session mix")
	}
}
