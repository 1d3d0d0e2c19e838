package main

// Delivery tracking (--receive) against a store-and-forward relay whose
// faults are known in advance: the built-in sink in relay mode, in a
// process of its own, holding, dropping and duplicating on a fixed rule.

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// startRelaySink runs "smtpbench sink --relay-to to …" from the test
// binary's own build of the command, as a user would, on a free port.
func startRelaySink(t *testing.T, to string, extra ...string) string {
	t.Helper()
	bin := buildSmtpbench(t)
	var addr string
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		addr = freeAddr(t)
		args := append([]string{"sink", "--no-tls", "--listen", addr, "--relay-to", to}, extra...)
		_, port, _ := net.SplitHostPort(addr)
		if _, err = startProcessPorts(t, []string{port}, bin, args...); err == nil {
			return addr
		}
	}
	t.Fatalf("relay sink did not start: %v", err)
	return ""
}

// buildSmtpbench is the command built once per test binary.
func buildSmtpbench(t *testing.T) string {
	t.Helper()
	bin, err := smtpbenchBuilt()
	if err != nil {
		t.Fatalf("building smtpbench: %v", err)
	}
	return bin
}

func waitDial(addr string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// The relay: hold 0.5 s, drop every 50th, send every 50th+25th
// twice; 5000 messages give delivered 4900, lost 100, duplicates 100 and a
// delivery p50 of about 500 ms. The lost ones keep the drain going to its
// end, so --drain is short; --max-lost 100 makes exactly those pass.
func TestReceiveRelayFaults(t *testing.T) {
	rcv := freeAddr(t)
	relay := startRelaySink(t, rcv, "--hold", "500ms", "--drop-every", "50", "--duplicate-every", "50")
	r := runBench(t, "-c", "10", "--rate", "1000", "-n", "5000", "--timeout", "10s",
		"--receive", rcv, "--drain", "3s", "--max-lost", "100", relay)
	if r.Code != 0 {
		t.Fatalf("%s: %s", r, r.Stderr)
	}
	d := r.Report.Delivery
	if d == nil {
		t.Fatalf("%s: no delivery object", r)
	}
	if d.Accepted != 5000 || d.Delivered != 4900 || d.Lost != 100 || d.Duplicates != 100 || d.Strangers != 0 || d.UnansweredDelivered != 0 {
		t.Errorf("accepted %d delivered %d lost %d duplicates %d strangers %d unanswered %d; want 5000 4900 100 100 0 0",
			d.Accepted, d.Delivered, d.Lost, d.Duplicates, d.Strangers, d.UnansweredDelivered)
	}
	p := r.Report.Phases["delivery"]
	if p.Count != 4900 || p.P50MS < 400 || p.P50MS > 600 {
		t.Errorf("delivery phase: count %d p50 %.1f ms; want 4900 and 500 ms ± 20%%", p.Count, p.P50MS)
	}
	if e := r.Report.Phases["end_to_end"]; e.Count != 4900 || e.P50MS < p.P50MS {
		t.Errorf("end_to_end: count %d p50 %.1f ms; want 4900 and at least the delivery p50", e.Count, e.P50MS)
	}
	var acc, del int64
	for _, s := range d.Intervals {
		acc += s.Accepted
		del += s.Delivered
	}
	if acc != 5000 || del != 4900 {
		t.Errorf("per-second series add up to accepted %d, delivered %d; want 5000, 4900", acc, del)
	}
	if d.BacklogMax < 300 || d.BacklogMax > 1200 {
		t.Errorf("backlog_max %d: a 0.5 s hold at 1000/s keeps about 500 in the queue", d.BacklogMax)
	}
}

// A server that accepts and never delivers: the drain ends at --drain,
// every message is lost, and the run exits 1.
func TestReceiveNeverDelivered(t *testing.T) {
	srv, err := sink.Start("127.0.0.1:0", sink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	r := runBench(t, "-c", "2", "-n", "50", "--timeout", "5s", "--receive", freeAddr(t), "--drain", "700ms", srv.Addr())
	if r.Code != exitRun {
		t.Fatalf("%s: want exit %d for lost mail; stderr %s", r, exitRun, r.Stderr)
	}
	d := r.Report.Delivery
	if d == nil || d.Lost != 50 || d.Delivered != 0 || d.DrainS < 0.6 || d.DrainS > 5 {
		t.Fatalf("delivery %+v: want 50 lost after a drain of about 0.7 s", d)
	}
	if !strings.Contains(r.Stderr, "50 accepted messages were lost") {
		t.Errorf("stderr does not say what was lost: %s", r.Stderr)
	}
}

// Arrivals that are not ours (another run's token, no Message-ID) are
// strangers, never matched; the run's own are all delivered.
func TestReceiveStrangers(t *testing.T) {
	rcv := freeAddr(t)
	relay := startRelaySink(t, rcv)
	stranger := func(id string) {
		c, err := net.Dial("tcp", rcv)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		msg := "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
		c.Write([]byte(msg))
		time.Sleep(50 * time.Millisecond)
		c.Write([]byte(id + "Subject: not ours\r\n\r\nbody\r\n.\r\nQUIT\r\n"))
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			n, err := c.Read(buf)
			if err != nil || strings.Contains(string(buf[:n]), "221") {
				return
			}
		}
	}
	done := make(chan *benchRun, 1)
	go func() {
		done <- runBench(t, "-c", "2", "--rate", "100", "-n", "100", "--timeout", "5s", "--receive", rcv, "--drain", "5s", relay)
	}()
	if !waitDial(rcv, 5*time.Second) {
		t.Fatal("receiver did not listen")
	}
	stranger("Message-ID: <smtpbench.0123456789ab.7@elsewhere>\r\n")
	stranger("")
	r := <-done
	if r.Code != 0 {
		t.Fatalf("%s: %s", r, r.Stderr)
	}
	d := r.Report.Delivery
	if d.Strangers != 2 || d.Delivered != 100 || d.Lost != 0 || d.Duplicates != 0 {
		t.Fatalf("delivery %+v: want 2 strangers and all 100 delivered", d)
	}
}

// Bad input fails before any load: a receiver address in use, a Maildir
// that does not exist or is not one; delivery flags without --receive.
func TestReceiveBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	srv, err := sink.Start("127.0.0.1:0", sink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	notMaildir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"address in use", []string{"--receive", busy.Addr().String()}, "address already in use"},
		{"no maildir", []string{"--receive", "maildir:" + filepath.Join(notMaildir, "nope")}, "not a readable Maildir"},
		{"not a maildir", []string{"--receive", "maildir:" + notMaildir}, "not a readable Maildir"},
		{"drain alone", []string{"--drain", "5s"}, "--drain needs --receive"},
		{"max-lost alone", []string{"--max-lost", "3"}, "--max-lost needs --receive"},
		{"delivery threshold alone", []string{"--max-p99", "delivery=1s"}, "only with --receive"},
	} {
		args := append([]string{"run", "-n", "10", "--timeout", "5s"}, c.args...)
		r := mainRun(t, append(args, srv.Addr()))
		if r.Code != exitUsage || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, r.Code, r.Stderr, exitUsage, c.want)
		}
		if srv.Accepted() != 0 {
			t.Fatalf("%s: %d messages were sent before the refusal", c.name, srv.Accepted())
		}
	}
}

// The receiver speaks LMTP too (RFC 2033: one reply per recipient after
// the content), as a server's LMTP delivery would use it; three recipients
// in one transaction make one delivered message.
func TestReceiveLMTPDirect(t *testing.T) {
	rcv := freeAddr(t)
	r := runBench(t, "--lmtp", "-c", "4", "-n", "400", "--rcpts", "3", "--timeout", "5s", "--receive", rcv, "--drain", "5s", rcv)
	if r.Code != 0 {
		t.Fatalf("%s: %s", r, r.Stderr)
	}
	d := r.Report.Delivery
	if d.Accepted != 400 || d.Delivered != 400 || d.Lost != 0 || d.Duplicates != 0 || r.Report.Totals.RecipientsDelivered != 1200 {
		t.Fatalf("%s: delivery %+v, LMTP recipients delivered %d; want 400 messages, 1200 recipients", r, d, r.Report.Totals.RecipientsDelivered)
	}
}
