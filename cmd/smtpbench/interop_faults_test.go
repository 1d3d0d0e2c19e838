package main

// Faults injected by Postfix's smtp-sink on each SMTP command: soft and hard
// rejections (-r, -f, with -b/-B for other codes), disconnects without a
// reply (-q), 421 and disconnect (-Q), delays (-w, -W), the abort after DATA
// (-A) and missing extensions (-p, -e). Each row states how smtpbench must
// count the result. Behaviour of smtp-sink 3.7 verified by hand with a raw
// client before these rows were written:
//
//   - -r and -f imply -p (no PIPELINING); -q, -Q, -w, -W and -A do not.
//   - -r/-f default replies are "450 4.3.0 Error: command failed" and
//     "500 5.3.0 Error: command failed": a hard reject is 500, which a client
//     answers at EHLO by falling back to HELO (RFC 5321 4.1.4).
//   - -r/-f connect send the 4yz/5yz greeting and then keep serving.
//   - -e: the greeting lacks "ESMTP" and EHLO gets 500 5.5.1.
//   - -A N: N seconds after the 354, "550 This violates SMTP" (no enhanced
//     code), then close; the unread content turns the close into a RST.
//   - -r/-f/-Q quit answer QUIT with 450/500/421; after -r/-f the server
//     keeps the connection open.
//   - the -c counter "mesg" counts every "." received, including those it
//     then rejects or answers by disconnecting.

import (
	"strings"
	"testing"
	"time"
)

type faultRow struct {
	name string
	opts []string // smtp-sink options
	args []string // extra smtpbench flags; default -n 4 -c 1 --rcpts 2 --timeout 3s

	// What the report must say.
	ok, rejected, failed int64
	errors               map[errorKey]int64 // exact buckets; anyCount for "some"
	connectFails         bool               // no session ever established: stop_reason connect_failed, exit 1
	conns                int64              // exact connections, or -1
	mesg                 int64              // smtp-sink's "." counter; 0 means it must equal ok
	quits                int64              // smtp-sink's QUIT counter, checked when not 0
	replies              map[string]map[string]int64
	pipelined            *bool // checked against --trace 1 when set
	maxElapsed           time.Duration
	check                func(t *testing.T, r *benchRun) // anything else
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

func faultRows() []faultRow {
	t300 := []string{"--timeout", "300ms", "--data-timeout", "300ms"}
	// smtp-sink -W answers pipelined commands out of order: the commands
	// behind the delayed one are processed first (MAIL delayed → "503 need
	// MAIL command" to the RCPTs, then the late 250). So -W rows that
	// delay an envelope command or "." run without pipelining.
	t300off := []string{"--timeout", "300ms", "--data-timeout", "300ms", "--pipelining", "off"}
	return []faultRow{
		// ---- the greeting ----
		{name: "soft reject connect", opts: []string{"-r", "connect"},
			errors: map[errorKey]int64{ek("banner", "temp_reject", 450): 1}, failed: 1, connectFails: true},
		{name: "hard reject connect", opts: []string{"-f", "connect"},
			errors: map[errorKey]int64{ek("banner", "perm_reject", 500): 1}, failed: 1, connectFails: true},
		// RFC 5321 3.1: after a 554 greeting the client sends QUIT.
		{name: "554 greeting", opts: []string{"-f", "connect", "-B", "554 5.7.1 no service for you"},
			errors: map[errorKey]int64{ek("banner", "perm_reject", 554): 1}, failed: 1, connectFails: true, quits: 1},
		{name: "disconnect at connect", opts: []string{"-q", "connect"},
			errors: map[errorKey]int64{ek("banner", "closed", 0): 1}, failed: 1, connectFails: true},
		{name: "421 at connect", opts: []string{"-Q", "connect"},
			errors: map[errorKey]int64{ek("banner", "closed", 421): 1}, failed: 1, connectFails: true},
		{name: "slow greeting", opts: []string{"-W", "connect:1"}, args: t300,
			errors: map[errorKey]int64{ek("banner", "timeout", 0): 1}, failed: 1, connectFails: true},

		// ---- EHLO ----
		{name: "soft reject EHLO", opts: []string{"-r", "ehlo"},
			errors: map[errorKey]int64{ek("ehlo", "temp_reject", 450): 1}, failed: 1, connectFails: true},
		// 500 to EHLO: fall back to HELO, which smtp-sink accepts.
		{name: "hard reject EHLO (500) falls back to HELO", opts: []string{"-f", "ehlo"}, ok: 4, conns: 1,
			replies: map[string]map[string]int64{"ehlo": {"500": 1, "250": 1}}, pipelined: no},
		// 550 to EHLO is not "unknown command": no fallback.
		{name: "EHLO 550 is no reason for HELO", opts: []string{"-f", "ehlo", "-B", "550 5.7.1 go away"},
			errors: map[errorKey]int64{ek("ehlo", "perm_reject", 550): 1}, failed: 1, connectFails: true},
		{name: "no ESMTP", opts: []string{"-e"}, ok: 4, conns: 1, pipelined: no,
			replies: map[string]map[string]int64{"ehlo": {"500": 1, "250": 1}},
			check: func(t *testing.T, r *benchRun) {
				if !strings.Contains(r.Stderr, "C: HELO ") {
					t.Errorf("%s: no HELO in the trace after EHLO got 500", r)
				}
			}},
		{name: "disconnect at EHLO", opts: []string{"-q", "ehlo"},
			errors: map[errorKey]int64{ek("ehlo", "closed", 0): 1}, failed: 1, connectFails: true},
		{name: "421 at EHLO", opts: []string{"-Q", "ehlo"},
			errors: map[errorKey]int64{ek("ehlo", "closed", 421): 1}, failed: 1, connectFails: true},
		{name: "slow EHLO", opts: []string{"-W", "ehlo:1"}, args: t300,
			errors: map[errorKey]int64{ek("ehlo", "timeout", 0): 1}, failed: 1, connectFails: true},

		// ---- MAIL ----
		{name: "soft reject MAIL", opts: []string{"-r", "mail"}, rejected: 4, conns: 1, pipelined: no,
			errors:  map[errorKey]int64{ek("mail", "temp_reject", 450): 4},
			replies: map[string]map[string]int64{"mail": {"450": 4}, "rset": {"250": 3}}},
		// smtp-sink -r implies -p, but it reads pipelined input anyway.
		{name: "soft reject MAIL, pipelining on", opts: []string{"-r", "mail"}, args: []string{"--pipelining", "on"},
			rejected: 4, conns: 1, pipelined: yes,
			errors: map[errorKey]int64{ek("mail", "temp_reject", 450): 4}},
		{name: "hard reject MAIL", opts: []string{"-f", "mail"}, rejected: 4, conns: 1,
			errors: map[errorKey]int64{ek("mail", "perm_reject", 500): 4}},
		{name: "disconnect at MAIL", opts: []string{"-q", "mail"}, failed: 4, conns: 4,
			errors: map[errorKey]int64{ek("mail", "closed", 0): 4}},
		{name: "421 at MAIL", opts: []string{"-Q", "mail"}, failed: 4, conns: 4,
			errors: map[errorKey]int64{ek("mail", "closed", 421): 4}},
		{name: "slow MAIL", opts: []string{"-W", "mail:1"}, args: append([]string{"-n", "2"}, t300off...), failed: 2, conns: 2,
			errors: map[errorKey]int64{ek("mail", "timeout", 0): 2}},
		// A failed transaction is followed by RSET; a server that refuses
		// RSET cannot be trusted with the session, so smtpbench reconnects.
		{name: "soft reject MAIL and RSET", opts: []string{"-r", "mail,rset"}, rejected: 2, failed: 2, conns: 2,
			errors: map[errorKey]int64{ek("mail", "temp_reject", 450): 2, ek("rset", "protocol", 450): 2}},

		// ---- RCPT (two per message) ----
		{name: "soft reject RCPT", opts: []string{"-r", "rcpt"}, rejected: 4, conns: 1,
			errors: map[errorKey]int64{ek("rcpt", "temp_reject", 450): 4},
			check: func(t *testing.T, r *benchRun) {
				if tot := r.Report.Totals; tot.RecipientsRejected != 8 || tot.RecipientsAccepted != 0 {
					t.Errorf("%s: recipients accepted %d rejected %d, want 0 and 8", r, tot.RecipientsAccepted, tot.RecipientsRejected)
				}
				if n := r.Report.Replies["data"]; len(n) != 0 {
					t.Errorf("%s: DATA sent after every RCPT failed (RFC 5321 3.3): %v", r, n)
				}
			}},
		{name: "hard reject RCPT", opts: []string{"-f", "rcpt"}, rejected: 4, conns: 1,
			errors: map[errorKey]int64{ek("rcpt", "perm_reject", 500): 4}},
		// 452 too many recipients is temporary (RFC 5321 4.5.3.1.10).
		{name: "452 to RCPT", opts: []string{"-r", "rcpt", "-b", "452 4.5.3 Too many recipients"}, rejected: 4, conns: 1,
			errors: map[errorKey]int64{ek("rcpt", "temp_reject", 452): 4}},
		{name: "disconnect at RCPT", opts: []string{"-q", "rcpt"}, failed: 4, conns: 4,
			errors: map[errorKey]int64{ek("rcpt", "closed", 0): 4}},
		{name: "421 at RCPT", opts: []string{"-Q", "rcpt"}, failed: 4, conns: 4,
			errors: map[errorKey]int64{ek("rcpt", "closed", 421): 4}},
		{name: "slow RCPT", opts: []string{"-W", "rcpt:1"}, args: append([]string{"-n", "2"}, t300off...), failed: 2, conns: 2,
			errors: map[errorKey]int64{ek("rcpt", "timeout", 0): 2}},

		// ---- DATA ----
		{name: "soft reject DATA", opts: []string{"-r", "data"}, rejected: 4, conns: 1,
			errors: map[errorKey]int64{ek("data", "temp_reject", 450): 4}},
		{name: "hard reject DATA", opts: []string{"-f", "data"}, rejected: 4, conns: 1,
			errors: map[errorKey]int64{ek("data", "perm_reject", 500): 4}},
		{name: "disconnect at DATA", opts: []string{"-q", "data"}, failed: 4, conns: 4,
			errors: map[errorKey]int64{ek("data", "closed", 0): 4}},
		{name: "421 at DATA", opts: []string{"-Q", "data"}, failed: 4, conns: 4,
			errors: map[errorKey]int64{ek("data", "closed", 421): 4}},
		{name: "slow DATA times out", opts: []string{"-w", "1"}, args: append([]string{"-n", "2"}, t300off...), failed: 2, conns: 2,
			errors: map[errorKey]int64{ek("data", "timeout", 0): 2}},
		// Pipelined, smtp-sink holds the replies to MAIL and RCPT until the
		// late DATA reply (RFC 2920 3.2 lets it): the wait shows at MAIL.
		{name: "slow DATA times out, pipelined", opts: []string{"-w", "1"}, args: append([]string{"-n", "2"}, t300...), failed: 2, conns: 2,
			errors: map[errorKey]int64{ek("mail", "timeout", 0): 2}},
		// Two sessions (pipelining would let the first take both).
		{name: "slow DATA within the timeout", opts: []string{"-w", "1"}, args: []string{"-n", "2", "-c", "2", "--pipelining", "off"}, ok: 2, conns: -1,
			maxElapsed: 6 * time.Second,
			check: func(t *testing.T, r *benchRun) {
				if p := r.Report.Phases["data"]; p.Count != 2 || p.MinMS < 900 {
					t.Errorf("%s: data phase %+v, want 2 samples of about 1 s", r, p)
				}
			}},
		// -A: 550 a second after 354, then a reset. The message is
		// rejected; whatever was pipelined behind it fails with the
		// connection.
		// The server closes after its 550, where the next message's first
		// reply was due: it ended the session, and the next message goes
		// again on a new connection, where it meets the same 550.
		{name: "abort after DATA", opts: []string{"-A", "1"}, args: []string{"-n", "2"}, rejected: 2, conns: 2, mesg: 0,
			errors: map[errorKey]int64{ek("body", "perm_reject", 550): 2}},
		{name: "abort after DATA, no pipelining", opts: []string{"-A", "1"}, args: []string{"-n", "2", "--pipelining", "off"},
			rejected: 2, conns: 2, mesg: 0,
			errors: map[errorKey]int64{ek("body", "perm_reject", 550): 2}},
		{name: "abort after DATA, pipelining on", opts: []string{"-A", "1"}, args: []string{"-n", "2", "--pipelining", "on"},
			rejected: 2, conns: 2, mesg: 0,
			errors: map[errorKey]int64{ek("body", "perm_reject", 550): 2}},

		// ---- end of data ----
		{name: "soft reject end of data", opts: []string{"-r", "."}, rejected: 4, conns: 1, mesg: 4,
			errors: map[errorKey]int64{ek("body", "temp_reject", 450): 4}},
		{name: "hard reject end of data", opts: []string{"-f", "."}, rejected: 4, conns: 1, mesg: 4,
			errors: map[errorKey]int64{ek("body", "perm_reject", 500): 4}},
		// The next message's envelope went out behind the content, so it
		// fails with the same connection: two messages per connection. It
		// failed waiting for its MAIL reply, as after -A below; the reply
		// that ended the first message is not its own.
		// The envelope written behind a content that is never answered
		// goes again on a new connection (its content was never sent).
		{name: "disconnect at end of data", opts: []string{"-q", "."}, failed: 4, conns: 4, mesg: 4,
			errors: map[errorKey]int64{ek("body", "closed", 0): 4}},
		// --pipelining on keeps the envelope it wrote behind the content:
		// the close fails it at MAIL.
		{name: "disconnect at end of data, pipelining on", opts: []string{"-q", "."}, args: []string{"--pipelining", "on"},
			failed: 4, conns: 2, mesg: 2,
			errors: map[errorKey]int64{ek("body", "closed", 0): 2, ek("mail", "closed", 0): 2}},
		{name: "disconnect at end of data, no pipelining", opts: []string{"-q", "."}, args: []string{"--pipelining", "off"},
			failed: 4, conns: 4, mesg: 4,
			errors: map[errorKey]int64{ek("body", "closed", 0): 4}},
		{name: "421 at end of data", opts: []string{"-Q", "."}, failed: 4, conns: 4, mesg: 4,
			errors: map[errorKey]int64{ek("body", "closed", 421): 4}},
		{name: "slow end of data", opts: []string{"-W", ".:1"}, args: append([]string{"-n", "2"}, t300off...), failed: 2, conns: 2, mesg: 2,
			errors: map[errorKey]int64{ek("body", "timeout", 0): 2}},

		// ---- QUIT: the messages are done; QUIT trouble is no error ----
		{name: "soft reject QUIT", opts: []string{"-r", "quit"}, ok: 4, conns: 1, quits: 0,
			replies: map[string]map[string]int64{"quit": {"450": 1}}},
		{name: "hard reject QUIT", opts: []string{"-f", "quit"}, ok: 4, conns: 1, quits: 0,
			replies: map[string]map[string]int64{"quit": {"500": 1}}},
		{name: "disconnect at QUIT", opts: []string{"-q", "quit"}, ok: 4, conns: 1},
		{name: "421 at QUIT", opts: []string{"-Q", "quit"}, ok: 4, conns: 1,
			replies: map[string]map[string]int64{"quit": {"421": 1}}},
		{name: "slow QUIT", opts: []string{"-W", "quit:1"}, args: t300, ok: 4, conns: 1, maxElapsed: 3 * time.Second},

		// ---- extensions ----
		{name: "no PIPELINING advertised", opts: []string{"-p"}, ok: 4, conns: 1, pipelined: no},
		{name: "no PIPELINING advertised, pipelining on", opts: []string{"-p"}, args: []string{"--pipelining", "on"},
			ok: 4, conns: 1, pipelined: yes},
	}
}

// TestInteropSmtpSinkFaults runs one smtpbench invocation per row against
// an smtp-sink started with that row's fault.
func TestInteropSmtpSinkFaults(t *testing.T) {
	t.Parallel()
	for _, row := range faultRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			s := startSmtpSink(t, false, row.opts...)
			args := append([]string{"-n", "4", "-c", "1", "--rcpts", "2", "--timeout", "3s", "--trace", "1"}, row.args...)
			r := runBenchTable(t, append(args, s.Addr)...)
			s.stopAfter(t, r)
			cnt := s.counters(t)
			checkInvariants(t, r)
			checkTableMatchesJSON(t, r)

			maxElapsed := row.maxElapsed
			if maxElapsed == 0 {
				maxElapsed = 5 * time.Second
			}
			checkOnTime(t, r, maxElapsed)

			checkCounts(t, r, 4, wantCounts{row.ok, row.rejected, row.failed, row.errors, row.connectFails, row.conns})
			tot := r.Report.Totals

			// Where no fault touches ".", the server's own count of
			// contents is smtpbench's messages_ok.
			wantMesg := row.mesg
			if wantMesg == 0 {
				wantMesg = row.ok
			}
			if cnt.Messages != wantMesg {
				t.Errorf("%s: smtp-sink counted mesg=%d, want %d (messages_ok %d)", r, cnt.Messages, wantMesg, tot.MessagesOK)
			}
			if row.quits > 0 && cnt.Quits != row.quits {
				t.Errorf("%s: smtp-sink executed %d QUITs, want %d", r, cnt.Quits, row.quits)
			}

			for phase, codes := range row.replies {
				for code, want := range codes {
					if g := r.Report.Replies[phase][code]; g != want {
						t.Errorf("%s: replies[%s][%s] = %d, want %d (all: %v)", r, phase, code, g, want, r.Report.Replies[phase])
					}
				}
			}
			if row.pipelined != nil {
				if got := tracePipelined(r.Stderr); got != *row.pipelined {
					t.Errorf("%s: pipelined %v, want %v; trace:\n%.3000s", r, got, *row.pipelined, r.Stderr)
				}
			}
			if row.check != nil {
				row.check(t, r)
			}
			if t.Failed() {
				t.Logf("table:\n%s\ntrace:\n%.4000s", r.Stdout, r.Stderr)
			}
		})
	}
}

func indexOf(args []string, s string) int {
	for i, a := range args {
		if a == s {
			return i
		}
	}
	return -1
}

// TestInteropMailpitFaults uses the rejections a second real server can be
// told to make: Mailpit's chaos triggers (here at 100 %, so the counts are
// exact) and its recipient limit, which puts off the recipients beyond it
// with 452 4.5.3: smtpbench delivers the message to the first and sends the
// rest in a further transaction (RFC 5321 3.3, 4.5.3.1.10), which Mailpit
// stores as a message of its own.
func TestInteropMailpitFaults(t *testing.T) {
	t.Parallel()
	for _, row := range []struct {
		name            string
		opts            []string
		ok, rejected    int64
		rcptOK, rcptRej int64
		errors          map[errorKey]int64
		replies         map[string]map[string]int64
		continued       int64
		stored          int64 // what Mailpit stores; ok if zero
	}{
		{name: "chaos sender 451", opts: []string{"--enable-chaos", "--chaos-triggers", "Sender:451:100"},
			rejected: 4, errors: map[errorKey]int64{ek("mail", "temp_reject", 451): 4}},
		{name: "chaos recipient 550", opts: []string{"--enable-chaos", "--chaos-triggers", "Recipient:550:100"},
			rejected: 4, rcptRej: 8, errors: map[errorKey]int64{ek("rcpt", "perm_reject", 550): 4}},
		{name: "recipient limit", opts: []string{"--smtp-max-recipients", "1"},
			ok: 4, rcptOK: 8, rcptRej: 0, replies: map[string]map[string]int64{"rcpt": {"250": 8, "452": 4}}, continued: 4, stored: 8},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			m := startMailpit(t, row.opts...)
			r := runBenchTable(t, "-n", "4", "-c", "1", "--rcpts", "2", "--timeout", "3s", m.SMTP)
			checkInvariants(t, r)
			checkTableMatchesJSON(t, r)
			checkOnTime(t, r, 5*time.Second)
			tot := r.Report.Totals
			if tot.MessagesAttempted != 4 || tot.MessagesOK != row.ok || tot.MessagesRejected != row.rejected || tot.MessagesFailed != 0 {
				t.Errorf("%s: totals %+v, want ok %d rejected %d", r, tot, row.ok, row.rejected)
			}
			if tot.RecipientsAccepted != row.rcptOK || tot.RecipientsRejected != row.rcptRej {
				t.Errorf("%s: recipients accepted %d rejected %d, want %d and %d", r, tot.RecipientsAccepted, tot.RecipientsRejected, row.rcptOK, row.rcptRej)
			}
			if got, want := sortedCounts(r.errorCounts()), sortedCounts(row.errors); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s: errors %v, want %v", r, got, want)
			}
			for phase, codes := range row.replies {
				for code, want := range codes {
					if g := r.Report.Replies[phase][code]; g != want {
						t.Errorf("%s: replies[%s][%s] = %d, want %d", r, phase, code, g, want)
					}
				}
			}
			if tot.TransactionsContinued != row.continued {
				t.Errorf("%s: transactions_continued %d, want %d", r, tot.TransactionsContinued, row.continued)
			}
			stored := row.stored
			if stored == 0 {
				stored = tot.MessagesOK
			}
			info := m.waitStored(t, stored)
			if info.Messages != stored || info.RuntimeStats.SMTPAccepted != stored {
				t.Errorf("%s: Mailpit stores %d and counts %d accepted, want %d (smtpbench messages_ok=%d)", r, info.Messages, info.RuntimeStats.SMTPAccepted, stored, tot.MessagesOK)
			}
		})
	}
}
