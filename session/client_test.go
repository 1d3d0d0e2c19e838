package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "mx.example.com", want: "mx.example.com:25"},
		{in: "mx.example.com:2525", want: "mx.example.com:2525"},
		{in: "localhost", want: "localhost:25"},
		{in: "127.0.0.1", want: "127.0.0.1:25"},
		{in: "127.0.0.1:587", want: "127.0.0.1:587"},
		{in: "::1", want: "[::1]:25"},
		{in: "[::1]", want: "[::1]:25"},
		{in: "[::1]:2525", want: "[::1]:2525"},
		{in: "2001:db8::25", want: "[2001:db8::25]:25"},
		{in: "[2001:db8::25]:465", want: "[2001:db8::25]:465"},
		{in: "", wantErr: true},
		{in: ":25", wantErr: true},
		{in: "mx.example.com:", wantErr: true},
		{in: "[::1]:", wantErr: true},
		{in: "mx example.com", wantErr: true},
		{in: "a:b:c", wantErr: true},
		{in: "[::1", wantErr: true},
		{in: "::1]", wantErr: true},
		{in: "[]", wantErr: true},
		{in: "[::1]:25:25", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseTarget(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// recordConn is the client's end of a test connection; it keeps every Write
// so tests can check both the exact bytes and how they were grouped.
type recordConn struct {
	net.Conn
	mu     sync.Mutex
	writes []string
}

func (c *recordConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.mu.Lock()
		c.writes = append(c.writes, string(p[:n]))
		c.mu.Unlock()
	}
	return n, err
}

func (c *recordConn) Writes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.writes...)
}

// step is one turn of a scripted server: read exactly recv from the client,
// then answer with send.
type step struct {
	recv   string        // what the client must write next, byte for byte
	send   string        // the server's answer
	chunk  int           // write send in pieces of this many octets; 0 for one write
	delay  time.Duration // wait this long before sending
	hangup bool          // close the connection after send
}

// scriptLimit bounds every scripted conversation, so a client that waits for
// something the script will never send fails the test instead of hanging it.
const scriptLimit = 5 * time.Second

// scriptServer plays steps over net.Pipe. When the script runs out it keeps
// reading and answers nothing, which is also how a stalled server looks.
type scriptServer struct {
	conn   *recordConn
	done   chan error
	finish func() error
}

func startScript(t *testing.T, steps []step) *scriptServer {
	t.Helper()
	cli, srv := net.Pipe()
	s := &scriptServer{conn: &recordConn{Conn: cli}, done: make(chan error, 1)}
	go func() {
		defer srv.Close()
		srv.SetDeadline(time.Now().Add(scriptLimit))
		s.done <- playScript(srv, steps)
	}()
	s.finish = sync.OnceValue(func() error {
		cli.Close()
		select {
		case err := <-s.done:
			return err
		case <-time.After(scriptLimit):
			return errors.New("scripted server did not stop")
		}
	})
	t.Cleanup(func() { s.finish() })
	return s
}

func playScript(srv net.Conn, steps []step) error {
	for i, st := range steps {
		if st.recv != "" {
			got := make([]byte, len(st.recv))
			n, err := io.ReadFull(srv, got)
			if err != nil || string(got) != st.recv {
				return fmt.Errorf("step %d: client wrote %q (%v), want %q", i, got[:n], err, st.recv)
			}
		}
		time.Sleep(st.delay)
		for rest := st.send; rest != ""; {
			n := len(rest)
			if st.chunk > 0 {
				n = min(n, st.chunk)
			}
			if _, err := io.WriteString(srv, rest[:n]); err != nil {
				return fmt.Errorf("step %d: writing %q: %v", i, st.send, err)
			}
			rest = rest[n:]
		}
		if st.hangup {
			return nil
		}
	}
	_, err := io.Copy(io.Discard, srv)
	return err
}

// check ends the conversation and fails the test if the server saw the
// script broken.
func (s *scriptServer) check(t *testing.T) {
	t.Helper()
	if err := s.finish(); err != nil {
		t.Errorf("server: %v", err)
	}
}

const (
	testHost  = "client.test"
	greeting  = "220 mx.test ESMTP\r\n"
	ehloCmd   = "EHLO " + testHost + "\r\n"
	ehloPipe  = "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
	ehloPlain = "250-mx.test\r\n250 8BITMIME\r\n"

	testContent = "Subject: test\r\n\r\nhello\r\n"
	wireContent = testContent + ".\r\n"

	mailOK   = "250 2.1.0 ok\r\n"
	rcptOK   = "250 2.1.5 ok\r\n"
	dataGo   = "354 go ahead\r\n"
	queued   = "250 2.0.0 queued\r\n"
	envOK    = mailOK + rcptOK + rcptOK + dataGo // a two-recipient envelope accepted
	rcptNo   = "550 5.1.1 no such user\r\n"
	noRcpts  = "554 5.5.1 no valid recipients\r\n"
	quitCmd  = "QUIT\r\n"
	quitOK   = "221 2.0.0 bye\r\n"
	rsetCmd  = "RSET\r\n"
	rsetOK   = "250 2.0.0 ok\r\n"
	closing  = "421 4.3.2 shutting down\r\n"
	badOrder = "503 5.5.1 need MAIL first\r\n"
)

var (
	testFrom = MustTemplate("from{n}@a.test")
	testTo   = MustTemplate("to{n}.{r}@b.test")
)

// hello is the start of every script.
func hello(ehlo string) []step {
	return []step{{send: greeting}, {recv: ehloCmd, send: ehlo}}
}

func mailCmd(seq int) string { return fmt.Sprintf("MAIL FROM:<from%d@a.test>\r\n", seq) }

func rcptCmd(seq, i int) string { return fmt.Sprintf("RCPT TO:<to%d.%d@b.test>\r\n", seq, i) }

// group is the pipelined group for message seq with two recipients.
func group(seq int) string {
	return mailCmd(seq) + rcptCmd(seq, 1) + rcptCmd(seq, 2) + "DATA\r\n"
}

func testMessage(t testing.TB, seq int, content string) *Message {
	data, err := EncodeData(nil, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	return &Message{Seq: uint64(seq), From: testFrom, To: testTo, Rcpts: 2, Data: data}
}

func testOptions() Options {
	return Options{Hostname: testHost, Timeout: 2 * time.Second}
}

// concat joins pieces of a script.
func concat(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// wantErr describes the *Error a call must return; the zero value wants nil.
type wantErr struct {
	class Class
	phase Phase
	code  int
}

func checkErr(t *testing.T, what string, err error, want wantErr) {
	t.Helper()
	if want.class == ClassNone {
		if err != nil {
			t.Errorf("%s: unexpected error %v", what, err)
		}
		return
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Errorf("%s: err = %v (%T), want a *session.Error of class %v", what, err, err, want.class)
		return
	}
	if se.Class != want.class || se.Phase != want.phase || se.Code != want.code {
		t.Errorf("%s: err = %v (class %v, phase %v, code %d), want class %v, phase %v, code %d",
			what, se, se.Class, se.Phase, se.Code, want.class, want.phase, want.code)
	}
	if !errors.Is(err, classSentinels[want.class]) {
		t.Errorf("%s: errors.Is(%v, %v) = false", what, err, classSentinels[want.class])
	}
}

func TestHello(t *testing.T) {
	tests := []struct {
		name     string
		mode     Pipelining
		steps    []step
		want     wantErr
		wantCaps Capabilities
		wantPipe bool
		writes   []string
	}{
		{name: "EHLO with every keyword",
			steps: []step{{send: greeting}, {recv: ehloCmd, send: "250-mx.test greets client.test\r\n" +
				"250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n" +
				"250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-SMTPUTF8\r\n250 DSN\r\n"}},
			wantCaps: Capabilities{ESMTP: true, Pipelining: true, Size: true, MaxSize: 1000, EightBitMIME: true,
				EnhancedStatusCodes: true, Chunking: true, StartTLS: true, SMTPUTF8: true, DSN: true,
				Auth: []string{"PLAIN", "LOGIN"}},
			wantPipe: true, writes: []string{ehloCmd}},
		{name: "keywords are case-insensitive",
			steps: []step{{send: greeting}, {recv: ehloCmd, send: "250-mx.test\r\n" +
				"250-pipelining\r\n250-Size 1000\r\n250-8bitmime\r\n250-EnhancedStatusCodes\r\n250-chunking\r\n" +
				"250-StartTLS\r\n250-auth plain Login\r\n250-smtputf8\r\n250 dsn\r\n"}},
			wantCaps: Capabilities{ESMTP: true, Pipelining: true, Size: true, MaxSize: 1000, EightBitMIME: true,
				EnhancedStatusCodes: true, Chunking: true, StartTLS: true, SMTPUTF8: true, DSN: true,
				Auth: []string{"PLAIN", "LOGIN"}},
			wantPipe: true, writes: []string{ehloCmd}},
		{name: "old AUTH= form and SIZE without a limit",
			steps:    []step{{send: greeting}, {recv: ehloCmd, send: "250-mx.test\r\n250-AUTH=PLAIN\r\n250 SIZE\r\n"}},
			wantCaps: Capabilities{ESMTP: true, Size: true, Auth: []string{"PLAIN"}},
			writes:   []string{ehloCmd}},
		{name: "greeting line is not a keyword",
			steps:    []step{{send: greeting}, {recv: ehloCmd, send: "250 PIPELINING\r\n"}},
			wantCaps: Capabilities{ESMTP: true}, writes: []string{ehloCmd}},
		{name: "multiline greeting",
			steps: []step{{send: "220-mx.test ESMTP\r\n220-second line\r\n220 third line\r\n", chunk: 5},
				{recv: ehloCmd, send: ehloPipe}},
			wantCaps: Capabilities{ESMTP: true, Pipelining: true, EightBitMIME: true}, wantPipe: true,
			writes: []string{ehloCmd}},
		{name: "pipelining off though advertised", mode: PipeliningOff,
			steps:    hello(ehloPipe),
			wantCaps: Capabilities{ESMTP: true, Pipelining: true, EightBitMIME: true}, writes: []string{ehloCmd}},
		{name: "pipelining on though not advertised", mode: PipeliningOn,
			steps:    hello(ehloPlain),
			wantCaps: Capabilities{ESMTP: true, EightBitMIME: true}, wantPipe: true, writes: []string{ehloCmd}},
		{name: "EHLO 502 falls back to HELO without pipelining",
			steps:  []step{{send: greeting}, {recv: ehloCmd, send: "502 5.5.1 no EHLO\r\n"}, {recv: "HELO client.test\r\n", send: "250 mx.test\r\n"}},
			writes: []string{ehloCmd, "HELO client.test\r\n"}},
		{name: "EHLO 500 falls back to HELO",
			steps:  []step{{send: greeting}, {recv: ehloCmd, send: "500 what\r\n"}, {recv: "HELO client.test\r\n", send: "250 mx.test\r\n"}},
			writes: []string{ehloCmd, "HELO client.test\r\n"}},
		{name: "HELO refused after fallback",
			steps:  []step{{send: greeting}, {recv: ehloCmd, send: "502 no\r\n"}, {recv: "HELO client.test\r\n", send: "550 go away\r\n"}},
			want:   wantErr{ClassPermReject, PhaseEHLO, 550},
			writes: []string{ehloCmd, "HELO client.test\r\n"}},
		{name: "EHLO 554 is an error, not a reason for HELO",
			steps:  []step{{send: greeting}, {recv: ehloCmd, send: "554 5.7.1 not you\r\n"}},
			want:   wantErr{ClassPermReject, PhaseEHLO, 554},
			writes: []string{ehloCmd}},
		{name: "EHLO 451",
			steps:  []step{{send: greeting}, {recv: ehloCmd, send: "451 4.3.0 later\r\n"}},
			want:   wantErr{ClassTempReject, PhaseEHLO, 451},
			writes: []string{ehloCmd}},
		{name: "EHLO 421",
			steps:  []step{{send: greeting}, {recv: ehloCmd, send: closing, hangup: true}},
			want:   wantErr{ClassClosed, PhaseEHLO, 421},
			writes: []string{ehloCmd}},
		{name: "554 greeting gets QUIT",
			steps:  []step{{send: "554 5.3.2 no service\r\n"}, {recv: quitCmd, send: quitOK}},
			want:   wantErr{ClassPermReject, PhaseBanner, 554},
			writes: []string{quitCmd}},
		{name: "multiline 554 greeting gets QUIT",
			steps:  []step{{send: "554-no\r\n554 service\r\n"}, {recv: quitCmd, send: quitOK}},
			want:   wantErr{ClassPermReject, PhaseBanner, 554},
			writes: []string{quitCmd}},
		{name: "554 greeting and the server hangs up",
			steps:  []step{{send: "554 5.3.2 no service\r\n", hangup: true}},
			want:   wantErr{ClassPermReject, PhaseBanner, 554},
			writes: nil},
		{name: "421 greeting gets nothing",
			steps: []step{{send: closing}},
			want:  wantErr{ClassClosed, PhaseBanner, 421}},
		{name: "positive greeting other than 220",
			steps: []step{{send: "250 hello\r\n"}},
			want:  wantErr{ClassProtocol, PhaseBanner, 0}},
		{name: "malformed greeting",
			steps: []step{{send: "SSH-2.0-OpenSSH_9.6\r\n"}},
			want:  wantErr{ClassProtocol, PhaseBanner, 0}},
		{name: "server hangs up before the greeting",
			steps: []step{{hangup: true}},
			want:  wantErr{ClassClosed, PhaseBanner, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScript(t, tt.steps)
			opts := testOptions()
			opts.Pipelining = tt.mode
			c := NewClient(srv.conn, opts)
			err := c.Hello()
			checkErr(t, "Hello", err, tt.want)
			if err != nil {
				if c.Err() == nil {
					t.Error("Err() = nil after a failed Hello")
				}
			} else {
				if !reflect.DeepEqual(c.Capabilities(), tt.wantCaps) {
					t.Errorf("Capabilities =\n %+v\nwant\n %+v", c.Capabilities(), tt.wantCaps)
				}
				if c.Pipelining() != tt.wantPipe {
					t.Errorf("Pipelining = %v, want %v", c.Pipelining(), tt.wantPipe)
				}
			}
			c.Close()
			srv.check(t)
			if got := srv.conn.Writes(); !reflect.DeepEqual(got, tt.writes) {
				t.Errorf("client wrote\n %q\nwant\n %q", got, tt.writes)
			}
		})
	}
}

// sendCall is one Send(m, next) of a transcript test and what it must return.
type sendCall struct {
	m, next  int // sequence numbers; next 0 for none
	outcome  Outcome
	acc, rej int // RcptAccepted and RcptRejected
	err      wantErr
	ahead    int // the sequence number Ahead must report afterwards, 0 for nil
}

func TestSend(t *testing.T) {
	ok := func(m, next, ahead int) sendCall {
		return sendCall{m: m, next: next, outcome: OutcomeOK, acc: 2, ahead: ahead}
	}
	tests := []struct {
		name    string
		mode    Pipelining
		content string // raw content of every message; testContent if empty
		steps   []step // after hello
		sends   []sendCall
		quit    wantErr // what Quit must return, when doQuit is set
		doQuit  bool
		broken  bool     // Err must be set at the end
		writes  []string // every write after EHLO, exactly
	}{
		// Pipelined (RFC 2920).
		{name: "pipelined message",
			steps:  []step{{recv: group(1), send: envOK}, {recv: wireContent, send: queued}},
			sends:  []sendCall{ok(1, 0, 0)},
			writes: []string{group(1), wireContent}},
		{name: "steady state puts content and the next envelope in one write",
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: wireContent + group(2), send: queued + envOK},
				{recv: wireContent + group(3), send: queued + envOK},
				{recv: wireContent, send: queued},
				{recv: quitCmd, send: quitOK}},
			sends:  []sendCall{ok(1, 2, 2), ok(2, 3, 3), ok(3, 0, 0)},
			doQuit: true,
			writes: []string{group(1), wireContent + group(2), wireContent + group(3), wireContent, quitCmd}},
		{name: "replies one octet at a time",
			steps: []step{
				{recv: group(1), send: envOK, chunk: 1},
				{recv: wireContent + group(2), send: queued + envOK, chunk: 1},
				{recv: wireContent, send: queued, chunk: 1}},
			sends:  []sendCall{ok(1, 2, 2), ok(2, 0, 0)},
			writes: []string{group(1), wireContent + group(2), wireContent}},
		{name: "replies split at odd places",
			steps: []step{
				{recv: group(1), send: envOK, chunk: 7},
				{recv: wireContent + group(2), send: queued + envOK, chunk: 13},
				{recv: wireContent, send: queued, chunk: 3}},
			sends:  []sendCall{ok(1, 2, 2), ok(2, 0, 0)},
			writes: []string{group(1), wireContent + group(2), wireContent}},
		{name: "multiline replies count once",
			steps: []step{
				{recv: group(1), send: "250-2.1.0 sender\r\n250 2.1.0 ok\r\n" + rcptOK + "250-a\r\n250-b\r\n250 c\r\n354-go\r\n354 ahead\r\n"},
				{recv: wireContent, send: "250-2.0.0 queued\r\n250 2.0.0 as 1234\r\n"}},
			sends:  []sendCall{ok(1, 0, 0)},
			writes: []string{group(1), wireContent}},
		{name: "one recipient refused",
			steps:  []step{{recv: group(1), send: mailOK + rcptNo + rcptOK + dataGo}, {recv: wireContent, send: queued}},
			sends:  []sendCall{{m: 1, outcome: OutcomeOK, acc: 1, rej: 1}},
			writes: []string{group(1), wireContent}},
		{name: "251 counts as accepted",
			steps: []step{
				{recv: group(1), send: mailOK + "251 2.1.5 will forward\r\n251 2.1.5 will forward\r\n" + dataGo},
				{recv: wireContent, send: queued}},
			sends:  []sendCall{ok(1, 0, 0)},
			writes: []string{group(1), wireContent}},
		{name: "452 to one recipient continues it in a new transaction",
			steps: []step{
				{recv: group(1), send: mailOK + rcptOK + "452 4.5.3 too many recipients\r\n" + dataGo},
				{recv: wireContent, send: queued},
				{recv: mailCmd(1) + rcptCmd(1, 2) + "DATA\r\n", send: mailOK + rcptOK + dataGo},
				{recv: wireContent, send: queued}},
			sends:  []sendCall{{m: 1, outcome: OutcomeOK, acc: 2, rej: 0}},
			writes: []string{group(1), wireContent, mailCmd(1) + rcptCmd(1, 2) + "DATA\r\n", wireContent}},
		{name: "452 mailbox full is a refusal, not a limit",
			steps: []step{
				{recv: group(1), send: mailOK + rcptOK + "452 4.2.2 mailbox full\r\n" + dataGo},
				{recv: wireContent, send: queued}},
			sends:  []sendCall{{m: 1, outcome: OutcomeOK, acc: 1, rej: 1}},
			writes: []string{group(1), wireContent}},
		{name: "452 to every recipient is temporary",
			steps: []step{
				{recv: group(1), send: mailOK + "452 4.5.3 too many recipients\r\n452 4.5.3 too many recipients\r\n" + noRcpts},
				{recv: quitCmd, send: quitOK}},
			sends:  []sendCall{{m: 1, outcome: OutcomeRejected, acc: 0, rej: 2, err: wantErr{ClassTempReject, PhaseRcpt, 452}}},
			doQuit: true,
			writes: []string{group(1), quitCmd}},
		{name: "every recipient refused, DATA 554, RSET before the next MAIL",
			steps: []step{
				{recv: group(1), send: mailOK + rcptNo + rcptNo + noRcpts},
				{recv: rsetCmd + group(2), send: rsetOK + envOK},
				{recv: wireContent, send: queued}},
			sends: []sendCall{
				{m: 1, next: 2, outcome: OutcomeRejected, acc: 0, rej: 2, err: wantErr{ClassPermReject, PhaseRcpt, 550}},
				ok(2, 0, 0)},
			writes: []string{group(1), rsetCmd + group(2), wireContent}},
		{name: "every recipient refused but DATA 354: lone dot, then RSET",
			steps: []step{
				{recv: group(1), send: mailOK + rcptNo + rcptNo + dataGo},
				{recv: ".\r\n", send: noRcpts},
				{recv: rsetCmd + group(2), send: rsetOK + envOK},
				{recv: wireContent, send: queued}},
			sends: []sendCall{
				{m: 1, next: 2, outcome: OutcomeRejected, acc: 0, rej: 2, err: wantErr{ClassPermReject, PhaseRcpt, 550}},
				ok(2, 0, 0)},
			writes: []string{group(1), ".\r\n", rsetCmd + group(2), wireContent}},
		{name: "MAIL refused: every reply read, RSET, next message works",
			steps: []step{
				{recv: group(1), send: "550 5.7.1 sender refused\r\n" + badOrder + badOrder + badOrder},
				{recv: rsetCmd + group(2), send: rsetOK + envOK},
				{recv: wireContent, send: queued}},
			sends: []sendCall{
				{m: 1, next: 2, outcome: OutcomeRejected, acc: 0, err: wantErr{ClassPermReject, PhaseMail, 550}},
				ok(2, 0, 0)},
			writes: []string{group(1), rsetCmd + group(2), wireContent}},
		{name: "MAIL refused for the envelope sent ahead",
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: wireContent + group(2), send: queued + "550 5.7.1 sender refused\r\n" + badOrder + badOrder + badOrder},
				{recv: rsetCmd + group(3), send: rsetOK + envOK},
				{recv: wireContent, send: queued}},
			sends: []sendCall{
				ok(1, 2, 2),
				{m: 2, next: 3, outcome: OutcomeRejected, acc: 0, err: wantErr{ClassPermReject, PhaseMail, 550}},
				ok(3, 0, 0)},
			writes: []string{group(1), wireContent + group(2), rsetCmd + group(3), wireContent}},
		// A per-session limit (RFC 5321 4.5.3.1.10 style 452 after some
		// messages): QUIT, and the message goes again elsewhere.
		{name: "452 to MAIL sent ahead ends the session",
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: wireContent + group(2), send: queued + "452 4.5.3 too many messages\r\n" + badOrder + badOrder + badOrder},
				{recv: quitCmd, send: quitOK}},
			sends:  []sendCall{ok(1, 2, 0)},
			broken: true,
			writes: []string{group(1), wireContent + group(2), quitCmd}},
		{name: "452 to MAIL after a message ends the session",
			mode: PipeliningOff,
			steps: []step{
				{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptOK}, {recv: rcptCmd(1, 2), send: rcptOK},
				{recv: "DATA\r\n", send: dataGo}, {recv: wireContent, send: queued},
				{recv: mailCmd(2), send: "452 4.5.3 too many messages\r\n"}, {recv: quitCmd, send: quitOK}},
			sends: []sendCall{ok(1, 0, 0),
				{m: 2, outcome: OutcomeResend, err: wantErr{ClassTempReject, PhaseMail, 452}}},
			broken: true,
			writes: []string{mailCmd(1), rcptCmd(1, 1), rcptCmd(1, 2), "DATA\r\n", wireContent, mailCmd(2), quitCmd}},
		{name: "421 to MAIL after a message ends the session",
			mode: PipeliningOff,
			steps: []step{
				{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptOK}, {recv: rcptCmd(1, 2), send: rcptOK},
				{recv: "DATA\r\n", send: dataGo}, {recv: wireContent, send: queued},
				{recv: mailCmd(2), send: closing, hangup: true}},
			sends: []sendCall{ok(1, 0, 0),
				{m: 2, outcome: OutcomeResend, err: wantErr{ClassClosed, PhaseMail, 421}}},
			broken: true,
			writes: []string{mailCmd(1), rcptCmd(1, 1), rcptCmd(1, 2), "DATA\r\n", wireContent, mailCmd(2)}},
		{name: "a close instead of the reply to MAIL sent ahead ends the session",
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: wireContent + group(2), send: queued, hangup: true}},
			sends:  []sendCall{ok(1, 2, 0)},
			broken: true,
			writes: []string{group(1), wireContent + group(2)}},
		{name: "content refused",
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: wireContent, send: "554 5.6.0 content refused\r\n"},
				{recv: quitCmd, send: quitOK}},
			sends:  []sendCall{{m: 1, outcome: OutcomeRejected, acc: 2, err: wantErr{ClassPermReject, PhaseBody, 554}}},
			doQuit: true,
			writes: []string{group(1), wireContent, quitCmd}},
		{name: "content refused with the next envelope sent ahead",
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: wireContent + group(2), send: "554 5.6.0 content refused\r\n" + envOK},
				{recv: wireContent, send: queued}},
			sends: []sendCall{
				{m: 1, next: 2, outcome: OutcomeRejected, acc: 2, err: wantErr{ClassPermReject, PhaseBody, 554}, ahead: 2},
				ok(2, 0, 0)},
			writes: []string{group(1), wireContent + group(2), wireContent}},
		{name: "lone dot line in the content is stuffed",
			content: "Subject: dots\r\n\r\n.\r\n.hidden\r\nlast",
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: "Subject: dots\r\n\r\n..\r\n..hidden\r\nlast\r\n.\r\n", send: queued}},
			sends:  []sendCall{ok(1, 0, 0)},
			writes: []string{group(1), "Subject: dots\r\n\r\n..\r\n..hidden\r\nlast\r\n.\r\n"}},
		{name: "421 to RCPT fails the message and the session",
			steps:  []step{{recv: group(1), send: mailOK + closing, hangup: true}},
			sends:  []sendCall{{m: 1, outcome: OutcomeFailed, acc: 0, err: wantErr{ClassClosed, PhaseRcpt, 421}}, {m: 2, outcome: OutcomeFailed, err: wantErr{ClassClosed, PhaseRcpt, 421}}},
			broken: true,
			writes: []string{group(1)}},
		{name: "421 after content fails the envelope sent ahead too",
			mode: PipeliningOn,
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: wireContent + group(2), send: closing, hangup: true}},
			sends: []sendCall{
				{m: 1, next: 2, outcome: OutcomeFailed, acc: 2, err: wantErr{ClassClosed, PhaseBody, 421}, ahead: 2},
				{m: 2, outcome: OutcomeFailed, err: wantErr{ClassClosed, PhaseMail, 0}}},
			broken: true,
			writes: []string{group(1), wireContent + group(2)}},
		{name: "421 after content: under auto the envelope sent ahead goes again",
			steps: []step{
				{recv: group(1), send: envOK},
				{recv: wireContent + group(2), send: closing, hangup: true}},
			sends: []sendCall{
				{m: 1, next: 2, outcome: OutcomeFailed, acc: 2, err: wantErr{ClassClosed, PhaseBody, 421}}},
			broken: true,
			writes: []string{group(1), wireContent + group(2)}},
		// A server that does not offer PIPELINING, made to take it, may say
		// 500 and hang up: MAIL's reply decides the message.
		{name: "pipelining on: 500 to the group and a close",
			mode:   PipeliningOn,
			steps:  []step{{recv: group(1), send: "500 5.5.1 pipelining not allowed\r\n", hangup: true}},
			sends:  []sendCall{{m: 1, outcome: OutcomeRejected, err: wantErr{ClassPermReject, PhaseMail, 500}}},
			broken: true,
			writes: []string{group(1)}},
		{name: "pipelining groups: each envelope after the end-of-data reply",
			mode: PipeliningGroups,
			steps: []step{
				{recv: group(1), send: envOK}, {recv: wireContent, send: queued},
				{recv: group(2), send: envOK}, {recv: wireContent, send: queued}},
			sends:  []sendCall{ok(1, 2, 0), ok(2, 0, 0)},
			writes: []string{group(1), wireContent, group(2), wireContent}},
		{name: "server hangs up mid-reply",
			steps:  []step{{recv: group(1), send: mailOK + "250-partial\r\n", hangup: true}},
			sends:  []sendCall{{m: 1, outcome: OutcomeFailed, err: wantErr{ClassClosed, PhaseRcpt, 0}}},
			broken: true,
			writes: []string{group(1)}},
		{name: "server hangs up instead of replying",
			steps:  []step{{recv: group(1), hangup: true}},
			sends:  []sendCall{{m: 1, outcome: OutcomeFailed, err: wantErr{ClassClosed, PhaseMail, 0}}},
			broken: true,
			writes: []string{group(1)}},
		{name: "malformed reply breaks the session",
			steps: []step{{recv: group(1), send: mailOK + "25O 2.1.5 ok\r\n" + rcptOK + dataGo}},
			sends: []sendCall{
				{m: 1, outcome: OutcomeFailed, err: wantErr{ClassProtocol, PhaseRcpt, 0}},
				{m: 2, outcome: OutcomeFailed, err: wantErr{ClassProtocol, PhaseRcpt, 0}}},
			broken: true,
			writes: []string{group(1)}},
		{name: "DATA answered 250 breaks the session",
			steps:  []step{{recv: group(1), send: mailOK + rcptOK + rcptOK + "250 ok\r\n"}},
			sends:  []sendCall{{m: 1, outcome: OutcomeFailed, acc: 2, err: wantErr{ClassProtocol, PhaseData, 250}}},
			broken: true,
			writes: []string{group(1)}},
		{name: "354 to MAIL breaks the session",
			steps: []step{{recv: group(1), send: dataGo + badOrder + badOrder + noRcpts}},
			sends: []sendCall{
				{m: 1, outcome: OutcomeFailed, err: wantErr{ClassProtocol, PhaseMail, 0}},
				{m: 2, outcome: OutcomeFailed, err: wantErr{ClassProtocol, PhaseMail, 0}}},
			broken: true,
			writes: []string{group(1)}},
		{name: "354 after content breaks the session",
			steps: []step{{recv: group(1), send: envOK}, {recv: wireContent, send: dataGo}},
			sends: []sendCall{
				{m: 1, outcome: OutcomeFailed, acc: 2, err: wantErr{ClassProtocol, PhaseBody, 0}},
				{m: 2, outcome: OutcomeFailed, err: wantErr{ClassProtocol, PhaseBody, 0}}},
			broken: true,
			writes: []string{group(1), wireContent}},
		{name: "RSET refused breaks the session",
			steps: []step{
				{recv: group(1), send: mailOK + rcptNo + rcptNo + noRcpts},
				{recv: rsetCmd + group(2), send: "502 5.5.1 no RSET\r\n" + envOK}},
			sends: []sendCall{
				{m: 1, outcome: OutcomeRejected, rej: 2, err: wantErr{ClassPermReject, PhaseRcpt, 550}},
				{m: 2, outcome: OutcomeFailed, err: wantErr{ClassProtocol, PhaseRset, 502}}},
			broken: true,
			writes: []string{group(1), rsetCmd + group(2)}},
		{name: "pipelining forced on",
			mode:   PipeliningOn,
			steps:  []step{{recv: group(1), send: envOK}, {recv: wireContent, send: queued}},
			sends:  []sendCall{ok(1, 0, 0)},
			writes: []string{group(1), wireContent}},

		// Lockstep: without PIPELINING every command waits for its reply.
		{name: "lockstep message",
			mode: PipeliningOff,
			steps: []step{
				{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptOK}, {recv: rcptCmd(1, 2), send: rcptOK},
				{recv: "DATA\r\n", send: dataGo}, {recv: wireContent, send: queued}, {recv: quitCmd, send: quitOK}},
			sends:  []sendCall{ok(1, 2, 0)},
			doQuit: true,
			writes: []string{mailCmd(1), rcptCmd(1, 1), rcptCmd(1, 2), "DATA\r\n", wireContent, quitCmd}},
		{name: "lockstep MAIL refused: no RCPT, RSET before the next",
			mode: PipeliningOff,
			steps: []step{
				{recv: mailCmd(1), send: "550 5.7.1 sender refused\r\n"},
				{recv: rsetCmd, send: rsetOK}, {recv: mailCmd(2), send: mailOK},
				{recv: rcptCmd(2, 1), send: rcptOK}, {recv: rcptCmd(2, 2), send: rcptOK},
				{recv: "DATA\r\n", send: dataGo}, {recv: wireContent, send: queued}},
			sends: []sendCall{
				{m: 1, outcome: OutcomeRejected, err: wantErr{ClassPermReject, PhaseMail, 550}},
				ok(2, 0, 0)},
			writes: []string{mailCmd(1), rsetCmd, mailCmd(2), rcptCmd(2, 1), rcptCmd(2, 2), "DATA\r\n", wireContent}},
		{name: "lockstep every recipient refused: no DATA",
			mode: PipeliningOff,
			steps: []step{
				{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptNo}, {recv: rcptCmd(1, 2), send: rcptNo},
				{recv: rsetCmd, send: rsetOK}, {recv: mailCmd(2), send: mailOK},
				{recv: rcptCmd(2, 1), send: rcptOK}, {recv: rcptCmd(2, 2), send: rcptNo},
				{recv: "DATA\r\n", send: dataGo}, {recv: wireContent, send: queued}},
			sends: []sendCall{
				{m: 1, outcome: OutcomeRejected, rej: 2, err: wantErr{ClassPermReject, PhaseRcpt, 550}},
				{m: 2, outcome: OutcomeOK, acc: 1, rej: 1}},
			writes: []string{mailCmd(1), rcptCmd(1, 1), rcptCmd(1, 2), rsetCmd,
				mailCmd(2), rcptCmd(2, 1), rcptCmd(2, 2), "DATA\r\n", wireContent}},
		{name: "lockstep DATA refused",
			mode: PipeliningOff,
			steps: []step{
				{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptOK}, {recv: rcptCmd(1, 2), send: rcptOK},
				{recv: "DATA\r\n", send: "451 4.3.0 later\r\n"}, {recv: quitCmd, send: quitOK}},
			sends:  []sendCall{{m: 1, outcome: OutcomeRejected, acc: 2, err: wantErr{ClassTempReject, PhaseData, 451}}},
			doQuit: true,
			writes: []string{mailCmd(1), rcptCmd(1, 1), rcptCmd(1, 2), "DATA\r\n", quitCmd}},
		{name: "lockstep 421 to MAIL",
			mode:   PipeliningOff,
			steps:  []step{{recv: mailCmd(1), send: closing, hangup: true}},
			sends:  []sendCall{{m: 1, outcome: OutcomeFailed, err: wantErr{ClassClosed, PhaseMail, 421}}},
			broken: true,
			doQuit: true,
			quit:   wantErr{ClassClosed, PhaseMail, 421},
			writes: []string{mailCmd(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := tt.content
			if content == "" {
				content = testContent
			}
			msgs := map[int]*Message{}
			msg := func(seq int) *Message {
				if seq == 0 {
					return nil
				}
				if msgs[seq] == nil {
					msgs[seq] = testMessage(t, seq, content)
				}
				return msgs[seq]
			}
			ehlo := ehloPipe
			if tt.mode != PipeliningAuto {
				ehlo = ehloPlain
			}
			srv := startScript(t, concat(hello(ehlo), tt.steps))
			opts := testOptions()
			opts.Pipelining = tt.mode
			c := NewClient(srv.conn, opts)
			if err := c.Hello(); err != nil {
				t.Fatal(err)
			}
			for i, sc := range tt.sends {
				what := fmt.Sprintf("send %d (message %d)", i, sc.m)
				res := c.Send(msg(sc.m), msg(sc.next))
				if res.Outcome != sc.outcome {
					t.Errorf("%s: outcome %v, want %v (err %v)", what, res.Outcome, sc.outcome, res.Err)
				}
				if res.RcptAccepted != sc.acc || res.RcptRejected != sc.rej {
					t.Errorf("%s: recipients accepted %d, rejected %d; want %d, %d",
						what, res.RcptAccepted, res.RcptRejected, sc.acc, sc.rej)
				}
				var err error
				if res.Err != nil {
					err = res.Err
				}
				checkErr(t, what, err, sc.err)
				if sc.outcome == OutcomeOK && res.Err != nil {
					t.Errorf("%s: OK with error %v", what, res.Err)
				}
				if !res.Start.IsZero() && res.End.Before(res.Start) {
					t.Errorf("%s: End %v before Start %v", what, res.End, res.Start)
				}
				if got, want := c.Ahead(), msg(sc.ahead); got != want {
					t.Errorf("%s: Ahead() = %v, want message %d", what, got, sc.ahead)
				}
			}
			if tt.doQuit {
				checkErr(t, "Quit", c.Quit(), tt.quit)
			}
			if broken := c.Err() != nil; broken != tt.broken {
				t.Errorf("Err() = %v, want broken: %v", c.Err(), tt.broken)
			}
			c.Close()
			srv.check(t)
			want := append([]string{ehloCmd}, tt.writes...)
			if got := srv.conn.Writes(); !reflect.DeepEqual(got, want) {
				t.Errorf("client wrote\n %q\nwant\n %q", got, want)
			}
			var sent int64
			for _, w := range want {
				sent += int64(len(w))
			}
			if c.BytesSent() != sent {
				t.Errorf("BytesSent = %d, want %d", c.BytesSent(), sent)
			}
		})
	}
}

func TestSendDefaultsToOneRecipient(t *testing.T) {
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: mailCmd(1) + rcptCmd(1, 1) + "DATA\r\n", send: mailOK + rcptOK + dataGo},
		{recv: wireContent, send: queued}}))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	m := testMessage(t, 1, testContent)
	m.Rcpts = 0
	if res := c.Send(m, nil); res.Outcome != OutcomeOK || res.RcptAccepted != 1 {
		t.Errorf("Send = %+v", res)
	}
	c.Close()
	srv.check(t)
}

func TestSendWrongMessagePanics(t *testing.T) {
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: group(1), send: envOK},
		{recv: wireContent + group(2), send: queued + envOK}}))
	c := NewClient(srv.conn, testOptions())
	defer srv.check(t)
	defer c.Close()
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	m1, m2, m3 := testMessage(t, 1, testContent), testMessage(t, 2, testContent), testMessage(t, 3, testContent)
	if res := c.Send(m1, m2); res.Outcome != OutcomeOK {
		t.Fatalf("Send = %+v", res)
	}
	defer func() {
		if recover() == nil {
			t.Error("Send with a message other than Ahead() did not panic")
		}
	}()
	c.Send(m3, nil)
}

func TestQuit(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  wantErr
	}{
		{name: "221", steps: []step{{recv: quitCmd, send: quitOK}}},
		{name: "221 multiline", steps: []step{{recv: quitCmd, send: "221-bye\r\n221 now\r\n"}}},
		{name: "250 instead of 221", steps: []step{{recv: quitCmd, send: "250 ok\r\n"}}, want: wantErr{ClassProtocol, PhaseQuit, 0}},
		{name: "500", steps: []step{{recv: quitCmd, send: "500 what\r\n"}}, want: wantErr{ClassPermReject, PhaseQuit, 500}},
		{name: "hang-up", steps: []step{{recv: quitCmd, hangup: true}}, want: wantErr{ClassClosed, PhaseQuit, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScript(t, concat(hello(ehloPipe), tt.steps))
			c := NewClient(srv.conn, testOptions())
			if err := c.Hello(); err != nil {
				t.Fatal(err)
			}
			checkErr(t, "Quit", c.Quit(), tt.want)
			if err := c.Quit(); err != nil {
				t.Errorf("second Quit = %v, want nil", err)
			}
			srv.check(t)
			if got, want := srv.conn.Writes(), []string{ehloCmd, quitCmd}; !reflect.DeepEqual(got, want) {
				t.Errorf("client wrote %q, want %q", got, want)
			}
			if res := c.Send(testMessage(t, 1, testContent), nil); res.Outcome != OutcomeFailed {
				t.Errorf("Send after Quit = %+v, want failed", res)
			}
		})
	}
}

func TestCloseAborts(t *testing.T) {
	srv := startScript(t, hello(ehloPipe))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	checkErr(t, "Err after Close", c.Err(), wantErr{ClassAborted, PhaseQuit, 0})
	res := c.Send(testMessage(t, 1, testContent), nil)
	checkErr(t, "Send after Close", res.Err, wantErr{ClassAborted, PhaseQuit, 0})
	if err := c.Quit(); err != nil {
		t.Errorf("Quit after Close = %v", err)
	}
	srv.check(t)
	if got := srv.conn.Writes(); !reflect.DeepEqual(got, []string{ehloCmd}) {
		t.Errorf("client wrote %q after Close", got[1:])
	}
}

// TestAbortUnblocksRead checks that Abort, from another goroutine, ends a
// read that would otherwise wait for the whole timeout.
func TestAbortUnblocksRead(t *testing.T) {
	srv := startScript(t, hello(ehloPipe))
	opts := testOptions()
	opts.Timeout = time.Minute
	c := NewClient(srv.conn, opts)
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(50*time.Millisecond, c.Abort)
	defer timer.Stop()
	t0 := time.Now()
	res := c.Send(testMessage(t, 1, testContent), nil)
	if res.Outcome != OutcomeFailed || time.Since(t0) > 5*time.Second {
		t.Errorf("Send = %+v after %v", res, time.Since(t0))
	}
	checkErr(t, "Send", res.Err, wantErr{ClassClosed, PhaseMail, 0})
	srv.check(t)
}

func TestTimeouts(t *testing.T) {
	const timeout = 200 * time.Millisecond
	send := func(c *Client) error {
		if err := c.Hello(); err != nil {
			return err
		}
		m := testMessage(t, 1, testContent)
		if res := c.Send(m, nil); res.Err != nil {
			return res.Err
		}
		return nil
	}
	tests := []struct {
		name  string
		mode  Pipelining
		steps []step
		run   func(*Client) error
		phase Phase
	}{
		{name: "no greeting", run: (*Client).Hello, phase: PhaseBanner},
		{name: "half a greeting", steps: []step{{send: "220-mx.test\r\n"}}, run: (*Client).Hello, phase: PhaseBanner},
		{name: "no EHLO reply", steps: []step{{send: greeting}}, run: (*Client).Hello, phase: PhaseEHLO},
		{name: "no reply to a pipelined group", steps: hello(ehloPipe), run: send, phase: PhaseMail},
		{name: "no reply to DATA in a group",
			steps: concat(hello(ehloPipe), []step{{recv: group(1), send: mailOK + rcptOK + rcptOK}}),
			run:   send, phase: PhaseData},
		{name: "no reply to MAIL", mode: PipeliningOff, steps: hello(ehloPlain), run: send, phase: PhaseMail},
		{name: "no reply to RCPT", mode: PipeliningOff,
			steps: concat(hello(ehloPlain), []step{{recv: mailCmd(1), send: mailOK}}),
			run:   send, phase: PhaseRcpt},
		{name: "no reply to DATA", mode: PipeliningOff,
			steps: concat(hello(ehloPlain), []step{
				{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptOK}, {recv: rcptCmd(1, 2), send: rcptOK}}),
			run: send, phase: PhaseData},
		{name: "no reply after content",
			steps: concat(hello(ehloPipe), []step{{recv: group(1), send: envOK}}),
			run:   send, phase: PhaseBody},
		{name: "no reply to QUIT", steps: hello(ehloPipe),
			run: func(c *Client) error {
				if err := c.Hello(); err != nil {
					return err
				}
				return c.Quit()
			}, phase: PhaseQuit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startScript(t, tt.steps)
			opts := testOptions()
			opts.Timeout = timeout
			if tt.phase == PhaseBody {
				// The end of data has its own timeout: the other one is
				// too long to be the one that fires.
				opts.Timeout, opts.DataTimeout = time.Minute, timeout
			}
			opts.Pipelining = tt.mode
			c := NewClient(srv.conn, opts)
			defer srv.check(t)
			defer c.Close()
			t0 := time.Now()
			err := tt.run(c)
			elapsed := time.Since(t0)
			checkErr(t, "err", err, wantErr{ClassTimeout, tt.phase, 0})
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("err = %v, want it to wrap os.ErrDeadlineExceeded", err)
			}
			if se := (*Error)(nil); errors.As(err, &se) && !se.Temporary() {
				t.Errorf("timeout is not Temporary")
			}
			if elapsed < timeout || elapsed > 10*timeout {
				t.Errorf("gave up after %v, want about %v", elapsed, timeout)
			}
			if c.Err() == nil {
				t.Error("session still usable after a timeout")
			}
		})
	}
}

// TestTimeoutIsPerReply checks the classic mistake of one deadline for the
// whole session (RFC 5321 4.5.3.2 times each reply): every reply here comes
// well within the timeout though the session lasts several times longer.
func TestTimeoutIsPerReply(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const slow = timeout / 2
	srv := startScript(t, []step{
		{send: greeting, delay: slow}, {recv: ehloCmd, send: ehloPlain, delay: slow},
		{recv: mailCmd(1), send: mailOK, delay: slow}, {recv: rcptCmd(1, 1), send: rcptOK, delay: slow},
		{recv: rcptCmd(1, 2), send: rcptOK, delay: slow}, {recv: "DATA\r\n", send: dataGo, delay: slow},
		{recv: wireContent, send: queued, delay: slow}})
	opts := testOptions()
	opts.Timeout = timeout
	c := NewClient(srv.conn, opts)
	defer srv.check(t)
	defer c.Close()
	mustHello(t, c)
	if res := c.Send(testMessage(t, 1, testContent), nil); res.Outcome != OutcomeOK {
		t.Errorf("Send = %v: %v", res.Outcome, res.Err)
	}
}

// recordObserver keeps what a session observed; it is called on the
// session's goroutine only.
type recordObserver struct {
	events []observation
}

type observation struct {
	phase Phase
	code  int
}

func (o *recordObserver) Observe(p Phase, code int, d time.Duration, _ *Message) {
	if d < 0 {
		p = NumPhases // shows up as a mismatch
	}
	o.events = append(o.events, observation{p, code})
}

func mustHello(t *testing.T, c *Client) {
	t.Helper()
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
}

func TestObserver(t *testing.T) {
	tests := []struct {
		name  string
		mode  Pipelining
		steps []step
		run   func(t *testing.T, c *Client)
		want  []observation
	}{
		{name: "pipelined session",
			steps: concat(hello(ehloPipe), []step{
				{recv: group(1), send: mailOK + rcptOK + rcptNo + dataGo},
				{recv: wireContent + group(2), send: queued + envOK},
				{recv: wireContent, send: "554 5.6.0 no\r\n"},
				{recv: quitCmd, send: quitOK}}),
			run: func(t *testing.T, c *Client) {
				mustHello(t, c)
				m1, m2 := testMessage(t, 1, testContent), testMessage(t, 2, testContent)
				c.Send(m1, m2)
				c.Send(m2, nil)
				c.Quit()
			},
			want: []observation{
				{PhaseBanner, 220}, {PhaseEHLO, 250},
				{PhaseMail, 250}, {PhaseRcpt, 250}, {PhaseRcpt, 550}, {PhaseData, 354},
				{PhaseBody, 250}, {PhaseMail, 250}, {PhaseRcpt, 250}, {PhaseRcpt, 250}, {PhaseData, 354},
				{PhaseBody, 554},
				{PhaseQuit, 221}}},
		{name: "lockstep session with RSET", mode: PipeliningOff,
			steps: concat(hello(ehloPlain), []step{
				{recv: mailCmd(1), send: "550 no\r\n"},
				{recv: rsetCmd, send: rsetOK}, {recv: mailCmd(2), send: closing, hangup: true}}),
			run: func(t *testing.T, c *Client) {
				mustHello(t, c)
				c.Send(testMessage(t, 1, testContent), nil)
				c.Send(testMessage(t, 2, testContent), nil)
			},
			want: []observation{
				{PhaseBanner, 220}, {PhaseEHLO, 250},
				{PhaseMail, 550}, {PhaseRset, 250}, {PhaseMail, 421}}},
		{name: "HELO fallback",
			steps: []step{{send: greeting}, {recv: ehloCmd, send: "502 no\r\n"}, {recv: "HELO client.test\r\n", send: "250 ok\r\n"}},
			run:   func(t *testing.T, c *Client) { c.Hello() },
			want:  []observation{{PhaseBanner, 220}, {PhaseEHLO, 502}, {PhaseEHLO, 250}}},
		{name: "no reply is code 0",
			steps: []step{{send: greeting}, {recv: ehloCmd, hangup: true}},
			run:   func(t *testing.T, c *Client) { c.Hello() },
			want:  []observation{{PhaseBanner, 220}, {PhaseEHLO, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScript(t, tt.steps)
			obs := &recordObserver{}
			opts := testOptions()
			opts.Pipelining = tt.mode
			opts.Observer = obs
			c := NewClient(srv.conn, opts)
			tt.run(t, c)
			c.Close()
			srv.check(t)
			if !reflect.DeepEqual(obs.events, tt.want) {
				t.Errorf("observed\n %v\nwant\n %v", obs.events, tt.want)
			}
		})
	}
}

func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(scriptLimit))
		served <- playScript(conn, concat(hello(ehloPipe), []step{{recv: quitCmd, send: quitOK}}))
	}()
	obs := &recordObserver{}
	opts := testOptions()
	opts.Observer = obs
	c, err := Dial(t.Context(), ln.Addr().String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Errorf("server: %v", err)
	}
	want := []observation{{PhaseConnect, 0}, {PhaseBanner, 220}, {PhaseEHLO, 250}, {PhaseQuit, 221}}
	if !reflect.DeepEqual(obs.events, want) {
		t.Errorf("observed %v, want %v", obs.events, want)
	}
}

func TestDialFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		addr  string
		class Class
	}{
		{"refused", t.Context(), closedAddr, ClassRefused},
		{"canceled", canceled, closedAddr, ClassAborted},
		// RFC 6761 6.4: no name under .invalid resolves.
		{"resolve", t.Context(), "smtpbench-test.invalid:25", ClassResolve},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &recordObserver{}
			opts := testOptions()
			opts.Observer = obs
			c, err := Dial(tt.ctx, tt.addr, opts)
			if c != nil {
				c.Close()
				t.Fatal("Dial returned a client")
			}
			checkErr(t, "Dial", err, wantErr{tt.class, PhaseConnect, 0})
			if want := []observation{{PhaseConnect, 0}}; !reflect.DeepEqual(obs.events, want) {
				t.Errorf("observed %v, want %v", obs.events, want)
			}
		})
	}
}

func TestTrace(t *testing.T) {
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: group(1), send: envOK},
		{recv: "1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n.\r\n", send: queued},
		{recv: quitCmd, send: quitOK}}))
	var buf bytes.Buffer
	opts := testOptions()
	opts.Trace = NewTraceWriter(&buf)
	opts.TraceID = 7
	c := NewClient(srv.conn, opts)
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	if res := c.Send(testMessage(t, 1, "1\n2\n3\n4\n5\n6\n"), nil); res.Outcome != OutcomeOK {
		t.Fatalf("Send = %+v", res)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	srv.check(t)
	want := `[7] S: 220 mx.test ESMTP
[7] C: EHLO client.test
[7] S: 250-mx.test
[7] S: 250-PIPELINING
[7] S: 250 8BITMIME
[7] C: MAIL FROM:<from1@a.test>
[7] C: RCPT TO:<to1.1@b.test>
[7] C: RCPT TO:<to1.2@b.test>
[7] C: DATA
[7] S: 250 2.1.0 ok
[7] S: 250 2.1.5 ok
[7] S: 250 2.1.5 ok
[7] S: 354 go ahead
[7] C: 1
[7] C: 2
[7] C: 3
[7] C: 4
[7] C: [... 6 more bytes of content]
[7] C: .
[7] S: 250 2.0.0 queued
[7] C: QUIT
[7] S: 221 2.0.0 bye
[7] -- connection closed
`
	if got := buf.String(); got != want {
		t.Errorf("trace:\n%s\nwant:\n%s", got, want)
	}
}

// BenchmarkSendPipelined measures one message in the steady state of a
// pipelined session against the in-process sink over loopback: content of
// one message and the envelope of the next in one write, one round trip.
func BenchmarkSendPipelined(b *testing.B) {
	srv, err := sink.Listen("127.0.0.1:0", sink.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		<-served
	}()
	c, err := Dial(ctx, srv.Addr(), Options{Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello(); err != nil {
		b.Fatal(err)
	}
	msgs := [2]*Message{testMessage(b, 1, testContent), testMessage(b, 2, testContent)}
	msgs[0].Rcpts = 1
	msgs[1].Rcpts = 1
	cur, next := msgs[0], msgs[1]
	c.Send(cur, next) // reach the steady state: one envelope always ahead
	cur, next = next, cur
	ok := 0
	b.ReportAllocs()
	for b.Loop() {
		if c.Send(cur, next).Outcome == OutcomeOK {
			ok++
		}
		cur, next = next, cur
	}
	b.StopTimer()
	// Not an assertion: a reader can see at once whether the figures above
	// are for messages that went through.
	b.ReportMetric(float64(ok)/float64(b.N), "ok/op")
	if c.Ahead() != nil {
		c.Send(cur, nil)
	}
	c.Quit()
}

// A 3yz reply to DATA other than 354 means the server is in a state we do
// not know; the session must not be reused.
func TestDataAnsweredWithOther3yzBreaksSession(t *testing.T) {
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: group(1), send: mailOK + rcptOK + rcptOK + "334 what\r\n"}}))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	res := c.Send(testMessage(t, 1, testContent), nil)
	if res.Outcome != OutcomeFailed || c.Err() == nil {
		t.Errorf("outcome %v, session err %v: want failed and broken", res.Outcome, c.Err())
	}
	c.Close()
}

func TestHelloRefusesCRLFInName(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	opts := testOptions()
	opts.Hostname = "x\r\nMAIL FROM:<evil>"
	c := NewClient(a, opts)
	defer c.Close()
	err := c.Hello()
	// The name is refused before anything is read or written: a protocol
	// error at EHLO, not the timeout an unanswered greeting would give.
	checkErr(t, "Hello", err, wantErr{ClassProtocol, PhaseEHLO, 0})
	if c.Err() == nil {
		t.Error("the session is still usable after refusing the name")
	}
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := b.Read(make([]byte, 64)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the client wrote %d bytes (%v); want nothing written", n, err)
	}
}

// A large content is written in chunks, each with its own deadline, so a
// server that reads slowly but steadily is not cut off by --timeout.
func TestSlowReaderGetsDeadlinePerChunk(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		s.(*net.TCPConn).SetReadBuffer(64 << 10)
		s.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64<<10)
		for {
			// About 2 MB/s: 4 MB takes 2 s, twice the client's timeout.
			time.Sleep(30 * time.Millisecond)
			if _, err := s.Read(buf); err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Closed on every way out, the skip included, so the server goroutine
	// ends before the package's leak check looks.
	defer func() {
		conn.Close()
		<-done
	}()
	conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	c := NewClient(conn, Options{Timeout: time.Second})
	c.wbuf = append(c.wbuf[:0], make([]byte, 4<<20)...)
	start := time.Now()
	if _, err := c.flush(PhaseBody); err != nil {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	if time.Since(start) < time.Second {
		t.Skip("the kernel buffered everything; nothing to show on this machine")
	}
}

// A Content is rendered per message as it goes out (here its Message-ID
// carries the message number), and 8-bit content is declared where the
// server offers 8BITMIME.
func TestContentAndEightBit(t *testing.T) {
	wire := "Message-ID: <x.42@y>\r\n\r\nh\xe9llo\r\n.\r\n"
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: "MAIL FROM:<from42@a.test> BODY=8BITMIME\r\n" + rcptCmd(42, 1) + rcptCmd(42, 2) + "DATA\r\n", send: mailOK + rcptOK + rcptOK + dataGo},
		{recv: wire, send: queued}}))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	m := testMessage(t, 42, "")
	m.Data = nil
	m.Content = templateContent{head: mustContentTemplate(t, "Message-ID: <x.{n}@y>\r\n"), body: "\r\nh\xe9llo\r\n"}
	m.EightBit = true
	if res := c.Send(m, nil); res.Outcome != OutcomeOK {
		t.Errorf("Send = %+v", res)
	}
	c.Close()
	srv.check(t)
}

// templateContent is a header template and a literal body without lines
// starting with '.'.
type templateContent struct {
	head *Template
	body string
}

func (tc templateContent) AppendData(dst []byte, m *Message) []byte {
	return append(tc.AppendRaw(dst, m), ".\r\n"...)
}

func (tc templateContent) AppendRaw(dst []byte, m *Message) []byte {
	return append(tc.head.Append(dst, m, 1), tc.body...)
}

func (tc templateContent) Size(m *Message) int64 { return int64(tc.head.Len(m, 1) + len(tc.body)) }

func mustContentTemplate(t *testing.T, s string) *Template {
	tm, err := ParseContentTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
