package sink_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

// greeting dials and reads the first reply within d.
func greeting(t *testing.T, srv *sink.Server, d time.Duration) (net.Conn, session.Reply, error) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(d))
	r, err := session.NewReplyReader(conn).ReadReply()
	return conn, r.Clone(), err
}

// Beyond MaxSessions a connection waits, accepted but not greeted, until a
// session ends (LimitWait), or gets 421 at once (LimitRefuse).
func TestMaxSessions(t *testing.T) {
	t.Run("wait", func(t *testing.T) {
		srv := startSink(t, sink.Config{MaxSessions: 2})
		first, _, err := greeting(t, srv, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := greeting(t, srv, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		// The third waits: no greeting while two sessions are open.
		third, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer third.Close()
		rr := session.NewReplyReader(third)
		third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if r, err := rr.ReadReply(); err == nil {
			t.Fatalf("third connection greeted (%d) while two sessions were open", r.Code)
		}
		first.Write([]byte("QUIT\r\n"))
		third.SetReadDeadline(time.Now().Add(5 * time.Second))
		r, err := rr.ReadReply()
		if err != nil || r.Code != 220 {
			t.Fatalf("third connection after a session ended: %v %v, want 220", r.Code, err)
		}
		if srv.SessionsWaited() != 1 {
			t.Errorf("SessionsWaited %d, want 1", srv.SessionsWaited())
		}
	})
	t.Run("refuse", func(t *testing.T) {
		srv := startSink(t, sink.Config{MaxSessions: 1, SessionLimit: sink.LimitRefuse})
		if _, _, err := greeting(t, srv, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		_, r, err := greeting(t, srv, 5*time.Second)
		if err != nil || r.Code != 421 {
			t.Fatalf("second connection: %d %v, want 421", r.Code, err)
		}
		if srv.SessionsRefused() != 1 {
			t.Errorf("SessionsRefused %d, want 1", srv.SessionsRefused())
		}
	})
}

// The command timeout ends a session whose command, or content, trickles
// in for longer than it allows, with 421; the idle timeout alone would
// never fire on it.
func TestCommandTimeout(t *testing.T) {
	srv := startSink(t, sink.Config{CommandTimeout: 300 * time.Millisecond, IdleTimeout: 5 * time.Second})
	t.Run("command line", func(t *testing.T) {
		conn, _, err := greeting(t, srv, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rr := session.NewReplyReader(conn)
		start := time.Now()
		for _, b := range []byte("EHLO trickle") {
			if _, err := conn.Write([]byte{b}); err != nil {
				break // closed by the server: what this test waits for
			}
			time.Sleep(50 * time.Millisecond)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		r, err := rr.ReadReply()
		if err != nil || r.Code != 421 || !strings.Contains(string(r.Text), "command timeout") {
			t.Fatalf("trickled command: %d %q %v, want 421 command timeout", r.Code, r.Text, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("ended after %s, want about the command timeout (300ms)", d)
		}
	})
	t.Run("content", func(t *testing.T) {
		conn, _, err := greeting(t, srv, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rr := session.NewReplyReader(conn)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"))
		for _, code := range []int{250, 250, 250, 354} {
			if r, err := rr.ReadReply(); err != nil || r.Code != code {
				t.Fatalf("envelope: %d %v, want %d", r.Code, err, code)
			}
		}
		for i := 0; i < 20; i++ {
			if _, err := conn.Write([]byte("line\r\n")); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		r, err := rr.ReadReply()
		if err != nil || r.Code != 421 {
			t.Fatalf("trickled content: %d %v, want 421", r.Code, err)
		}
	})
	if srv.CommandTimeouts() != 2 || srv.IdleTimeouts() != 0 {
		t.Errorf("command timeouts %d, idle timeouts %d; want 2 and 0", srv.CommandTimeouts(), srv.IdleTimeouts())
	}
}
