package main

// Interoperability tests against MailHog's SMTP protocol engine (GitHub
// issue 6). .ci/mailhog is a separate module whose mailhog-engine runs
// github.com/mailhog/smtp v1.0.1 the way MailHog-Server drives it and keeps
// what it accepts behind a small HTTP API; these tests build it, start it on
// free loopback ports, run smtpbench against it through Main and compare what
// MailHog stored with what smtpbench sent.
//
// MailHog's documented deviations (.ci/mailhog/NOTES.md) shape the checks:
// it stores content without its final CRLF (deviation 1), does not un-stuff a
// first line starting with '.' (deviation 2, so no content here starts with
// one), and never ends an empty content (deviation 3, so none is sent).
//
// Starting the server, running smtpbench and building the engine use the
// suite's shared helpers (interop_helpers_test.go, signal_test.go); what is
// MailHog's own here is prefixed mailhog or mh.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/session"
)

// mhEngineDir is the mailhog-engine module, relative to cmd/smtpbench.
const mhEngineDir = "../../.ci/mailhog"

// mhBuilt is the once-per-process build of mailhog-engine into testBinDir,
// which TestMain removes at exit.
var mhBuilt = sync.OnceValues(func() (string, error) { return goBuild(mhEngineDir, "mailhog-engine") })

// mhEngine returns the mailhog-engine binary. A failed build (no module
// proxy, say) skips the test, or fails it in CI (skipOrFailInCI).
func mhEngine(t *testing.T) string {
	t.Helper()
	bin, err := mhBuilt()
	if err != nil {
		skipOrFailInCI(t, fmt.Sprintf("cannot build mailhog-engine (needs github.com/mailhog/smtp from the Go module proxy): %v", err))
	}
	return bin
}

// mailhog is one running mailhog-engine process.
type mailhog struct {
	*process
	smtpAddr string // host:port to give smtpbench
	httpBase string // http://host:port of the API
}

// mailhogStart starts mailhog-engine on free ports, waits until both ports
// accept connections, and stops it by PID in t.Cleanup (startOnFreePorts).
// The probe connection gets MailHog's greeting and is closed; it stores
// nothing. A failed test logs the engine's output.
func mailhogStart(t *testing.T) *mailhog {
	t.Helper()
	bin := mhEngine(t)
	m := &mailhog{}
	m.process = startOnFreePorts(t, bin, func() []string {
		m.smtpAddr = freeAddr(t)
		httpAddr := freeAddr(t)
		m.httpBase = "http://" + httpAddr
		return []string{"-smtp", m.smtpAddr, "-http", httpAddr}
	})
	t.Cleanup(func() {
		m.stop() // before the process's own cleanup, so the output is complete
		if t.Failed() {
			t.Logf("mailhog-engine output:\nstdout: %s\nstderr: %s", m.stdout.String(), m.stderr.String())
		}
	})
	return m
}

var mhHTTP = &http.Client{Timeout: 10 * time.Second}

// call makes one API request and returns the body of a 200 reply.
func (m *mailhog) call(t *testing.T, method, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, m.httpBase+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := mhHTTP.Do(req)
	if err != nil {
		t.Fatalf("mailhog-engine API %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("mailhog-engine API %s %s: reading the reply: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailhog-engine API %s %s: %s: %s", method, path, resp.Status, body)
	}
	return body
}

func (m *mailhog) callJSON(t *testing.T, method, path string, v any) {
	t.Helper()
	body := m.call(t, method, path)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("mailhog-engine API %s %s: %v: %s", method, path, err, body)
	}
}

// count is how many messages MailHog accepted and stored.
func (m *mailhog) count(t *testing.T) int64 {
	t.Helper()
	var c struct {
		Count *int64 `json:"count"`
	}
	m.callJSON(t, "GET", "/count", &c)
	if c.Count == nil {
		t.Fatal("mailhog-engine API GET /count: no count in the reply")
	}
	return *c.Count
}

// mhMessage is GET /messages/{i}: the envelope as MailHog parsed it (paths
// without <>) and the size of the stored data.
type mhMessage struct {
	From string   `json:"from"`
	To   []string `json:"to"`
	Size int      `json:"size"`
}

func (m *mailhog) message(t *testing.T, i int64) mhMessage {
	t.Helper()
	var msg mhMessage
	m.callJSON(t, "GET", fmt.Sprintf("/messages/%d", i), &msg)
	return msg
}

// raw is the stored data of message i (0-based, in the order of storing).
func (m *mailhog) raw(t *testing.T, i int64) []byte {
	t.Helper()
	return m.call(t, "GET", fmt.Sprintf("/messages/%d/raw", i))
}

func (m *mailhog) reset(t *testing.T) {
	t.Helper()
	m.call(t, "POST", "/reset")
	if n := m.count(t); n != 0 {
		t.Fatalf("mailhog-engine holds %d messages after POST /reset", n)
	}
}

// mhRun is the outcome of one smtpbench invocation through Main, with the
// report's "config" object.
type mhRun struct {
	*benchRun
	config struct {
		Pipelining   string `json:"pipelining"`
		PerConn      int    `json:"per_conn"`
		Rcpts        int    `json:"rcpts"`
		ContentBytes int    `json:"content_bytes"`
		Seed         uint64 `json:"seed"`
	}
}

// contentLen is the wire length of message seq's content: the --data
// content, or the generated message, whose length varies with its number.
func (r *mhRun) contentLen(t *testing.T, c mhDeliveryCase, seq int) int {
	if c.data != nil {
		return r.config.ContentBytes
	}
	return len(generatedWire(t, r.config.Seed, seq))
}

// mhMainJSON runs "smtpbench run -o json ARGS..." and decodes the report.
func mhMainJSON(t *testing.T, args ...string) *mhRun {
	t.Helper()
	r := &mhRun{benchRun: mainRun(t, append([]string{"run", "-o", "json"}, args...))}
	if r.Code != exitOK {
		t.Fatalf("%s, want exit 0\nstdout: %.3000s\nstderr: %.3000s", r, r.Stdout, r.Stderr)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &r.Report); err != nil {
		t.Fatalf("%s: the JSON report does not decode: %v\n%.3000s", r, err, r.Stdout)
	}
	var doc struct {
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || json.Unmarshal(doc.Config, &r.config) != nil {
		t.Fatalf("%s: the report's config does not decode: %.3000s", r, r.Stdout)
	}
	return r
}

// mhTrace returns session id's trace lines from stderr without their
// "[id] " prefix.
func mhTrace(stderr string, id int) []string {
	prefix := fmt.Sprintf("[%d] ", id)
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			lines = append(lines, rest)
		}
	}
	return lines
}

// mhWantStored is what MailHog stores for content: the content with CRLF
// line ends (crlf), without its final CRLF (NOTES.md deviation 1). It holds only
// for content whose first line does not start with '.' (deviation 2).
func mhWantStored(content []byte) []byte {
	return bytes.TrimSuffix(crlf(content), []byte("\r\n"))
}

// mhWireLen is the size of content in DATA wire form: CRLF line ends, a '.'
// added before each line that starts with one (RFC 5321 4.5.2), then ".\r\n".
// The report's config.content_bytes must equal it.
func mhWireLen(content []byte) int {
	norm := crlf(content)
	n := len(norm) + len(".\r\n")
	for _, line := range bytes.SplitAfter(norm, []byte("\r\n")) {
		if len(line) > 0 && line[0] == '.' {
			n++
		}
	}
	return n
}

// mhDotsContent is the --data file: a normal header first (MailHog keeps a
// leading '.' on the first line), then body lines that only survive if
// smtpbench dot-stuffs and MailHog un-stuffs them (one dot, two dots, a line
// that is only '.', which unstuffed would end the content early, '..' and a
// '.' right before the last line), a line of exactly 998 octets, the most
// RFC 5321 4.5.3.1.6 allows, and a mix of CRLF and bare LF line ends.
func mhDotsContent() []byte {
	long := strings.Repeat("0123456789", 100)[:session.MaxTextLine]
	return []byte("From: <dots@example.com>\r\n" +
		"To: <dots@example.net>\r\n" +
		"Subject: leading dots, a lone dot and a 998-octet line\r\n" +
		"\r\n" +
		".one leading dot\n" +
		"..two leading dots\n" +
		".\n" +
		"the line above is a lone dot\r\n" +
		"..\n" +
		". dot space\n" +
		long + "\n" +
		"a dot . inside and one at the end.\n" +
		".\r\n" +
		"last line, after a lone dot\n")
}

// mhVolatileHeader matches the two header lines of the generated content
// that differ between runs.
var mhVolatileHeader = regexp.MustCompile(`(?m)^(From|To|Date|Message-ID): [^\r\n]*`)

// mhMessageID and mhDate match those header lines in stored content.
var (
	mhMessageID = regexp.MustCompile(`(?m)^Message-ID: <smtpbench\.[0-9a-f]+\.([0-9]+)@smtpbench\.localhost>\r$`)
	mhDate      = regexp.MustCompile(`(?m)^Date: ([^\r\n]*)\r$`)
)

// mhMaskVolatile replaces the values of Date and Message-ID with "*".
func mhMaskVolatile(b []byte) []byte {
	return mhVolatileHeader.ReplaceAll(b, []byte("$1: *"))
}

// mhDeliveryCase is one smtpbench configuration run against MailHog.
type mhDeliveryCase struct {
	name       string
	c, n       int
	pipelining string // auto or off
	perConn    int    // 0 = unlimited reuse
	rcpts      int
	data       []byte // --data content; nil = generated (--size default)
}

func (c mhDeliveryCase) args(t *testing.T, target string) []string {
	args := []string{"-c", strconv.Itoa(c.c), "-n", strconv.Itoa(c.n), "--timeout", "5s",
		"--pipelining", c.pipelining, "--trace", "1"}
	if c.perConn > 0 {
		args = append(args, "--per-conn", strconv.Itoa(c.perConn))
	}
	if c.rcpts > 1 {
		args = append(args, "--rcpts", strconv.Itoa(c.rcpts))
	}
	if c.data != nil {
		name := filepath.Join(t.TempDir(), "content.eml")
		if err := os.WriteFile(name, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--data", name)
	}
	return append(args, target)
}

// TestInteropMailHogDelivery sends small runs in several configurations to
// MailHog and checks the report against what MailHog stored: the counts, the
// envelope of every message, and the content of the first, a middle and the
// last stored message byte for byte. The traced first session shows whether
// the commands really were pipelined.
func TestInteropMailHogDelivery(t *testing.T) {
	mh := mailhogStart(t)
	cases := []mhDeliveryCase{
		{name: "pipelining auto, reuse", c: 2, n: 20, pipelining: "auto"},
		{name: "pipelining off, reuse", c: 2, n: 20, pipelining: "off"},
		{name: "pipelining auto, per-conn 1", c: 3, n: 12, pipelining: "auto", perConn: 1},
		{name: "pipelining off, per-conn 1", c: 3, n: 12, pipelining: "off", perConn: 1},
		// One session, so the connection count is exact; the third message
		// of each connection must not pipeline a next envelope before QUIT.
		{name: "pipelining auto, per-conn 3", c: 1, n: 10, pipelining: "auto", perConn: 3},
		{name: "rcpts 3, pipelining auto", c: 2, n: 12, pipelining: "auto", rcpts: 3},
		{name: "rcpts 3, pipelining off", c: 2, n: 12, pipelining: "off", rcpts: 3},
		{name: "data with dots and a 998-octet line, pipelining auto", c: 2, n: 12, pipelining: "auto", data: mhDotsContent()},
		{name: "data with dots and a 998-octet line, pipelining off, per-conn 1", c: 2, n: 6, pipelining: "off", perConn: 1, data: mhDotsContent()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.rcpts == 0 {
				c.rcpts = 1
			}
			mh.reset(t)
			r := mhMainJSON(t, c.args(t, mh.smtpAddr)...)
			mhCheckTotals(t, r, c)
			mhCheckConfig(t, r, c)
			mhCheckTrace(t, r, c)
			stored := mh.count(t)
			if stored != r.Report.Totals.MessagesOK {
				t.Fatalf("%s: MailHog stored %d messages, the report says %d ok", r, stored, r.Report.Totals.MessagesOK)
			}
			want := mhCheckEnvelopes(t, mh, r, c)
			mhCheckContent(t, mh, r, c, want)
			t.Logf("%s: %d messages in %v", r, stored, r.Elapsed.Round(time.Millisecond))
		})
	}
}

// mhCheckTotals checks the counters: everything was accepted, nothing failed.
func mhCheckTotals(t *testing.T, r *mhRun, c mhDeliveryCase) {
	t.Helper()
	checkTotalsAddUp(t, r.benchRun)
	tot := r.Report.Totals
	if tot.MessagesAttempted != int64(c.n) || tot.MessagesOK != int64(c.n) || tot.MessagesRejected != 0 || tot.MessagesFailed != 0 {
		t.Errorf("%s: attempted %d, ok %d, rejected %d, failed %d; want %d attempted and ok, none rejected or failed; errors %+v",
			r, tot.MessagesAttempted, tot.MessagesOK, tot.MessagesRejected, tot.MessagesFailed, c.n, r.Report.Errors)
	}
	if len(r.Report.Errors) != 0 {
		t.Errorf("%s: errors %+v, want none", r, r.Report.Errors)
	}
	if want := int64(c.n * c.rcpts); tot.RecipientsAccepted != want || tot.RecipientsRejected != 0 {
		t.Errorf("%s: recipients %d accepted, %d rejected; want %d accepted", r, tot.RecipientsAccepted, tot.RecipientsRejected, want)
	}
	if r.Report.StopReason != loadgen.StopMessages {
		t.Errorf("%s: stop_reason %q, want messages", r, r.Report.StopReason)
	}
	switch {
	case c.perConn > 0 && c.c == 1:
		if want := int64((c.n + c.perConn - 1) / c.perConn); tot.Connections != want {
			t.Errorf("%s: %d connections, want %d (%d messages, %d per connection, one session at a time)", r, tot.Connections, want, c.n, c.perConn)
		}
	case c.perConn == 1:
		if tot.Connections != int64(c.n) {
			t.Errorf("%s: %d connections, want one per message (%d)", r, tot.Connections, c.n)
		}
	default:
		if tot.Connections < 1 || tot.Connections > int64(c.c) {
			t.Errorf("%s: %d connections, want 1 to %d (reused)", r, tot.Connections, c.c)
		}
	}
	if tot.ConnectAttempts != tot.Connections {
		t.Errorf("%s: %d connect attempts for %d connections", r, tot.ConnectAttempts, tot.Connections)
	}

	// Every reply MailHog gave, by phase: one greeting, EHLO and QUIT per
	// connection, and per message MAIL, each RCPT, DATA and the content.
	n, conns := int64(c.n), tot.Connections
	wantReplies := map[string]map[string]int64{
		"banner": {"220": conns}, "ehlo": {"250": conns}, "quit": {"221": conns},
		"mail": {"250": n}, "rcpt": {"250": n * int64(c.rcpts)}, "data": {"354": n}, "body": {"250": n},
	}
	if !reflect.DeepEqual(r.Report.Replies, wantReplies) {
		t.Errorf("%s: replies %v, want %v", r, r.Report.Replies, wantReplies)
	}
	for phase, want := range map[string]int64{"message": n, "mail": n, "rcpt": n * int64(c.rcpts), "data": n, "body": n, "quit": conns} {
		if got := timedReplies(&r.Report, phase); got != want {
			t.Errorf("%s: %s replies timed %d, want %d", r, phase, got, want)
		}
	}

	// bytes_sent counts every byte written, commands included: the exact
	// sum, since MailHog advertises no SIZE or 8BITMIME for MAIL to carry.
	wantBytes := conns * int64(len("EHLO "+session.DefaultHostname+"\r\n")+len("QUIT\r\n"))
	for seq := 1; seq <= c.n; seq++ {
		wantBytes += int64(len(fmt.Sprintf("MAIL FROM:<bench%d@example.com>\r\n", seq)) + len("DATA\r\n") + r.contentLen(t, c, seq))
		for rcpt := 1; rcpt <= c.rcpts; rcpt++ {
			wantBytes += int64(len(fmt.Sprintf("RCPT TO:<user%d.%d@example.net>\r\n", seq, rcpt)))
		}
	}
	if tot.BytesSent != wantBytes {
		t.Errorf("%s: bytes_sent %d, want %d (EHLO and QUIT on %d connections; MAIL, %d RCPT, DATA and %d content bytes per message)",
			r, tot.BytesSent, wantBytes, conns, c.rcpts, r.config.ContentBytes)
	}
}

// mhCheckConfig checks that the report echoes the run's settings.
func mhCheckConfig(t *testing.T, r *mhRun, c mhDeliveryCase) {
	t.Helper()
	if r.config.Pipelining != c.pipelining || r.config.PerConn != c.perConn || r.config.Rcpts != c.rcpts {
		t.Errorf("%s: config echoes pipelining %q, per_conn %d, rcpts %d", r, r.config.Pipelining, r.config.PerConn, r.config.Rcpts)
	}
	if c.data != nil {
		if want := mhWireLen(c.data); r.config.ContentBytes != want {
			t.Errorf("%s: config.content_bytes %d, want %d (the --data file in DATA wire form)", r, r.config.ContentBytes, want)
		}
	}
}

// mhCheckTrace reads session 1's conversation: with pipelining every
// envelope (MAIL, each RCPT, DATA) goes out before any of its replies, and
// every envelope after a session's first rides in the write that ends the
// previous content (docs/pipelining.md); without pipelining each
// command waits for its reply. A session stops after --per-conn messages.
func mhCheckTrace(t *testing.T, r *mhRun, c mhDeliveryCase) {
	t.Helper()
	lines := mhTrace(r.Stderr, 1)
	if len(lines) == 0 {
		t.Fatalf("%s: no trace of session 1 on stderr:\n%.3000s", r, r.Stderr)
	}
	if !slices.Contains(lines, "S: 250-PIPELINING") {
		t.Errorf("%s: MailHog's EHLO reply did not advertise PIPELINING in the trace", r)
	}
	if len(mhTrace(r.Stderr, 2)) > 0 {
		t.Errorf("%s: --trace 1 traced session 2 as well", r)
	}
	// A broken rule usually breaks at every envelope: report each rule once,
	// with how often it broke.
	problems := map[string][]string{}
	var order []string
	problem := func(rule, detail string) {
		if problems[rule] == nil {
			order = append(order, rule)
		}
		problems[rule] = append(problems[rule], detail)
	}
	pipelined := c.pipelining != "off"
	mails := 0
	// Under auto a session writes an envelope behind the content only once
	// the target has answered one written there (one session proves it,
	// the others write after the reply meanwhile); from then on, always.
	behind := c.pipelining == "on"
	behindSeen := false
	for i, l := range lines {
		if !strings.HasPrefix(l, "C: MAIL FROM:") {
			continue
		}
		mails++
		// The commands that follow MAIL in this envelope's write, if any.
		var group []string
		for _, g := range lines[i+1:] {
			if !strings.HasPrefix(g, "C: ") {
				break
			}
			group = append(group, g)
		}
		afterContent := i > 0 && lines[i-1] == "C: ."
		if pipelined {
			ok := len(group) == c.rcpts+1 && group[c.rcpts] == "C: DATA"
			for _, g := range group[:min(c.rcpts, len(group))] {
				ok = ok && strings.HasPrefix(g, "C: RCPT TO:")
			}
			if !ok {
				problem(fmt.Sprintf("envelope not pipelined: want MAIL, %d RCPT and DATA before any reply", c.rcpts),
					fmt.Sprintf("trace line %d: MAIL, then %q", i+1, group))
			}
			if afterContent {
				behindSeen = true
			}
			if mails > 1 && !afterContent && (behind || behindSeen) {
				problem("envelope after the session's first did not go out in the write ending the previous content",
					fmt.Sprintf("trace line %d: preceded by %q", i+1, lines[i-1]))
			}
		} else if afterContent {
			problem("--pipelining off, but MAIL went out in the write ending the previous content", fmt.Sprintf("trace line %d", i+1))
		}
	}
	if !pipelined {
		for i, l := range lines[:max(len(lines)-1, 0)] {
			if strings.HasPrefix(l, "C: ") && !strings.HasPrefix(l, "C: [") && l != "C: ." &&
				strings.HasPrefix(lines[i+1], "C: ") && !mhInContent(lines, i) {
				problem("--pipelining off, but a command went out before the reply to the previous one",
					fmt.Sprintf("trace line %d: %q, then %q", i+1, l, lines[i+1]))
			}
		}
	}
	if pipelined && !behindSeen && mails >= 3 {
		problem("no envelope went out in the write ending the previous content", fmt.Sprintf("%d envelopes", mails))
	}
	for _, rule := range order {
		p := problems[rule]
		t.Errorf("%s: session 1: %s (%d times; first at %s)", r, rule, len(p), p[0])
	}
	if mails == 0 {
		t.Errorf("%s: session 1 sent no MAIL FROM:\n%s", r, strings.Join(lines, "\n"))
	}
	if c.perConn > 0 {
		if mails > c.perConn {
			t.Errorf("%s: session 1 sent %d messages, more than --per-conn %d", r, mails, c.perConn)
		}
		if c.c == 1 && mails != c.perConn {
			t.Errorf("%s: session 1 sent %d messages, want --per-conn %d", r, mails, c.perConn)
		}
		if !slices.Contains(lines, "C: QUIT") {
			t.Errorf("%s: session 1 did not QUIT after its --per-conn %d messages", r, c.perConn)
		}
	}
	if t.Failed() {
		t.Logf("trace of session 1:\n%s", strings.Join(lines, "\n"))
	}
}

// mhInContent reports whether trace line i is message content: it comes
// after a "S: 354" with no "C: ." in between.
func mhInContent(lines []string, i int) bool {
	for j := i; j >= 0; j-- {
		switch {
		case j < i && lines[j] == "C: .":
			return false
		case strings.HasPrefix(lines[j], "S: 354"):
			return true
		}
	}
	return false
}

// mhFromRE matches the default sender template bench{n}@example.com.
var mhFromRE = regexp.MustCompile(`^bench([0-9]+)@example\.com$`)

// mhCheckEnvelopes reads every stored message's envelope: each message
// number 1..n arrived exactly once, MAIL and every RCPT carry the same
// number, there are --rcpts recipients in order, and every stored size is
// that of the expected content. It returns the expected stored content for
// --data runs (nil for generated content, whose Date and Message-ID vary).
func mhCheckEnvelopes(t *testing.T, mh *mailhog, r *mhRun, c mhDeliveryCase) []byte {
	t.Helper()
	var want []byte
	wantSize := 0
	if c.data != nil {
		want = mhWantStored(c.data)
		wantSize = len(want)
	}
	seen := map[int]bool{}
	for i := range mh.count(t) {
		m := mh.message(t, i)
		fm := mhFromRE.FindStringSubmatch(m.From)
		if fm == nil {
			t.Errorf("%s: message %d: MAIL FROM %q does not match bench{n}@example.com", r, i, m.From)
			continue
		}
		seq, _ := strconv.Atoi(fm[1])
		if seq < 1 || seq > c.n || seen[seq] {
			t.Errorf("%s: message %d: sequence number %d is out of 1..%d or seen before", r, i, seq, c.n)
		}
		seen[seq] = true
		if len(m.To) != c.rcpts {
			t.Errorf("%s: message %d: MailHog stored %d recipients %q, want %d", r, i, len(m.To), m.To, c.rcpts)
		}
		for j, to := range m.To {
			if wantTo := fmt.Sprintf("user%d.%d@example.net", seq, j+1); to != wantTo {
				t.Errorf("%s: message %d: recipient %d is %q, want %q", r, i, j+1, to, wantTo)
			}
		}
		if c.data == nil {
			wantSize = r.contentLen(t, c, seq) - len(".\r\n") - len("\r\n") // no dot-stuffed lines in generated content
		}
		if m.Size != wantSize {
			t.Errorf("%s: message %d: MailHog stored %d bytes, want %d", r, i, m.Size, wantSize)
		}
	}
	if len(seen) != c.n {
		t.Errorf("%s: %d distinct message numbers stored, want %d", r, len(seen), c.n)
	}
	return want
}

// mhCheckContent compares the first, a middle and the last stored message
// with what smtpbench sent: the --data content, or the generated content
// (built once per run, so the same in every message but for the message
// number in its Message-ID) with its Date and Message-ID values masked.
func mhCheckContent(t *testing.T, mh *mailhog, r *mhRun, c mhDeliveryCase, want []byte) {
	t.Helper()
	if want == nil {
		want = mhMaskVolatile(mhWantStored(generatedSample(t)))
	}
	var first []byte
	n := int64(c.n)
	ids := map[string]bool{}
	for _, i := range []int64{0, n / 2, n - 1} {
		got := mh.raw(t, i)
		if c.data == nil {
			if m := mhMessageID.FindSubmatch(got); m == nil {
				t.Errorf("%s: stored message %d has no Message-ID: <smtpbench.T.N@smtpbench.localhost> header line:\n%.500q", r, i, got)
			} else if seq, err := strconv.ParseInt(string(m[1]), 10, 64); err != nil || seq < 1 || seq > n || ids[string(m[1])] {
				t.Errorf("%s: stored message %d: Message-ID number %s is not a fresh message number from 1 to %d", r, i, m[1], n)
			} else {
				ids[string(m[1])] = true
			}
			if m := mhDate.FindSubmatch(got); m == nil {
				t.Errorf("%s: stored message %d has no Date header line", r, i)
			} else if _, err := time.Parse(time.RFC1123Z, string(m[1])); err != nil {
				t.Errorf("%s: stored message %d: Date %q is not RFC 5322 (RFC1123Z): %v", r, i, m[1], err)
			}
			got = mhMaskVolatile(got)
		}
		if first == nil {
			first = got
		} else if !bytes.Equal(got, first) {
			t.Errorf("%s: stored message %d differs from stored message 0 (%s), though every message carries the same content",
				r, i, mhFirstDiff(got, first))
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: stored message %d is not the content smtpbench sent (less its final CRLF): %s\ngot:  %.300q\nwant: %.300q",
				r, i, mhFirstDiff(got, want), got, want)
		}
	}
}

// mhFirstDiff describes where got first differs from want.
func mhFirstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(i-40, 0)
	return fmt.Sprintf("first difference at byte %d of %d (want %d): got %q, want %q",
		i, len(got), len(want), got[from:min(i+40, len(got))], want[from:min(i+40, len(want))])
}

// mhStep is one expected trace line: its exact text or, with prefix, its
// start.
type mhStep struct {
	text   string
	prefix bool
}

// TestInteropMailHogTrace checks the conversation view of --trace against
// MailHog with the example command of docs/testing.md, and that --trace 1 traces only
// the first session of a concurrent run.
func TestInteropMailHogTrace(t *testing.T) {
	mh := mailhogStart(t)

	t.Run("one message", func(t *testing.T) {
		mh.reset(t)
		// The example in docs/testing.md plus --timeout, which bounds the run and
		// does not change the conversation.
		r := mainRun(t, []string{"run", "-n", "1", "--trace", "1", "--from", "test@example.com", "--to", "recipient@example.com",
			"--timeout", "5s", mh.smtpAddr})
		t.Logf("%s, stderr (the --trace 1 conversation):\n%s", r, r.Stderr)
		if r.Code != exitOK {
			t.Fatalf("%s, want exit 0\nstdout: %s\nstderr: %s", r, r.Stdout, r.Stderr)
		}
		if !regexp.MustCompile(`(?m)^messages +1 ok, 0 rejected, 0 failed \(1 attempted\)$`).MatchString(r.Stdout) {
			t.Errorf("%s: the table does not report 1 ok, 0 rejected, 0 failed:\n%s", r, r.Stdout)
		}
		if n := mh.count(t); n != 1 {
			t.Fatalf("%s: MailHog stored %d messages, want 1", r, n)
		}
		stored := mh.message(t, 0)
		if stored.From != "test@example.com" || !slices.Equal(stored.To, []string{"recipient@example.com"}) {
			t.Errorf("%s: MailHog stored envelope from %q to %q", r, stored.From, stored.To)
		}

		lines := mhTrace(r.Stderr, 1)
		steps := []mhStep{
			{"S: 220 ", true},
			{"C: EHLO ", true},
			{"S: 250-", true},
			{"S: 250-PIPELINING", false},
			{"S: 250 AUTH PLAIN", false},
			{"C: MAIL FROM:<test@example.com>", false},
			{"C: RCPT TO:<recipient@example.com>", false},
			{"C: DATA", false},
			{"S: 354 ", true},
		}
		at := mhFollow(t, lines, 0, steps)
		if at < 0 {
			return
		}
		// The content: its first four lines as sent, then their remainder as
		// a byte count.
		content := []string{"C: From: <test@example.com>", "C: To: <recipient@example.com>", "C: Subject: smtpbench test message", "C: Date: "}
		shown := 0
		for k, want := range content {
			if at+k >= len(lines) || !strings.HasPrefix(lines[at+k], want) {
				t.Fatalf("%s: trace line %d after 354: got %q, want %q...\n%s", r, k+1, mhLine(lines, at+k), want, strings.Join(lines, "\n"))
			}
			shown += len(strings.TrimPrefix(lines[at+k], "C: ")) + len("\r\n")
		}
		at += len(content)
		var hidden int
		if _, err := fmt.Sscanf(mhLine(lines, at), "C: [... %d more bytes of content]", &hidden); err != nil {
			t.Fatalf("%s: trace line %d: got %q, want \"C: [... N more bytes of content]\"\n%s", r, at+1, mhLine(lines, at), strings.Join(lines, "\n"))
		}
		// MailHog stores the content less its final CRLF, and the default
		// content has no line starting with '.', so the sizes add up exactly.
		if shown+hidden != stored.Size+len("\r\n") {
			t.Errorf("%s: the trace shows %d bytes and summarises %d more, %d in all; MailHog stored %d (+2 for the final CRLF)",
				r, shown, hidden, shown+hidden, stored.Size)
		}
		mhFollow(t, lines, at+1, []mhStep{
			{"C: .", false},
			{"S: 250 ", true},
			{"C: QUIT", false},
			{"S: 221", true},
		})
	})

	t.Run("only the first session", func(t *testing.T) {
		mh.reset(t)
		r := mainRun(t, []string{"run", "-c", "3", "-n", "30", "--trace", "1", "--timeout", "5s", mh.smtpAddr})
		if r.Code != exitOK {
			t.Fatalf("%s, want exit 0\nstdout: %s\nstderr: %s", r, r.Stdout, r.Stderr)
		}
		if !regexp.MustCompile(`(?m)^messages +30 ok, 0 rejected, 0 failed \(30 attempted\)$`).MatchString(r.Stdout) {
			t.Errorf("%s: the table does not report 30 ok:\n%s", r, r.Stdout)
		}
		if n := mh.count(t); n != 30 {
			t.Errorf("%s: MailHog stored %d messages, want 30", r, n)
		}
		ids := map[string]int{}
		for _, m := range regexp.MustCompile(`(?m)^\[([0-9]+)\] `).FindAllStringSubmatch(r.Stderr, -1) {
			ids[m[1]]++
		}
		if ids["1"] == 0 || len(ids) != 1 {
			t.Errorf("%s: trace lines per session %v, want session 1 only\n%.3000s", r, ids, r.Stderr)
		}
		mhFollow(t, mhTrace(r.Stderr, 1), 0, []mhStep{
			{"S: 220 ", true},
			{"C: EHLO ", true},
			{"C: MAIL FROM:<bench", true},
			{"S: 354 ", true},
			{"C: .", false},
			{"S: 250 ", true},
			{"C: QUIT", false},
			{"S: 221", true},
		})
	})
}

// mhFollow finds steps in lines, in order, starting at line from, and
// returns the index just past the last one, or -1 after reporting the first
// step it could not find.
func mhFollow(t *testing.T, lines []string, from int, steps []mhStep) int {
	t.Helper()
	at := from
	for _, s := range steps {
		found := false
		for ; at < len(lines); at++ {
			if lines[at] == s.text || s.prefix && strings.HasPrefix(lines[at], s.text) {
				found = true
				at++
				break
			}
		}
		if !found {
			t.Errorf("trace: no line %q after line %d:\n%s", s.text, from, strings.Join(lines, "\n"))
			return -1
		}
	}
	return at
}

func mhLine(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of trace)"
}
