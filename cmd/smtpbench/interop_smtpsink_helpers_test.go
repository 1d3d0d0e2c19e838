package main

// Postfix's smtp-sink for the interoperability suite: started on a free
// loopback port, its counters and dumps read back.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smtpSink is a running Postfix smtp-sink.
type smtpSink struct {
	*process
	Addr    string
	DumpDir string // set when started with dumps (-d)
}

// startSmtpSink starts smtp-sink on a free port with -c (running counters on
// stdout) plus the given options. When dump is true every transaction is
// written to its own file under DumpDir (-d). Started as root, smtp-sink
// must drop privileges (-u): it then runs as nobody and needs a dump
// directory nobody can write, or it exits with "fatal: open ...: Permission
// denied" at the first RCPT, killing every session.
func startSmtpSink(t testing.TB, dump bool, opts ...string) *smtpSink {
	t.Helper()
	bin := findServer(t, "smtp-sink")
	s := &smtpSink{}
	args := []string{"-c"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	if dump {
		s.DumpDir = t.TempDir()
		if os.Geteuid() == 0 {
			// t.TempDir is 0700 under a 0700 parent; nobody needs to
			// traverse the parent and write the directory.
			os.Chmod(filepath.Dir(s.DumpDir), 0o711)
			os.Chmod(s.DumpDir, 0o777)
		}
		// One file per transaction; %H%M%S plus the random suffix
		// smtp-sink appends keeps names unique.
		args = append(args, "-d", filepath.Join(s.DumpDir, "%H%M%S."))
	}
	args = append(args, opts...)
	s.process = startOnFreePorts(t, bin, func() []string {
		s.Addr = freeAddr(t)
		// The backlog argument is required.
		return append(args, s.Addr, "64")
	})
	return s
}

// sinkCounters are smtp-sink's -c counters.
type sinkCounters struct {
	Sessions, Quits, Messages int64
}

var sinkCounterRE = regexp.MustCompile(`sess=(\d+) quit=(\d+) mesg=(\d+)`)

// stopAfter waits until smtp-sink has seen the end of every session of run
// r (one per connect attempt, plus startProcess's probe), then stops it.
// smtpbench returns as soon as it has the 221 to QUIT, which can be before
// smtp-sink has noticed the close and printed its last counters.
func (s *smtpSink) stopAfter(t testing.TB, r *benchRun) {
	t.Helper()
	want := r.Report.Totals.ConnectAttempts + 1
	deadline := time.Now().Add(5 * time.Second)
	for s.counters(t).Sessions < want && time.Now().Before(deadline) && !s.exited() {
		time.Sleep(10 * time.Millisecond)
	}
	s.stop()
}

// counters returns smtp-sink's latest -c counters. It prints them,
// CR-separated, each time a session ends, a QUIT is executed or "." is
// received; mesg counts every "." received, also those it then rejects (-r .
// or -f .) or answers by disconnecting (-q ., -Q .), so it counts delivered
// contents, not accepted messages. sess includes startProcess's probe.
func (s *smtpSink) counters(t testing.TB) sinkCounters {
	t.Helper()
	all := sinkCounterRE.FindAllStringSubmatch(s.stdout.String(), -1)
	if len(all) == 0 {
		return sinkCounters{}
	}
	m := all[len(all)-1]
	atoi := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	return sinkCounters{atoi(m[1]), atoi(m[2]), atoi(m[3])}
}

// sinkDump is one transaction as smtp-sink wrote it with -d.
type sinkDump struct {
	File     string
	MailArgs string   // X-Mail-Args
	RcptArgs []string // X-Rcpt-Args, in order
	Content  []byte   // the message as received, dot-unstuffed, LF line ends
}

// dumps parses smtp-sink's dump files; call it after stopAfter, so that
// every file is complete. The format (smtp-sink(1), DUMP FILE FORMAT) is LF-terminated:
// X-Client-Addr, X-Client-Proto, X-Helo-Args, X-Mail-Args, one X-Rcpt-Args
// per RCPT, a three-line Received header, then the content as received with
// each CRLF turned into LF, then one empty line.
func (s *smtpSink) dumps(t testing.TB) []sinkDump {
	t.Helper()
	var out []sinkDump
	err := filepath.WalkDir(s.DumpDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dmp := sinkDump{File: path}
		rest := b
		for {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				return fmt.Errorf("%s: no Received header ends the smtp-sink headers", path)
			}
			line := string(rest[:i])
			rest = rest[i+1:]
			if v, ok := strings.CutPrefix(line, "X-Mail-Args: "); ok {
				dmp.MailArgs = v
			}
			if v, ok := strings.CutPrefix(line, "X-Rcpt-Args: "); ok {
				dmp.RcptArgs = append(dmp.RcptArgs, v)
			}
			if strings.HasPrefix(line, "Received: ") {
				// Two continuation lines: "\tby ..." and "\tdate".
				for k := 0; k < 2; k++ {
					j := bytes.IndexByte(rest, '\n')
					if j < 0 || len(rest) == 0 || rest[0] != '\t' {
						return fmt.Errorf("%s: Received header is not three lines", path)
					}
					rest = rest[j+1:]
				}
				break
			}
		}
		c, ok := bytes.CutSuffix(rest, []byte("\n"))
		if !ok {
			return fmt.Errorf("%s: dump does not end with the empty line smtp-sink adds", path)
		}
		dmp.Content = c
		out = append(out, dmp)
		return nil
	})
	if err != nil {
		t.Fatalf("reading smtp-sink dumps: %v", err)
	}
	return out
}

// lf is what smtp-sink's dump holds for wire content c: LF instead of CRLF.
func lf(c []byte) []byte { return bytes.ReplaceAll(c, []byte("\r\n"), []byte("\n")) }
