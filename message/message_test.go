package message

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/session"
)

func TestParseSizes(t *testing.T) {
	tests := []struct {
		in      string
		want    []SizeEntry
		wantErr bool
	}{
		{in: "1000", want: []SizeEntry{{1000, 1000, 1}}},
		{in: "4KiB", want: []SizeEntry{{4096, 4096, 1}}},
		{in: "4KB", want: []SizeEntry{{4000, 4000, 1}}},
		{in: "2M", want: []SizeEntry{{2000000, 2000000, 1}}},
		{in: "1GiB", want: []SizeEntry{{1 << 30, 1 << 30, 1}}},
		{in: "KiB", wantErr: true},
		{in: "0", want: []SizeEntry{{0, 0, 1}}},
		{in: "1KiB-100KiB", want: []SizeEntry{{1024, 102400, 1}}},
		{in: "1KiB:60,10KiB:30,1MiB:10", want: []SizeEntry{{1024, 1024, 60}, {10240, 10240, 30}, {1 << 20, 1 << 20, 10}}},
		{in: "100-200:1.5,1MiB:0.5", want: []SizeEntry{{100, 200, 1.5}, {1 << 20, 1 << 20, 0.5}}},
		{in: "", wantErr: true},
		{in: "-5", wantErr: true},
		{in: "5x", wantErr: true},
		{in: "2GiB", wantErr: true},
		{in: "8589934592GiB", wantErr: true},
		{in: "17179869184GiB", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
		{in: "200-100", wantErr: true},
		{in: "1KiB:60,10KiB", wantErr: true},
		{in: "1KiB:x", wantErr: true},
		{in: "1KiB:0", wantErr: true},
		{in: "1KiB:-1", wantErr: true},
		{in: "1KiB:NaN", wantErr: true},
		{in: "1KiB:Inf", wantErr: true},
		{in: "1KiB:60,", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSizes(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseSizes(%q) = %v, want an error", tt.in, got.Entries)
			}
			continue
		}
		if err != nil || len(got.Entries) != len(tt.want) {
			t.Errorf("ParseSizes(%q) = %v, %v; want %v", tt.in, got.Entries, err, tt.want)
			continue
		}
		for i := range tt.want {
			if got.Entries[i] != tt.want[i] {
				t.Errorf("ParseSizes(%q) entry %d = %v, want %v", tt.in, i, got.Entries[i], tt.want[i])
			}
		}
	}
}

func FuzzParseSizes(f *testing.F) {
	for _, s := range []string{"1000", "1KiB-2KiB", "1KiB:60,10KiB:30,1MiB:10", "8589934592GiB", "1-:",
		"0", "4KiB", "1GiB", "1024MiB", "1025MiB", "17179869184GiB", "9223372036854775807", "9223372036854775808",
		"-1", "+5", " 7 KB ", "GiB", "", "1.5MiB", "4XB", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sz, err := ParseSizes(s)
		if err != nil {
			return
		}
		for _, e := range sz.Entries {
			if e.Min < 0 || e.Max < e.Min || e.Max > MaxSize || !(e.Weight > 0) || math.IsInf(e.Weight, 0) {
				t.Fatalf("ParseSizes(%q) gave %+v", s, e)
			}
		}
		// Plain digits mean bytes, exactly.
		if v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && sz.Entries[0].Min != v {
			t.Errorf("ParseSizes(%q) = %d, want %d", s, sz.Entries[0].Min, v)
		}
	})
}

func TestParseRange(t *testing.T) {
	for in, want := range map[string]Range{"1": {1, 1}, "1-5": {1, 5}, " 2 - 3 ": {2, 3}} {
		if got, err := ParseRange(in); err != nil || got != want {
			t.Errorf("ParseRange(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "5-1", "1-", "-"} {
		if got, err := ParseRange(in); err == nil {
			t.Errorf("ParseRange(%q) = %v, want an error", in, got)
		}
	}
	if _, err := Prepare(Spec{Rcpts: Range{0, 3}}); err == nil {
		t.Error("Prepare accepted 0 recipients")
	}
	if _, err := Prepare(Spec{Rcpts: Range{1, MaxRcpts + 1}}); err == nil {
		t.Error("Prepare accepted too many recipients")
	}
}

func mustPrepare(t testing.TB, spec Spec) *Set {
	t.Helper()
	s, err := Prepare(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// render fills message seq and returns its DATA and raw forms, checking
// that Size agrees with the raw form and the DATA form with encodeData.
func render(t testing.TB, s *Set, seq uint64) (*session.Message, []byte, []byte) {
	t.Helper()
	m := &session.Message{}
	s.Fill(m, seq)
	m.Worker, m.Conn = 1, 1
	data := m.Content.AppendData(nil, m)
	raw := m.Content.AppendRaw(nil, m)
	if n := m.Content.Size(m); n != int64(len(raw)) {
		t.Fatalf("message %d: Size %d, raw form %d octets", seq, n, len(raw))
	}
	// Date is the clock: the two renderings may fall in different seconds.
	if want, err := encodeData(nil, raw); err != nil || !bytes.Equal(stripDate(data), stripDate(want)) {
		t.Fatalf("message %d: DATA form differs from the raw form encoded (%v):\n%q\n%q", seq, err, data, want)
	}
	return m, data, raw
}

func TestGeneratedSizes(t *testing.T) {
	for _, size := range []int64{0, 1, 2, 3, 77, 78, 79, 80, 81, 157, 158, 159, 1000, 65536, 100000} {
		s := mustPrepare(t, Spec{Sizes: FixedSize(size)})
		_, _, raw := render(t, s, 7)
		_, rest, ok := splitHeader(raw)
		body := rest[2:]
		want := size
		if size == 1 {
			want = 3 // content must end with CRLF
		}
		if !ok || int64(len(body)) != want {
			t.Errorf("--size %d: body of %d octets, want %d", size, len(body), want)
		}
		for _, line := range bytes.Split(body, []byte("\r\n")) {
			if len(line) > 78 {
				t.Errorf("--size %d: a line of %d octets", size, len(line))
			}
		}
	}
}

func TestGeneratedHeaders(t *testing.T) {
	s := mustPrepare(t, Spec{From: "s{n}@a.test", To: "r{n}.{r}@b.test", Seed: 5})
	_, data, _ := render(t, s, 42)
	for _, want := range []string{"From: <s42@a.test>\r\n", "To: <r42.1@b.test>\r\n", "Date: ",
		"Message-ID: <smtpbench." + s.runToken + ".42@smtpbench.localhost>\r\n"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("no %q in\n%s", want, data)
		}
	}
	if s2 := mustPrepare(t, Spec{Seed: 6}); s2.runToken == s.runToken {
		t.Error("two seeds gave the same run token")
	}
}

// Every random choice is a function of the seed and the message number.
func TestFillReproducible(t *testing.T) {
	spec := Spec{Sizes: mustSizes(t, "10-5000:1,100:1"), Rcpts: Range{1, 9}, From: "{rand:6}@a", Seed: 77}
	a, b := mustPrepare(t, spec), mustPrepare(t, spec)
	spec.Seed = 78
	c := mustPrepare(t, spec)
	ha, hb, hc := sha256.New(), sha256.New(), sha256.New()
	for seq := uint64(1); seq <= 200; seq++ {
		for _, x := range []struct {
			s *Set
			h interface{ Write([]byte) (int, error) }
		}{{a, ha}, {b, hb}, {c, hc}} {
			m, _, raw := render(t, x.s, seq)
			x.h.Write(stripDate(raw))
			x.h.Write([]byte{byte(m.Rcpts)})
			x.h.Write(m.From.Append(nil, m, 1))
		}
	}
	if !bytes.Equal(ha.Sum(nil), hb.Sum(nil)) {
		t.Error("the same seed gave different messages")
	}
	if bytes.Equal(ha.Sum(nil), hc.Sum(nil)) {
		t.Error("different seeds gave the same messages")
	}
}

var dateLine = regexp.MustCompile(`(?m)^Date: .*\r\n`)

func stripDate(b []byte) []byte { return dateLine.ReplaceAll(b, nil) }

func mustSizes(t testing.TB, s string) Sizes {
	sz, err := ParseSizes(s)
	if err != nil {
		t.Fatal(err)
	}
	return sz
}

// A weighted mix lands within 2 percentage points of each weight over
// 10000 messages, and ranges stay inside their bounds.
func TestSizeMixShares(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		s := mustPrepare(t, Spec{Sizes: mustSizes(t, "1KiB:60,10KiB:30,1MiB:10"), Seed: seed})
		var counts [3]int
		m := &session.Message{}
		for seq := uint64(1); seq <= 10000; seq++ {
			v := s.Fill(m, seq)
			counts[v]++
			if want := s.Variants()[v].Min; int64(m.BodySize) != want {
				t.Fatalf("variant %d with body %d", v, m.BodySize)
			}
		}
		for i, w := range []float64{60, 30, 10} {
			if share := float64(counts[i]) / 100; math.Abs(share-w) > 2 {
				t.Errorf("seed %d: %s got %.1f%%, want %.0f%% ± 2", seed, s.Variants()[i].Label(), share, w)
			}
		}
	}
	s := mustPrepare(t, Spec{Sizes: mustSizes(t, "100-200"), Rcpts: Range{2, 4}})
	m := &session.Message{}
	seen := map[int]bool{}
	rc := map[int]bool{}
	for seq := uint64(1); seq <= 2000; seq++ {
		s.Fill(m, seq)
		if m.BodySize < 100 || m.BodySize > 200 || m.Rcpts < 2 || m.Rcpts > 4 {
			t.Fatalf("body %d, rcpts %d", m.BodySize, m.Rcpts)
		}
		seen[m.BodySize] = true
		rc[m.Rcpts] = true
	}
	if len(seen) < 90 || len(rc) != 3 {
		t.Errorf("range drew %d distinct sizes and %d recipient counts", len(seen), len(rc))
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTemplate(t *testing.T) {
	dir := t.TempDir()
	tmpl := writeFile(t, dir, "t.eml", "From: <{from}>\nTo: <{to}>\nSubject: n={n} w={w} c={c} r={rand:4} {uuid}\nDate: {date}\n\n"+
		"Body keeps {braces} and {n} as they are.\n.leading dot\n")
	s := mustPrepare(t, Spec{Template: tmpl, From: "a{n}@x", To: "b{n}.{r}@y", Seed: 1})
	m, data, _ := render(t, s, 9)
	want := regexp.MustCompile(`^From: <a9@x>\r\nTo: <b9\.1@y>\r\nSubject: n=9 w=1 c=1 r=[0-9]{4} [0-9a-f-]{36}\r\nDate: [^\r]+\r\n` +
		`Message-ID: <smtpbench\.[0-9a-f]+\.9@smtpbench\.localhost>\r\n\r\n` +
		`Body keeps \{braces\} and \{n\} as they are\.\r\n\.\.leading dot\r\n\.\r\n$`)
	if !want.Match(data) {
		t.Errorf("rendered\n%q", data)
	}
	if m.EightBit {
		t.Error("ASCII template marked 8-bit")
	}

	// A Message-ID that varies is kept; a fixed one is replaced.
	keep := writeFile(t, dir, "keep.eml", "Message-ID: <{uuid}@mine>\nSubject: x\n\nb\n")
	_, data, _ = render(t, mustPrepare(t, Spec{Template: keep}), 1)
	if !regexp.MustCompile(`^Message-ID: <[0-9a-f-]{36}@mine>\r\nSubject: x\r\n\r\nb\r\n\.\r\n$`).Match(data) {
		t.Errorf("varying Message-ID: %q", data)
	}
	fixed := writeFile(t, dir, "fixed.eml", "Subject: x\nmessage-id:\n <same@every.time>\nX: y\n\nb\xe9\n")
	m, data, _ = render(t, mustPrepare(t, Spec{Template: fixed}), 3)
	if !regexp.MustCompile(`^Subject: x\r\nMessage-ID: <smtpbench\.[0-9a-f]+\.3@smtpbench\.localhost>\r\nX: y\r\n\r\nb[^\r]\r\n\.\r\n$`).Match(data) {
		t.Errorf("fixed Message-ID: %q", data)
	}
	if !m.EightBit {
		t.Error("8-bit template not marked so")
	}

	for name, text := range map[string]string{
		"unknown.eml": "Subject: {nope}\n\nb\n",
		"rcpt.eml":    "To: {r}\n\nb\n",
		"empty.eml":   " \n",
		"long.eml":    "Subject: " + strings.Repeat("x", 990) + "{uuid}\n\nb\n",
		"start.eml":   "{from}\n\nb\n",
		"unclosed":    "Subject: {n\n\nb\n",
	} {
		p := writeFile(t, dir, name, text)
		if _, err := Prepare(Spec{Template: p}); err == nil {
			t.Errorf("%s: Prepare accepted it", name)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := Prepare(Spec{Template: filepath.Join(dir, "missing.eml")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing template: %v", err)
	}
}

func TestCorpusDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "b.eml", "Subject: second\nMessage-ID: <b@x>\n\nB {n}\n")
	writeFile(t, dir, "a.eml", "Subject: first\r\n\r\nA\r\n")
	writeFile(t, dir, "sub/c.eml", "Subject: third\n\n.C\n")
	writeFile(t, dir, ".hidden", "Subject: hidden\n\nH\n")
	s := mustPrepare(t, Spec{Corpus: dir})
	if s.Corpus() != 3 {
		t.Fatalf("corpus of %d messages", s.Corpus())
	}
	wants := []string{
		`^Subject: first\r\nMessage-ID: <smtpbench\.[0-9a-f]+\.1@smtpbench\.localhost>\r\n\r\nA\r\n\.\r\n$`,
		`^Subject: second\r\nMessage-ID: <smtpbench\.[0-9a-f]+\.2@smtpbench\.localhost>\r\n\r\nB \{n\}\r\n\.\r\n$`,
		`^Subject: third\r\nMessage-ID: <smtpbench\.[0-9a-f]+\.3@smtpbench\.localhost>\r\n\r\n\.\.C\r\n\.\r\n$`,
		`^Subject: first\r\nMessage-ID: <smtpbench\.[0-9a-f]+\.4@smtpbench\.localhost>\r\n`,
	}
	for i, w := range wants {
		if _, data, _ := render(t, s, uint64(i+1)); !regexp.MustCompile(w).Match(data) {
			t.Errorf("message %d: %q", i+1, data)
		}
	}
	rnd := mustPrepare(t, Spec{Corpus: dir, CorpusOrder: OrderRandom, Seed: 3})
	seen := map[string]int{}
	for seq := uint64(1); seq <= 300; seq++ {
		_, data, _ := render(t, rnd, seq)
		seen[string(data[:15])]++
	}
	if len(seen) != 3 {
		t.Errorf("random order used %d of 3 messages: %v", len(seen), seen)
	}
	for k, n := range seen {
		if n < 60 {
			t.Errorf("random order: %q only %d times of 300", k, n)
		}
	}

	empty := t.TempDir()
	writeFile(t, empty, ".only-hidden", "x")
	if _, err := Prepare(Spec{Corpus: empty}); err == nil || !strings.Contains(err.Error(), "no messages") {
		t.Errorf("empty corpus: %v", err)
	}
	writeFile(t, empty, "blank.eml", "\n\n")
	if _, err := Prepare(Spec{Corpus: empty}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("corpus with an empty file: %v", err)
	}
	if _, err := Prepare(Spec{Corpus: filepath.Join(dir, "nothing")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing corpus: %v", err)
	}
}

func TestCorpusMbox(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.mbox", "From a@x Mon Jan  1 00:00:00 2026\nSubject: one\n\nline\n>From the start\n>>From two\n\n"+
		"From b@x Mon Jan  1 00:00:00 2026\nSubject: two\nMessage-ID: <fixed@x>\n\n>From here on\n\n")
	s := mustPrepare(t, Spec{Corpus: good})
	if s.Corpus() != 2 {
		t.Fatalf("%d messages, want 2", s.Corpus())
	}
	_, one, _ := render(t, s, 1)
	if !regexp.MustCompile(`^Subject: one\r\nMessage-ID: <[^>]+\.1@smtpbench\.localhost>\r\n\r\nline\r\nFrom the start\r\n>From two\r\n\.\r\n$`).Match(one) {
		t.Errorf("message 1: %q", one)
	}
	_, two, _ := render(t, s, 2)
	if !regexp.MustCompile(`^Subject: two\r\nMessage-ID: <[^>]+\.2@smtpbench\.localhost>\r\n\r\nFrom here on\r\n\.\r\n$`).Match(two) {
		t.Errorf("message 2: %q", two)
	}
	for name, text := range map[string]string{
		"not.mbox":       "Subject: x\n\nb\n",
		"cut-line.mbox":  "From a@x date\nSubject: x\n\nbody without end",
		"cut-hdr.mbox":   "From a@x date\nSubject: x\nTo: y\n",
		"no-blank.mbox":  "From a@x date\nSubject: x\n\nbody\n",
		"empty-msg.mbox": "From a@x date\n\nFrom b@x date\nSubject: x\n\nb\n\n",
	} {
		p := writeFile(t, dir, name, text)
		if _, err := Prepare(Spec{Corpus: p}); err == nil {
			t.Errorf("%s: Prepare accepted it", name)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}

func TestRecipients(t *testing.T) {
	dir := t.TempDir()
	list := writeFile(t, dir, "to.txt", "# test list\none@x\n<two@x>\n\nthree@y\n")
	s := mustPrepare(t, Spec{ToFile: list, Rcpts: Range{3, 3}})
	m := &session.Message{}
	s.Fill(m, 2)
	var got []string
	for i := 1; i <= m.Rcpts; i++ {
		got = append(got, string(m.To.Append(nil, m, i)))
	}
	if strings.Join(got, " ") != "one@x two@x three@y" {
		t.Errorf("recipients %v", got)
	}
	for _, spec := range []Spec{
		{ToFile: list, Rcpts: Range{1, 4}},
		{ToFile: list, To: "a@b"},
		{ToFile: list, Domains: 3},
		{ToFile: writeFile(t, dir, "empty.txt", "# none\n\n")},
		{ToFile: writeFile(t, dir, "bad.txt", "a b@c\n")},
		{Domains: -1},
		{To: "nodomain", Domains: 2},
		{From: "{date}@x"},
		{Template: list, Corpus: dir},
		{Template: list, Sizes: FixedSize(5)},
	} {
		if _, err := Prepare(spec); err == nil {
			t.Errorf("Prepare(%+v) accepted it", spec)
		}
	}
	d := mustPrepare(t, Spec{Domains: 4, Rcpts: Range{2, 2}})
	domains := map[string]bool{}
	for seq := uint64(1); seq <= 10; seq++ {
		d.Fill(m, seq)
		for i := 1; i <= m.Rcpts; i++ {
			a := string(m.To.Append(nil, m, i))
			domains[a[strings.IndexByte(a, '@'):]] = true
		}
	}
	if len(domains) != 4 {
		t.Errorf("recipients spread over %v", domains)
	}
}

func TestFixedData(t *testing.T) {
	s := mustPrepare(t, Spec{Data: []byte("Subject: {n}\n\n.x"), DataName: "f"})
	_, data, raw := render(t, s, 5)
	if string(data) != "Subject: {n}\r\n\r\n..x\r\n.\r\n" || string(raw) != "Subject: {n}\r\n\r\n.x\r\n" {
		t.Errorf("data %q raw %q", data, raw)
	}
	if _, err := Prepare(Spec{Data: bytes.Repeat([]byte("x"), 1000), DataName: "f"}); err == nil {
		t.Error("a 1000-octet line was accepted")
	}
}

// Building and rendering a message allocates nothing, whatever the content.
func TestFillAllocatesNothing(t *testing.T) {
	dir := t.TempDir()
	tmpl := writeFile(t, dir, "t.eml", "From: <{from}>\nSubject: {n} {rand:8} {uuid}\nDate: {date}\n\nbody\n")
	mbox := writeFile(t, dir, "c.mbox", "From a date\nSubject: a\n\nA\n\nFrom b date\nSubject: b\n\nB\n\n")
	list := writeFile(t, dir, "to.txt", "a@x\nb@x\nc@x\n")
	for name, spec := range map[string]Spec{
		"generated mix": {Sizes: mustSizes(t, "1KiB:60,10KiB-20KiB:40"), Rcpts: Range{1, 3}, Domains: 3},
		"template":      {Template: tmpl, ToFile: list},
		"corpus":        {Corpus: mbox, CorpusOrder: OrderRandom},
	} {
		s := mustPrepare(t, spec)
		m := &session.Message{}
		buf := make([]byte, 0, 64<<10)
		seq := uint64(0)
		allocs := testing.AllocsPerRun(200, func() {
			seq++
			s.Fill(m, seq)
			buf = m.Content.AppendData(buf[:0], m)
			buf = m.Content.AppendRaw(buf[:0], m)
			_ = m.Content.Size(m)
			for i := 1; i <= m.Rcpts; i++ {
				buf = m.To.Append(buf[:0], m, i)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per message, want 0", name, allocs)
		}
	}
}

// BenchmarkMessage is the per-message cost of building a message and
// writing it out in DATA form: run with -benchmem, it must show 0 allocs/op.
func BenchmarkMessage(b *testing.B) {
	dir := b.TempDir()
	tmpl := filepath.Join(dir, "t.eml")
	os.WriteFile(tmpl, []byte("From: <{from}>\nTo: <{to}>\nSubject: {n} {rand:8}\nMessage-ID: <{uuid}@x>\nDate: {date}\n\n"+strings.Repeat("body line\n", 100)), 0o644)
	for _, bc := range []struct {
		name string
		spec Spec
	}{
		{"generated-1KiB", Spec{}},
		{"generated-mix", Spec{Sizes: mustSizes(b, "1KiB:60,10KiB:30,100KiB:10"), Rcpts: Range{1, 5}}},
		{"template", Spec{Template: tmpl}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := mustPrepare(b, bc.spec)
			m := &session.Message{}
			buf := make([]byte, 0, 256<<10)
			b.ReportAllocs()
			var n int64
			for i := 0; b.Loop(); i++ {
				s.Fill(m, uint64(i+1))
				buf = m.Content.AppendData(buf[:0], m)
				for r := 1; r <= m.Rcpts; r++ {
					buf = m.To.Append(buf, m, r)
				}
				n += int64(len(buf))
			}
			b.SetBytes(n / int64(b.N))
		})
	}
}
