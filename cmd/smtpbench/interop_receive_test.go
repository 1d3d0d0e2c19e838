//go:build linux

package main

// Delivery tracking (--receive) through real servers: a full Postfix that
// relays to the receiver, one that delivers into a Maildir, one killed
// mid-run and started again, and Haraka forwarding with smtp_forward.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var pfSent = regexp.MustCompile(`(?m)postfix/smtp\[\d+\]: \w+: to=<[^>]*>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent`)

// startRelayingPostfix is a full Postfix whose every message goes to
// relayhost rcv over SMTP.
func startRelayingPostfix(t *testing.T, rcv string) *postfixServer {
	host, port, _ := net.SplitHostPort(rcv)
	return startPostfix(t,
		"relayhost = ["+host+"]:"+port,
		"default_transport = smtp",
		"relay_transport = smtp",
		"smtp_tls_security_level = none",
		"smtp_address_preference = ipv4",
	)
}

// The Postfix run with --receive: every message Postfix accepted
// arrives, none is lost, and the counts equal Postfix's own log.
func TestInteropReceivePostfixRelay(t *testing.T) {
	rcv := freeAddr(t)
	pf := startRelayingPostfix(t, rcv)
	r := runBench(t, "-c", "20", "-n", "1000", "--timeout", "30s", "--receive", rcv, "--drain", "40s", pf.addr)
	if r.Code != 0 {
		t.Fatalf("%s: %s", r, r.Stderr)
	}
	d := r.Report.Delivery
	ok := r.Report.Totals.MessagesOK
	if d == nil || ok != 1000 || d.Accepted != ok || d.Delivered != ok || d.Lost != 0 || d.Duplicates != 0 || d.Strangers != 0 {
		t.Fatalf("%s: ok %d, delivery %+v; want all 1000 delivered, none lost", r, ok, d)
	}
	if d.DeliveredPerS <= 0 || d.LastArrivalS <= 0 || r.Report.Phases["delivery"].Count != ok {
		t.Errorf("delivered_per_s %.1f, last_arrival_s %.2f, delivery count %d", d.DeliveredPerS, d.LastArrivalS, r.Report.Phases["delivery"].Count)
	}
	if sent := len(pfSent.FindAllString(pf.log(), -1)); int64(sent) != d.Delivered {
		t.Errorf("Postfix's log says it relayed %d, the receiver counted %d", sent, d.Delivered)
	}
}

// Postfix's own delivery into a Maildir, watched with --receive maildir:.
func TestInteropReceivePostfixMaildir(t *testing.T) {
	pf := startPostfix(t)
	box := filepath.Join(pf.dir, "mail", "box")
	nobody := func(p string) {
		fi, _ := os.Stat(filepath.Join(pf.dir, "mail"))
		st := fi.Sys().(*syscall.Stat_t)
		os.Chown(p, int(st.Uid), int(st.Gid))
	}
	for _, d := range []string{"", "new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(box, d), 0o700); err != nil {
			t.Fatal(err)
		}
		nobody(filepath.Join(box, d))
	}
	r := runBench(t, "-c", "10", "-n", "300", "--rcpts", "2", "--to", "user{r}@files.test", "--timeout", "30s",
		"--receive", "maildir:"+box, "--drain", "40s", pf.addr)
	if r.Code != 0 {
		t.Fatalf("%s: %s", r, r.Stderr)
	}
	d := r.Report.Delivery
	if d.Accepted != 300 || d.Delivered != 300 || d.Lost != 0 || d.Duplicates != 0 {
		t.Fatalf("%s: delivery %+v; want 300 delivered (two files each), none lost or duplicated", r, d)
	}
	files, _ := os.ReadDir(filepath.Join(box, "new"))
	if len(files) != 600 {
		t.Errorf("Maildir new/ holds %d files, want 600 (2 recipients each)", len(files))
	}
}

// The durability test: Postfix's master is killed with SIGKILL mid-run and
// started again. The run carries on (sessions dial again), and nothing
// Postfix answered 250 to is lost.
func TestInteropReceivePostfixCrash(t *testing.T) {
	rcv := freeAddr(t)
	pf := startRelayingPostfix(t, rcv)
	conf := filepath.Join(pf.dir, "conf")
	daemons, err := exec.Command("postconf", "-c", conf, "-h", "daemon_directory").Output()
	if err != nil {
		t.Fatal(err)
	}
	master := filepath.Join(strings.TrimSpace(string(daemons)), "master")
	// The crash and the restart happen beside the run, which the test's
	// own goroutine drives (its watchdog fails the test if it hangs).
	restarted := make(chan error, 1)
	go func() {
		time.Sleep(2 * time.Second)
		// The master and its children (smtpd, cleanup, qmgr) die at once,
		// as in a power cut: SIGKILL to the process group the master
		// leads, named by its PID. A master killed alone leaves its smtpd
		// processes serving the listening socket they inherited, which is
		// no crash at all.
		if err := syscall.Kill(-pf.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			restarted <- err
			return
		}
		select {
		case <-pf.done:
		case <-time.After(10 * time.Second):
			restarted <- errors.New("Postfix did not die of SIGKILL within 10s")
			return
		}
		time.Sleep(500 * time.Millisecond)
		// The port may still be held for a moment, so the start is retried.
		// A master that listens but whose smtpd never greets is started
		// again.
		_, port, _ := net.SplitHostPort(pf.addr)
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			var p *process
			if p, err = startProcessPorts(t, []string{port}, master, "-c", conf, "-d", "-e", "300"); err != nil {
				t.Logf("restarting Postfix: %v", err)
				continue
			}
			if err = greets(pf.addr); err == nil {
				break
			}
			err = fmt.Errorf("%v; master's output: %s %s", err, p.stdout.String(), p.stderr.String())
			t.Logf("restarted Postfix does not serve: %v", err)
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		t.Logf("Postfix restarted: %v", err)
		restarted <- err
	}()
	// -d bounds the run too: on a loaded machine the restart itself may
	// take many seconds, and the messages due meanwhile must not keep the
	// run past its watchdog.
	r := runBench(t, "-c", "10", "--rate", "400", "-n", "2400", "-d", "20s", "--timeout", "5s", "--receive", rcv, "--drain", "15s", pf.addr)
	if err := <-restarted; err != nil {
		t.Fatalf("killing and restarting Postfix: %v", err)
	}
	d := r.Report.Delivery
	if d == nil {
		t.Fatalf("%s: no delivery object: %s", r, r.Stderr)
	}
	tot := r.Report.Totals
	t.Logf("ok %d failed %d; delivery %+v", tot.MessagesOK, tot.MessagesFailed, *d)
	if d.Lost != 0 || r.Code != 0 {
		t.Fatalf("%s: %d messages Postfix accepted were lost: %s", r, d.Lost, r.Stderr)
	}
	if tot.MessagesFailed == 0 || tot.MessagesOK < 1000 || d.Delivered < tot.MessagesOK {
		t.Errorf("ok %d failed %d delivered %d: want failures during the crash, and the run carrying on after it", tot.MessagesOK, tot.MessagesFailed, d.Delivered)
	}
}

// Haraka forwarding everything to the receiver with its smtp_forward
// plugin. Haraka answers the end of data after the next hop's 250, so
// arrivals come before their answers: the tracker must match them all the
// same.
func TestInteropReceiveHaraka(t *testing.T) {
	bin, err := filepath.Abs(filepath.Join(harakaDir, "node_modules", ".bin", "haraka"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		skipOrFailInCI(t, "Haraka is not installed; .ci/run installs it with npm into .ci/haraka")
	}
	plugin, err := os.ReadFile(filepath.Join(harakaDir, "plugins", "smtpbench_count.js"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if out, err := exec.Command(bin, "-i", dir).CombinedOutput(); err != nil {
		t.Fatalf("haraka -i %s: %v\n%s", dir, err, out)
	}
	rcv := freeAddr(t)
	host, port, _ := net.SplitHostPort(rcv)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// smtp_forward queues (forwards) first; smtpbench_count only accepts
	// the recipients.
	write("plugins/smtpbench_count.js", string(plugin))
	write("config/plugins", "queue/smtp_forward\nsmtpbench_count\n")
	write("config/smtpbench_count_file", filepath.Join(dir, "accepted")+"\n")
	write("config/smtp_forward.ini", "host="+host+"\nport="+port+"\nenable_tls=false\n")
	write("config/log.ini", "[main]\nlevel=warn\n")
	h, addr := startWithResolver(t, "haraka", bin, func(addr string) []string {
		write("config/smtp.ini", "listen="+addr+"\nnodes=0\n")
		return []string{"-c", dir}
	})
	r := runBench(t, "-c", "10", "-n", "400", "--timeout", "20s", "--receive", rcv, "--drain", "30s", addr)
	if r.Code != 0 {
		t.Logf("haraka output:\n%.3000s\n%.3000s", h.stdout.String(), h.stderr.String())
		t.Fatalf("%s: %s", r, r.Stderr)
	}
	d := r.Report.Delivery
	if d.Accepted != 400 || d.Delivered != 400 || d.Lost != 0 || d.Duplicates != 0 || d.Strangers != 0 {
		t.Fatalf("%s: delivery %+v; want all 400 delivered once", r, d)
	}
	if p := r.Report.Phases["delivery"]; p.Count != 400 {
		t.Errorf("delivery phase count %d, want 400", p.Count)
	}
}

// greets checks that a server at addr sends its 220 greeting within 10 s.
func greets(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		return fmt.Errorf("no greeting from %s: %v", addr, err)
	}
	if !strings.HasPrefix(string(buf[:n]), "220") {
		return fmt.Errorf("greeting from %s: %q", addr, buf[:n])
	}
	c.Write([]byte("QUIT\r\n"))
	return nil
}
