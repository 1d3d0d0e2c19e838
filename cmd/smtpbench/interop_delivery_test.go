package main

// Delivery against real servers: what the server counted and stored must be
// exactly what smtpbench says it delivered, with and without pipelining,
// with connection reuse and a connection per message, several recipients,
// and contents from empty to 1 MiB, including the dot and line-length cases
// that break naive clients.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/session/message"
	"github.com/smtpbench/smtpbench/sink"
)

// trickyContent is a --data file whose exact wire form the test knows. Its
// line ends are mixed on purpose: smtpbench must send CRLF only.
var trickyContent = strings.Join([]string{
	"From: <interop@example.com>",
	"To: <rcpt@example.net>",
	"Subject: interop dot and line-length cases",
	"",
	".starts with a dot",
	"..starts with two dots",
	".", // only a dot: unstuffed, this would end the DATA here
	"",
	". dot then space",
	"..",
	"CRLF next\r\n.\r\nwas a lone dot between CRLFs", // the classic truncation point
	"bare CR\rsplits this line",
	"bare LF then dot\n.\nsmuggling shape", // <LF>.<LF>: must leave as CRLF . stuffed
	strings.Repeat("x", 998),               // the longest line SMTP allows (RFC 5321 4.5.3.1.6)
	"." + strings.Repeat("d", 997),         // 998 octets; 999 on the wire once dot-stuffed
	strings.Repeat(".", 998),               // all dots, at the limit
	strings.Repeat("y", 997),
	"",
	"",
	"last line has no line break",
}, "\n")

// bigTrickyContent is about 1 MiB of the same cases, repeated.
func bigTrickyContent() []byte {
	var b bytes.Buffer
	b.WriteString("Subject: a large tricky message\r\n\r\n")
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "line %d\r\n.\r\n..%d\r\n.%s\r\n%s\n\n", i, i, strings.Repeat("z", 997), strings.Repeat("w", 998))
	}
	b.WriteString(".")
	return b.Bytes()
}

// deliveryCase is one workload, run against each server.
type deliveryCase struct {
	name       string
	pipelining string // auto, on or off
	perConn    int
	rcpts      int
	conc       int
	n          int
	size       string // generated content of this body size, or
	data       []byte // this --data file
}

var deliveryCases = []deliveryCase{
	{name: "auto/reuse/3rcpt/1000B", pipelining: "auto", rcpts: 3, conc: 2, n: 20, size: "1000"},
	{name: "off/reuse/1rcpt/0B", pipelining: "off", rcpts: 1, conc: 1, n: 6, size: "0"},
	{name: "auto/perconn1/2rcpt/1MiB", pipelining: "auto", perConn: 1, rcpts: 2, conc: 2, n: 3, size: "1MiB"},
	{name: "off/perconn1/2rcpt/tricky", pipelining: "off", perConn: 1, rcpts: 2, conc: 2, n: 4, data: []byte(trickyContent)},
	{name: "on/reuse/4rcpt/tricky", pipelining: "on", rcpts: 4, conc: 2, n: 8, data: []byte(trickyContent)},
	{name: "auto/perconn2/1rcpt/tricky1MiB", pipelining: "auto", perConn: 2, rcpts: 1, conc: 1, n: 3, data: bigTrickyContent()},
	{name: "auto/reuse/1rcpt/empty", pipelining: "auto", rcpts: 1, conc: 1, n: 3, data: []byte{}},
}

// args builds the command line for target; --trace 1 lets the test see
// whether the first session pipelined.
func (c deliveryCase) args(t *testing.T, target string) []string {
	args := []string{"-n", strconv.Itoa(c.n), "-c", strconv.Itoa(c.conc), "--rcpts", strconv.Itoa(c.rcpts),
		"--pipelining", c.pipelining, "--per-conn", strconv.Itoa(c.perConn), "--timeout", "10s", "--trace", "1"}
	if c.data != nil {
		f := filepath.Join(t.TempDir(), "content.eml")
		if err := os.WriteFile(f, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--data", f)
	} else {
		args = append(args, "--size", c.size)
	}
	return append(args, target)
}

// wantConnections is the exact session count when it is predictable.
func (c deliveryCase) wantConnections() (int64, bool) {
	switch {
	case c.perConn == 1:
		return int64(c.n), true
	case c.perConn > 1 && c.conc == 1:
		return int64((c.n + c.perConn - 1) / c.perConn), true
	case c.perConn == 0 && c.conc == 1:
		return 1, true
	}
	return 0, false
}

// checkDelivered asserts the report of a workload every message of which
// the server should accept.
func checkDelivered(t *testing.T, r *benchRun, c deliveryCase) {
	t.Helper()
	checkInvariants(t, r)
	tot := r.Report.Totals
	if r.Code != 0 || tot.MessagesAttempted != int64(c.n) || tot.MessagesOK != int64(c.n) || len(r.Report.Errors) != 0 {
		t.Fatalf("%s: want all %d messages ok, got exit %d, totals %+v, errors %+v\nstderr: %.3000s",
			r, c.n, r.Code, tot, r.Report.Errors, r.Stderr)
	}
	if tot.RecipientsAccepted != int64(c.n*c.rcpts) || tot.RecipientsRejected != 0 {
		t.Errorf("%s: recipients accepted %d rejected %d, want %d and 0", r, tot.RecipientsAccepted, tot.RecipientsRejected, c.n*c.rcpts)
	}
	if want, ok := c.wantConnections(); ok && tot.Connections != want {
		t.Errorf("%s: %d connections, want %d", r, tot.Connections, want)
	} else if tot.Connections < 1 || tot.Connections > int64(c.n) {
		t.Errorf("%s: %d connections for %d messages", r, tot.Connections, c.n)
	}
}

// tracePipelined reports whether the traced session sent a command before
// the reply to the previous one arrived: MAIL directly followed by RCPT, or
// RCPT by RCPT or DATA, with no server line between them.
func tracePipelined(trace string) bool {
	prevEnvelope := false
	for _, line := range strings.Split(trace, "\n") {
		_, rest, ok := strings.Cut(line, "] ")
		if !ok {
			continue
		}
		cmd := strings.HasPrefix(rest, "C: RCPT TO:") || strings.HasPrefix(rest, "C: DATA")
		if cmd && prevEnvelope {
			return true
		}
		prevEnvelope = strings.HasPrefix(rest, "C: MAIL FROM:") || strings.HasPrefix(rest, "C: RCPT TO:")
	}
	return false
}

// checkGeneratedContent checks contents smtpbench generated for --size:
// every message carries the same bytes but for its addresses, date and
// Message-ID (the rest is built once per run), a header block comes first, no line passes 998 octets, and the body is
// size octets, plus the CRLF the encoder adds when the last body line is
// unterminated. eol is "\r\n" for Mailpit's raw form and "\n" for smtp-sink
// dumps.
func checkGeneratedContent(t *testing.T, contents [][]byte, size int, eol string) {
	t.Helper()
	if len(contents) == 0 {
		t.Fatal("no stored content to check")
	}
	// Each message's number is written into its Message-ID; apart from
	// that every message carries the same bytes.
	seen := map[string]bool{}
	masked := make([][]byte, len(contents))
	for i, c := range contents {
		m := generatedMessageID.FindSubmatchIndex(c)
		if m == nil {
			t.Fatalf("stored content %d has no generated Message-ID: %.300q", i, c)
		}
		num := string(c[m[2]:m[3]])
		if seen[num] {
			t.Errorf("stored content %d repeats Message-ID number %s", i, num)
		}
		seen[num] = true
		masked[i] = generatedVolatile.ReplaceAll(c, []byte("$1: *"))
	}
	for i, c := range masked[1:] {
		if !bytes.Equal(c, masked[0]) {
			t.Errorf("stored content %d differs from stored content 0 (%d vs %d bytes)", i+1, len(c), len(masked[0]))
		}
	}
	c := contents[0]
	head, body, ok := bytes.Cut(c, []byte(eol+eol))
	if !ok || len(head) == 0 {
		t.Fatalf("generated content has no header block: %.300q", c)
	}
	for _, line := range bytes.Split(c, []byte(eol)) {
		if len(line) > 998 {
			t.Errorf("generated content has a line of %d octets", len(line))
		}
	}
	// Count the body in wire form (CRLF), whatever the store uses.
	wire := bytes.ReplaceAll(body, []byte(eol), []byte("\r\n"))
	switch {
	case len(wire) == size:
	case len(wire) == size+2 && bytes.HasSuffix(wire, []byte("\r\n")) && !bytes.HasSuffix(wire[:size], []byte("\r\n")):
	default:
		t.Errorf("generated body is %d octets in wire form, want %d (--size)", len(wire), size)
	}
}

// generatedMessageID finds the message number in a generated Message-ID.
var generatedMessageID = regexp.MustCompile(`Message-ID: <smtpbench\.[0-9a-f]+\.([0-9]+)@smtpbench\.localhost>`)

// generatedVolatile finds the header values of generated content that
// differ between messages: addresses, date and Message-ID.
var generatedVolatile = regexp.MustCompile(`(?m)^(From|To|Date|Message-ID): [^\r\n]*`)

// generatedSample is the content of a message generated with the
// defaults, in raw form (CRLF, no dot-stuffing, no final dot).
func generatedSample(t *testing.T) []byte {
	return bytes.TrimSuffix(generatedWire(t, 1, 1), []byte(".\r\n"))
}

// generatedWire is message seq generated with the defaults and seed, in
// DATA form, as a run with that seed sends it (but for its Date).
func generatedWire(t *testing.T, seed uint64, seq int) []byte {
	t.Helper()
	s, err := message.Prepare(message.Spec{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return s.Sample(uint64(seq))
}

// sinkMailArg is the X-Mail-Args smtp-sink dumps for the default --from.
var sinkMailArg = regexp.MustCompile(`^<bench(\d+)@example\.com>$`)

// TestInteropDeliverySmtpSink delivers each workload to Postfix's smtp-sink
// with -d, then compares its counters and dump files with the report.
func TestInteropDeliverySmtpSink(t *testing.T) {
	t.Parallel()
	for _, c := range deliveryCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := startSmtpSink(t, true)
			r := runBench(t, c.args(t, s.Addr)...)
			checkDelivered(t, r, c)
			// smtp-sink advertises PIPELINING: auto must use it.
			if got, want := tracePipelined(r.Stderr), c.pipelining != "off"; got != want {
				t.Errorf("%s: pipelined %v, want %v; trace:\n%.3000s", r, got, want, r.Stderr)
			}

			s.stopAfter(t, r)
			dumps := s.dumps(t)
			cnt := s.counters(t)
			if cnt.Messages != r.Report.Totals.MessagesOK {
				t.Errorf("smtp-sink counted mesg=%d, smtpbench messages_ok=%d", cnt.Messages, r.Report.Totals.MessagesOK)
			}
			if cnt.Quits != r.Report.Totals.Connections {
				t.Errorf("smtp-sink executed %d QUITs for %d sessions: every healthy session must end with QUIT", cnt.Quits, r.Report.Totals.Connections)
			}
			if int64(len(dumps)) != r.Report.Totals.MessagesOK {
				t.Fatalf("smtp-sink dumped %d transactions, smtpbench messages_ok=%d", len(dumps), r.Report.Totals.MessagesOK)
			}

			// Every message number 1..n exactly once, each with its own
			// recipients in order.
			seen := map[int]bool{}
			for _, d := range dumps {
				m := sinkMailArg.FindStringSubmatch(d.MailArgs)
				if m == nil {
					t.Fatalf("%s: X-Mail-Args %q is not a generated sender", d.File, d.MailArgs)
				}
				seq, _ := strconv.Atoi(m[1])
				if seen[seq] {
					t.Errorf("message %d delivered twice", seq)
				}
				seen[seq] = true
				if len(d.RcptArgs) != c.rcpts {
					t.Errorf("message %d: %d RCPTs, want %d", seq, len(d.RcptArgs), c.rcpts)
				}
				for k, a := range d.RcptArgs {
					if want := fmt.Sprintf("<user%d.%d@example.net>", seq, k+1); a != want {
						t.Errorf("message %d: RCPT %d is %s, want %s", seq, k+1, a, want)
					}
				}
			}
			for seq := 1; seq <= c.n; seq++ {
				if !seen[seq] {
					t.Errorf("message %d was never delivered", seq)
				}
			}

			// smtp-sink stores the content dot-unstuffed with LF line ends,
			// so the expected bytes are the CRLF wire form with CRLF → LF.
			if c.data != nil {
				want := lf(crlf(c.data))
				for _, d := range dumps {
					if !bytes.Equal(d.Content, want) {
						t.Errorf("%s: stored content differs from --data (%d vs %d bytes)\n%s", d.File, len(d.Content), len(want), firstDiff(d.Content, want))
					}
				}
			} else {
				size, _ := message.ParseSize(c.size)
				var contents [][]byte
				for _, d := range dumps {
					contents = append(contents, d.Content)
				}
				checkGeneratedContent(t, contents, int(size), "\n")
			}
		})
	}
}

// TestInteropDeliveryMailpit delivers the same workloads to Mailpit and reads
// the messages back through its HTTP API. One Mailpit serves every case in
// turn; the mailbox is emptied before each.
func TestInteropDeliveryMailpit(t *testing.T) {
	t.Parallel()
	m := startMailpit(t)
	for _, c := range deliveryCases {
		t.Run(c.name, func(t *testing.T) {
			m.deleteAll(t)
			before := m.info(t)
			r := runBench(t, c.args(t, m.SMTP)...)
			checkDelivered(t, r, c)
			// Mailpit does not advertise PIPELINING, so auto must not
			// pipeline; "on" pipelines anyway and Mailpit copes.
			if got, want := tracePipelined(r.Stderr), c.pipelining == "on"; got != want {
				t.Errorf("%s: pipelined %v, want %v; trace:\n%.3000s", r, got, want, r.Stderr)
			}
			after := m.waitStored(t, r.Report.Totals.MessagesOK)
			if after.Messages != r.Report.Totals.MessagesOK {
				t.Errorf("Mailpit stores %d messages, smtpbench messages_ok=%d", after.Messages, r.Report.Totals.MessagesOK)
			}
			if d := after.RuntimeStats.SMTPAccepted - before.RuntimeStats.SMTPAccepted; d != r.Report.Totals.MessagesOK {
				t.Errorf("Mailpit SMTPAccepted rose by %d, smtpbench messages_ok=%d", d, r.Report.Totals.MessagesOK)
			}

			// Read back a sample (every message when they are few). Mailpit
			// keeps what it received byte for byte, CRLF and all, after
			// header lines of its own (Return-Path, Received, and Message-ID
			// and Bcc when the content lacks them).
			msgs := m.messages(t, 4)
			if len(msgs) == 0 {
				t.Fatal("Mailpit lists no messages")
			}
			var contents [][]byte
			for _, msg := range msgs {
				raw := m.raw(t, msg.ID)
				if c.data != nil {
					want := crlf(c.data)
					if _, err := splitMailpitRaw(raw, want); err != nil {
						t.Errorf("message %s: %v\n%s", msg.ID, err, firstDiff(raw[max(0, len(raw)-len(want)):], want))
					}
					continue
				}
				loc := mailpitAddedPrefix.FindIndex(raw)
				contents = append(contents, raw[loc[1]:])
			}
			if c.data == nil {
				size, _ := message.ParseSize(c.size)
				checkGeneratedContent(t, contents, int(size), "\r\n")
			}
		})
	}
}

// firstDiff describes where two byte strings first differ.
func firstDiff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			lo := max(0, i-40)
			return fmt.Sprintf("first difference at byte %d:\n got: %q\nwant: %q", i, got[lo:min(len(got), i+40)], want[lo:min(len(want), i+40)])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (got %d bytes, want %d)", len(got), len(want))
}

// TestInteropOverlongLine checks the other side of the 998-octet limit: a
// --data line of 999 octets is refused before anything is sent (exit 2),
// rather than rewrapped or sent as is.
func TestInteropOverlongLine(t *testing.T) {
	t.Parallel()
	s := startSmtpSink(t, false)
	f := filepath.Join(t.TempDir(), "long.eml")
	os.WriteFile(f, []byte("Subject: x\n\n"+strings.Repeat("a", 999)+"\n"), 0o644)
	r := mainRun(t, []string{"run", "-o", "json", "-n", "1", "--timeout", "2s", "--data", f, s.Addr})
	if r.Code != exitUsage || !strings.Contains(r.Stderr, "998") {
		t.Errorf("%s: want exit %d and an error naming the 998-octet limit, got stderr %q", r, exitUsage, r.Stderr)
	}
	time.Sleep(100 * time.Millisecond) // a session, had there been one, would have ended
	s.stop()
	if cnt := s.counters(t); cnt.Sessions > 1 || cnt.Messages != 0 {
		t.Errorf("smtp-sink saw %+v: nothing should have been sent (one session is the readiness probe)", cnt)
	}
}

// TestInteropSameCountsBuiltinAndSmtpSink runs one workload against the
// built-in sink and against smtp-sink and compares the counts: the figures
// must describe the workload, not which sink answered. The second workload
// rejects every RCPT with 450 on both (smtp-sink -r rcpt; the built-in sink
// rejects 100 % with code 450).
func TestInteropSameCountsBuiltinAndSmtpSink(t *testing.T) {
	t.Parallel()
	for _, w := range []struct {
		name     string
		sinkOpts []string
		builtin  sink.Config
	}{
		{name: "accept", builtin: sink.Config{}},
		{name: "rcpt-450", sinkOpts: []string{"-r", "rcpt"}, builtin: func() sink.Config {
			var c sink.Config
			c.Reject[sink.StepRcpt] = sink.Reject{Percent: 100, Code: 450}
			return c
		}()},
	} {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"-n", "40", "-c", "4", "--rcpts", "2", "--size", "2000", "--timeout", "5s"}

			b, err := sink.Listen("127.0.0.1:0", w.builtin)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- b.Serve(ctx) }()
			rb := runBench(t, append(args, b.Addr())...)
			cancel()
			<-served

			s := startSmtpSink(t, false, w.sinkOpts...)
			rs := runBench(t, append(args, s.Addr)...)
			s.stopAfter(t, rs)
			cnt := s.counters(t)

			for _, r := range []*benchRun{rb, rs} {
				checkInvariants(t, r)
			}
			tb, ts := rb.Report.Totals, rs.Report.Totals
			type counts struct{ Attempted, OK, Rejected, Failed, RcptOK, RcptRej int64 }
			cb := counts{tb.MessagesAttempted, tb.MessagesOK, tb.MessagesRejected, tb.MessagesFailed, tb.RecipientsAccepted, tb.RecipientsRejected}
			cs := counts{ts.MessagesAttempted, ts.MessagesOK, ts.MessagesRejected, ts.MessagesFailed, ts.RecipientsAccepted, ts.RecipientsRejected}
			if cb != cs || cb.Attempted != 40 {
				t.Errorf("built-in sink %+v, smtp-sink %+v; want the same, 40 attempted", cb, cs)
			}
			// How many of the 4 workers got a message before the others
			// had pipelined them all depends on scheduling, not on the server.
			for _, c := range []int64{tb.Connections, ts.Connections} {
				if c < 1 || c > 4 {
					t.Errorf("connections %d and %d, want 1 to 4", tb.Connections, ts.Connections)
				}
			}
			if fmt.Sprint(sortedCounts(rb.errorCounts())) != fmt.Sprint(sortedCounts(rs.errorCounts())) {
				t.Errorf("errors differ: built-in sink %v, smtp-sink %v", sortedCounts(rb.errorCounts()), sortedCounts(rs.errorCounts()))
			}
			if int64(b.Accepted()) != tb.MessagesOK || cnt.Messages != ts.MessagesOK {
				t.Errorf("servers' own counts: built-in %d, smtp-sink %d; smtpbench ok %d and %d", b.Accepted(), cnt.Messages, tb.MessagesOK, ts.MessagesOK)
			}
		})
	}
}
