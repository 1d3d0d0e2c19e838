package session

import (
	"errors"
	"testing"
	"time"
)

// An idle client reads the greeting and then nothing is written at all,
// until the server's 421 ends the wait; the session is then broken.
func TestGreetAwaitAnd421(t *testing.T) {
	srv := startScript(t, []step{{send: greeting}, {send: closing, delay: 50 * time.Millisecond, hangup: true}})
	c := NewClient(srv.conn, testOptions())
	if r, err := c.Greet(); err != nil || r.Code != CodeReady {
		t.Fatalf("Greet: %d %v", r.Code, err)
	}
	_, err := c.Await(0)
	var se *Error
	if !errors.As(err, &se) || se.Code != CodeServiceClosing || c.Err() == nil {
		t.Fatalf("Await: %v, want the 421 and a broken session", err)
	}
	if got := srv.conn.Writes(); len(got) != 0 {
		t.Errorf("an idle client wrote %q", got)
	}
}

// Await's own limit is a timeout that leaves the session usable: the idle
// client then says QUIT.
func TestAwaitOwnTimeoutKeepsSession(t *testing.T) {
	srv := startScript(t, []step{{send: greeting}, {recv: quitCmd, send: quitOK}})
	c := NewClient(srv.conn, testOptions())
	if _, err := c.Greet(); err != nil {
		t.Fatal(err)
	}
	_, err := c.Await(30 * time.Millisecond)
	var se *Error
	if !errors.As(err, &se) || se.Class != ClassTimeout || c.Err() != nil {
		t.Fatalf("Await: %v (session %v), want our timeout and a usable session", err, c.Err())
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("Quit after Await's timeout: %v", err)
	}
	srv.check(t)
}

// The abort profiles' steps: MAIL, RCPT, DATA one by one, then half the
// content (cut inside it, never inside the final dot) or all of it with the
// end of data, each exactly as written.
func TestStepByStepTransaction(t *testing.T) {
	m := testMessage(t, 1, testContent)
	half := wireContent[:(len(wireContent)-3)/2]
	srv := startScript(t, concat(hello(ehloPlain), []step{
		{recv: mailCmd(1), send: mailOK}, {recv: rcptCmd(1, 1), send: rcptOK}, {recv: "DATA\r\n", send: dataGo},
		{recv: half}, {recv: "XYZZY\r\n", send: "502 5.5.2 what\r\n"}}))
	c := NewClient(srv.conn, testOptions())
	if err := c.Hello(); err != nil {
		t.Fatal(err)
	}
	if r, err := c.MailFrom(m); err != nil || r.Code != 250 {
		t.Fatalf("MailFrom: %d %v", r.Code, err)
	}
	if r, err := c.RcptTo(m, 1); err != nil || r.Code != 250 {
		t.Fatalf("RcptTo: %d %v", r.Code, err)
	}
	if r, err := c.Command(PhaseData, "DATA", m); err != nil || r.Code != CodeStartInput {
		t.Fatalf("DATA: %d %v", r.Code, err)
	}
	if _, err := c.WriteContent(m, 0.5); err != nil {
		t.Fatal(err)
	}
	// Not SMTP any more (the server is inside the content), but it shows
	// the half went out alone and exactly.
	if r, err := c.Exchange("XYZZY"); err != nil || r.Code != 502 {
		t.Fatalf("Exchange: %d %v", r.Code, err)
	}
	if _, err := c.Command(PhaseMail, "BAD\r\nLINE", nil); err == nil {
		t.Error("a command with CR LF inside was written")
	}
	c.Close()
	srv.check(t)
}
