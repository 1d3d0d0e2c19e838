package loadgen

import "testing"

// TestParseSteps: lists and ranges of a sweep's steps, and the lists refused.
func TestParseSteps(t *testing.T) {
	tests := []struct {
		in    string
		whole bool
		want  []float64
	}{
		{"4", true, []float64{4}},
		{"1,2,4,8,16", true, []float64{1, 2, 4, 8, 16}},
		{"1..256x2", true, []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}},
		{"1..10x1.5", true, []float64{1, 2, 3, 5, 8}},
		{"100..500+100", false, []float64{100, 200, 300, 400, 500}},
		{"0.1..0.5+0.1", false, []float64{0.1, 0.2, 0.3, 0.4, 0.5}},
		{"1,2..10+4,16..64x2", true, []float64{1, 2, 6, 10, 16, 32, 64}},
		{"10..100x3", true, []float64{10, 30, 90}},
	}
	for _, tt := range tests {
		got, err := ParseSteps(tt.in, tt.whole, 0)
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("%q: %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: %v, want %v", tt.in, got, tt.want)
				break
			}
		}
	}
	for _, bad := range []string{"", "0", "-1", "a", "1..", "1..8", "1..8x", "1..8+0", "8..1+1", "2,1", "1,1", "1..200+1", "1..5x0.5"} {
		if got, err := ParseSteps(bad, true, 0); err == nil {
			t.Errorf("%q accepted as %v", bad, got)
		}
	}
}
