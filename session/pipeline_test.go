package session

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// codeObserver keeps the reply codes a session observed, by phase.
type codeObserver struct{ codes map[Phase][]int }

func (o *codeObserver) Observe(p Phase, code int, d time.Duration, m *Message) {
	if o.codes == nil {
		o.codes = map[Phase][]int{}
	}
	o.codes[p] = append(o.codes[p], code)
}

// behindCase runs two messages through one session under PipeliningAuto
// against a scripted server, sharing state with other sessions.
func behindCase(t *testing.T, state *PipeliningState, timeout time.Duration, steps []step) (*Client, *scriptServer, *codeObserver, [2]Result) {
	t.Helper()
	srv := startScript(t, concat(hello(ehloPipe), steps))
	obs := &codeObserver{}
	opts := testOptions()
	opts.Timeout, opts.PipeState, opts.Observer = timeout, state, obs
	c := NewClient(srv.conn, opts)
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	m1, m2 := testMessage(t, 1, testContent), testMessage(t, 2, testContent)
	var res [2]Result
	res[0] = c.Send(m1, m2)
	if c.Ahead() == nil && c.Err() == nil {
		// Not ahead: the message goes again on the same session.
		res[1] = c.Send(m2, nil)
	}
	return c, srv, obs, res
}

func checkWrites(t *testing.T, srv *scriptServer, writes ...string) {
	t.Helper()
	srv.check(t)
	if got, want := srv.conn.Writes(), append([]string{ehloCmd}, writes...); !reflect.DeepEqual(got, want) {
		t.Errorf("client wrote\n %q\nwant\n %q", got, want)
	}
}

func TestBehindDataProved(t *testing.T) {
	state := NewPipeliningState()
	c, srv, _, res := behindCase(t, state, 2*time.Second, []step{
		{recv: group(1), send: envOK},
		{recv: wireContent + group(2), send: queued + envOK},
		{recv: wireContent, send: queued}})
	if res[0].Outcome != OutcomeOK || c.Ahead() == nil {
		t.Fatalf("first message %v, ahead %v", res[0].Outcome, c.Ahead())
	}
	if r := c.Send(c.Ahead(), nil); r.Outcome != OutcomeOK {
		t.Errorf("second message %v %v", r.Outcome, r.Err)
	}
	checkWrites(t, srv, group(1), wireContent+group(2), wireContent)
	if mode, reason := state.Outcome(PipeliningAuto); mode != ModeFull || !strings.Contains(reason, "answered") {
		t.Errorf("Outcome = %q, %q; want full", mode, reason)
	}
}

// Haraka 3.3: each command after the end of data is answered 503.
func TestBehindDataRefused(t *testing.T) {
	state := NewPipeliningState()
	refusal := "503 5.5.1 pipelined after end of DATA\r\n"
	c, srv, obs, res := behindCase(t, state, 2*time.Second, []step{
		{recv: group(1), send: envOK},
		{recv: wireContent + group(2), send: queued + strings.Repeat(refusal, 4)},
		{recv: group(2), send: envOK},
		{recv: wireContent, send: queued}})
	for i, r := range res {
		if r.Outcome != OutcomeOK || r.Err != nil {
			t.Errorf("message %d: %v %v", i+1, r.Outcome, r.Err)
		}
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v: the session stays usable after a refusal", c.Err())
	}
	checkWrites(t, srv, group(1), wireContent+group(2), group(2), wireContent)
	for p, codes := range obs.codes {
		for _, code := range codes {
			if code == CodeBadSequence {
				t.Errorf("phase %v: the refusal was observed (%v); it is no reply to a message", p, codes)
			}
		}
	}
	if got := len(obs.codes[PhaseMail]); got != 2 {
		t.Errorf("%d MAIL replies observed, want 2", got)
	}
	mode, reason := state.Outcome(PipeliningAuto)
	if mode != ModeGroups || !strings.Contains(reason, "503 5.5.1 pipelined after end of DATA") || state.Resent() != 1 {
		t.Errorf("Outcome = %q, %q, resent %d; want groups with the 503's text, 1 resent", mode, reason, state.Resent())
	}

	// Another session to the same target writes after the reply at once.
	_, srv2, _, res2 := behindCase(t, state, 2*time.Second, []step{
		{recv: group(1), send: envOK},
		{recv: wireContent, send: queued},
		{recv: group(2), send: envOK},
		{recv: wireContent, send: queued}})
	if res2[0].Outcome != OutcomeOK || res2[1].Outcome != OutcomeOK {
		t.Errorf("second session: %v, %v", res2[0].Outcome, res2[1].Outcome)
	}
	checkWrites(t, srv2, group(1), wireContent, group(2), wireContent)
}

// chasquid 1.11: what arrives with the end of data is lost, never answered.
func TestBehindDataDiscarded(t *testing.T) {
	state := NewPipeliningState()
	start := time.Now()
	c, srv, obs, res := behindCase(t, state, 10*time.Second, []step{
		{recv: group(1), send: envOK},
		{recv: wireContent + group(2), send: queued}})
	took := time.Since(start)
	if res[0].Outcome != OutcomeOK || c.Ahead() != nil {
		t.Errorf("first message %v, ahead %v; want ok and the second not ahead", res[0].Outcome, c.Ahead())
	}
	if c.Err() == nil {
		t.Error("Err() = nil: a session whose commands may still be answered must not be used again")
	}
	if took < BehindDataWindow || took > BehindDataWindow+3*time.Second {
		t.Errorf("took %s, want about the %s window, not the 10s timeout", took, BehindDataWindow)
	}
	checkWrites(t, srv, group(1), wireContent+group(2))
	if n := len(obs.codes[PhaseMail]); n != 1 {
		t.Errorf("%d MAIL observations, want 1: the unanswered one is not a sample", n)
	}
	if mode, reason := state.Outcome(PipeliningAuto); mode != ModeGroups || !strings.Contains(reason, "no reply within 1s") {
		t.Errorf("Outcome = %q, %q", mode, reason)
	}
}

func TestSessionEndedByServer(t *testing.T) {
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: group(1), send: envOK},
		{recv: wireContent + group(2), send: queued + envOK},
		{recv: wireContent + group(3), send: queued + "452 4.5.3 too many messages\r\n" + badOrder + badOrder + badOrder},
		{recv: quitCmd, send: quitOK}}))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	m := []*Message{nil, testMessage(t, 1, testContent), testMessage(t, 2, testContent), testMessage(t, 3, testContent)}
	c.Send(m[1], m[2])
	if r := c.Send(m[2], m[3]); r.Outcome != OutcomeOK {
		t.Fatalf("message 2: %v %v", r.Outcome, r.Err)
	}
	e, n := c.Ended()
	if e == nil || e.Code != 452 || e.Enhanced.String() != "4.5.3" || e.Text != "too many messages" || n != 2 || c.Ahead() != nil {
		t.Errorf("Ended() = %v, %d; ahead %v; want 452 after 2 messages, nothing ahead", e, n, c.Ahead())
	}
	srv.check(t)
}

func TestPipeliningStateClaim(t *testing.T) {
	s := NewPipeliningState()
	if behind, proving := s.claim(); !behind || !proving {
		t.Fatalf("first claim = %v, %v; want the proof", behind, proving)
	}
	if behind, _ := s.claim(); behind {
		t.Error("a second session may write behind the end of data while the first proves")
	}
	s.abandon()
	if _, proving := s.claim(); !proving {
		t.Error("after an abandoned proof another session proves")
	}
	s.proved()
	if behind, proving := s.claim(); !behind || proving {
		t.Error("after the proof every session writes behind the end of data")
	}
	s.refuse("no")
	if behind, _ := s.claim(); behind {
		t.Error("a refusal holds even after a proof")
	}
	for _, tt := range []struct {
		p    Pipelining
		mode string
	}{{PipeliningOn, ModeFull}, {PipeliningOff, ModeOff}, {PipeliningGroups, ModeGroups}} {
		mode, reason := s.Outcome(tt.p)
		if mode != tt.mode {
			t.Errorf("Outcome(%v) = %q, want %q", tt.p, mode, tt.mode)
		}
		// A forced mode is named by the setting's value, not by a flag.
		if !strings.HasPrefix(reason, "set to "+tt.p.String()) || strings.Contains(reason, "--") {
			t.Errorf("Outcome(%v) reason %q, want it to start %q and name no flag", tt.p, reason, "set to "+tt.p.String())
		}
	}
	fresh := NewPipeliningState()
	if mode, reason := fresh.Outcome(PipeliningAuto); mode != ModeOff || reason == "" {
		t.Errorf("before any EHLO: %q, %q", mode, reason)
	}
	fresh.sawEHLO(false)
	if mode, _ := fresh.Outcome(PipeliningAuto); mode != ModeOff {
		t.Errorf("no PIPELINING advertised: %q", mode)
	}
	fresh.sawEHLO(true)
	if mode, reason := fresh.Outcome(PipeliningAuto); mode != ModeGroups || !strings.Contains(reason, "not tried") {
		t.Errorf("advertised, never tried: %q, %q", mode, reason)
	}
}
