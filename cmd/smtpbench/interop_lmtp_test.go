package main

// LMTP (RFC 2033) against Postfix's smtp-sink in LMTP mode (-L), over TCP
// and over a Unix socket: one reply per accepted recipient after the
// content, each counted, and smtp-sink's own counts equal ours.

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// startSmtpSinkUnix starts smtp-sink listening on a Unix socket, waiting
// until the socket accepts connections (one probe session, as startProcess
// makes over TCP).
func startSmtpSinkUnix(t *testing.T, opts ...string) (*smtpSink, string) {
	t.Helper()
	bin := findServer(t, "smtp-sink")
	dir, err := os.MkdirTemp("", "lmtp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "lmtp.sock") // short: socket paths are limited to about 100 octets
	args := []string{"-c"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	args = append(append(args, opts...), "unix:"+path, "64")
	s := &smtpSink{process: startProcess(t, bin, args...), Addr: "unix:" + path}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return s, path
		}
		if s.exited() || time.Now().After(deadline) {
			t.Fatalf("smtp-sink did not listen on %s: %v\nstderr: %s", path, err, s.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInteropLMTPSmtpSink(t *testing.T) {
	for _, tc := range []struct {
		name   string
		unix   bool
		reject bool // smtp-sink -r .: every recipient refused after the content
	}{
		{name: "tcp"},
		{name: "unix socket", unix: true},
		{name: "unix socket, refused after the content", unix: true, reject: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []string{"-L"}
			if tc.reject {
				opts = append(opts, "-r", ".")
			}
			var s *smtpSink
			if tc.unix {
				s, _ = startSmtpSinkUnix(t, opts...)
			} else {
				s = startSmtpSink(t, false, opts...)
			}
			const n = 300
			r := runBench(t, "-n", strconv.Itoa(n), "-c", "4", "--rcpts", "1-4", "--timeout", "5s", "--lmtp", s.Addr)
			checkInvariants(t, r)
			s.stopAfter(t, r)
			tot := r.Report.Totals
			got := s.counters(t)
			// smtp-sink counts every content it received in mesg.
			if got.Messages != n || tot.MessagesAttempted != n {
				t.Errorf("%s: smtp-sink received %d contents, we attempted %d; want %d", r, got.Messages, tot.MessagesAttempted, n)
			}
			if tot.RecipientsAccepted < n || tot.RecipientsAccepted > 4*n {
				t.Errorf("%s: %d recipients accepted for %d messages of 1 to 4", r, tot.RecipientsAccepted, n)
			}
			body := r.Report.Replies["body"]
			if tc.reject {
				var refused int64
				for code, k := range body {
					if c, _ := strconv.Atoi(code); c >= 400 {
						refused += k
					}
				}
				if tot.MessagesRejected != n || tot.RecipientsDelivered != 0 || tot.RecipientsUndelivered != tot.RecipientsAccepted || refused != tot.RecipientsAccepted {
					t.Errorf("%s: rejected %d, delivered %d, undelivered %d, body replies %v; want every recipient of every message refused (%d)",
						r, tot.MessagesRejected, tot.RecipientsDelivered, tot.RecipientsUndelivered, body, tot.RecipientsAccepted)
				}
				return
			}
			// One reply per accepted recipient after each content, all
			// counted: in the totals, the replies and the body phase.
			if tot.MessagesOK != n || tot.RecipientsDelivered != tot.RecipientsAccepted || tot.RecipientsUndelivered != 0 ||
				body["250"] != tot.RecipientsAccepted || timedReplies(&r.Report, "body") != tot.RecipientsAccepted {
				t.Errorf("%s: ok %d, delivered %d, undelivered %d, body replies %v, body count %d; want %d ok and every one of %d recipients delivered",
					r, tot.MessagesOK, tot.RecipientsDelivered, tot.RecipientsUndelivered, body, timedReplies(&r.Report, "body"), n, tot.RecipientsAccepted)
			}
			if got.Sessions != tot.ConnectAttempts+1 || got.Quits != tot.Connections {
				t.Errorf("%s: smtp-sink saw %d sessions and %d QUITs; we made %d attempts (+1 probe) and %d connections",
					r, got.Sessions, got.Quits, tot.ConnectAttempts, tot.Connections)
			}
		})
	}
}
