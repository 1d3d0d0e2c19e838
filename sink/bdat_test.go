package sink_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// A raw BDAT conversation: chunks outside a transaction are read and
// refused, so the session stays in step; a good transaction stores the
// chunks' octets as they are; a malformed BDAT ends the session, since its
// octets cannot be skipped.
func TestBDATConversation(t *testing.T) {
	var stored []string
	srv := startSink(t, sink.Config{Chunking: true, OnMessage: func(from string, to []string, data []byte) {
		stored = append(stored, from+" "+strings.Join(to, ",")+" "+string(data))
	}})
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	reply := func() string {
		t.Helper()
		var all []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading a reply: %v (so far %q)", err, all)
			}
			all = append(all, strings.TrimRight(line, "\r\n"))
			if len(line) < 4 || line[3] != '-' {
				return strings.Join(all, "|")
			}
		}
	}
	say := func(s string) { conn.Write([]byte(s)) }
	if r := reply(); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("greeting %q", r)
	}
	say("EHLO t\r\n")
	if r := reply(); !strings.Contains(r, "CHUNKING") || !strings.Contains(r, "BINARYMIME") {
		t.Errorf("EHLO reply %q offers no CHUNKING and BINARYMIME", r)
	}
	say("BDAT 5 LAST\r\nhello")
	if r := reply(); !strings.HasPrefix(r, "503 ") {
		t.Errorf("BDAT outside a transaction: %q", r)
	}
	say("MAIL FROM:<a@x> SIZE=9 BODY=BINARYMIME\r\nRCPT TO:<b@y>\r\nBDAT 4\r\n.a\r\nBDAT 5 last\r\n..\r\n\r")
	for i, want := range []string{"250 ", "250 ", "250 ", "250 "} {
		if r := reply(); !strings.HasPrefix(r, want) {
			t.Errorf("reply %d: %q, want %q", i, r, want)
		}
	}
	if len(stored) != 1 || stored[0] != "<a@x> <b@y> .a\r\n..\r\n\r" {
		t.Errorf("stored %q", stored)
	}
	say("BDAT ten\r\n")
	if r := reply(); !strings.HasPrefix(r, "501 ") {
		t.Errorf("malformed BDAT: %q", r)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("the session went on after a BDAT without a size")
	}
}
