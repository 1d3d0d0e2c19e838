package report

import (
	"bytes"
	"strings"
	"testing"
)

// An ab page shows the comparison the document holds; a document without
// one (a run failed, no round completed) gets a clear error, not a page
// without a verdict. Computing a comparison is package analysis's job.
func TestABHTMLNeedsComparison(t *testing.T) {
	a, b := BuildJSON(fixedResult()), BuildJSON(fixedResult())
	doc := &Document{Schema: Schema, Kind: KindAB, AB: &ABJSON{A: "a:25", B: "b:25", Rounds: 1, Completed: 1},
		Runs: []LabeledRun{{Label: "A", Round: 1, JSONReport: a}, {Label: "B", Round: 1, JSONReport: b}}}
	var page bytes.Buffer
	err := WriteABHTML(&page, doc)
	if err == nil || !strings.Contains(err.Error(), "holds no comparison") {
		t.Fatalf("WriteABHTML without a comparison: %v", err)
	}
	doc.Comparison = &Comparison{A: CompareSide{Name: "A", Runs: 1}, B: CompareSide{Name: "B", Runs: 1}, Samples: SamplesIntervals,
		Alpha: 0.05, Confidence: 0.95, Lines: []CompareLine{{Line: LineMessagesPerS, Unit: "msg/s", HigherIsBetter: true,
			A: LineStats{N: 2, Median: 495}, B: LineStats{N: 2, Median: 495}, Verdict: VerdictFew}}}
	if err := WriteABHTML(&page, doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "messages/s") {
		t.Errorf("the page lacks the comparison's line")
	}
}
