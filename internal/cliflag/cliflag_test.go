package cliflag

import (
	"testing"
	"time"
)

// FuzzParse: whatever the text, a duration Parse accepts is within its
// rule, and so is a whole number.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "250ms", "2s", "8760h", "8761h", "-1s", "9999999999h", "1e3s", "NaN", "", "1h1h", "0x10", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := Parse("duration", s, Rule{Lo: 0, Hi: float64(MaxDuration)}); err == nil && (v < 0 || time.Duration(v) > MaxDuration) {
			t.Errorf("Parse(duration, %q) = %v, outside 0 to %v", s, time.Duration(v), MaxDuration)
		}
		if v, err := Parse("int", s, Rule{Lo: 1, Hi: 100, LoOpen: true}); err == nil && (v <= 1 || v > 100) {
			t.Errorf("Parse(int, %q) = %v, outside (1, 100]", s, v)
		}
	})
}
