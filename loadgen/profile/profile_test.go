package profile

import (
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	cases := []struct {
		in      string
		names   []string
		weights []int
		err     string
	}{
		{in: "idle:30,normal:10", names: []string{"idle", "normal"}, weights: []int{30, 10}},
		{in: "abort-dot:1", names: []string{"abort-dot"}, weights: []int{1}},
		{in: "normal:0,slow:2", names: []string{"normal", "slow"}, weights: []int{0, 2}},
		{in: "lazy:1", err: `unknown profile "lazy" (profiles: normal, abort-data`},
		{in: "idle:1.5", err: `idle weight "1.5"`},
		{in: "idle:-1", err: `idle weight "-1"`},
		{in: "idle", err: "want NAME:WEIGHT"},
		{in: "idle:1,idle:2", err: "named twice"},
		{in: "idle:0", err: "every weight is 0"},
	}
	for _, tc := range cases {
		got, err := ParseMix(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.names) {
			t.Fatalf("%q: %v, %v", tc.in, got, err)
		}
		for i, s := range got {
			if s.Name != tc.names[i] || s.Weight != tc.weights[i] || (s.Profile == nil) != (s.Name == "normal") {
				t.Errorf("%q: share %d is %+v", tc.in, i, s)
			}
		}
	}
}

// Split hands out exactly c workers by weight, interleaved.
func TestSplit(t *testing.T) {
	cases := []struct {
		weights []int
		c       int
		want    []int
	}{
		{[]int{30, 10}, 40, []int{30, 10}},
		{[]int{1, 1, 1}, 10, []int{4, 3, 3}},
		{[]int{0, 5}, 7, []int{0, 7}},
		{[]int{1, 1000}, 3, []int{0, 3}},
	}
	for _, tc := range cases {
		mix := make([]Share, len(tc.weights))
		for i, w := range tc.weights {
			mix[i] = Share{Weight: w}
		}
		counts, plan := Split(mix, tc.c)
		if len(plan) != tc.c {
			t.Fatalf("%v of %d: plan of %d", tc.weights, tc.c, len(plan))
		}
		seen := make([]int, len(mix))
		for _, k := range plan {
			seen[k]++
		}
		for i := range tc.want {
			if counts[i] != tc.want[i] || seen[i] != tc.want[i] {
				t.Errorf("%v of %d: counts %v, plan gives %v; want %v", tc.weights, tc.c, counts, seen, tc.want)
				break
			}
		}
	}
	// Interleaved: 30 idle and 10 normal never put the 10 normal last.
	_, plan := Split([]Share{{Weight: 30}, {Weight: 10}}, 40)
	normalIn10 := 0
	for _, k := range plan[:10] {
		if k == 1 {
			normalIn10++
		}
	}
	if normalIn10 < 2 {
		t.Errorf("plan %v: the first 10 workers hold %d normal ones, want them spread", plan, normalIn10)
	}
}
