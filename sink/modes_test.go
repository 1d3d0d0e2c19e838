package sink_test

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

// wire is a raw client for the sink behaviours the session client is
// meant to avoid or survive: it writes exactly what a test says.
type wire struct {
	t    *testing.T
	conn net.Conn
	rr   *session.ReplyReader
}

func openWire(t *testing.T, srv *sink.Server) *wire {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &wire{t: t, conn: conn, rr: session.NewReplyReader(conn)}
	w.expect("greeting", 220)
	w.send("EHLO client.test\r\n")
	w.expect("EHLO", 250)
	return w
}

func (w *wire) send(s string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(s)); err != nil {
		w.t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads one reply per code, in order.
func (w *wire) expect(what string, codes ...int) {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, code := range codes {
		r, err := w.rr.ReadReply()
		if err != nil {
			w.t.Fatalf("%s: reply %d of %d: %v", what, i+1, len(codes), err)
		}
		if r.Code != code {
			w.t.Fatalf("%s: reply %d of %d is %d %s, want %d", what, i+1, len(codes), r.Code, r.Text, code)
		}
	}
}

// silence asserts that no reply arrives within d.
func (w *wire) silence(what string, d time.Duration) {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(d))
	r, err := w.rr.ReadReply()
	if err == nil {
		w.t.Fatalf("%s: got %d %s, want no reply", what, r.Code, r.Text)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		w.t.Fatalf("%s: %v, want a read timeout", what, err)
	}
	// The reader may hold a partial reply after a timeout; nothing came,
	// so it holds none and stays usable.
}

const (
	envelope = "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\nDATA\r\n"
	content  = "Subject: x\r\n\r\nhello\r\n.\r\n"
)

func TestAfterDot(t *testing.T) {
	for _, tt := range []struct {
		mode sink.AfterDot
		// replies to content + "." + the next envelope in one write
		codes []int
		// the next envelope then goes unanswered
		silent bool
	}{
		{sink.AfterDotServe, []int{250, 250, 250, 354}, false},
		{sink.AfterDotDrop, []int{250}, true},
		{sink.AfterDotReject, []int{250, 503, 503, 503}, false},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			srv := startSink(t, sink.Config{AfterDot: tt.mode})
			w := openWire(t, srv)
			w.send(envelope)
			w.expect("first envelope", 250, 250, 354)
			w.send(content + envelope)
			w.expect("content and the next envelope in one write", tt.codes...)
			if tt.silent {
				w.silence("the envelope behind the end of data", 300*time.Millisecond)
			}
			if tt.mode != sink.AfterDotServe {
				// Written after the end-of-data reply, the same envelope
				// is served as usual.
				w.send(envelope)
				w.expect("envelope after the end-of-data reply", 250, 250, 354)
			}
			w.send(content)
			w.expect("second content", 250)
			w.send("QUIT\r\n")
			w.expect("QUIT", 221)
			if srv.Accepted() != 2 {
				t.Errorf("accepted %d, want 2", srv.Accepted())
			}
		})
	}
}

func TestAfterDotContentSpanningReads(t *testing.T) {
	// A content larger than the sink's read buffer: only what follows the
	// dot in the last read counts as "after the dot".
	srv := startSink(t, sink.Config{AfterDot: sink.AfterDotReject})
	w := openWire(t, srv)
	w.send(envelope)
	w.expect("envelope", 250, 250, 354)
	big := "Subject: x\r\n\r\n" + strings.Repeat(strings.Repeat("y", 78)+"\r\n", 3000) + ".\r\n"
	w.send(big + "NOOP\r\n")
	w.expect("big content and a NOOP", 250, 503)
	w.send("NOOP\r\n")
	w.expect("NOOP on its own", 250)
}

func TestMaxPerSession(t *testing.T) {
	t.Run("452 keeps the session", func(t *testing.T) {
		srv := startSink(t, sink.Config{MaxPerSession: 2, MaxPerSessionCode: 452})
		w := openWire(t, srv)
		for range 2 {
			w.send(envelope)
			w.expect("envelope", 250, 250, 354)
			w.send(content)
			w.expect("content", 250)
		}
		w.send(envelope)
		w.expect("envelope over the limit", 452, 503, 554)
		w.send("RSET\r\nMAIL FROM:<a@b.test>\r\n")
		w.expect("RSET and MAIL again", 250, 452)
		w.send("QUIT\r\n")
		w.expect("QUIT", 221)
		if srv.Accepted() != 2 || srv.SessionsLimited() != 1 {
			t.Errorf("accepted %d, %d sessions limited; want 2 and 1", srv.Accepted(), srv.SessionsLimited())
		}
	})
	t.Run("421 by default, and closes", func(t *testing.T) {
		srv := startSink(t, sink.Config{MaxPerSession: 1})
		w := openWire(t, srv)
		w.send(envelope)
		w.expect("envelope", 250, 250, 354)
		w.send(content)
		w.expect("content", 250)
		w.send(envelope)
		w.expect("envelope over the limit", 421)
		w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if r, err := w.rr.ReadReply(); err == nil {
			t.Fatalf("got %d %s after the 421, want the connection closed", r.Code, r.Text)
		}
		if srv.SessionsLimited() != 1 {
			t.Errorf("%d sessions limited, want 1", srv.SessionsLimited())
		}
		// A new session starts a new count.
		w2 := openWire(t, srv)
		w2.send(envelope)
		w2.expect("envelope on a new session", 250, 250, 354)
	})
}

func TestParseAfterDot(t *testing.T) {
	for _, s := range []string{"serve", "drop", "reject"} {
		m, err := sink.ParseAfterDot(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseAfterDot(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := sink.ParseAfterDot("discard"); err == nil {
		t.Error("ParseAfterDot(discard): no error")
	}
}
