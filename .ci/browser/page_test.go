// Package browser opens the HTML pages smtpbench writes in a real headless
// Chromium, driven over the DevTools protocol, and checks what a person
// would see: every chart drawn, no console error, no request for anything
// beyond the page itself. It lives in its own module so that chromedp is not
// a dependency of smtpbench.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// repoRoot is the smtpbench checkout this module sits in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "smtpbench")); err != nil {
		t.Fatalf("not inside the smtpbench repository: %v", err)
	}
	return root
}

// findChromium locates Debian's chromium (or another Chromium build). In CI
// (CI=true) a missing browser fails the test: .ci/run installs it.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (Debian: apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// artifactDir is where screenshots are kept for people to look at:
// $SMTPBENCH_ARTIFACTS, or .ci/artifacts in the checkout.
func artifactDir(t *testing.T, root string) string {
	t.Helper()
	dir := os.Getenv("SMTPBENCH_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(root, ".ci", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// smtpbench runs the command from a binary built for the test, bounded in
// time.
func smtpbench(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("smtpbench %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// phasesWithSamples reads a run's JSON result: the phases the page must
// chart.
func phasesWithSamples(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Phases map[string]struct {
			Count int64 `json:"count"`
		} `json:"phases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for name, p := range doc.Phases {
		if p.Count > 0 {
			out = append(out, name)
		}
	}
	return out
}

func TestReportPagesInChromium(t *testing.T) {
	chromium := findChromium(t)
	root := repoRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "smtpbench")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, "./cmd/smtpbench")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// The page of a run, as "run --html" writes it (built-in sink), and a
	// page overlaying two saved results, as "report -o html" writes it.
	runHTML, runJSON := filepath.Join(dir, "run.html"), filepath.Join(dir, "run.json")
	smtpbench(t, bin, "run", "-d", "3s", "-c", "2", "--html", runHTML, "--out", runJSON)
	otherJSON := filepath.Join(dir, "other.json")
	smtpbench(t, bin, "run", "-n", "3000", "-c", "4", "--out", otherJSON)
	twoHTML := filepath.Join(dir, "two.html")
	smtpbench(t, bin, "report", "-o", "html", "--out", twoHTML, runJSON, otherJSON)

	phases := phasesWithSamples(t, runJSON)
	want := []string{"chart-rate", "chart-p99", "chart-errors"}
	for _, p := range phases {
		want = append(want, "chart-percentiles-"+p)
	}
	artifacts := artifactDir(t, root)
	for _, page := range []struct {
		name, path string
		legend     []string
	}{
		{"run", runHTML, nil},
		{"two-results", twoHTML, []string{runJSON, otherJSON}},
	} {
		t.Run(page.name, func(t *testing.T) {
			shot, _ := checkPage(t, chromium, page.path, want, page.legend)
			name := filepath.Join(artifacts, "report-"+page.name+".png")
			if err := os.WriteFile(name, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", name)
			checkNotBlank(t, shot)
		})
	}
}

// chart is what the page's script reports about one figure.
type chart struct {
	ID     string   `json:"id"`
	Paths  int      `json:"paths"`
	Width  float64  `json:"width"`
	Height float64  `json:"height"`
	BoxW   float64  `json:"boxW"`
	BoxH   float64  `json:"boxH"`
	Texts  []string `json:"texts"`
}

const inspectCharts = `Array.from(document.querySelectorAll('figure.chart')).map(f => {
  const svg = f.querySelector('svg');
  if (!svg) return {id: f.id, paths: 0, width: 0, height: 0, boxW: 0, boxH: 0, texts: []};
  const r = svg.getBoundingClientRect();
  const b = svg.getBBox();
  return {id: f.id, paths: svg.querySelectorAll('path').length, width: r.width, height: r.height,
          boxW: b.width, boxH: b.height, texts: Array.from(svg.querySelectorAll('text')).map(t => t.textContent)};
})`

// checkPage loads the page and returns a full-page PNG screenshot and the
// charts it found, by id.
func checkPage(t *testing.T, chromium, path string, wantIDs, legend []string) ([]byte, map[string]chart) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()

	var mu sync.Mutex
	var requests, problems []string
	// The listener is there from the tab's start (the start enables the
	// network, log and runtime domains), so nothing is missed.
	listen := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *network.EventLoadingFailed:
			problems = append(problems, "loading failed: "+e.ErrorText)
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.ConsoleAPICalledTypeError || e.Type == cdpruntime.ConsoleAPICalledTypeWarning || e.Type == cdpruntime.ConsoleAPICalledTypeAssert {
				problems = append(problems, fmt.Sprintf("console %s: %s", e.Type, args(e.Args)))
			}
		case *cdpruntime.EventExceptionThrown:
			problems = append(problems, fmt.Sprintf("exception: %s (line %d)", e.ExceptionDetails.Text, e.ExceptionDetails.LineNumber))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		}
	}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(listen))
	defer cancel()
	// The first Do starts the browser: no timeout on it (that would bound
	// the browser's life), but a watchdog that cancels everything.
	watchdog := time.AfterFunc(60*time.Second, cancel)
	defer watchdog.Stop()

	url := "file://" + filepath.ToSlash(path)
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("chromium: loading %s: %v", url, err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chart](inspectCharts))
	if err != nil {
		t.Fatalf("chromium: inspecting the charts: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("chromium: screenshot: %v", err)
	}
	// Late events (a failed load reported after the screenshot) still
	// count: give them a moment, then read what was collected.
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()

	for _, r := range requests {
		if r != url {
			t.Errorf("the page requested %s: it must be self-contained", r)
		}
	}
	if len(requests) == 0 {
		t.Errorf("no request seen at all, not even the page: is the network domain listened to?")
	}
	for _, p := range problems {
		t.Errorf("%s", p)
	}

	got := map[string]chart{}
	for _, c := range charts {
		got[c.ID] = c
	}
	if len(charts) != len(wantIDs) {
		t.Errorf("%d charts on the page, want %d: %v", len(charts), len(wantIDs), wantIDs)
	}
	for _, id := range wantIDs {
		c, ok := got[id]
		switch {
		case !ok:
			t.Errorf("chart %s missing", id)
		case c.Paths < 3 || c.Width < 200 || c.Height < 100 || c.BoxW <= 0 || c.BoxH <= 0:
			t.Errorf("chart %s is empty or not laid out: %+v", id, c)
		case len(c.Texts) < 5:
			t.Errorf("chart %s has %d labels: %q", id, len(c.Texts), c.Texts)
		}
	}
	if len(legend) > 0 {
		texts := strings.Join(got["chart-percentiles-message"].Texts, "\n")
		for _, l := range legend {
			if !strings.Contains(texts, l) {
				t.Errorf("the overlaid message chart has no legend entry %q: %q", l, texts)
			}
		}
	}
	return shot, got
}

func args(as []*cdpruntime.RemoteObject) string {
	var parts []string
	for _, a := range as {
		if a.Value != nil {
			parts = append(parts, string(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

// checkNotBlank looks at the screenshot's pixels: a page with charts has
// plenty of non-white pixels, many colours, and the first series' blue.
func checkNotBlank(t *testing.T, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 800 || b.Dy() < 800 {
		t.Errorf("screenshot is %dx%d: too small for the page", b.Dx(), b.Dy())
	}
	var inked, blue int
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl := rgb(img, x, y)
			if r+g+bl < 3*0xf0 {
				inked++
			}
			if len(colours) < 1000 {
				colours[[3]uint32{r, g, bl}] = true
			}
			// The first series colour, 0072b2, give or take antialiasing.
			if near(r, 0x00) && near(g, 0x72) && near(bl, 0xb2) {
				blue++
			}
		}
	}
	total := b.Dx() * b.Dy()
	if inked < total/100 {
		t.Errorf("screenshot is nearly blank: %d of %d pixels are not white", inked, total)
	}
	if len(colours) < 20 {
		t.Errorf("screenshot has only %d colours", len(colours))
	}
	if blue < 200 {
		t.Errorf("screenshot shows %d pixels of the series colour: the curves are not drawn", blue)
	}
}

func rgb(img image.Image, x, y int) (uint32, uint32, uint32) {
	r, g, b, _ := img.At(x, y).RGBA()
	return r >> 8, g >> 8, b >> 8
}

func near(v, want uint32) bool { return v+24 >= want && v <= want+24 }

// The page of an ab comparison whose builds ab started itself: the verdict
// table before any chart, A and B each in its own colour, the server's
// cost, and timelines that are not empty for runs of about a second.
func TestABPageInChromium(t *testing.T) {
	chromium := findChromium(t)
	root := repoRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "smtpbench")
	build := exec.Command("go", "build", "-o", bin, "./cmd/smtpbench")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sink := func(cpu string) string { return "exec " + bin + " sink --listen " + addr + " --cpu " + cpu }
	abHTML, abJSON := filepath.Join(dir, "ab.html"), filepath.Join(dir, "ab.json")
	smtpbench(t, bin, "ab", "--rounds", "2", "-c", "1", "-d", "1s", "--warmup", "200ms", "--html", abHTML, "--out", abJSON,
		"--a-cmd", sink("50us"), "--b-cmd", sink("150us"), addr)
	reportHTML := filepath.Join(dir, "ab-report.html")
	smtpbench(t, bin, "report", "-o", "html", "--out", reportHTML, abJSON)

	want := []string{"chart-percentiles-message", "chart-round-rate", "chart-round-p99", "chart-round-server-cpu",
		"chart-round-server-memory", "chart-rate", "chart-server-cpu"}
	artifacts := artifactDir(t, root)
	for _, page := range []struct{ name, path string }{{"ab", abHTML}, {"ab-report", reportHTML}} {
		t.Run(page.name, func(t *testing.T) {
			shot, charts := checkPage(t, chromium, page.path, want, []string{"A", "B"})
			name := filepath.Join(artifacts, "report-"+page.name+".png")
			if err := os.WriteFile(name, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", name)
			checkNotBlank(t, shot)
			// The rate timeline of runs of about a second: an axis from 0,
			// not one around a lone point at -1 to 1.
			for _, text := range charts["chart-rate"].Texts {
				if strings.HasPrefix(text, "-") {
					t.Errorf("the rate timeline has a negative tick %q: %q", text, charts["chart-rate"].Texts)
				}
			}
			checkSideColours(t, shot)
		})
	}
	page, err := os.ReadFile(abHTML)
	if err != nil {
		t.Fatal(err)
	}
	verdict, figure := bytes.Index(page, []byte(`id="verdict-table"`)), bytes.Index(page, []byte(`<figure`))
	if verdict < 0 || figure < 0 || verdict > figure {
		t.Errorf("the verdict table (at %d) must come before the first chart (at %d)", verdict, figure)
	}
	if !bytes.Contains(page, []byte("server cpu/msg")) {
		t.Errorf("the verdict table has no server cpu/msg line")
	}
}

// checkSideColours finds B's vermilion (d55e00) as well as A's blue.
func checkSideColours(t *testing.T, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	vermilion := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl := rgb(img, x, y)
			if near(r, 0xd5) && near(g, 0x5e) && near(bl, 0x00) {
				vermilion++
			}
		}
	}
	if vermilion < 200 {
		t.Errorf("%d pixels of B's colour: B's curves are not drawn", vermilion)
	}
}
