package sink

import "testing"

// FuzzSpecBuild feeds the parsers of delays, rejections and stalls: what
// Build accepts is within range.
func FuzzSpecBuild(f *testing.F) {
	f.Add("body=5ms", "rcpt=10:450", "4s:1s")
	f.Add("body=9000h", "rcpt=NaN", "1s:9000h")
	f.Add("x", "rcpt=5:99999999999999999999", "-1s:1s")
	f.Add("quit=0s", "mail=100", ":")
	f.Fuzz(func(t *testing.T, delay, reject, stall string) {
		spec := Spec{Listen: "127.0.0.1:0", Delays: []string{delay}, Rejects: []string{reject}, Stall: stall, OverLimit: "wait", AfterDot: "serve"}
		cfg, err := spec.Build()
		if err != nil {
			return
		}
		for _, d := range cfg.Delay {
			if d < 0 || d > MaxDelay {
				t.Errorf("delay %v accepted from %q", d, delay)
			}
		}
		for _, r := range cfg.Reject {
			if !(r.Percent >= 0 && r.Percent <= 100) || r.Code != 0 && (r.Code < 400 || r.Code > 599) {
				t.Errorf("reject %+v accepted from %q", r, reject)
			}
		}
		if cfg.StallAt < 0 || cfg.StallAt > MaxDelay || cfg.StallFor < 0 || cfg.StallFor > MaxDelay {
			t.Errorf("stall %v:%v accepted from %q", cfg.StallAt, cfg.StallFor, stall)
		}
	})
}
