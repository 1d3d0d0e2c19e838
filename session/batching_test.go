package session

import (
	"reflect"
	"testing"
	"time"
)

// sourceObserver counts replies by phase, apart for pipelined ones.
type sourceObserver struct{ alone, piped map[Phase]int }

func (o *sourceObserver) Observe(p Phase, code int, d time.Duration, m *Message) { o.alone[p]++ }

func (o *sourceObserver) ObservePipelined(p Phase, code int, d time.Duration, m *Message) {
	o.piped[p]++
}

// batchCase sends n messages, pipelined in groups, through one session
// whose server answers each group as replies says, then QUIT.
func batchCase(t *testing.T, n, every int, steps []step) (*scriptServer, *sourceObserver, *PipeliningState) {
	t.Helper()
	srv := startScript(t, concat(hello(ehloPipe), steps, []step{{recv: quitCmd, send: quitOK}}))
	obs := &sourceObserver{alone: map[Phase]int{}, piped: map[Phase]int{}}
	state := NewPipeliningState()
	opts := testOptions()
	opts.Pipelining, opts.PipeState, opts.Observer, opts.LockstepEvery = PipeliningGroups, state, obs, every
	c := NewClient(srv.conn, opts)
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if r := c.Send(testMessage(t, i, testContent), nil); r.Outcome != OutcomeOK {
			t.Fatalf("message %d: %v %v", i, r.Outcome, r.Err)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	srv.check(t)
	return srv, obs, state
}

// A server that answers a group in one write is seen to batch once a few
// groups came back so; from then on the messages picked (here every one:
// LockstepEvery 1) go one command at a time, and their replies reach
// Observe while the pipelined ones reach ObservePipelined.
func TestLockstepWhereRepliesBatched(t *testing.T) {
	var steps []step
	var writes []string
	for i := 1; i <= 4; i++ {
		steps = append(steps, step{recv: group(i), send: envOK}, step{recv: wireContent, send: queued})
		writes = append(writes, group(i), wireContent)
	}
	// The 4th group made the target known to batch: from the 5th message
	// on, lock-step.
	for i := 5; i <= 6; i++ {
		steps = append(steps, step{recv: mailCmd(i), send: mailOK}, step{recv: rcptCmd(i, 1), send: rcptOK},
			step{recv: rcptCmd(i, 2), send: rcptOK}, step{recv: "DATA\r\n", send: dataGo}, step{recv: wireContent, send: queued})
		writes = append(writes, mailCmd(i), rcptCmd(i, 1), rcptCmd(i, 2), "DATA\r\n", wireContent)
	}
	srv, obs, state := batchCase(t, 6, 1, steps)
	if got, want := srv.conn.Writes(), append(append([]string{ehloCmd}, writes...), quitCmd); !reflect.DeepEqual(got, want) {
		t.Errorf("client wrote\n %q\nwant\n %q", got, want)
	}
	if g, b := state.Groups(); g != 4 || b != 4 || !state.Batches() {
		t.Errorf("groups %d, batched %d, batches %v; want 4, 4, true", g, b, state.Batches())
	}
	wantAlone := map[Phase]int{PhaseEHLO: 1, PhaseBanner: 1, PhaseMail: 2, PhaseRcpt: 4, PhaseData: 2, PhaseBody: 6, PhaseQuit: 1}
	wantPiped := map[Phase]int{PhaseMail: 4, PhaseRcpt: 8, PhaseData: 4}
	if !reflect.DeepEqual(obs.alone, wantAlone) || !reflect.DeepEqual(obs.piped, wantPiped) {
		t.Errorf("observed alone %v, pipelined %v; want %v, %v", obs.alone, obs.piped, wantAlone, wantPiped)
	}
}

// A server that writes each reply apart is not taken to batch, and its
// sessions never go lock-step.
func TestNoLockstepWhereRepliesApart(t *testing.T) {
	var steps []step
	var writes []string
	for i := 1; i <= 6; i++ {
		// Every reply is 14 octets: one write each.
		steps = append(steps, step{recv: group(i), send: envOK, chunk: len(mailOK)}, step{recv: wireContent, send: queued})
		writes = append(writes, group(i), wireContent)
	}
	srv, obs, state := batchCase(t, 6, 2, steps)
	if got, want := srv.conn.Writes(), append(append([]string{ehloCmd}, writes...), quitCmd); !reflect.DeepEqual(got, want) {
		t.Errorf("client wrote\n %q\nwant\n %q", got, want)
	}
	if g, b := state.Groups(); g != 6 || b != 0 || state.Batches() {
		t.Errorf("groups %d, batched %d, batches %v; want 6, 0, false", g, b, state.Batches())
	}
	if obs.piped[PhaseRcpt] != 12 || obs.alone[PhaseRcpt] != 0 {
		t.Errorf("rcpt observed alone %d, pipelined %d; want 0, 12", obs.alone[PhaseRcpt], obs.piped[PhaseRcpt])
	}
}

// One message number in N is picked, whatever the stride the numbers come
// in (a session, a shard of a run), with no run of picks.
func TestLockstepPick(t *testing.T) {
	for _, tc := range []struct{ every, stride, offset int }{{25, 1, 1}, {25, 5, 3}, {25, 25, 1}, {10, 50, 7}, {1, 1, 1}} {
		picked := 0
		const n = 20000
		for i := range n {
			if lockstepPick(uint64(i*tc.stride+tc.offset), tc.every) {
				picked++
			}
		}
		want := n / tc.every
		if picked < want*8/10 || picked > want*12/10 {
			t.Errorf("every %d, numbers %d*i+%d: picked %d of %d, want about %d", tc.every, tc.stride, tc.offset, picked, n, want)
		}
	}
}

// With the next envelope written behind the content (PipeliningOn), a
// message picked for lock-step is not written behind the content before
// it, so that content goes alone and times the body truly; its own
// content carries the next envelope as usual.
func TestLockstepBehindTheContent(t *testing.T) {
	const n, every = 12, 3
	var steps []step
	var writes []string
	groups, flag, ahead := 0, false, false
	for i := 1; i <= n; i++ {
		if !ahead {
			if flag && lockstepPick(uint64(i), every) {
				for _, cmd := range []struct{ recv, send string }{{mailCmd(i), mailOK}, {rcptCmd(i, 1), rcptOK}, {rcptCmd(i, 2), rcptOK}, {"DATA\r\n", dataGo}} {
					steps = append(steps, step{recv: cmd.recv, send: cmd.send})
					writes = append(writes, cmd.recv)
				}
			} else {
				steps = append(steps, step{recv: group(i), send: envOK})
				writes = append(writes, group(i))
				groups++
			}
		}
		behind := i < n && !(flag && lockstepPick(uint64(i+1), every))
		recv, send := wireContent, queued
		if behind {
			recv, send = wireContent+group(i+1), queued+envOK
			groups++
		}
		steps = append(steps, step{recv: recv, send: send})
		writes = append(writes, recv)
		flag = flag || groups >= batchingAfter
		ahead = behind
	}
	srv := startScript(t, concat(hello(ehloPipe), steps, []step{{recv: quitCmd, send: quitOK}}))
	obs := &sourceObserver{alone: map[Phase]int{}, piped: map[Phase]int{}}
	opts := testOptions()
	opts.Pipelining, opts.Observer, opts.LockstepEvery = PipeliningOn, obs, every
	c := NewClient(srv.conn, opts)
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	msgs := make([]*Message, n+2)
	for i := 1; i <= n; i++ {
		msgs[i] = testMessage(t, i, testContent)
	}
	for i := 1; i <= n; i++ {
		if r := c.Send(msgs[i], msgs[i+1]); r.Outcome != OutcomeOK {
			t.Fatalf("message %d: %v %v", i, r.Outcome, r.Err)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	srv.check(t)
	if got, want := srv.conn.Writes(), append(append([]string{ehloCmd}, writes...), quitCmd); !reflect.DeepEqual(got, want) {
		t.Errorf("client wrote\n %q\nwant\n %q", got, want)
	}
	if obs.alone[PhaseMail] == 0 || obs.alone[PhaseBody] < 2 {
		t.Errorf("no message went lock-step, or no content alone: observed alone %v", obs.alone)
	}
}
