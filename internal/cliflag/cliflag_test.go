package cliflag

import "testing"

// FuzzDuration: whatever the text, an accepted duration is within 0 to
// MaxDuration.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{"0", "250ms", "2s", "8760h", "8761h", "-1s", "9999999999h", "1e3s", "NaN", "", "1h1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Duration("x", s)
		if err == nil && (d < 0 || d > MaxDuration) {
			t.Errorf("Duration(%q) = %v, outside 0 to %v", s, d, MaxDuration)
		}
	})
}
