package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/internal/hgrm"
	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/report"
	"github.com/smtpbench/smtpbench/sink"
)

// savedRun runs smtpbench against an in-process sink and returns the paths
// of its JSON result and HTML page.
func savedRun(t *testing.T, extra ...string) (jsonPath, htmlPath string) {
	t.Helper()
	srv := startTestSink(t, sink.Config{})
	dir := t.TempDir()
	jsonPath, htmlPath = filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	args := append([]string{"run", "-c", "2", "-n", "3000", "--timeout", "10s", "--out", jsonPath, "--html", htmlPath}, extra...)
	code, _, stderr := cliRun(t, append(args, srv.Addr())...)
	if code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	return jsonPath, htmlPath
}

func readDoc(t *testing.T, path string) *report.JSONReport {
	t.Helper()
	d, err := report.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != report.KindRun {
		t.Fatalf("%s: a %s document, want a run", path, d.Kind)
	}
	return d.Runs[0].JSONReport
}

// TestReportFormats renders one real run in every format and checks each
// against the run's own JSON.
func TestReportFormats(t *testing.T) {
	jsonPath, htmlPath := savedRun(t)
	doc := readDoc(t, jsonPath)
	if doc.Totals.MessagesOK != 3000 {
		t.Fatalf("run accepted %d messages, want 3000", doc.Totals.MessagesOK)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil || !bytes.Contains(page, []byte(`id="chart-percentiles-message"`)) {
		t.Fatalf("run --html wrote no page with charts (%v)", err)
	}

	// table: the same as the run printed, from the file.
	code, table, stderr := cliRun(t, "report", jsonPath)
	if code != exitOK || !strings.Contains(table, "messages    3000 ok, 0 rejected, 0 failed (3000 attempted)") {
		t.Errorf("report table: exit %d, stderr %s\n%s", code, stderr, table)
	}

	// json: the document again, unchanged in substance.
	code, js, _ := cliRun(t, "report", "-o", "json", jsonPath)
	again, err := report.ReadJSON(strings.NewReader(js))
	if code != exitOK || err != nil || again.Runs[0].Totals != doc.Totals || again.Runs[0].Phases["message"] != doc.Phases["message"] {
		t.Errorf("report -o json: exit %d, %v", code, err)
	}

	// csv: one row per interval, the same figures as the JSON.
	code, out, _ := cliRun(t, "report", "-o", "csv", jsonPath)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != exitOK || err != nil || len(rows) != len(doc.Intervals)+1 {
		t.Fatalf("report -o csv: exit %d, %v, %d rows for %d intervals", code, err, len(rows), len(doc.Intervals))
	}
	var ok int64
	for i, iv := range doc.Intervals {
		n, _ := strconv.ParseInt(rows[i+1][1], 10, 64)
		p99, _ := strconv.ParseFloat(rows[i+1][5], 64)
		if n != iv.OK || p99 != iv.P99MS {
			t.Errorf("csv row %d: %q, JSON interval %+v", i, rows[i+1], iv)
		}
		ok += n
	}
	if ok != 3000 {
		t.Errorf("csv rows add up to %d ok, want 3000", ok)
	}

	// hgrm: one file per phase; parsed back, each gives the JSON's
	// percentiles.
	base := filepath.Join(t.TempDir(), "r.hgrm")
	code, _, stderr = cliRun(t, "report", "-o", "hgrm", "--out", base, jsonPath)
	if code != exitOK {
		t.Fatalf("report -o hgrm: exit %d: %s", code, stderr)
	}
	checked := 0
	for _, name := range report.PhaseNames(doc) {
		s := doc.Phases[name]
		if s.Count == 0 {
			continue
		}
		f, err := os.Open(strings.TrimSuffix(base, ".hgrm") + "." + name + ".hgrm")
		if err != nil {
			t.Fatalf("phase %s: %v", name, err)
		}
		dist, err := hgrm.Parse(f)
		f.Close()
		if err != nil {
			t.Fatalf("phase %s: %v", name, err)
		}
		for _, c := range []struct {
			pct, want float64
		}{{50, s.P50MS}, {90, s.P90MS}, {99, s.P99MS}, {99.9, s.P999MS}} {
			got, found := dist.ValueAt(c.pct)
			if !found || math.Abs(got-c.want) > 0.0005 {
				t.Errorf("phase %s p%g: hgrm %.3f (row found %v), JSON %.3f", name, c.pct, got, found, c.want)
			}
		}
		if dist.TotalCount != s.Count {
			t.Errorf("phase %s: hgrm counts %d samples, JSON %d", name, dist.TotalCount, s.Count)
		}
		checked++
	}
	if checked < 5 {
		t.Errorf("only %d phases checked", checked)
	}

	// One phase to stdout is plain hgrm text.
	code, out, _ = cliRun(t, "report", "-o", "hgrm", "--phase", "message", jsonPath)
	if dist, err := hgrm.Parse(strings.NewReader(out)); code != exitOK || err != nil || dist.TotalCount != 3000 {
		t.Errorf("report -o hgrm --phase message: exit %d, %v", code, err)
	}
}

func TestReportAndMergeBadInput(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "notes.txt")
	os.WriteFile(notJSON, []byte("hello\n"), 0o644)
	jsonPath, _ := savedRun(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report"}, exitUsage, "no FILE given"},
		{[]string{"report", "-o", "xml", jsonPath}, exitUsage, "--output"},
		{[]string{"report", "--phase", "message", jsonPath}, exitUsage, "-o hgrm only"},
		{[]string{"report", "-o", "json", jsonPath, jsonPath}, exitUsage, "one FILE"},
		{[]string{"report", "-o", "hgrm", "--phase", "nosuch", jsonPath}, exitUsage, `"nosuch"`},
		{[]string{"report", filepath.Join(dir, "missing.json")}, exitRun, "missing.json"},
		{[]string{"report", notJSON}, exitRun, "notes.txt: not a JSON document"},
		{[]string{"merge"}, exitUsage, "no FILE given"},
		{[]string{"merge", jsonPath, jsonPath}, exitRun, "same run"},
		{[]string{"merge", jsonPath, notJSON}, exitRun, "notes.txt"},
		{[]string{"run", "--shard", "3/3", "-n", "1"}, exitUsage, "--shard"},
		{[]string{"run", "--shard", "x"}, exitUsage, "--shard"},
		{[]string{"run", "--shard", "0/2", "--shards", "2"}, exitUsage, "exclude"},
		{[]string{"run", "--shard", "2/3", "-n", "2"}, exitUsage, "no message"},
		{[]string{"run", "--start-at", "tomorrow"}, exitUsage, "RFC 3339"},
		{[]string{"run", "--start-at", time.Now().Add(48 * time.Hour).Format(time.RFC3339)}, exitUsage, "more than"},
	} {
		code, _, stderr := cliRun(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("smtpbench %q: exit %d, stderr %q; want exit %d and one line containing %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	t.Run("shards without index", func(t *testing.T) {
		t.Setenv(loadgen.JobIndexEnv, "")
		code, _, stderr := cliRun(t, "run", "--shards", "3", "-n", "3")
		if code != exitUsage || !strings.Contains(stderr, loadgen.JobIndexEnv) {
			t.Errorf("exit %d, stderr %q: want a usage error naming %s", code, stderr, loadgen.JobIndexEnv)
		}
		t.Setenv(loadgen.JobIndexEnv, "3")
		code, _, stderr = cliRun(t, "run", "--shards", "3", "-n", "3")
		if code != exitUsage || !strings.Contains(stderr, "0 to 2") {
			t.Errorf("index 3 of 3: exit %d, stderr %q", code, stderr)
		}
	})
}

// TestMergeRefusesDifferentLoadModels: an open-model run's message latency
// is measured from due times, a closed loop's from the session's start.
func TestMergeRefusesDifferentLoadModels(t *testing.T) {
	closed, _ := savedRun(t)
	open, _ := savedRun(t, "--rate", "20000")
	code, _, stderr := cliRun(t, "merge", closed, open)
	if code != exitRun || !strings.Contains(stderr, "load_model") {
		t.Errorf("exit %d, stderr %q: want exit 1 naming load_model", code, stderr)
	}
}

// TestShardsNumberMessagesApart runs three shards of one job side by side
// (one of them taking its index from JOB_COMPLETION_INDEX, as in a
// Kubernetes Indexed Job) and looks at what the server received: together
// they send messages 1 to n exactly once, each with its own addresses and
// Message-ID.
func TestShardsNumberMessagesApart(t *testing.T) {
	var mu sync.Mutex
	froms := map[string]int{}
	ids := map[string]int{}
	msgID := regexp.MustCompile(`(?m)^Message-ID: (<[^>]+>)`)
	srv := startTestSink(t, sink.Config{OnMessage: func(from string, to []string, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		froms[from]++
		if m := msgID.FindSubmatch(data); m != nil {
			ids[string(m[1])]++
		}
	}})
	t.Setenv(loadgen.JobIndexEnv, "1")
	const n = 31 // not a multiple of 3: shard 0 takes 11, the others 10
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i, shardArgs := range [][]string{{"--shard", "0/3"}, {"--shards", "3"}, {"--shard", "2/3"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"run", "-c", "2", "-n", strconv.Itoa(n), "--timeout", "10s"}, shardArgs...)
			codes[i], _, _ = cliRun(t, append(args, srv.Addr())...)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != exitOK {
			t.Fatalf("shard %d exited %d", i, c)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(froms) != n || len(ids) != n {
		t.Fatalf("%d distinct senders and %d distinct Message-IDs for %d messages", len(froms), len(ids), n)
	}
	for i := 1; i <= n; i++ {
		if froms[fmt.Sprintf("<bench%d@example.com>", i)] != 1 {
			t.Errorf("message number %d was sent %d times, want once", i, froms[fmt.Sprintf("<bench%d@example.com>", i)])
		}
	}
}

// TestThreeShardsMergeEqualsSink is the distributed run on one machine: a
// sink in its own process, three smtpbench processes with --shard 0/3, 1/3,
// 2/3 and one --start-at, then merge. The merged counts must equal what the
// sink accepted, and the merged histograms the sum of the three.
func TestThreeShardsMergeEqualsSink(t *testing.T) {
	bin := buildBinary(t)
	var addr string
	sinkProc := startOnFreePorts(t, bin, func() []string {
		addr = freeAddr(t)
		return []string{"sink", "--listen", addr}
	})
	dir := t.TempDir()
	const n = 6000
	// Whole seconds, as a person would write it; far enough ahead for
	// three processes to start on a loaded machine.
	startAt := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	var procs []*process
	var files []string
	for i := range 3 {
		file := filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		files = append(files, file)
		p, err := startProcessErr(t, bin, "run", "--shard", fmt.Sprintf("%d/3", i), "--start-at", startAt.Format(time.RFC3339),
			"-c", "2", "-n", strconv.Itoa(n), "--timeout", "10s", "--out", file, addr)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	for i, p := range procs {
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("shard %d did not finish within 60 s", i)
		}
		if c := p.cmd.ProcessState.ExitCode(); c != exitOK {
			t.Fatalf("shard %d exited %d: %s", i, c, p.stderr.String())
		}
		if !strings.Contains(p.stderr.String(), "waiting until") {
			t.Errorf("shard %d did not say it was waiting for --start-at: %q", i, p.stderr.String())
		}
	}
	sinkProc.stop()
	m := regexp.MustCompile(`(\d+) messages accepted`).FindStringSubmatch(sinkProc.stdout.String())
	if m == nil {
		t.Fatalf("sink did not report its count: %q", sinkProc.stdout.String())
	}
	accepted, _ := strconv.ParseInt(m[1], 10, 64)

	mergedPath := filepath.Join(dir, "merged.json")
	code, table, stderr := cliRun(t, append([]string{"merge", "--out", mergedPath}, files...)...)
	if code != exitOK {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	merged := readDoc(t, mergedPath)
	tot := merged.Totals
	if tot.MessagesOK != accepted || accepted != n || tot.MessagesAttempted != n {
		t.Errorf("merged ok %d attempted %d, sink accepted %d, want %d", tot.MessagesOK, tot.MessagesAttempted, accepted, n)
	}
	if !strings.Contains(table, fmt.Sprintf("messages    %d ok", n)) || !strings.Contains(table, "config.shard") {
		t.Errorf("merge table does not show the totals and the shard difference:\n%s", table)
	}

	var shards []*report.JSONReport
	var ivOK int64
	for i, f := range files {
		d := readDoc(t, f)
		shards = append(shards, d)
		if d.Totals.MessagesOK != n/3 {
			t.Errorf("shard %d sent %d messages, want its third, %d", i, d.Totals.MessagesOK, n/3)
		}
		// Started together: within a generous tolerance of --start-at
		// (timer wake-up on a busy machine), never before it.
		if off := d.StartedAt.Sub(startAt); off < 0 || off > 500*time.Millisecond {
			t.Errorf("shard %d started %s after --start-at", i, off)
		}
	}
	for _, iv := range merged.Intervals {
		ivOK += iv.OK
	}
	if ivOK != n {
		t.Errorf("merged intervals add up to %d messages, want %d", ivOK, n)
	}
	// Every merged histogram is the sum of the shards', count for count.
	for name, s := range merged.Phases {
		got, err := s.Histogram()
		if err != nil {
			t.Fatal(err)
		}
		want := metrics.NewHistogram()
		for _, d := range shards {
			h, err := d.Phases[name].Histogram()
			if err != nil {
				t.Fatal(err)
			}
			want.Merge(h)
		}
		if !got.Equals(want) {
			t.Errorf("phase %s: merged histogram (%d samples) is not the sum of the shards' (%d)", name, got.TotalCount(), want.TotalCount())
		}
	}
}
