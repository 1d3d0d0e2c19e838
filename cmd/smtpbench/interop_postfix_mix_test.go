//go:build linux

package main

import (
	"testing"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
)

// A full Postfix limited to 20 smtpd processes that drops a session idle
// for 2 s: 30 idle clients hold its processes, so the 10 normal sessions'
// connections wait in the listen queue for one. The same run without the
// idle clients is the baseline. The normal sessions' p99 rises by about the
// idle timeout, the idle sessions end by Postfix's 421, and Postfix queued
// every normal message the report counts as accepted, once.
func TestInteropPostfixIdleMix(t *testing.T) {
	pf := startPostfix(t, "default_process_limit = 20", "smtpd_timeout = 2s")
	args := []string{"-n", "60", "--per-conn", "1", "--timeout", "20s", "--seed", "1", pf.addr}
	base := runBenchTable(t, append([]string{"-c", "10"}, args...)...)
	if base.Code != exitOK {
		t.Fatalf("%s\nstderr: %s", base, base.Stderr)
	}
	t.Logf("without the mix:\n%s", base.Stdout)
	mixed := runBenchTable(t, append([]string{"--mix", "normal:10,idle:30", "-c", "40"}, args...)...)
	if mixed.Code != exitOK {
		t.Fatalf("%s\nstderr: %s", mixed, mixed.Stderr)
	}
	t.Logf("with 30 idle clients:\n%s", mixed.Stdout)
	pf.waitRemoved(t, 120) // 60 each run: every accepted message once, none twice

	b, m := base.Report, mixed.Report
	if b.Totals.MessagesOK != 60 || m.Totals.MessagesOK != 60 {
		t.Errorf("accepted: %d without the mix, %d with it; want 60 each", b.Totals.MessagesOK, m.Totals.MessagesOK)
	}
	if m.MixTotals == nil || m.MixTotals.MessagesOK != 60 {
		t.Errorf("mix_totals %+v: the idle clients send no mail, so everyone's ok is the normal 60", m.MixTotals)
	}
	// The wait for a free smtpd shows in the connect (once Postfix's
	// listen queue is full, the kernel drops SYNs and the client's retry
	// comes a second later) or in the greeting (queued, accepted, not yet
	// served).
	wait := func(j report.JSONReport) float64 { return j.Phases["connect"].P99MS + j.Phases["banner"].P99MS }
	if wait(m) < 1000 || wait(m) < 5*wait(b) {
		t.Errorf("normal sessions' connect+banner p99: %.1f ms without the mix, %.1f ms with it; want the wait for a free smtpd (about 2 s) to show", wait(b), wait(m))
	}
	idle := m.Profiles["idle"]
	if idle.Ended[metrics.EndServer421] < 20 {
		t.Errorf("idle sessions ended %v, want at least 20 by Postfix's 421 (smtpd_timeout)", idle.Ended)
	}
	if s := idle.SessionTime; s == nil || s.P50MS < 1800 || s.P50MS > 5000 {
		t.Errorf("idle session time %+v, want a p50 of about 2 s", s)
	}
}
