package session

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Transcript tests for SIZE, BDAT (RFC 3030), LMTP (RFC 2033) and the
// recipient limit: the exact bytes the client writes against a scripted
// server.

const (
	ehloChunking         = "250-mx.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"
	ehloChunkingLockstep = "250-mx.test\r\n250-CHUNKING\r\n250 8BITMIME\r\n"
	chunkOK              = "250 2.0.0 chunk ok\r\n"
)

func envelopeNoData(seq int, params string) string {
	return strings.TrimSuffix(mailCmd(seq), "\r\n") + params + "\r\n" + rcptCmd(seq, 1) + rcptCmd(seq, 2)
}

// runScript says hello with ehlo under opts, runs each Send and checks the
// results and everything the client wrote.
func runScript(t *testing.T, ehlo string, opts Options, steps []step, sends []sendCall, content string, writes []string) []Result {
	t.Helper()
	srv := startScript(t, concat([]step{{send: greeting}, {recv: helloCmd(opts), send: ehlo}}, steps))
	c := NewClient(srv.conn, opts)
	if err := c.Hello(); err != nil {
		t.Fatal(err)
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
	var out []Result
	for i, sc := range sends {
		res := c.Send(msg(sc.m), msg(sc.next))
		what := fmt.Sprintf("send %d (message %d)", i, sc.m)
		if res.Outcome != sc.outcome || res.RcptAccepted != sc.acc || res.RcptRejected != sc.rej {
			t.Errorf("%s: outcome %v, accepted %d, rejected %d (err %v); want %v, %d, %d",
				what, res.Outcome, res.RcptAccepted, res.RcptRejected, res.Err, sc.outcome, sc.acc, sc.rej)
		}
		var err error
		if res.Err != nil {
			err = res.Err
		}
		checkErr(t, what, err, sc.err)
		if got, want := c.Ahead(), msg(sc.ahead); got != want {
			t.Errorf("%s: Ahead() = %v, want message %d", what, got, sc.ahead)
		}
		out = append(out, res)
	}
	c.Close()
	srv.check(t)
	want := append([]string{helloCmd(opts)}, writes...)
	if got := srv.conn.Writes(); !reflect.DeepEqual(got, want) {
		t.Errorf("client wrote\n %q\nwant\n %q", got, want)
	}
	return out
}

func helloCmd(opts Options) string {
	if opts.LMTP {
		return "LHLO " + testHost + "\r\n"
	}
	return ehloCmd
}

func TestSizeParameter(t *testing.T) {
	opts := testOptions()
	size := fmt.Sprintf(" SIZE=%d", len(testContent))
	runScript(t, "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", opts,
		[]step{{recv: envelopeNoData(1, size) + "DATA\r\n", send: envOK}, {recv: wireContent, send: queued}},
		[]sendCall{{m: 1, outcome: OutcomeOK, acc: 2}}, testContent,
		[]string{envelopeNoData(1, size) + "DATA\r\n", wireContent})

	// A message over the announced limit is too big; SIZE without a
	// number (or 0) announces no limit.
	srv := startScript(t, concat(hello("250-mx.test\r\n250 SIZE 20\r\n"), nil))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	if m := testMessage(t, 1, testContent); !c.TooBig(m) || c.TooBig(testMessage(t, 1, "x")) {
		t.Errorf("TooBig wrong for a %d-octet message against SIZE 20", m.Size())
	}
	c.Close()
	srv.check(t)
}

func TestBDATPipelined(t *testing.T) {
	opts := testOptions()
	opts.Chunking, opts.ChunkSize = ChunkingAuto, 10
	// 24 octets: chunks of 10, 10 and the last 4; the content is sent as it
	// is, and the next envelope follows the last chunk.
	chunks := "BDAT 10\r\nSubject: tBDAT 10\r\nest\r\n\r\nhelBDAT 4 LAST\r\nlo\r\n"
	env1 := envelopeNoData(1, " SIZE=24")
	env2 := envelopeNoData(2, " SIZE=24")
	res := runScript(t, ehloChunking, opts,
		[]step{
			{recv: env1, send: mailOK + rcptOK + rcptOK},
			{recv: chunks + env2, send: chunkOK + chunkOK + queued + mailOK + rcptOK + rcptOK},
			{recv: chunks, send: chunkOK + chunkOK + queued},
		},
		[]sendCall{{m: 1, next: 2, outcome: OutcomeOK, acc: 2, ahead: 2}, {m: 2, outcome: OutcomeOK, acc: 2}}, testContent,
		[]string{env1, chunks + env2, chunks})
	if len(res) == 2 && (res[1].Delivered != 0 || res[1].Continued != 0) {
		t.Errorf("SMTP result counts LMTP deliveries or continuations: %+v", res[1])
	}
}

// A dot at the start of a line goes as it is in a chunk: BDAT has no
// dot-stuffing, and BINARYMIME is declared when asked for and offered.
func TestBDATRawAndBinaryMIME(t *testing.T) {
	opts := testOptions()
	opts.Chunking, opts.BinaryMIME = ChunkingAuto, true
	content := ".\r\n..x\r\n"
	env := envelopeNoData(1, fmt.Sprintf(" SIZE=%d BODY=BINARYMIME", len(content)))
	runScript(t, ehloChunking, opts,
		[]step{{recv: env, send: mailOK + rcptOK + rcptOK}, {recv: "BDAT 8 LAST\r\n" + content, send: queued}},
		[]sendCall{{m: 1, outcome: OutcomeOK, acc: 2}}, content,
		[]string{env, "BDAT 8 LAST\r\n" + content})
}

// Without pipelining each chunk waits for its reply, and after a refused
// chunk no more are sent (RFC 3030 4.2); the next transaction starts with
// RSET.
func TestBDATLockstepRefusedChunk(t *testing.T) {
	opts := testOptions()
	opts.Chunking, opts.ChunkSize = ChunkingOn, 10
	runScript(t, ehloChunkingLockstep, opts,
		[]step{
			{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptOK}, {recv: rcptCmd(1, 2), send: rcptOK},
			{recv: "BDAT 10\r\nSubject: t", send: chunkOK},
			{recv: "BDAT 10\r\nest\r\n\r\nhel", send: "552 5.3.4 too big after all\r\n"},
			{recv: rsetCmd, send: "250 ok\r\n"}, {recv: mailCmd(2), send: mailOK}, {recv: rcptCmd(2, 1), send: rcptOK},
			{recv: rcptCmd(2, 2), send: rcptOK},
			{recv: "BDAT 10\r\nSubject: t", send: chunkOK},
			{recv: "BDAT 10\r\nest\r\n\r\nhel", send: chunkOK},
			{recv: "BDAT 4 LAST\r\nlo\r\n", send: queued},
		},
		[]sendCall{{m: 1, outcome: OutcomeRejected, acc: 2, err: wantErr{ClassPermReject, PhaseBDAT, 552}},
			{m: 2, outcome: OutcomeOK, acc: 2}}, testContent,
		[]string{mailCmd(1), rcptCmd(1, 1), rcptCmd(1, 2), "BDAT 10\r\nSubject: t", "BDAT 10\r\nest\r\n\r\nhel",
			rsetCmd, mailCmd(2), rcptCmd(2, 1), rcptCmd(2, 2), "BDAT 10\r\nSubject: t", "BDAT 10\r\nest\r\n\r\nhel", "BDAT 4 LAST\r\nlo\r\n"})
}

// Pipelined chunks after a refused one are discarded by the server but
// answered; the message is refused by the first refusal.
func TestBDATPipelinedRefusedChunk(t *testing.T) {
	opts := testOptions()
	opts.Chunking, opts.ChunkSize = ChunkingAuto, 10
	chunks := "BDAT 10\r\nSubject: tBDAT 10\r\nest\r\n\r\nhelBDAT 4 LAST\r\nlo\r\n"
	env1 := envelopeNoData(1, " SIZE=24")
	runScript(t, ehloChunking, opts,
		[]step{
			{recv: env1, send: mailOK + rcptOK + rcptOK},
			{recv: chunks, send: "451 4.3.0 try later\r\n503 5.5.1 no transaction\r\n503 5.5.1 no transaction\r\n"},
		},
		[]sendCall{{m: 1, outcome: OutcomeRejected, acc: 2, err: wantErr{ClassTempReject, PhaseBDAT, 451}}}, testContent,
		[]string{env1, chunks})
}

func TestLMTPRepliesPerRecipient(t *testing.T) {
	opts := testOptions()
	opts.LMTP = true
	ehlo := "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
	res := runScript(t, ehlo, opts,
		[]step{
			{recv: group(1), send: envOK},
			// One reply per accepted recipient, then the next envelope's.
			{recv: wireContent + group(2), send: queued + queued + mailOK + rcptOK + "550 5.1.1 no such user\r\n" + dataGo},
			{recv: wireContent, send: "452 4.2.2 mailbox full\r\n"},
		},
		[]sendCall{{m: 1, next: 2, outcome: OutcomeOK, acc: 2, ahead: 2},
			{m: 2, outcome: OutcomeRejected, acc: 1, rej: 1, err: wantErr{ClassTempReject, PhaseBody, 452}}}, testContent,
		[]string{group(1), wireContent + group(2), wireContent})
	if len(res) == 2 && (res[0].Delivered != 2 || res[0].Undelivered != 0 || res[1].Delivered != 0 || res[1].Undelivered != 1) {
		t.Errorf("deliveries %d/%d and %d/%d, want 2/0 and 0/1", res[0].Delivered, res[0].Undelivered, res[1].Delivered, res[1].Undelivered)
	}
	// A partial delivery: the first refusal decides, every reply counts.
	res = runScript(t, ehlo, opts,
		[]step{{recv: group(1), send: envOK}, {recv: wireContent, send: "450 4.2.1 busy\r\n" + queued}},
		[]sendCall{{m: 1, outcome: OutcomeRejected, acc: 2, err: wantErr{ClassTempReject, PhaseBody, 450}}}, testContent,
		[]string{group(1), wireContent})
	if len(res) == 1 && (res[0].Delivered != 1 || res[0].Undelivered != 1) {
		t.Errorf("deliveries %d/%d, want 1/1", res[0].Delivered, res[0].Undelivered)
	}
}

// A recipient limit that hits again in the continuation continues again;
// one that takes nobody ends it, counted as refused.
func TestRecipientLimitContinues(t *testing.T) {
	limit := "452 4.5.3 too many recipients\r\n"
	m := func(seq int, rcpts ...int) string {
		s := mailCmd(seq)
		for _, r := range rcpts {
			s += rcptCmd(seq, r)
		}
		return s + "DATA\r\n"
	}
	srv := startScript(t, concat(hello(ehloPipe), []step{
		{recv: m(1, 1, 2, 3, 4), send: mailOK + rcptOK + limit + limit + limit + dataGo},
		{recv: wireContent, send: queued},
		{recv: m(1, 2, 3, 4), send: mailOK + rcptOK + limit + limit + dataGo},
		{recv: wireContent, send: queued},
		{recv: m(1, 3, 4), send: mailOK + limit + "550 5.1.1 unknown\r\n" + noRcpts},
		{recv: rsetCmd, send: "250 ok\r\n"},
	}))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	msg := testMessage(t, 1, testContent)
	msg.Rcpts = 4
	res := c.Send(msg, nil)
	if res.Outcome != OutcomeRejected || res.RcptAccepted != 2 || res.RcptRejected != 2 || res.Continued != 2 {
		t.Errorf("result %+v; want rejected (the last part), 2 accepted, 2 refused, 2 continuations", res)
	}
	checkErr(t, "Send", res.Err, wantErr{ClassPermReject, PhaseRcpt, 550})
	c.wbuf = append(c.wbuf[:0], rsetCmd...) // the RSET the next Send would lead with
	if _, err := c.flush(PhaseRset); err == nil {
		c.readReply(PhaseRset, c.last, nil)
	}
	c.Close()
	srv.check(t)
}
