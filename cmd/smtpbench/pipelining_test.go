package main

// The built-in sink playing the servers of GitHub issue 11: one that drops
// commands written behind the end of data (as chasquid does), one that
// answers them 503 (as Haraka does), and servers with a limit of messages
// per session (a 452 to MAIL that keeps the session, or a 421 that closes
// it). With the defaults smtpbench must deliver every message, count
// exactly what the sink accepted, never count the probe or the limit as a
// failure, and say in the report what happened.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

func TestPipeliningAgainstSinkModes(t *testing.T) {
	cases := []struct {
		name string
		cfg  sink.Config
		args []string
		// the report's pipelining outcome
		mode, reason string
		resent       int64
		// sessions the sink ended by its limit, messages each; 0 for none
		limited, after int64
		code           int
		// the run's bound by its own clock
		within time.Duration
	}{
		{name: "serves commands behind the end of data", mode: "full", reason: "answered", within: 10 * time.Second},
		{name: "drops them", cfg: sink.Config{AfterDot: sink.AfterDotDrop},
			mode: "groups", reason: "no reply within 1s", resent: 1, within: 10 * time.Second},
		{name: "refuses them", cfg: sink.Config{AfterDot: sink.AfterDotReject},
			mode: "groups", reason: `answered "503 5.5.1 sink: command pipelined after end of data refused"`, resent: 1, within: 10 * time.Second},
		{name: "drops them, pipelining groups", cfg: sink.Config{AfterDot: sink.AfterDotDrop}, args: []string{"--pipelining", "groups"},
			mode: "groups", reason: "set to groups", within: 10 * time.Second},
		{name: "452 after 100 messages", cfg: sink.Config{MaxPerSession: 100, MaxPerSessionCode: 452},
			mode: "full", reason: "answered", limited: 20, after: 100, code: 452, within: 10 * time.Second},
		{name: "452 after 100 messages, pipelining off", cfg: sink.Config{MaxPerSession: 100, MaxPerSessionCode: 452}, args: []string{"--pipelining", "off"},
			mode: "off", reason: "set to off", limited: 20, after: 100, code: 452, within: 10 * time.Second},
		{name: "421 after 100 messages", cfg: sink.Config{MaxPerSession: 100},
			mode: "full", reason: "answered", limited: 20, after: 100, code: 421, within: 10 * time.Second},
		{name: "452 after 100 messages, --per-conn 100 avoids it", cfg: sink.Config{MaxPerSession: 100, MaxPerSessionCode: 452}, args: []string{"--per-conn", "100"},
			mode: "full", reason: "answered", within: 10 * time.Second},
		{name: "drops behind the end of data and 452 after 100 messages", cfg: sink.Config{AfterDot: sink.AfterDotDrop, MaxPerSession: 100, MaxPerSessionCode: 452},
			mode: "groups", reason: "no reply within 1s", resent: 1, limited: 20, after: 100, code: 452, within: 10 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTestSink(t, tc.cfg)
			args := append([]string{"-c", "10", "-n", "2000", "--timeout", "30s"}, tc.args...)
			r := runBenchTable(t, append(args, srv.Addr())...)
			checkInvariants(t, r)
			checkTableMatchesJSON(t, r)
			checkOnTime(t, r, tc.within)
			tot := r.Report.Totals
			if tot.MessagesOK != 2000 || tot.MessagesAttempted != 2000 || len(r.Report.Errors) != 0 {
				t.Errorf("%s: %d ok of %d, errors %+v; want all 2000 ok", r, tot.MessagesOK, tot.MessagesAttempted, r.Report.Errors)
			}
			if uint64(tot.MessagesOK) != srv.Accepted() {
				t.Errorf("%s: %d ok, the sink accepted %d", r, tot.MessagesOK, srv.Accepted())
			}
			checkPipelining(t, r, tc.mode, tc.reason, tc.resent)
			if tc.limited == 0 {
				// (Past its limit the sink answers the RCPT and DATA
				// behind a refused MAIL 503 and 554: real replies.)
				checkNo503(t, r)
			}
			l := r.Report.SessionLimits
			switch {
			case tc.limited == 0 && l != nil:
				t.Errorf("%s: session_limits %+v, want none", r, l)
			case tc.limited == 0:
			case l == nil:
				t.Errorf("%s: no session_limits, want %d sessions", r, tc.limited)
			default:
				// Each session the sink cut short carried exactly its
				// limit; the sessions that ended with the run carried less.
				want := fmt.Sprintf("the server ended %d sessions after %d messages each (%d ", srv.SessionsLimited(), tc.after, tc.code)
				if l.Sessions != int64(srv.SessionsLimited()) || l.Sessions < tc.limited-int64(10) || l.MessagesMin != tc.after ||
					l.MessagesMax != tc.after || l.Code != tc.code || !strings.HasPrefix(l.Summary, want) ||
					!strings.HasSuffix(l.Summary, fmt.Sprintf("--per-conn %d avoids it", tc.after)) {
					t.Errorf("%s: session_limits %+v; the sink limited %d sessions; want %q...", r, l, srv.SessionsLimited(), want)
				}
				if !strings.Contains(r.Stdout, "sessions    "+l.Summary) {
					t.Errorf("%s: the table lacks the session limit line:\n%s", r, r.Stdout)
				}
			}
		})
	}
}

// The last case: one session, a server closing after 1000 messages
// with 421. The message that met the 421 used to count as failed.
func TestPipeliningSessionLimitOneSession(t *testing.T) {
	srv := startTestSink(t, sink.Config{MaxPerSession: 1000})
	r := runBench(t, "-c", "1", "-n", "1200", "--timeout", "30s", srv.Addr())
	checkInvariants(t, r)
	tot := r.Report.Totals
	if tot.MessagesOK != 1200 || srv.Accepted() != 1200 || tot.Connections != 2 {
		t.Errorf("%s: %d ok (sink %d) on %d connections, want 1200 on 2", r, tot.MessagesOK, srv.Accepted(), tot.Connections)
	}
	if l := r.Report.SessionLimits; l == nil || l.Sessions != 1 || l.MessagesMin != 1000 || l.Code != 421 {
		t.Errorf("%s: session_limits %+v, want 1 session ended by 421 after 1000 messages", r, l)
	}
}
