package metrics

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// NormalProfile is the name of the well-behaved sessions in a mix: their
// figures are the report's phases, totals and thresholds.
const NormalProfile = "normal"

// How a profile's session ended, as the JSON's "ended" object counts them.
const (
	// EndQuit: the session ended with our QUIT, as the profile planned.
	EndQuit = "quit"
	// EndServer421: the server said 421 and closed (RFC 5321 3.8), for
	// example at its idle or command timeout.
	EndServer421 = "server_421"
	// EndServerClose: the server closed or reset the connection without a
	// reply.
	EndServerClose = "server_close"
	// EndOwnTimeout: we gave up waiting: --idle-for passed for an idle
	// session, or --timeout for a reply.
	EndOwnTimeout = "own_timeout"
	// EndDropped: we dropped the connection on purpose, without QUIT (the
	// abort profiles).
	EndDropped = "dropped"
	// EndRunEnd: the run ended while the session was still open.
	EndRunEnd = "run_end"
	// EndConnectFailed: no session: the connection or its greeting
	// failed.
	EndConnectFailed = "connect_failed"
	// EndError: the session broke otherwise (a protocol error, a TLS or
	// AUTH failure that the profile did not expect).
	EndError = "error"
)

// ProfileRecorder is what the sessions of one profile measured. Unlike the
// normal sessions' recorders, of which a run keeps several shards, there is
// one per profile, shared by all of its sessions under a lock of the
// caller's: these sessions are few and slow, or abusive, and their speed is
// not what the run measures.
type ProfileRecorder struct {
	// Recorder holds the profile's phases, replies, errors, messages,
	// recipients, connections and bytes, counted as for normal sessions.
	*Recorder
	// Sessions counts sessions begun (each dial, successful or not).
	Sessions int64
	// Dropped counts transactions we abandoned before the end of data:
	// never delivered. Unanswered counts messages whose end of data we
	// wrote and then dropped the connection before the reply: the server
	// may have delivered them. Neither is in Attempted.
	Dropped, Unanswered int64
	// Ended counts sessions by how they ended (End* names).
	Ended map[string]int64
	// Held is how long each session lasted, from the greeting (or the
	// end of the connect, when no greeting came) to its end: for idle and
	// slow clients, how long the server kept them once it served them.
	Held *hdrhistogram.Histogram
	// Bad counts replies to deliberate bad commands by reply code.
	Bad map[int]int64
}

// NewProfileRecorder returns an empty recorder for one profile.
func NewProfileRecorder() *ProfileRecorder {
	return &ProfileRecorder{Recorder: NewRecorder(false), Ended: map[string]int64{}, Held: NewHistogram(), Bad: map[int]int64{}}
}

// End counts one session that ended as how, after held.
func (p *ProfileRecorder) End(how string, held time.Duration) {
	p.Sessions++
	p.Ended[how]++
	if how != EndConnectFailed {
		RecordDuration(p.Held, held)
	}
}
