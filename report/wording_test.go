package report

import (
	"strings"
	"testing"
)

// TestSweepTableCountsInWords: one step is "1 step", a knee at one session
// is "1 session".
func TestSweepTableCountsInWords(t *testing.T) {
	for _, tc := range []struct {
		steps []StepJSON
		knee  *KneeJSON
		want  []string
		never []string
	}{
		{[]StepJSON{{Label: "c=1", Concurrency: 1, MessagesPerS: 10}}, nil,
			[]string{"1 step of"}, []string{"1 steps"}},
		{[]StepJSON{{Label: "c=1", Concurrency: 1, MessagesPerS: 100, MessageP99MS: 1}, {Label: "c=2", Concurrency: 2, MessagesPerS: 101, MessageP99MS: 2}},
			&KneeJSON{Step: 0, Label: "c=1", Value: 1, GainPct: 1, P99GrowthPct: 100},
			[]string{"2 steps of", "knee: 1 session.", "to 2 sessions"}, []string{"1 sessions"}},
	} {
		d := &Document{Schema: Schema, Kind: KindSweep, Sweep: &SweepJSON{Varies: VariesConcurrency, Target: "x:25", DurationS: 1, WarmupS: 1, Steps: tc.steps, Knee: tc.knee}}
		var b strings.Builder
		if err := WriteSweepTable(&b, d); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("table lacks %q:\n%s", w, b.String())
			}
		}
		for _, w := range tc.never {
			if strings.Contains(b.String(), w) {
				t.Errorf("table says %q:\n%s", w, b.String())
			}
		}
	}
}

func TestArticle(t *testing.T) {
	for word, want := range map[string]string{KindAB: "an ab", KindSweep: "a sweep", KindRun: "a run"} {
		if got := Article(word); got != want {
			t.Errorf("Article(%q) = %q, want %q", word, got, want)
		}
	}
}
