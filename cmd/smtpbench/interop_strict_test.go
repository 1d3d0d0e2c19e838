package main

// Interoperability tests against two servers that do not serve commands
// written behind the end of data (GitHub issue 11): Haraka, which answers
// them 503 "pipelined after end of DATA", and chasquid, which reads the
// content through a buffer of its own and loses whatever that buffer read
// beyond the dot. Both are real and popular; smtpbench must deliver every
// message to them with its defaults.
//
// .ci/run installs Haraka with npm into .ci/haraka (pinned there) and
// unpacks Debian's chasquid into .ci/chasquid/root (the package conflicts
// with postfix, which the other tests need). Each test starts its server on
// a free loopback port with a configuration of its own, in a mount
// namespace whose /etc/resolv.conf points at a resolver of the test's own
// that answers every query at once: both servers look names up for every
// connection or sender (Haraka the client's reverse DNS, chasquid the
// sender's SPF record), and a resolver that is slow or drops queries would
// otherwise make their replies wait seconds.

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ---- a resolver that answers at once ----

// stubResolvers numbers the tests' resolvers, each on a loopback address
// of its own (127.53.0.N): port 53 is fixed by resolv.conf, and no resolver
// the machine runs listens there.
var stubResolvers atomic.Int32

// startStubResolver answers every DNS query over UDP with NXDOMAIN at once,
// until the test ends, and returns the resolv.conf that points at it.
func startStubResolver(t *testing.T) (resolvConf string) {
	t.Helper()
	ip := fmt.Sprintf("127.53.0.%d", stubResolvers.Add(1))
	pc, err := net.ListenPacket("udp", ip+":53")
	if err != nil {
		skipOrFailInCI(t, fmt.Sprintf("cannot start a resolver on %s:53 (needs root): %v", ip, err))
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := nxdomain(buf[:n]); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	resolvConf = filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolvConf, []byte("nameserver "+ip+"\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return resolvConf
}

// nxdomain turns a DNS query (RFC 1035 4.1) into its NXDOMAIN answer: the
// header with QR, RA and RCODE 3, and the first question, nothing else (an
// EDNS record in the query is left out).
func nxdomain(q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 || q[4] != 0 || q[5] != 1 {
		return nil // not a query with one question
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		if q[i]&0xc0 != 0 {
			return nil // compression has no place in a question
		}
		i += int(q[i]) + 1
	}
	i += 1 + 4 // the root label, QTYPE and QCLASS
	if i > len(q) {
		return nil
	}
	r := append([]byte(nil), q[:i]...)
	r[2] = 0x80 | q[2]&0x79 // QR, the query's opcode and RD
	r[3] = 0x80 | 3         // RA, NXDOMAIN
	for k := 6; k < 12; k++ {
		r[k] = 0 // no answer, authority or additional records
	}
	return r
}

// withResolver returns the command line that runs bin in a mount namespace
// of its own whose /etc/resolv.conf is resolvConf; exec keeps bin's PID, so
// the test stops the server itself. It needs root (unshare --mount).
func withResolver(t *testing.T, resolvConf, bin string, args ...string) (string, []string) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err == nil && os.Geteuid() != 0 {
		err = fmt.Errorf("not root")
	}
	if err != nil {
		skipOrFailInCI(t, fmt.Sprintf("running a server with its own resolver needs unshare --mount as root: %v", err))
	}
	return unshare, append([]string{"--mount", "--propagation", "private", "--", "sh", "-c",
		`mount --bind "$0" /etc/resolv.conf && exec "$@"`, resolvConf, bin}, args...)
}

// startWithResolver starts bin under withResolver and waits for the port of
// addr, retrying on a new port (as startOnFreePorts does) when the server
// could not listen; setup writes the server's configuration for addr.
func startWithResolver(t *testing.T, name, bin string, setup func(addr string) []string) (*process, string) {
	t.Helper()
	resolvConf := startStubResolver(t)
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		cmd, args := withResolver(t, resolvConf, bin, setup(addr)...)
		var p *process
		if p, err = startProcessPorts(t, []string{port}, cmd, args...); err == nil {
			p.name = name
			return p, addr
		}
	}
	t.Fatal(err)
	return nil, ""
}

// ---- Haraka ----

// harakaDir is where .ci/run installs Haraka, relative to cmd/smtpbench.
const harakaDir = "../../.ci/haraka"

// haraka is a running Haraka whose only plugin, smtpbench_count, accepts
// everything and writes each accepted message's Message-ID to a file.
type haraka struct {
	*process
	Addr      string
	countFile string
}

// startHaraka makes a Haraka directory with "haraka -i", configures it to
// listen on a free loopback port with smtpbench_count as its only plugin,
// and starts it.
func startHaraka(t *testing.T) *haraka {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(harakaDir, "node_modules", ".bin", "haraka"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		skipOrFailInCI(t, fmt.Sprintf("Haraka is not installed (%v); .ci/run installs it with npm into .ci/haraka", err))
	}
	plugin, err := os.ReadFile(filepath.Join(harakaDir, "plugins", "smtpbench_count.js"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if out, err := exec.Command(bin, "-i", dir).CombinedOutput(); err != nil {
		t.Fatalf("haraka -i %s: %v\n%s", dir, err, out)
	}
	h := &haraka{countFile: filepath.Join(dir, "accepted")}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("plugins/smtpbench_count.js", string(plugin))
	write("config/plugins", "smtpbench_count\n")
	write("config/smtpbench_count_file", h.countFile+"\n")
	write("config/log.ini", "[main]\nlevel=warn\n")
	h.process, h.Addr = startWithResolver(t, "haraka", bin, func(addr string) []string {
		write("config/smtp.ini", "listen="+addr+"\nnodes=0\n")
		return []string{"-c", dir}
	})
	t.Cleanup(func() {
		if t.Failed() {
			h.stop()
			t.Logf("haraka output:\n%.4000s\n%.4000s", h.stdout.String(), h.stderr.String())
		}
	})
	return h
}

// accepted returns the Message-IDs Haraka accepted, in order.
func (h *haraka) accepted(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(h.countFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// ---- chasquid ----

// chasquidBin is where .ci/run unpacks Debian's chasquid, relative to
// cmd/smtpbench; one in PATH is used otherwise.
const chasquidBin = "../../.ci/chasquid/root/usr/bin/chasquid"

// chasquid is a running chasquid that takes mail for any address at
// example.net (smtpbench's default recipients) and delivers it to an MDA
// that reads and discards it.
type chasquid struct {
	*process
	Addr    string
	mailLog string
}

func startChasquid(t *testing.T) *chasquid {
	t.Helper()
	bin, err := filepath.Abs(chasquidBin)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		if bin, err = exec.LookPath("chasquid"); err != nil {
			skipOrFailInCI(t, "chasquid is not installed; .ci/run unpacks Debian's package into .ci/chasquid/root")
		}
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	c := &chasquid{mailLog: filepath.Join(dir, "mail.log")}
	for _, d := range []string{"certs/chasquid.test", "domains/example.net", "data"} {
		if err := os.MkdirAll(filepath.Join(conf, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// chasquid will not start without a certificate, though these tests
	// never use TLS.
	writeSelfSigned(t, filepath.Join(conf, "certs/chasquid.test"), "chasquid.test")
	// Every local part at example.net is an alias of sink@localhost (the
	// "*" catch-all); localhost is always local, so the MDA gets it.
	if err := os.WriteFile(filepath.Join(conf, "domains/example.net/aliases"), []byte("*: sink@localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.process, c.Addr = startWithResolver(t, "chasquid", bin, func(addr string) []string {
		cfg := fmt.Sprintf(`hostname: "chasquid.test"
smtp_address: %q
data_dir: %q
mail_log_path: %q
mail_delivery_agent_bin: "/bin/sh"
mail_delivery_agent_args: "-c"
mail_delivery_agent_args: "cat >/dev/null"
`, addr, filepath.Join(conf, "data"), c.mailLog)
		if err := os.WriteFile(filepath.Join(conf, "chasquid.conf"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{"-config_dir", conf}
	})
	t.Cleanup(func() {
		if t.Failed() {
			c.stop()
			t.Logf("chasquid output:\n%.4000s\n%.4000s", c.stdout.String(), c.stderr.String())
		}
	})
	return c
}

// queued counts the messages chasquid accepted: its mail log has one
// "queued" line for each, written before it answers 250.
func (c *chasquid) queued(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open(c.mailLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), []byte(" queued ip=")) {
			n++
		}
	}
	return n
}

// writeSelfSigned writes fullchain.pem and privkey.pem for name into dir.
func writeSelfSigned(t *testing.T, dir, name string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "fullchain.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "privkey.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// ---- tests ----

// checkPipelining asserts the report's one pipelining outcome.
func checkPipelining(t *testing.T, r *benchRun, mode, reason string, resent int64) {
	t.Helper()
	p := r.Report.Pipelining
	if len(p) != 1 || p[0].Mode != mode || !strings.Contains(p[0].Reason, reason) || p[0].Resent != resent {
		t.Errorf("%s: pipelining %+v, want mode %q, a reason with %q, %d resent", r, p, mode, reason, resent)
	}
}

// checkNo503 asserts that no 503 (the refusal of commands written behind
// the end of data) shows anywhere in the report.
func checkNo503(t *testing.T, r *benchRun) {
	t.Helper()
	for phase, codes := range r.Report.Replies {
		if n := codes["503"]; n > 0 {
			t.Errorf("%s: %s 503 x%d in the replies", r, phase, n)
		}
	}
	for _, e := range r.Report.Errors {
		if e.Code == 503 {
			t.Errorf("%s: error %+v", r, e)
		}
	}
}

// The run against Haraka with the defaults: every message delivered,
// Haraka's count equal to ours, no 503 anywhere, and the report says the
// envelope now goes after the end-of-data reply because of Haraka's 503.
func TestInteropHaraka(t *testing.T) {
	h := startHaraka(t)
	r := runBenchTable(t, "-c", "10", "-n", "2000", "--timeout", "30s", h.Addr)
	checkInvariants(t, r)
	checkTableMatchesJSON(t, r)
	checkOnTime(t, r, 20*time.Second)
	checkNo503(t, r)
	checkPipelining(t, r, "groups", "503", 1)
	if !strings.Contains(r.Stdout, "pipelining  groups: the server answered \"503 ") {
		t.Errorf("%s: the table does not say why it pipelines in groups:\n%s", r, r.Stdout)
	}
	tot := r.Report.Totals
	ids := h.accepted(t)
	if tot.MessagesOK != 2000 || int64(len(ids)) != tot.MessagesOK {
		t.Errorf("%s: %d ok, Haraka accepted %d; want 2000 and 2000", r, tot.MessagesOK, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("Haraka accepted %s twice", id)
		}
		seen[id] = true
	}
	t.Logf("%s: %.0f messages/s, rcpt p50 %.3f ms", r, tot.MessagesPerS, r.Report.Phases["rcpt"].P50MS)

	// Forced modes keep their meaning: groups delivers everything at
	// once, off too; on writes behind the end of data and Haraka refuses
	// every message so written, with its reply text.
	for _, mode := range []string{"groups", "off"} {
		r := runBench(t, "-c", "10", "-n", "500", "--pipelining", mode, "--timeout", "30s", h.Addr)
		checkInvariants(t, r)
		checkOnTime(t, r, 20*time.Second)
		checkPipelining(t, r, mode, "set to "+mode, 0)
		if r.Report.Totals.MessagesOK != 500 {
			t.Errorf("%s: %d ok, want 500", r, r.Report.Totals.MessagesOK)
		}
	}
	r = runBench(t, "-c", "2", "-n", "20", "--pipelining", "on", "--timeout", "30s", h.Addr)
	checkInvariants(t, r)
	checkPipelining(t, r, "full", "set to on", 0)
	if got := r.errorCounts()[ek("mail", "perm_reject", 503)]; got == 0 || r.Report.Errors[0].Text == "" {
		t.Errorf("%s: errors %+v, want Haraka's 503s with their text", r, r.Report.Errors)
	}
	if got := int64(len(h.accepted(t))); got != 2000+2*500+r.Report.Totals.MessagesOK {
		t.Errorf("Haraka accepted %d in all, smtpbench says %d", got, 2000+2*500+r.Report.Totals.MessagesOK)
	}
}

// The run against chasquid with the defaults: it ends in seconds,
// with no timeouts, ok equal to chasquid's own count, and the report says the
// envelope goes after the end-of-data reply because chasquid never answered
// one written behind it.
func TestInteropChasquid(t *testing.T) {
	c := startChasquid(t)
	r := runBenchTable(t, "-c", "10", "-n", "2000", "--timeout", "30s", c.Addr)
	checkInvariants(t, r)
	checkTableMatchesJSON(t, r)
	checkOnTime(t, r, 60*time.Second)
	checkChasquid(t, r, c)
	checkPipelining(t, r, "groups", "no reply within 1s", 1)
}

func TestInteropChasquidPipeliningOff(t *testing.T) {
	c := startChasquid(t)
	r := runBench(t, "-c", "10", "-n", "2000", "--pipelining", "off", "--timeout", "10s", c.Addr)
	checkInvariants(t, r)
	checkOnTime(t, r, 60*time.Second)
	checkChasquid(t, r, c)
}

// checkChasquid asserts what a run against chasquid must show whatever the
// pipelining: nothing timed out, ok equals chasquid's own count, and
// anything not accepted was chasquid's queue being full (451 at the end of
// data, with its text), or its closing a session after three such errors
// (421).
func checkChasquid(t *testing.T, r *benchRun, c *chasquid) {
	t.Helper()
	tot := r.Report.Totals
	t.Logf("%s: %d ok, %d rejected, %d failed in %.1f s; errors %+v", r, tot.MessagesOK, tot.MessagesRejected, tot.MessagesFailed,
		r.Report.ElapsedS, r.Report.Errors)
	if got := c.queued(t); got != tot.MessagesOK {
		t.Errorf("%s: %d ok, chasquid queued %d", r, tot.MessagesOK, got)
	}
	if tot.MessagesOK < tot.MessagesAttempted/2 {
		t.Errorf("%s: only %d of %d ok", r, tot.MessagesOK, tot.MessagesAttempted)
	}
	for _, e := range r.Report.Errors {
		k := ek(e.Phase, e.Class, e.Code)
		switch {
		case k == ek("body", "temp_reject", 451) && strings.Contains(e.Text, "Queue size too big"),
			k == ek("body", "closed", 421) && strings.Contains(e.Text, "Too many errors"):
		default:
			t.Errorf("%s: error %+v; only queue-full replies, with their text, may fail a message", r, e)
		}
	}
}
