//go:build linux

package main

// A full Postfix (Debian's postfix package: master, smtpd, cleanup, qmgr and
// the discard and virtual delivery agents) set up by the test in a temp dir
// of its own: main.cf and master.cf under DIR/conf, its own queue, smtpd on a
// loopback port, mail for files.test delivered to a Maildir (so content can be
// checked) and everything else to discard:. It offers CHUNKING, SIZE and
// PIPELINING, which smtp-sink and Mailpit do not, and counts what it did in
// its own log: the BDAT commands of each session and every message queued.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// postfixServer is a running Postfix master and the files it writes.
type postfixServer struct {
	*process
	dir  string // conf/, queue/, data/, mail/, maillog
	addr string
	// more are the addresses of the further smtpd listeners
	// startPostfixListeners set up, in its order.
	more []string
}

const postfixMasterCF = `%s inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
smtp      unix  - - n -     - smtp
virtual   unix  - n n -     - virtual
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
`

// startPostfix sets Postfix up under a new temp dir and runs its master in
// the foreground (-d) in a process group of its own, so stopping it by PID
// (SIGTERM) makes it stop its children too; -e ends it on its own after five
// minutes even if the test binary dies first. extra lines go into main.cf.
func startPostfix(t *testing.T, extra ...string) *postfixServer {
	t.Helper()
	return startPostfixListeners(t, nil, extra...)
}

// startPostfixListeners is startPostfix with further smtpd listeners, one
// per entry of listeners, each with those -o overrides (master.cf), on
// addresses of their own (postfixServer.more). A listener's overrides may
// name files under the Postfix dir as {dir}.
func startPostfixListeners(t *testing.T, listeners [][]string, extra ...string) *postfixServer {
	t.Helper()
	postfixCmd := findServer(t, "postfix")
	if os.Geteuid() != 0 {
		skipOrFailInCI(t, "a full Postfix needs root to start its master (which then runs as the postfix user); run the tests as root, as .ci/run does")
	}
	for _, name := range []string{"postfix", "nobody"} {
		if _, err := user.Lookup(name); err != nil {
			skipOrFailInCI(t, fmt.Sprintf("user %s: %v; install Debian's postfix package (.ci/run)", name, err))
		}
	}
	// Postfix's daemons run as postfix and nobody: they must reach the
	// directory, so it is not t.TempDir's private tree.
	dir, err := os.MkdirTemp("", "smtpbench-postfix")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	pf := &postfixServer{dir: dir}
	for _, d := range []string{"conf", "queue", "data", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pw, _ := user.Lookup("postfix")
	nobody, _ := user.Lookup("nobody")
	uid := func(u *user.User) int { n, _ := strconv.Atoi(u.Uid); return n }
	gid := func(u *user.User) int { n, _ := strconv.Atoi(u.Gid); return n }
	os.Chown(filepath.Join(dir, "data"), uid(pw), gid(pw))
	os.Chown(filepath.Join(dir, "mail"), uid(nobody), gid(nobody))
	mainCF := strings.Join(append([]string{
		"compatibility_level = 3.6",
		"queue_directory = " + filepath.Join(dir, "queue"),
		"data_directory = " + filepath.Join(dir, "data"),
		"maillog_file = " + filepath.Join(dir, "maillog"),
		"maillog_file_prefixes = " + dir,
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = postfix.smtpbench.test",
		"mydomain = smtpbench.test",
		"inet_interfaces = 127.0.0.1",
		"inet_protocols = ipv4",
		"mydestination =",
		"local_recipient_maps =",
		"alias_maps =",
		"alias_database =",
		"relay_domains =",
		"mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = permit_mynetworks, reject",
		// Mail for files.test goes to one Maildir, one file per
		// recipient; everything else is thrown away once queued.
		"default_transport = discard:smtpbench",
		"relay_transport = discard:smtpbench",
		"local_transport = discard:smtpbench",
		"virtual_mailbox_domains = files.test",
		"virtual_mailbox_base = " + filepath.Join(dir, "mail"),
		"virtual_mailbox_maps = static:box/",
		"virtual_uid_maps = static:" + nobody.Uid,
		"virtual_gid_maps = static:" + nobody.Gid,
		"biff = no",
		// No header added or rewritten for our client (Postfix would add
		// Message-Id, Date and From where missing): what is stored is what
		// was sent, less the trace headers in front.
		"local_header_rewrite_clients =",
		"smtpd_banner = $myhostname ESMTP",
		// Every session is a test session: no per-client limits.
		"smtpd_client_connection_count_limit = 0",
		"smtpd_client_connection_rate_limit = 0",
		"smtpd_client_message_rate_limit = 0",
		"smtpd_client_recipient_rate_limit = 0",
		"default_process_limit = 50",
	}, extra...), "\n") + "\n"
	conf := filepath.Join(dir, "conf")
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	daemons, err := exec.Command("postconf", "-c", conf, "-h", "daemon_directory").Output()
	if err != nil {
		t.Fatalf("postconf -c %s -h daemon_directory: %v", conf, err)
	}
	master := filepath.Join(strings.TrimSpace(string(daemons)), "master")
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		pf.addr = freeAddr(t)
		masterCF := fmt.Sprintf(postfixMasterCF, pf.addr)
		pf.more = pf.more[:0]
		for _, opts := range listeners {
			addr := freeAddr(t)
			pf.more = append(pf.more, addr)
			masterCF += addr + " inet n - n - - smtpd\n"
			for _, o := range opts {
				masterCF += "  -o " + strings.ReplaceAll(o, "{dir}", dir) + "\n"
			}
		}
		if err := os.WriteFile(filepath.Join(conf, "master.cf"), []byte(masterCF), 0o644); err != nil {
			t.Fatal(err)
		}
		if attempt == 0 {
			// "postfix check" creates the queue's subdirectories with the
			// owners and modes Postfix wants.
			if out, err := exec.Command(postfixCmd, "-c", conf, "check").CombinedOutput(); err != nil {
				t.Fatalf("postfix -c %s check: %v\n%s", conf, err, out)
			}
		}
		if pf.process, last = startProcessErr(t, master, "-c", conf, "-d", "-e", "300"); last != nil {
			continue
		}
		if last = pf.waitListening(); last == nil {
			return pf
		}
		pf.stop()
	}
	t.Fatalf("starting Postfix: %v\nmaillog:\n%s", last, pf.log())
	return nil
}

func (pf *postfixServer) waitListening() error {
	for _, addr := range append([]string{pf.addr}, pf.more...) {
		if err := pf.waitAddr(addr); err != nil {
			return err
		}
	}
	return nil
}

func (pf *postfixServer) waitAddr(addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if pf.exited() {
			return fmt.Errorf("master exited: %s", pf.stderr.String())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("smtpd did not listen on %s within 15s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (pf *postfixServer) log() string {
	b, _ := os.ReadFile(filepath.Join(pf.dir, "maillog"))
	return string(b)
}

var (
	pfRemoved    = regexp.MustCompile(`(?m)postfix/qmgr\[\d+\]: \w+: removed$`)
	pfQueued     = regexp.MustCompile(`(?m)postfix/qmgr\[\d+\]: \w+: from=<[^>]*>, size=\d+, nrcpt=(\d+) \(queue active\)$`)
	pfDisconnect = regexp.MustCompile(`(?m)postfix/smtpd\[\d+\]: disconnect from \S+ (.*)$`)
	pfBDAT       = regexp.MustCompile(`\bbdat=(\d+)`)
)

// waitRemoved waits until Postfix has delivered and removed n messages from
// its queue, and returns how many recipients they had (qmgr's nrcpt) and
// how many BDAT commands smtpd counted over its sessions.
func (pf *postfixServer) waitRemoved(t *testing.T, n int) (rcpts, bdat int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var log string
	for {
		log = pf.log()
		if len(pfRemoved.FindAllString(log, -1)) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := len(pfRemoved.FindAllString(log, -1)); got != n {
		t.Fatalf("Postfix removed %d messages from its queue, want %d\n%.3000s", got, n, log)
	}
	for _, m := range pfQueued.FindAllStringSubmatch(log, -1) {
		k, _ := strconv.ParseInt(m[1], 10, 64)
		rcpts += k
	}
	for _, m := range pfDisconnect.FindAllStringSubmatch(log, -1) {
		if b := pfBDAT.FindStringSubmatch(m[1]); b != nil {
			k, _ := strconv.ParseInt(strings.SplitN(b[1], "/", 2)[0], 10, 64)
			bdat += k
		}
	}
	return rcpts, bdat
}

// The run: a size mix with 1 to 5 recipients over BDAT. Postfix's
// own log must agree with the report: messages queued and removed,
// recipients, and BDAT commands (each chunk, the last included).
func TestInteropPostfixChunking(t *testing.T) {
	pf := startPostfix(t)
	const n = 2000
	r := runBench(t, "-c", "10", "-n", strconv.Itoa(n), "--size", "1KiB:60,10KiB:30,1MiB:10", "--rcpts", "1-5",
		"--chunking", "on", "--timeout", "30s", pf.addr)
	checkInvariants(t, r)
	tot := r.Report.Totals
	if tot.MessagesOK != n {
		t.Fatalf("%s: %d ok of %d; errors %+v", r, tot.MessagesOK, n, r.Report.Errors)
	}
	rcpts, bdat := pf.waitRemoved(t, n)
	if rcpts != tot.RecipientsAccepted {
		t.Errorf("%s: Postfix queued %d recipients, the report says %d accepted", r, rcpts, tot.RecipientsAccepted)
	}
	chunks := timedReplies(&r.Report, "bdat") + timedReplies(&r.Report, "body")
	if bdat != chunks || timedReplies(&r.Report, "bdat") == 0 {
		t.Errorf("%s: Postfix's smtpd counted %d BDAT commands; the report has %d chunks before the last and %d last ones",
			r, bdat, timedReplies(&r.Report, "bdat"), timedReplies(&r.Report, "body"))
	}
	var sizes int64
	for _, s := range r.Report.Sizes {
		sizes += s.Messages
	}
	if len(r.Report.Sizes) != 3 || sizes != n {
		t.Errorf("%s: sizes %+v, want the three entries adding up to %d", r, r.Report.Sizes, n)
	}
	if tot.MessagesSkipped != 0 {
		t.Errorf("%s: %d skipped under Postfix's default SIZE limit", r, tot.MessagesSkipped)
	}
}

// What Postfix stored is what smtpbench sent, byte for byte but for the
// headers Postfix adds, over BDAT in small chunks and over DATA; messages
// over Postfix's SIZE limit are skipped, not sent.
func TestInteropPostfixContentAndSize(t *testing.T) {
	pf := startPostfix(t, "message_size_limit = 200000")
	data := filepath.Join(t.TempDir(), "tricky.eml")
	content := "Subject: tricky\r\nX-Dots: yes\r\n\r\n.\r\n..two\r\n.leading\r\nend . middle\r\n" +
		strings.Repeat("y", 998) + "\r\nlast line without end"
	if err := os.WriteFile(data, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	want := bytes.ReplaceAll(crlf([]byte(content)), []byte("\r\n"), []byte("\n"))
	const n = 10
	for i, args := range [][]string{
		{"--chunking", "on", "--chunk-size", "100"},
		{"--chunking", "off"},
	} {
		r := runBench(t, append([]string{"-c", "2", "-n", strconv.Itoa(n), "--rcpts", "2", "--data", data, "--timeout", "10s",
			"--to", "u{n}.{r}@files.test", pf.addr}, args...)...)
		checkInvariants(t, r)
		if r.Report.Totals.MessagesOK != n {
			t.Fatalf("%s: %d ok; errors %+v", r, r.Report.Totals.MessagesOK, r.Report.Errors)
		}
		pf.waitRemoved(t, n*(i+1))
	}
	files, _ := filepath.Glob(filepath.Join(pf.dir, "mail", "box", "new", "*"))
	if len(files) != 2*2*n {
		t.Fatalf("%d files in the Maildir, want %d (2 runs, %d messages, 2 recipients)", len(files), 4*n, n)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := stripPostfixHeaders(b); !bytes.Equal(got, want) {
			t.Errorf("%s: stored content differs: %s", filepath.Base(f), firstDiff(got, want))
			break
		}
	}

	// Half the messages are over the 200000-octet limit Postfix announces
	// with SIZE: they are skipped, said once, and never reach it.
	r := runBench(t, "-c", "2", "-n", "200", "--size", "1KiB:50,300KB:50", "--seed", "3", "--timeout", "10s", pf.addr)
	tot := r.Report.Totals
	var big int64
	for _, s := range r.Report.Sizes {
		if s.Size == "300000" {
			big = s.Messages
		}
	}
	if tot.MessagesSkipped < 60 || tot.MessagesSkipped+tot.MessagesAttempted != 200 || tot.MessagesOK != tot.MessagesAttempted || big != 0 {
		t.Errorf("%s: skipped %d, attempted %d, ok %d, 300 KB ones sent %d; want about half skipped, the rest delivered, none big sent",
			r, tot.MessagesSkipped, tot.MessagesAttempted, tot.MessagesOK, big)
	}
	warned := 0
	for _, w := range r.Report.Warnings {
		if strings.Contains(w, "SIZE limit of 200000") {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("%s: warnings %q, want one about the SIZE limit", r, r.Report.Warnings)
	}
	pf.waitRemoved(t, 2*n+int(tot.MessagesOK))
}

// stripPostfixHeaders drops the lines Postfix puts in front of a delivered
// message (Return-Path, X-Original-To, Delivered-To, its Received header).
func stripPostfixHeaders(b []byte) []byte {
	for {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		switch {
		case bytes.HasPrefix(line, []byte("Return-Path:")), bytes.HasPrefix(line, []byte("X-Original-To:")),
			bytes.HasPrefix(line, []byte("Delivered-To:")), bytes.HasPrefix(line, []byte("Received:")),
			len(line) > 0 && (line[0] == '\t' || line[0] == ' '):
			b = rest
		default:
			return b
		}
	}
}
