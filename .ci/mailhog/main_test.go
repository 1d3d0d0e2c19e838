package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ioTimeout bounds every network operation of a test (each SMTP connection
// gets one deadline for its whole life, each HTTP request a client timeout).
const ioTimeout = 10 * time.Second

// quiet is how long expectNoReply waits to be satisfied that nothing comes.
const quiet = 300 * time.Millisecond

func startServer(t *testing.T) *server {
	t.Helper()
	s, err := start("127.0.0.1:0", "127.0.0.1:0", testing.Verbose() && os.Getenv("MAILHOG_ENGINE_TRACE") != "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// rawClient is a hand-written SMTP client: it writes exactly the bytes it
// is given and parses replies itself, so pipelining and dot-stuffing are
// under the test's control.
type rawClient struct {
	t        testing.TB
	conn     net.Conn
	r        *bufio.Reader
	deadline time.Time
	log      strings.Builder // transcript, for evidence in failures and -v
}

func dial(t testing.TB, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn), deadline: time.Now().Add(ioTimeout)}
	conn.SetDeadline(c.deadline)
	t.Cleanup(func() { conn.Close() })
	c.expect(220)
	return c
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	fmt.Fprintf(&c.log, "C: %q\n", s)
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write %q: %v\ntranscript:\n%s", s, err, c.log.String())
	}
}

// reply reads one (possibly multi-line) reply and returns its code and its
// raw text including every CRLF.
func (c *rawClient) reply() (int, string, error) {
	var raw strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		raw.WriteString(line)
		if err != nil {
			return 0, raw.String(), err
		}
		if len(line) < 4 || !strings.HasSuffix(line, "\r\n") {
			return 0, raw.String(), fmt.Errorf("malformed reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, raw.String(), fmt.Errorf("malformed reply line %q", line)
		}
		if line[3] == ' ' {
			fmt.Fprintf(&c.log, "S: %q\n", raw.String())
			return code, raw.String(), nil
		}
		if line[3] != '-' {
			return 0, raw.String(), fmt.Errorf("malformed reply line %q", line)
		}
	}
}

func (c *rawClient) expect(code int) string {
	c.t.Helper()
	got, text, err := c.reply()
	if err != nil {
		c.t.Fatalf("waiting for %d: %v (got %q)\ntranscript:\n%s", code, err, text, c.log.String())
	}
	if got != code {
		c.t.Fatalf("want reply %d, got %q\ntranscript:\n%s", code, text, c.log.String())
	}
	return text
}

// expectNoReply checks that the server stays silent for a short while.
func (c *rawClient) expectNoReply() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(quiet))
	line, err := c.r.ReadString('\n')
	c.conn.SetReadDeadline(c.deadline)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("expected no reply, got %q (err %v)\ntranscript:\n%s", line, err, c.log.String())
	}
	fmt.Fprintf(&c.log, "S: (nothing within %v)\n", quiet)
}

// expectClosed checks that the server closed the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	line, err := c.r.ReadString('\n')
	if !errors.Is(err, io.EOF) {
		c.t.Fatalf("expected EOF, got %q (err %v)", line, err)
	}
}

// dotStuff applies RFC 5321 §4.5.2 transparency to content that already
// ends in CRLF: every line starting with "." gets one more ".". The result
// does not include the terminating ".\r\n".
func dotStuff(content string) string {
	if !strings.HasSuffix(content, "\r\n") {
		panic("content must end in CRLF")
	}
	lines := strings.SplitAfter(content, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") {
			lines[i] = "." + l
		}
	}
	return strings.Join(lines, "")
}

// mailhogStored is what MailHog's engine stores for content (which must end
// in CRLF and whose first line must not start with "."): the content,
// un-stuffed, minus its final CRLF. See NOTES.md.
func mailhogStored(content string) string {
	if strings.HasPrefix(content, ".") {
		panic("first line starting with '.' is not un-stuffed by MailHog; see TestMailHogDeviations")
	}
	return strings.TrimSuffix(content, "\r\n")
}

type msgJSON struct {
	From string   `json:"from"`
	To   []string `json:"to"`
	Size int      `json:"size"`
}

var httpClient = &http.Client{Timeout: ioTimeout}

func httpDo(t testing.TB, s *server, method, path string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.httpAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func apiCount(t testing.TB, s *server) int {
	t.Helper()
	code, _, body := httpDo(t, s, "GET", "/count")
	if code != 200 {
		t.Fatalf("GET /count: %d %s", code, body)
	}
	var v struct{ Count int }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET /count: %v in %q", err, body)
	}
	return v.Count
}

func apiMessage(t testing.TB, s *server, i int) msgJSON {
	t.Helper()
	code, ctype, body := httpDo(t, s, "GET", fmt.Sprintf("/messages/%d", i))
	if code != 200 || ctype != "application/json" {
		t.Fatalf("GET /messages/%d: %d %s %s", i, code, ctype, body)
	}
	var m msgJSON
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("GET /messages/%d: %v in %q", i, err, body)
	}
	return m
}

func apiRaw(t testing.TB, s *server, i int) string {
	t.Helper()
	code, ctype, body := httpDo(t, s, "GET", fmt.Sprintf("/messages/%d/raw", i))
	if code != 200 || ctype != "application/octet-stream" {
		t.Fatalf("GET /messages/%d/raw: %d %s %q", i, code, ctype, body)
	}
	return body
}

func checkMessage(t testing.TB, s *server, i int, from string, to []string, raw string) {
	t.Helper()
	m := apiMessage(t, s, i)
	if m.From != from || strings.Join(m.To, ",") != strings.Join(to, ",") || m.Size != len(raw) {
		t.Errorf("message %d: got %+v, want from %q to %q size %d", i, m, from, to, len(raw))
	}
	if got := apiRaw(t, s, i); got != raw {
		t.Errorf("message %d raw:\n got %q\nwant %q", i, got, raw)
	}
}

const ehloReply = "250-Hello client.example\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"

func ehlo(c *rawClient) {
	c.t.Helper()
	c.send("EHLO client.example\r\n")
	if got := c.expect(250); got != ehloReply {
		c.t.Fatalf("EHLO reply %q, want %q", got, ehloReply)
	}
}

// (a) one transaction, one command per write, waiting for every reply.
func TestPlainTransaction(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.smtpAddr())
	ehlo(c)
	c.send("MAIL FROM:<sender@example.com>\r\n")
	c.expect(250)
	c.send("RCPT TO:<rcpt@example.net>\r\n")
	c.expect(250)
	c.send("DATA\r\n")
	c.expect(354)
	content := "From: sender@example.com\r\nTo: rcpt@example.net\r\nSubject: plain\r\n\r\nHello.\r\n"
	c.send(dotStuff(content))
	c.send(".\r\n")
	if got := c.expect(250); !strings.HasPrefix(got, "250 Ok: queued as ") {
		t.Errorf("end-of-data reply %q", got)
	}
	c.send("QUIT\r\n")
	c.expect(221)
	c.expectClosed()

	if n := apiCount(t, s); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
	checkMessage(t, s, 0, "sender@example.com", []string{"rcpt@example.net"}, mailhogStored(content))
	t.Logf("transcript:\n%s", c.log.String())
}

// (b) pipelined: MAIL, RCPT, RCPT, DATA in one write; then the dot-stuffed
// content, its terminator and the next MAIL/RCPT/DATA in one write.
func TestPipelinedTransactions(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.smtpAddr())
	ehlo(c)

	content1 := "Subject: pipelined 1\r\n" +
		"\r\n" +
		"first body line\r\n" +
		".leading dot\r\n" + // sent as "..leading dot"
		".\r\n" + // a line that is only "." is sent as ".."
		"..two leading dots\r\n" + // sent as "...two leading dots"
		"last line\r\n"
	content2 := "Subject: pipelined 2\r\n\r\n.\r\nsecond message\r\n"

	c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n")
	c.expect(250)
	c.expect(250)
	c.expect(250)
	c.expect(354)

	stuffed := dotStuff(content1)
	if !strings.Contains(stuffed, "\r\n..leading dot\r\n..\r\n...two") {
		t.Fatalf("dotStuff broken: %q", stuffed)
	}
	c.send(stuffed + ".\r\nMAIL FROM:<d@example.com>\r\nRCPT TO:<e@example.com>\r\nDATA\r\n")
	c.expect(250) // end of first message
	c.expect(250)
	c.expect(250)
	c.expect(354)

	c.send(dotStuff(content2) + ".\r\nQUIT\r\n")
	c.expect(250)
	c.expect(221)
	c.expectClosed()

	if n := apiCount(t, s); n != 2 {
		t.Fatalf("count %d, want 2", n)
	}
	checkMessage(t, s, 0, "a@example.com", []string{"b@example.com", "c@example.com"}, mailhogStored(content1))
	checkMessage(t, s, 1, "d@example.com", []string{"e@example.com"}, mailhogStored(content2))
	t.Logf("transcript:\n%s", c.log.String())
}

// The whole session in one write, and the whole session one byte per write
// (so CR and LF of a line ending arrive in different reads).
func TestReadBoundaries(t *testing.T) {
	content := "Subject: x\r\n\r\n.dot\r\nbody\r\n"
	session := "EHLO client.example\r\n" +
		"MAIL FROM:<a@x.example>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n" + dotStuff(content) + ".\r\n" +
		"MAIL FROM:<c@x.example>\r\nRCPT TO:<d@x.example>\r\nDATA\r\n" + dotStuff(content) + ".\r\n" +
		"QUIT\r\n"
	wantCodes := []int{250, 250, 250, 354, 250, 250, 250, 354, 250, 221}

	for _, mode := range []string{"one write", "byte by byte"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t)
			c := dial(t, s.smtpAddr())
			if mode == "one write" {
				c.send(session)
			} else {
				c.conn.(*net.TCPConn).SetNoDelay(true)
				go func() { // replies are read concurrently below
					for i := 0; i < len(session); i++ {
						if _, err := c.conn.Write([]byte{session[i]}); err != nil {
							return
						}
					}
				}()
			}
			for _, code := range wantCodes {
				c.expect(code)
			}
			c.expectClosed()
			if n := apiCount(t, s); n != 2 {
				t.Fatalf("count %d, want 2", n)
			}
			checkMessage(t, s, 0, "a@x.example", []string{"b@x.example"}, mailhogStored(content))
			checkMessage(t, s, 1, "c@x.example", []string{"d@x.example"}, mailhogStored(content))
		})
	}
}

// 60 concurrent connections, each pipelining 3 messages.
func TestConcurrentConnections(t *testing.T) {
	s := startServer(t)
	const conns, perConn = 60, 3
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := make(chan struct{})
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs <- func() error {
				conn, err := net.DialTimeout("tcp", s.smtpAddr(), ioTimeout)
				if err != nil {
					return err
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(ioTimeout))
				var b strings.Builder
				b.WriteString("EHLO c" + strconv.Itoa(i) + "\r\n")
				for j := 0; j < perConn; j++ {
					fmt.Fprintf(&b, "MAIL FROM:<c%d-m%d@x.example>\r\nRCPT TO:<r@x.example>\r\nDATA\r\n", i, j)
					fmt.Fprintf(&b, "Subject: %d/%d\r\n\r\n..dotted %d/%d\r\n.\r\n", i, j, i, j)
				}
				b.WriteString("QUIT\r\n")
				if _, err := io.WriteString(conn, b.String()); err != nil {
					return err
				}
				all, err := io.ReadAll(conn) // until the server closes after 221
				if err != nil {
					return err
				}
				if got := strings.Count(string(all), "250 Ok: queued as "); got != perConn {
					return fmt.Errorf("conn %d: %d messages queued, want %d: %q", i, got, perConn, all)
				}
				if !strings.HasSuffix(string(all), "221 Bye\r\n") {
					return fmt.Errorf("conn %d: no 221 at end: %q", i, all)
				}
				return nil
			}()
		}(i)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := apiCount(t, s); n != conns*perConn {
		t.Fatalf("count %d, want %d", n, conns*perConn)
	}
	seen := map[string]bool{}
	for k := 0; k < conns*perConn; k++ {
		m := apiMessage(t, s, k)
		var i, j int
		if _, err := fmt.Sscanf(m.From, "c%d-m%d@x.example", &i, &j); err != nil {
			t.Fatalf("message %d: from %q", k, m.From)
		}
		want := fmt.Sprintf("Subject: %d/%d\r\n\r\n.dotted %d/%d", i, j, i, j)
		if raw := apiRaw(t, s, k); raw != want {
			t.Errorf("message %d raw %q, want %q", k, raw, want)
		}
		seen[m.From] = true
	}
	if len(seen) != conns*perConn {
		t.Errorf("%d distinct senders, want %d", len(seen), conns*perConn)
	}
}

func TestHTTPAPI(t *testing.T) {
	s := startServer(t)
	if n := apiCount(t, s); n != 0 {
		t.Fatalf("count %d on empty store", n)
	}
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/messages/0", 404},
		{"GET", "/messages/0/raw", 404},
		{"GET", "/messages/-1", 404},
		{"GET", "/messages/x", 400},
		{"GET", "/reset", 405},
		{"POST", "/count", 405},
		{"GET", "/nope", 404},
	} {
		if code, _, body := httpDo(t, s, tc.method, tc.path); code != tc.code {
			t.Errorf("%s %s: %d %q, want %d", tc.method, tc.path, code, body, tc.code)
		}
	}

	c := dial(t, s.smtpAddr())
	c.send("HELO client.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n")
	c.expect(250)
	c.expect(250)
	c.expect(250)
	c.expect(354)
	c.send("body\r\n.\r\nQUIT\r\n")
	c.expect(250)
	c.expect(221)

	if code, ctype, body := httpDo(t, s, "GET", "/count"); code != 200 || ctype != "application/json" || body != "{\"count\":1}\n" {
		t.Errorf("GET /count: %d %s %q", code, ctype, body)
	}
	if code, _, body := httpDo(t, s, "GET", "/messages/0"); code != 200 || body != "{\"from\":\"a@x.example\",\"to\":[\"b@x.example\"],\"size\":4}\n" {
		t.Errorf("GET /messages/0: %d %q", code, body)
	}
	checkMessage(t, s, 0, "a@x.example", []string{"b@x.example"}, "body")
	if code, _, body := httpDo(t, s, "POST", "/reset"); code != 200 || body != "{\"count\":0}\n" {
		t.Errorf("POST /reset: %d %q", code, body)
	}
	if n := apiCount(t, s); n != 0 {
		t.Errorf("count %d after reset", n)
	}
}

// env is one deviation case's server and connected client.
type env struct {
	s *server
	c *rawClient
}

// TestMailHogDeviations pins down, with evidence, each way MailHog's engine
// departs from RFC 5321 / RFC 2920 that NOTES.md documents. If one of these
// fails after a dependency change, update NOTES.md.
func TestMailHogDeviations(t *testing.T) {
	run := func(name string, f func(t *testing.T, e env)) {
		t.Run(name, func(t *testing.T) {
			s := startServer(t)
			c := dial(t, s.smtpAddr())
			f(t, env{s, c})
			t.Logf("transcript:\n%s", c.log.String())
		})
	}
	run("EHLO and HELO replies start with Hello, not the server domain", func(t *testing.T, e env) {
		e.c.send("EHLO client.example\r\n")
		if got := e.c.expect(250); got != ehloReply {
			t.Errorf("EHLO reply %q", got)
		}
		e.c.send("HELO client.example\r\n")
		if got := e.c.expect(250); got != "250 Hello client.example\r\n" {
			t.Errorf("HELO reply %q", got)
		}
		e.c.send("EHLO\r\n") // no domain: accepted
		e.c.expect(250)
	})

	run("final CRLF of the content is not stored", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n")
		e.c.expect(250)
		e.c.expect(250)
		e.c.expect(354)
		e.c.send("A\r\nB\r\n.\r\n")
		e.c.expect(250)
		checkMessage(t, e.s, 0, "a@x", []string{"b@x"}, "A\r\nB")
	})

	run("first content line is not dot-unstuffed", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n")
		e.c.expect(250)
		e.c.expect(250)
		e.c.expect(354)
		// Content ".first\r\nsecond\r\n.third\r\n", correctly stuffed.
		e.c.send("..first\r\nsecond\r\n..third\r\n.\r\n")
		e.c.expect(250)
		checkMessage(t, e.s, 0, "a@x", []string{"b@x"}, "..first\r\nsecond\r\n.third")
	})

	run("empty message: the first '.' does not end DATA", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n")
		e.c.expect(250)
		e.c.expect(250)
		e.c.expect(354)
		e.c.send(".\r\n") // end of an empty message per RFC 5321
		e.c.expectNoReply()
		e.c.send("QUIT\r\n") // swallowed as message content
		e.c.expectNoReply()
		e.c.send(".\r\n")
		e.c.expect(250)
		checkMessage(t, e.s, 0, "a@x", []string{"b@x"}, ".\r\nQUIT")
	})

	run("one empty line then '.' ends DATA and stores empty Data", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n")
		e.c.expect(250)
		e.c.expect(250)
		e.c.expect(354)
		e.c.send("\r\n.\r\n") // content "\r\n" (one empty line)
		e.c.expect(250)
		checkMessage(t, e.s, 0, "a@x", []string{"b@x"}, "")
	})

	run("bare LF does not end a line", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("NOOP\n")
		e.c.expectNoReply()
		e.c.send("NOOP\r\n") // the line is now "NOOP\nNOOP"
		e.c.expect(500)
	})

	run("bare LF in content is kept and '.\\n' does not end DATA", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n")
		e.c.expect(250)
		e.c.expect(250)
		e.c.expect(354)
		e.c.send("a\nb\r\n.\n")
		e.c.expectNoReply()
		e.c.send("\r\n.\r\n")
		e.c.expect(250)
		checkMessage(t, e.s, 0, "a@x", []string{"b@x"}, "a\nb\r\n.\n")
	})

	run("null reverse-path MAIL FROM:<> is rejected", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<>\r\n")
		if got := e.c.expect(550); got != "550 Invalid syntax in MAIL command\r\n" {
			t.Errorf("reply %q", got)
		}
	})

	run("unknown MAIL parameters are accepted", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<a@x> SIZE=10 BODY=8BITMIME FOO=BAR\r\n")
		if got := e.c.expect(250); got != "250 Sender a@x ok\r\n" {
			t.Errorf("reply %q", got)
		}
	})

	run("out-of-sequence commands get 500, not 503", func(t *testing.T, e env) {
		e.c.send("MAIL FROM:<a@x>\r\n") // before EHLO
		e.c.expect(500)
		ehlo(e.c)
		e.c.send("DATA\r\n") // before MAIL
		e.c.expect(500)
		e.c.send("RCPT TO:<b@x>\r\n") // before MAIL
		e.c.expect(500)
		e.c.send("MAIL FROM:<a@x>\r\nMAIL FROM:<c@x>\r\n") // nested MAIL
		e.c.expect(250)
		e.c.expect(500)
		e.c.send("AUTH PLAIN AHVzZXIAcGFzcw==\r\n") // AUTH inside a transaction
		e.c.expect(500)
	})

	run("RSET before HELO/EHLO allows a transaction without greeting", func(t *testing.T, e env) {
		e.c.send("RSET\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n")
		e.c.expect(250)
		e.c.expect(250)
		e.c.expect(250)
		e.c.expect(354)
	})

	run("DATA is accepted without any accepted RCPT", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<a@x>\r\nRCPT TO:b@x\r\nDATA\r\n")
		e.c.expect(250)
		e.c.expect(550) // "Invalid syntax in RCPT command"
		e.c.expect(354)
		e.c.send("x\r\n.\r\n")
		e.c.expect(250)
		checkMessage(t, e.s, 0, "a@x", nil, "x")
	})

	run("EHLO inside a transaction keeps the earlier recipients", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("MAIL FROM:<a@x>\r\nRCPT TO:<old@x>\r\n")
		e.c.expect(250)
		e.c.expect(250)
		ehlo(e.c)
		e.c.send("MAIL FROM:<n@x>\r\nRCPT TO:<new@x>\r\nDATA\r\n")
		e.c.expect(250)
		e.c.expect(250)
		e.c.expect(354)
		e.c.send("x\r\n.\r\n")
		e.c.expect(250)
		checkMessage(t, e.s, 0, "n@x", []string{"old@x", "new@x"}, "x")
	})

	run("VRFY, EXPN, HELP and STARTTLS are unrecognised", func(t *testing.T, e env) {
		ehlo(e.c)
		for _, cmd := range []string{"VRFY a@x", "EXPN list", "HELP", "STARTTLS"} {
			e.c.send(cmd + "\r\n")
			e.c.expect(500)
		}
	})

	run("AUTH: repeated AUTH accepted, bad PLAIN gets 550", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("AUTH PLAIN AHVzZXIAcGFzcw==\r\n")
		e.c.expect(235)
		e.c.send("AUTH PLAIN AHVzZXIAcGFzcw==\r\n")
		e.c.expect(235)
		e.c.send("AUTH PLAIN bm9udWxs\r\n")
		if got := e.c.expect(550); got != "550 Badly formed parameter\r\n" {
			t.Errorf("reply %q", got)
		}
	})

	run("input after QUIT is discarded", func(t *testing.T, e env) {
		ehlo(e.c)
		e.c.send("QUIT\r\nNOOP\r\n")
		e.c.expect(221)
		e.c.expectClosed()
	})
}
