package main

import (
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/report"
)

// TestPhaseLatencyIsServerShare runs the example in docs/pipelining.md of what a phase
// means: a sink in its own process that takes 2 ms on MAIL, 5 ms on RCPT and
// 20 ms on the end of data, measured with and without pipelining. Each
// phase's p50 must show the server's time for that command in both modes,
// though pipelined the next envelope is written while the server still works
// on the previous message's content.
func TestPhaseLatencyIsServerShare(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two processes for about 4 s")
	}
	bin := buildBinary(t)
	var addr string
	startOnFreePorts(t, bin, func() []string {
		addr = freeAddr(t)
		return []string{"sink", "--listen", addr, "--delay", "mail=2ms", "--delay", "rcpt=5ms", "--delay", "body=20ms"}
	})
	want := map[string]float64{"mail": 2, "rcpt": 5, "body": 20, "message": 27}
	p50 := map[string]map[string]float64{}
	for _, mode := range []string{"on", "off"} {
		cmd := exec.Command(bin, "run", "-c", "4", "-n", "400", "--timeout", "10s", "--pipelining", mode, "-o", "json", addr)
		timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
		out, err := cmd.Output()
		timer.Stop()
		if err != nil {
			t.Fatalf("--pipelining %s: %v\n%s", mode, err, out)
		}
		var j report.JSONReport
		if err := json.Unmarshal(out, &j); err != nil {
			t.Fatalf("--pipelining %s: %v", mode, err)
		}
		if j.Totals.MessagesOK != 400 {
			t.Fatalf("--pipelining %s: %d ok, want 400", mode, j.Totals.MessagesOK)
		}
		p50[mode] = map[string]float64{}
		for phase, ms := range want {
			got := j.Phases[phase].P50MS
			p50[mode][phase] = got
			// A sleep is never short; loopback adds well under a
			// millisecond per reply. The message spans four replies.
			slack := 1.5
			if phase == "message" {
				slack = 2
			}
			if got < ms || got > ms+slack {
				t.Errorf("--pipelining %s: %s p50 %.3f ms, want %.1f to %.1f ms", mode, phase, got, ms, ms+slack)
			}
		}
	}
	for phase := range want {
		if d := p50["on"][phase] - p50["off"][phase]; d > 1.5 || d < -1.5 {
			t.Errorf("%s p50: %.3f ms pipelined, %.3f ms lock-step: want within 1.5 ms", phase, p50["on"][phase], p50["off"][phase])
		}
	}
}
