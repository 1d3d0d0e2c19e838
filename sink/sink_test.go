package sink_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/leakcheck"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/session/message"
	"github.com/smtpbench/smtpbench/sink"
)

// TestMain fails the package when a test leaves a sink or client goroutine
// behind.
func TestMain(m *testing.M) { leakcheck.Main(m) }

// startSink serves cfg on a loopback port until the test ends.
func startSink(t *testing.T, cfg sink.Config) *sink.Server {
	t.Helper()
	srv, err := sink.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return srv
}

// dial opens a session to srv and says EHLO.
func dial(t *testing.T, srv *sink.Server, opts session.Options) *session.Client {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	c, err := session.Dial(t.Context(), srv.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	from = session.MustTemplate("from{n}@a.test")
	to   = session.MustTemplate("to{n}.{r}@b.test")
)

func messages(t *testing.T, n, rcpts int, content string) []*session.Message {
	t.Helper()
	data, err := session.EncodeData(nil, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]*session.Message, n)
	for i := range msgs {
		msgs[i] = &session.Message{Seq: uint64(i + 1), From: from, To: to, Rcpts: rcpts, Data: data}
	}
	return msgs
}

// sendAll sends msgs in order the way a load worker does: each Send offers
// the following message, so a pipelining session keeps one envelope ahead.
func sendAll(c *session.Client, msgs []*session.Message) []session.Result {
	results := make([]session.Result, len(msgs))
	for i, m := range msgs {
		var next *session.Message
		if i+1 < len(msgs) {
			next = msgs[i+1]
		}
		results[i] = c.Send(m, next)
	}
	return results
}

// tally counts results by outcome and recipients.
type tally struct {
	ok, rejected, failed       int
	rcptAccepted, rcptRejected int
}

func count(results []session.Result) tally {
	var n tally
	for _, r := range results {
		switch r.Outcome {
		case session.OutcomeOK:
			n.ok++
		case session.OutcomeRejected:
			n.rejected++
		default:
			n.failed++
		}
		n.rcptAccepted += r.RcptAccepted
		n.rcptRejected += r.RcptRejected
	}
	return n
}

var modes = []session.Pipelining{session.PipeliningAuto, session.PipeliningOff}

func TestAccepts(t *testing.T) {
	const n = 50
	for _, mode := range modes {
		t.Run("pipelining "+mode.String(), func(t *testing.T) {
			srv := startSink(t, sink.Config{})
			c := dial(t, srv, session.Options{Pipelining: mode})
			if got, want := c.Pipelining(), mode == session.PipeliningAuto; got != want {
				t.Errorf("Pipelining() = %v, want %v", got, want)
			}
			caps := c.Capabilities()
			if !caps.Pipelining || !caps.Size || caps.MaxSize != 104857600 || !caps.EightBitMIME || !caps.EnhancedStatusCodes {
				t.Errorf("capabilities %+v", caps)
			}
			results := sendAll(c, messages(t, n, 2, "Subject: x\r\n\r\nhello\r\n"))
			if got, want := count(results), (tally{ok: n, rcptAccepted: 2 * n}); got != want {
				t.Errorf("results %+v, want %+v", got, want)
			}
			if err := c.Quit(); err != nil {
				t.Errorf("Quit: %v", err)
			}
			if srv.Accepted() != n || srv.Sessions() != 1 {
				t.Errorf("sink accepted %d in %d sessions, want %d in 1", srv.Accepted(), srv.Sessions(), n)
			}
		})
	}
}

// received is what OnMessage saw, copied, since the sink reuses its buffers.
type received struct {
	from string
	to   []string
	data string
}

func TestOnMessageContent(t *testing.T) {
	var big strings.Builder
	for i := 0; big.Len() < 200_000; i++ {
		if i%7 == 0 {
			big.WriteString(".")
		}
		fmt.Fprintf(&big, "line %d of a large message that crosses many reads\r\n", i)
	}
	tests := []struct {
		name    string
		content string
		want    string // what a server stores: dot-unstuffed, CRLF
	}{
		{name: "plain", content: "Subject: a\r\n\r\nbody\r\n", want: "Subject: a\r\n\r\nbody\r\n"},
		{name: "empty", content: "", want: ""},
		{name: "dots", content: ".\r\n..\r\n.x\r\nmiddle . dot\r\n...\r\n", want: ".\r\n..\r\n.x\r\nmiddle . dot\r\n...\r\n"},
		{name: "no trailing newline", content: "Subject: b\r\n\r\nlast", want: "Subject: b\r\n\r\nlast\r\n"},
		{name: "bare line ends", content: "a\nb\rc\r\n.\nd", want: "a\r\nb\r\nc\r\n.\r\nd\r\n"},
		{name: "smuggling attempt", content: "a\n.\nMAIL FROM:<x@y>\r\n", want: "a\r\n.\r\nMAIL FROM:<x@y>\r\n"},
		{name: "large", content: big.String(), want: big.String()},
	}
	for _, tt := range tests {
		// BDAT (RFC 3030) in chunks of 1000 octets must store the same
		// bytes as DATA: the sink checks what it receives byte for byte.
		for _, bdat := range []bool{false, true} {
			for _, mode := range modes {
				name := tt.name + "/pipelining " + mode.String()
				if bdat {
					name += "/bdat"
				}
				t.Run(name, func(t *testing.T) {
					var mu sync.Mutex
					var got []received
					srv := startSink(t, sink.Config{Chunking: bdat, OnMessage: func(from string, to []string, data []byte) {
						mu.Lock()
						got = append(got, received{from, slices.Clone(to), string(data)})
						mu.Unlock()
					}})
					c := dial(t, srv, session.Options{Pipelining: mode, Chunking: session.ChunkingAuto, ChunkSize: 1000})
					if c.Chunking() != bdat {
						t.Fatalf("Chunking() = %v with CHUNKING offered %v", c.Chunking(), bdat)
					}
					results := sendAll(c, messages(t, 3, 2, tt.content))
					if n := count(results); n.ok != 3 {
						t.Fatalf("results %+v", n)
					}
					if err := c.Quit(); err != nil {
						t.Fatal(err)
					}
					mu.Lock()
					defer mu.Unlock()
					if len(got) != 3 {
						t.Fatalf("OnMessage called %d times, want 3", len(got))
					}
					for i, r := range got {
						seq := i + 1
						want := received{
							from: fmt.Sprintf("<from%d@a.test>", seq),
							to:   []string{fmt.Sprintf("<to%d.1@b.test>", seq), fmt.Sprintf("<to%d.2@b.test>", seq)},
							data: tt.want,
						}
						if r.from != want.from || !slices.Equal(r.to, want.to) {
							t.Errorf("message %d: envelope %s %v, want %s %v", seq, r.from, r.to, want.from, want.to)
						}
						if r.data != want.data {
							t.Errorf("message %d: content\n%.300q\nwant\n%.300q", seq, r.data, want.data)
						}
					}
				})
			}
		}
	}
}

func TestReject(t *testing.T) {
	const n = 20
	tests := []struct {
		name  string
		step  sink.Step
		rej   sink.Reject
		rcpts int
		want  tally
		class session.Class // of every rejected message's error
		phase session.Phase
		code  int
	}{
		{name: "half the recipients, two per message", step: sink.StepRcpt, rej: sink.Reject{Percent: 50}, rcpts: 2,
			want: tally{ok: n, rcptAccepted: n, rcptRejected: n}},
		{name: "half the recipients, one per message", step: sink.StepRcpt, rej: sink.Reject{Percent: 50}, rcpts: 1,
			want:  tally{ok: n / 2, rejected: n / 2, rcptAccepted: n / 2, rcptRejected: n / 2},
			class: session.ClassPermReject, phase: session.PhaseRcpt, code: 550},
		{name: "a quarter of the recipients, temporarily", step: sink.StepRcpt, rej: sink.Reject{Percent: 25, Code: 452}, rcpts: 1,
			want:  tally{ok: 3 * n / 4, rejected: n / 4, rcptAccepted: 3 * n / 4, rcptRejected: n / 4},
			class: session.ClassTempReject, phase: session.PhaseRcpt, code: 452},
		{name: "every sender", step: sink.StepMail, rej: sink.Reject{Percent: 100}, rcpts: 1,
			want:  tally{rejected: n},
			class: session.ClassPermReject, phase: session.PhaseMail, code: 550},
		{name: "a tenth of DATA", step: sink.StepData, rej: sink.Reject{Percent: 10}, rcpts: 2,
			want:  tally{ok: 9 * n / 10, rejected: n / 10, rcptAccepted: 2 * n},
			class: session.ClassPermReject, phase: session.PhaseData, code: 554},
		{name: "half the content", step: sink.StepBody, rej: sink.Reject{Percent: 50, Code: 451}, rcpts: 1,
			want:  tally{ok: n / 2, rejected: n / 2, rcptAccepted: n},
			class: session.ClassTempReject, phase: session.PhaseBody, code: 451},
	}
	for _, tt := range tests {
		for _, mode := range modes {
			t.Run(tt.name+"/pipelining "+mode.String(), func(t *testing.T) {
				var cfg sink.Config
				cfg.Reject[tt.step] = tt.rej
				srv := startSink(t, cfg)
				c := dial(t, srv, session.Options{Pipelining: mode})
				results := sendAll(c, messages(t, n, tt.rcpts, "Subject: x\r\n\r\nhi\r\n"))
				if got := count(results); got != tt.want {
					t.Errorf("results %+v, want %+v", got, tt.want)
				}
				for i, r := range results {
					if r.Outcome == session.OutcomeRejected &&
						(r.Err.Class != tt.class || r.Err.Phase != tt.phase || r.Err.Code != tt.code) {
						t.Errorf("message %d: %v (class %v), want class %v, phase %v, code %d",
							i+1, r.Err, r.Err.Class, tt.class, tt.phase, tt.code)
					}
				}
				if err := c.Quit(); err != nil {
					t.Errorf("Quit: %v", err)
				}
				if srv.Accepted() != uint64(tt.want.ok) {
					t.Errorf("sink accepted %d, want %d", srv.Accepted(), tt.want.ok)
				}
			})
		}
	}
}

func TestRejectConnect(t *testing.T) {
	var cfg sink.Config
	cfg.Reject[sink.StepConnect] = sink.Reject{Percent: 100}
	srv := startSink(t, cfg)
	c, err := session.Dial(t.Context(), srv.Addr(), session.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Hello()
	var se *session.Error
	if !errors.As(err, &se) || se.Class != session.ClassPermReject || se.Phase != session.PhaseBanner || se.Code != 554 {
		t.Errorf("Hello = %v, want a 554 perm_reject at banner", err)
	}
}

// phaseObserver keeps the shortest latency seen per phase.
type phaseObserver struct {
	min   [session.NumPhases]time.Duration
	count [session.NumPhases]int
}

func (o *phaseObserver) Observe(p session.Phase, code int, d time.Duration, _ *session.Message) {
	if o.count[p] == 0 || d < o.min[p] {
		o.min[p] = d
	}
	o.count[p]++
}

func TestDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	tests := []struct {
		name  string
		step  sink.Step
		phase session.Phase
	}{
		{"rcpt", sink.StepRcpt, session.PhaseRcpt},
		{"body", sink.StepBody, session.PhaseBody},
		{"mail", sink.StepMail, session.PhaseMail},
	}
	for _, tt := range tests {
		for _, mode := range modes {
			t.Run(tt.name+"/pipelining "+mode.String(), func(t *testing.T) {
				var cfg sink.Config
				cfg.Delay[tt.step] = delay
				srv := startSink(t, cfg)
				obs := &phaseObserver{}
				t0 := time.Now()
				c := dial(t, srv, session.Options{Pipelining: mode, Observer: obs})
				if n := count(sendAll(c, messages(t, 3, 1, "x\r\n"))); n.ok != 3 {
					t.Fatalf("results %+v", n)
				}
				if err := c.Quit(); err != nil {
					t.Fatal(err)
				}
				elapsed := time.Since(t0)
				// A reply is timed from the later of its command's write and
				// the previous reply's arrival as this process read it. Body
				// and lock-step commands start at our own write, so no reply
				// can look shorter than the delay; a pipelined MAIL or RCPT
				// starts at the previous reply, and a late read of that one
				// (a busy machine) shortens it, so it gets half the delay.
				least := delay
				if mode != session.PipeliningOff && tt.phase != session.PhaseBody {
					least = delay / 2
				}
				if obs.count[tt.phase] == 0 || obs.min[tt.phase] < least {
					t.Errorf("%v: %d observations, shortest %v, want every one at least %v",
						tt.phase, obs.count[tt.phase], obs.min[tt.phase], least)
				}
				if elapsed > 5*time.Second {
					t.Errorf("session took %v", elapsed)
				}
			})
		}
	}
}

func TestStall(t *testing.T) {
	srv := startSink(t, sink.Config{StallFor: 300 * time.Millisecond})
	c, err := session.Dial(t.Context(), srv.Addr(), session.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Hello()
	if !errors.Is(err, session.ErrTimeout) {
		t.Errorf("Hello during a stall = %v, want a timeout", err)
	}
}

// TestBadCommands talks to the sink directly: the client never sends these.
func TestBadCommands(t *testing.T) {
	srv := startSink(t, sink.Config{})
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	rr := session.NewReplyReader(conn)
	if r, err := rr.ReadReply(); err != nil || r.Code != 220 {
		t.Fatalf("greeting %d, %v", r.Code, err)
	}
	tests := []struct {
		name string
		line string
		code int
	}{
		{"EHLO", "EHLO client.test", 250},
		{"line longer than the sink's buffer", "X" + strings.Repeat("y", 100_000), 500},
		{"long unknown command", strings.Repeat("z", 1000), 502},
		{"empty line", "", 502},
		{"unknown command", "VRFY postmaster", 502},
		{"RCPT before MAIL", "RCPT TO:<a@b.test>", 503},
		{"DATA without recipients", "DATA", 554},
		{"MAIL", "MAIL FROM:<a@b.test>", 250},
		{"nested MAIL", "MAIL FROM:<a@b.test>", 503},
		{"RSET", "RSET", 250},
		{"lower-case command", "mail from:<a@b.test>", 250},
		{"NOOP", "NOOP", 250},
		{"QUIT", "QUIT", 221},
	}
	for _, tt := range tests {
		if _, err := conn.Write([]byte(tt.line + "\r\n")); err != nil {
			t.Fatalf("%s: write: %v", tt.name, err)
		}
		r, err := rr.ReadReply()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if r.Code != tt.code {
			t.Errorf("%s: reply %d %s, want %d", tt.name, r.Code, r.Text, tt.code)
		}
	}
	if _, err := rr.ReadReply(); err == nil {
		t.Error("connection still open after QUIT")
	}
}

// TestServeStops checks that cancelling Serve closes open sessions, which
// then fail as closed rather than hang.
func TestServeStops(t *testing.T) {
	srv, err := sink.Listen("127.0.0.1:0", sink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	c, err := session.Dial(t.Context(), srv.Addr(), session.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	res := c.Send(messages(t, 1, 1, "x")[0], nil)
	if res.Outcome != session.OutcomeFailed || !errors.Is(res.Err, session.ErrClosed) {
		t.Errorf("Send after the sink stopped = %v, %v; want failed, closed", res.Outcome, res.Err)
	}
	if _, err := session.Dial(t.Context(), srv.Addr(), session.Options{Timeout: time.Second}); err == nil {
		t.Error("sink still accepts connections after Serve returned")
	}
}

func TestParseStep(t *testing.T) {
	for _, name := range []string{"connect", "ehlo", "mail", "rcpt", "data", "body", "rset", "quit"} {
		s, err := sink.ParseStep(name)
		if err != nil || s.String() != name {
			t.Errorf("ParseStep(%q) = %v, %v", name, s, err)
		}
	}
	if s, err := sink.ParseStep("banner"); err != nil || s != sink.StepConnect {
		t.Errorf("ParseStep(banner) = %v, %v", s, err)
	}
	if _, err := sink.ParseStep("bogus"); err == nil {
		t.Error("ParseStep accepted bogus")
	}
}

// TestWorkersBoundThroughput: with Workers, end-of-data work is shared, so
// the sink can never accept more than Workers/delay messages per second
// however many sessions send (without it, each session has its own).
func TestWorkersBoundThroughput(t *testing.T) {
	const (
		delay    = 20 * time.Millisecond
		workers  = 2
		sessions = 6
		each     = 5
	)
	var cfg sink.Config
	cfg.Delay[sink.StepBody] = delay
	cfg.Workers = workers
	srv := startSink(t, cfg)
	start := time.Now()
	var wg sync.WaitGroup
	oks := make([]int, sessions)
	for i := range sessions {
		c := dial(t, srv, session.Options{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			oks[i] = count(sendAll(c, messages(t, each, 1, "x\r\n"))).ok
			c.Quit()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, ok := range oks {
		if ok != each {
			t.Fatalf("session %d: %d of %d accepted", i, ok, each)
		}
	}
	// A lower bound holds on any machine, however loaded: the workers
	// cannot go faster than their delay. Six sessions of their own would
	// take a third of it.
	if floor := time.Duration(sessions*each/workers) * delay; elapsed < floor {
		t.Errorf("%d messages through %d workers of %s took %s, want at least %s", sessions*each, workers, delay, elapsed, floor)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %s", elapsed)
	}
}

// TestSinkEnforcesItsSize: the SIZE the sink announces is what it accepts;
// a larger content is refused with 552 after the end of data (RFC 1870 6.3).
func TestSinkEnforcesItsSize(t *testing.T) {
	srv, err := sink.Start("127.0.0.1:0", sink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c, err := session.Dial(t.Context(), srv.Addr(), session.Options{Timeout: 10 * time.Second, Pipelining: session.PipeliningOff})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	if got := c.Capabilities().MaxSize; got != sink.MaxMessageSize {
		t.Fatalf("SIZE %d announced, want %d", got, sink.MaxMessageSize)
	}
	if testing.Short() {
		return
	}
	big := bytes.Repeat([]byte("0123456789012345678901234567890123456789012345678901234567890123456789\r\n"), sink.MaxMessageSize/72+2)
	set, err := message.Prepare(message.Spec{Data: big})
	if err != nil {
		t.Fatal(err)
	}
	var m session.Message
	set.Fill(&m, 1)
	res := c.Send(&m, nil)
	if res.Outcome != session.OutcomeRejected || res.Err == nil || res.Err.Code != 552 {
		t.Errorf("a content over SIZE: outcome %v, err %v; want rejected with 552", res.Outcome, res.Err)
	}
	if n := srv.Accepted(); n != 0 {
		t.Errorf("sink accepted %d messages over its SIZE", n)
	}
}
