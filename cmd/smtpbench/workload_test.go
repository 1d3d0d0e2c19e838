package main

// Realistic mail: size mixes, templates, corpora, recipients, several
// targets and reproducible runs, checked against what the built-in sink
// received.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/sink"
)

func TestWorkloadBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknown := write("unknown.eml", "Subject: {nope}\n\nbody\n")
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	truncated := write("cut.mbox", "From a@x date\nSubject: one\n\nbody\n\nFrom b@x date\nSubject: two\nTo: y\n")
	good := write("good.eml", "Subject: {n}\n\nbody\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad mix weight", []string{"--size", "1KiB:60,10KiB:x"}, exitUsage, "weight"},
		{"mix entry without weight", []string{"--size", "1KiB:60,10KiB"}, exitUsage, "--size"},
		{"size range backwards", []string{"--size", "10KiB-1KiB"}, exitUsage, "--size"},
		{"size overflow", []string{"--size", "17179869184GiB"}, exitUsage, "--size"},
		{"rcpts range backwards", []string{"--rcpts", "5-1"}, exitUsage, "--rcpts"},
		{"rcpts zero", []string{"--rcpts", "0-3"}, exitUsage, "--rcpts"},
		{"bad target weight", []string{"--target", "127.0.0.1:25=heavy"}, exitUsage, "weight"},
		{"zero target weight", []string{"--target", "127.0.0.1:25=0"}, exitUsage, "weight"},
		{"bad target", []string{"--target", "a:b:c"}, exitUsage, "--target"},
		{"bad source address", []string{"--source-addr", "localhost"}, exitUsage, "--source-addr"},
		{"stdin twice", []string{"--data", "-", "--to-file", "-"}, exitUsage, "standard input (-) is given twice"},
		{"empty stages", []string{"--stages", ""}, exitUsage, "--stages \"\""},
		{"device as a template", []string{"--message", "/dev/null"}, exitRun, "--message /dev/null"},
		{"missing baseline", []string{"--html", filepath.Join(dir, "x.html"), "--html-baseline", filepath.Join(dir, "none.json")}, exitRun, "--html-baseline"},
		{"unknown placeholder", []string{"--message", unknown}, exitUsage, "{nope}"},
		{"missing template", []string{"--message", filepath.Join(dir, "missing.eml")}, exitRun, "--message"},
		{"empty corpus", []string{"--corpus", empty}, exitUsage, "no messages"},
		{"truncated mbox", []string{"--corpus", truncated}, exitUsage, "truncated"},
		{"missing corpus", []string{"--corpus", filepath.Join(dir, "nothing")}, exitRun, "--corpus"},
		{"bad corpus order", []string{"--corpus", truncated, "--corpus-order", "shuffled"}, exitUsage, "--corpus-order"},
		{"corpus order alone", []string{"--corpus-order", "random"}, exitUsage, "--corpus"},
		{"size with template", []string{"--message", good, "--size", "1KiB"}, exitUsage, "--size"},
		{"template and corpus", []string{"--message", good, "--corpus", empty}, exitUsage, "exclude"},
		{"negative domains", []string{"--domains", "-2"}, exitUsage, "--domains"},
		{"to-file too short", []string{"--to-file", write("to.txt", "a@x\nb@x\n"), "--rcpts", "3"}, exitUsage, "--to-file"},
		{"missing to-file", []string{"--to-file", filepath.Join(dir, "none.txt")}, exitRun, "--to-file"},
		{"bad seed", []string{"--seed", "-1"}, exitUsage, "--seed"},
		{"bad chunking", []string{"--chunking", "maybe"}, exitUsage, "--chunking"},
		{"chunk size without chunking", []string{"--chunk-size", "1KiB"}, exitUsage, "--chunk-size"},
		{"zero chunk size", []string{"--chunking", "on", "--chunk-size", "0"}, exitUsage, "--chunk-size"},
		{"binarymime without chunking", []string{"--binarymime"}, exitUsage, "--binarymime"},
		{"lmtp without a target", []string{"--lmtp"}, exitUsage, "--lmtp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// No target: a bad value must stop the run before the
			// built-in sink even starts.
			code, _, stderr := cliRun(t, append([]string{"run", "-n", "1"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.want)
			}
			if strings.Contains(stderr, "benchmarking the built-in sink") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("want one line before any run, got %q", stderr)
			}
		})
	}
}

// capture is a built-in sink that keeps a digest of every message it
// accepted: envelope and content.
type capture struct {
	*sink.Server
	mu     sync.Mutex
	hashes []string
	bodies map[int]int // body size → messages
}

func startCapture(t *testing.T, mask func([]byte) []byte) *capture {
	c := &capture{bodies: map[int]int{}}
	c.Server = startTestSink(t, sink.Config{OnMessage: func(from string, to []string, data []byte) {
		h := sha256.New()
		h.Write([]byte(from + "\n" + strings.Join(to, ",") + "\n"))
		if mask != nil {
			data = mask(data)
		}
		h.Write(data)
		_, body, _ := bytes.Cut(data, []byte("\r\n\r\n"))
		c.mu.Lock()
		c.hashes = append(c.hashes, string(h.Sum(nil)))
		c.bodies[len(body)]++
		c.mu.Unlock()
	}})
	return c
}

// digest is a hash of everything the sink received, in any order:
// sessions race, so messages arrive in a different order each run.
func (c *capture) digest() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	hs := append([]string(nil), c.hashes...)
	sort.Strings(hs)
	sum := sha256.Sum256([]byte(strings.Join(hs, "")))
	return string(sum[:])
}

func decodeReport(t *testing.T, stdout string) report.JSONReport {
	t.Helper()
	var j report.JSONReport
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("report does not decode: %v\n%.2000s", err, stdout)
	}
	return j
}

// A weighted mix lands within 2 percentage points of each weight over
// 10000 messages, as the server received them and as the report says.
func TestSizeMixAsReceived(t *testing.T) {
	srv := startCapture(t, nil)
	code, stdout, stderr := cliRun(t, "run", "-o", "json", "-c", "4", "-n", "10000", "--size", "100:60,1000:30,10000:10",
		"--rcpts", "1-3", srv.Addr())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	j := decodeReport(t, stdout)
	if j.Totals.MessagesOK != 10000 || srv.Accepted() != 10000 {
		t.Fatalf("%d ok, sink accepted %d", j.Totals.MessagesOK, srv.Accepted())
	}
	if len(j.Sizes) != 3 {
		t.Fatalf("sizes %+v", j.Sizes)
	}
	for i, want := range []struct {
		size   int
		weight float64
	}{{100, 60}, {1000, 30}, {10000, 10}} {
		got := srv.bodies[want.size]
		if share := float64(got) / 100; math.Abs(share-want.weight) > 2 {
			t.Errorf("%d-byte bodies: %.1f%% of the messages received, want %.0f%% ± 2", want.size, share, want.weight)
		}
		js := j.Sizes[i]
		if js.Size != strconv.Itoa(want.size) || js.Messages != int64(got) || js.WeightPct != want.weight ||
			math.Abs(js.SharePct-float64(got)/100) > 0.01 {
			t.Errorf("report says %+v, the sink received %d of %d bytes", js, got, want.size)
		}
	}
	if r := j.Totals.RecipientsAccepted; r < 17000 || r > 23000 {
		t.Errorf("%d recipients for 10000 messages of 1 to 3, want about 20000", r)
	}
}

// A repeated run with the same seed sends the same bytes: every envelope
// and every content, in whatever order the sessions took them.
func TestSeedRepeatsTraffic(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "t.eml")
	os.WriteFile(tmpl, []byte("From: <{from}>\nTo: <{to}>\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n"+
		"Subject: message {n}, code {rand:8}\nX-Trace: {uuid}\n\nHello.\n"), 0o644)
	dateLine := regexp.MustCompile(`(?m)^Date: [^\r\n]*`)
	maskDate := func(b []byte) []byte { return dateLine.ReplaceAll(b, []byte("Date: *")) }
	for _, tc := range []struct {
		name string
		args []string
		mask func([]byte) []byte
	}{
		// The template's Date is fixed, so every byte must repeat.
		{"template", []string{"--message", tmpl, "--rcpts", "1-4", "--from", "s{rand:6}@a.test", "--domains", "3"}, nil},
		// Generated messages carry the time they were sent in Date: the
		// one thing a seed does not fix.
		{"generated", []string{"--size", "10-5000:1,20KiB:1", "--rcpts", "2-3"}, maskDate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(seed string) (string, report.JSONReport) {
				srv := startCapture(t, tc.mask)
				args := append([]string{"run", "-o", "json", "-c", "3", "-n", "300", "--seed", seed, srv.Addr()}, tc.args...)
				code, stdout, stderr := cliRun(t, args...)
				if code != exitOK || srv.Accepted() != 300 {
					t.Fatalf("exit %d, %d accepted: %s", code, srv.Accepted(), stderr)
				}
				return srv.digest(), decodeReport(t, stdout)
			}
			a, ja := run("1234")
			b, _ := run("1234")
			c, _ := run("1235")
			if a != b {
				t.Error("two runs with --seed 1234 sent different traffic")
			}
			if a == c {
				t.Error("--seed 1234 and --seed 1235 sent the same traffic")
			}
			if cfg := ja.Config; cfg.Seed != 1234 || !cfg.SeedGiven {
				t.Errorf("config.seed = %v (given %v)", cfg.Seed, cfg.SeedGiven)
			}
		})
	}
}

// Sessions are spread over targets by weight and the report splits the
// totals by target.
func TestSeveralTargets(t *testing.T) {
	a, b := startTestSink(t, sink.Config{}), startTestSink(t, sink.Config{})
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := cliRun(t, "run", "-c", "4", "-n", "400", "--per-conn", "1", "--out", out,
		a.Addr(), "--target", b.Addr()+"=3")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if a.Sessions() != 100 || b.Sessions() != 300 || a.Accepted()+b.Accepted() != 400 {
		t.Errorf("sessions %d and %d, accepted %d and %d; want 100 and 300 sessions (weights 1 and 3)",
			a.Sessions(), b.Sessions(), a.Accepted(), b.Accepted())
	}
	raw, _ := os.ReadFile(out)
	j := decodeReport(t, string(raw))
	if len(j.Targets) != 2 {
		t.Fatalf("targets %+v", j.Targets)
	}
	for i, srv := range []*sink.Server{a, b} {
		tt := j.Targets[i]
		if tt.Target != srv.Addr() || tt.MessagesOK != int64(srv.Accepted()) || tt.Connections != int64(srv.Sessions()) ||
			tt.MessagesAttempted != tt.MessagesOK || tt.BytesSent == 0 {
			t.Errorf("target %d: %+v; the sink accepted %d in %d sessions", i, tt, srv.Accepted(), srv.Sessions())
		}
	}
	if j.Targets[0].Weight != 1 || j.Targets[1].Weight != 3 {
		t.Errorf("weights %d and %d", j.Targets[0].Weight, j.Targets[1].Weight)
	}
	for _, want := range []string{"targets", a.Addr(), b.Addr()} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table does not show %q:\n%s", want, stdout)
		}
	}
}

// --source-addr binds each session to the next address in turn.
func TestSourceAddrs(t *testing.T) {
	srv := startTestSink(t, sink.Config{})
	code, stdout, stderr := cliRun(t, "run", "-o", "json", "-c", "2", "-n", "20", "--per-conn", "1",
		"--source-addr", "127.0.0.1", "--source-addr", "127.0.0.1", srv.Addr())
	if code != exitOK || srv.Accepted() != 20 {
		t.Fatalf("exit %d, %d accepted: %s", code, srv.Accepted(), stderr)
	}
	if s := decodeReport(t, stdout).Config.SourceAddrs; len(s) != 2 {
		t.Errorf("config.source_addrs = %v", s)
	}
}

// The run against the built-in sink over BDAT: the sink's counts
// equal the report's, and the report shows the size mix sent.
func TestChunkingBuiltinSink(t *testing.T) {
	var mu sync.Mutex
	var rcpts, bodies int64
	srv := startTestSink(t, sink.Config{Chunking: true, OnMessage: func(from string, to []string, data []byte) {
		mu.Lock()
		rcpts += int64(len(to))
		if _, body, ok := bytes.Cut(data, []byte("\r\n\r\n")); ok {
			bodies += int64(len(body))
		}
		mu.Unlock()
	}})
	code, stdout, stderr := cliRun(t, "run", "-o", "json", "-c", "10", "-n", "2000", "--size", "1KiB:60,10KiB:30,1MiB:10",
		"--rcpts", "1-5", "--chunking", "on", srv.Addr())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	j := decodeReport(t, stdout)
	tot := j.Totals
	mu.Lock()
	defer mu.Unlock()
	if tot.MessagesOK != 2000 || srv.Accepted() != 2000 || tot.RecipientsAccepted != rcpts {
		t.Errorf("ok %d, sink accepted %d; recipients %d, sink saw %d", tot.MessagesOK, srv.Accepted(), tot.RecipientsAccepted, rcpts)
	}
	var sent, want int64
	for _, s := range j.Sizes {
		n, _ := strconv.ParseInt(s.Size, 10, 64)
		sent += s.Messages
		want += n * s.Messages
	}
	if len(j.Sizes) != 3 || sent != 2000 || bodies != want {
		t.Errorf("sizes %+v: %d bytes of bodies by the report, the sink received %d", j.Sizes, want, bodies)
	}
	// Every BDAT reply is counted; the phase has figures unless the sink
	// answered the pipelined chunks in one write and no lock-step sample
	// carried a single chunk, and then it says so (docs/phases.md).
	src, batched := j.PhaseSources["bdat"]
	attributed := !batched || src.Source != report.SourceUnattributed
	if (attributed && j.Phases["bdat"].Count == 0) || j.Replies["bdat"]["250"] == 0 || j.Replies["bdat"]["250"] != timedReplies(&j, "bdat") {
		t.Errorf("bdat phase %+v, replies %v, source %+v, pipelining %+v", j.Phases["bdat"], j.Replies["bdat"], j.PhaseSources["bdat"], j.Pipelining)
	}
	if cfg := j.Config; cfg.Chunking != "on" || cfg.Size != "1KiB:60,10KiB:30,1MiB:10" || cfg.RcptsMax != 5 {
		t.Errorf("config %+v", cfg)
	}
}
