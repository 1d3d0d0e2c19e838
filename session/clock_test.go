package session

import (
	"net"
	"testing"
	"time"
)

// lateWriteConn returns from Write only some time after the bytes went out,
// as a write call can on a busy kernel: by then the reply may be waiting.
type lateWriteConn struct {
	net.Conn
	late time.Duration
}

func (c lateWriteConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	time.Sleep(c.late)
	return n, err
}

type durationObserver map[Phase][]time.Duration

func (o durationObserver) Observe(p Phase, code int, d time.Duration, m *Message) {
	o[p] = append(o[p], d)
}

// TestClockStartsBeforeTheWrite: a command's clock starts before its write
// call, so a write that returns after the reply has arrived still counts
// the time the call took; read after the call, the clock would say ~0.
func TestClockStartsBeforeTheWrite(t *testing.T) {
	const late = 30 * time.Millisecond
	srv := startScript(t, concat(hello(ehloPlain), []step{
		{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptOK}, {recv: rcptCmd(1, 2), send: rcptOK},
		{recv: "DATA\r\n", send: dataGo}, {recv: wireContent, send: queued}}))
	obs := durationObserver{}
	opts := testOptions()
	opts.Pipelining, opts.Observer = PipeliningOff, obs
	c := NewClient(lateWriteConn{srv.conn, late}, opts)
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	if r := c.Send(testMessage(t, 1, testContent), nil); r.Outcome != OutcomeOK {
		t.Fatalf("outcome %v %v", r.Outcome, r.Err)
	}
	for _, p := range []Phase{PhaseEHLO, PhaseMail, PhaseRcpt, PhaseData, PhaseBody} {
		for _, d := range obs[p] {
			if d < late {
				t.Errorf("%v latency %s, want at least the %s the write call took", p, d, late)
			}
		}
	}
	srv.check(t)
}
