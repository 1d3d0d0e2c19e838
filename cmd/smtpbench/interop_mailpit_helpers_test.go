package main

// Mailpit for the interoperability suite: started on free loopback ports,
// what it stored read back through its HTTP API.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// mailpit is a running Mailpit with its HTTP API.
type mailpit struct {
	*process
	SMTP string // host:port of its SMTP server
	API  string // base URL of its HTTP API
}

// startMailpit starts Mailpit with its database in t.TempDir, no message
// limit, and nothing that reaches outside the machine (no version check, no
// reverse DNS), plus any extra options. POP3 stays off: it needs
// --pop3-auth-file.
func startMailpit(t testing.TB, extra ...string) *mailpit {
	t.Helper()
	bin := findServer(t, "mailpit")
	db := filepath.Join(t.TempDir(), "mailpit.db")
	m := &mailpit{}
	m.process = startOnFreePorts(t, bin, func() []string {
		m.SMTP = freeAddr(t)
		http := freeAddr(t)
		m.API = "http://" + http
		return append([]string{"--smtp", m.SMTP, "--listen", http, "--database", db,
			"--max", "0", "--disable-version-check", "--smtp-disable-rdns", "--quiet"}, extra...)
	})
	return m
}

var mailpitHTTP = &http.Client{Timeout: 10 * time.Second}

func (m *mailpit) get(t testing.TB, path string, v any) []byte {
	t.Helper()
	resp, err := mailpitHTTP.Get(m.API + path)
	if err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit GET %s: %s %v: %.500s", path, resp.Status, err, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("mailpit GET %s: %v: %.500s", path, err, b)
		}
	}
	return b
}

// mailpitInfo is the part of /api/v1/info the suite reads. Messages is how
// many are stored now; RuntimeStats.SMTPAccepted counts every message its
// SMTP server accepted since start (deletions do not lower it).
type mailpitInfo struct {
	Messages     int64
	RuntimeStats struct {
		SMTPAccepted int64
		SMTPRejected int64
	}
}

func (m *mailpit) info(t testing.TB) mailpitInfo {
	t.Helper()
	var i mailpitInfo
	m.get(t, "/api/v1/info", &i)
	return i
}

// deleteAll empties the mailbox (DELETE /api/v1/messages without IDs).
func (m *mailpit) deleteAll(t testing.TB) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, m.API+"/api/v1/messages", nil)
	resp, err := mailpitHTTP.Do(req)
	if err != nil {
		t.Fatalf("mailpit DELETE /api/v1/messages: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit DELETE /api/v1/messages: %s", resp.Status)
	}
}

// mailpitMessage is one entry of /api/v1/messages.
type mailpitMessage struct {
	ID   string
	Bcc  []struct{ Address string }
	To   []struct{ Address string }
	Size int64
}

// messages lists up to limit stored messages, newest first.
func (m *mailpit) messages(t testing.TB, limit int) []mailpitMessage {
	t.Helper()
	var l struct {
		Total    int64
		Messages []mailpitMessage
	}
	m.get(t, fmt.Sprintf("/api/v1/messages?limit=%d", limit), &l)
	return l.Messages
}

// raw returns a stored message exactly as Mailpit keeps it.
func (m *mailpit) raw(t testing.TB, id string) []byte {
	t.Helper()
	return m.get(t, "/api/v1/message/"+id+"/raw", nil)
}

// waitStored polls until Mailpit holds want messages or a few seconds pass,
// in case storing lags the 250 reply; it returns the last info read.
func (m *mailpit) waitStored(t testing.TB, want int64) mailpitInfo {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		i := m.info(t)
		if i.Messages >= want || time.Now().After(deadline) {
			return i
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailpitHeaders matches the header lines Mailpit puts in front of what it
// received: Return-Path, a Received header (with continuation lines), a
// Message-ID when the message had none, and a Bcc listing the envelope
// recipients that no To or Cc header names.
const mailpitHeaders = `(?:(?:Return-Path|Received|Message-ID|Bcc): [^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)*`

var (
	// mailpitAdded matches a prefix made only of Mailpit's own headers.
	mailpitAdded = regexp.MustCompile(`\A` + mailpitHeaders + `\z`)
	// mailpitAddedPrefix finds them at the start of a stored message, to
	// cut them off content whose exact bytes the test does not know.
	mailpitAddedPrefix = regexp.MustCompile(`\A` + mailpitHeaders)
)

// splitMailpitRaw checks that raw is want with only Mailpit's own header
// lines in front, and returns that prefix.
func splitMailpitRaw(raw, want []byte) (prefix []byte, err error) {
	if !bytes.HasSuffix(raw, want) {
		return nil, errors.New("stored message does not end with the content smtpbench sent")
	}
	prefix = raw[:len(raw)-len(want)]
	if !mailpitAdded.Match(prefix) {
		return prefix, fmt.Errorf("Mailpit added more than its trace headers in front of the content: %q", prefix)
	}
	return prefix, nil
}
