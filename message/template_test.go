package message

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/session"
)

func TestContentTemplatePlaceholders(t *testing.T) {
	from, to := MustTemplate("s{n}@a.test"), MustTemplate("r{n}.{r}@b.test")
	m := &session.Message{Seq: 42, Worker: 3, Conn: 7, Rand: 99, From: from, To: to}
	tests := []struct {
		tmpl string
		want string // a regular expression for the whole output
	}{
		{"n={n} w={w} c={c}", `n=42 w=3 c=7`},
		{"{rand:5}", `[0-9]{5}`},
		{"{rand:64}", `[0-9]{64}`},
		{"{uuid}", `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`},
		{"Date: {date}", `Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000`},
		{"From: <{from}>, To: <{to}>", `From: <s42@a\.test>, To: <r42\.1@b\.test>`},
		{"{not a placeholder", ``},
		{"{r}", ``},
		{"{n", ``},
	}
	for _, tt := range tests {
		tm, err := ParseContentTemplate(tt.tmpl)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseContentTemplate(%q) accepted it", tt.tmpl)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseContentTemplate(%q): %v", tt.tmpl, err)
			continue
		}
		got := tm.Append(nil, m, 1)
		if !regexp.MustCompile(`^` + tt.want + `$`).Match(got) {
			t.Errorf("%q gave %q, want %s", tt.tmpl, got, tt.want)
		}
		if n := tm.Len(m, 1); n != len(got) {
			t.Errorf("%q: Len %d, Append gave %d octets", tt.tmpl, n, len(got))
		}
		if tm.MaxLen() < len(got) {
			t.Errorf("%q: MaxLen %d below %d", tt.tmpl, tm.MaxLen(), len(got))
		}
	}
}

// Random placeholders depend on the message's seed and their place only:
// the same message renders the same, other messages and other places differ.
func TestRandomPlaceholdersReproducible(t *testing.T) {
	tm, _ := ParseContentTemplate("{rand:20} {uuid} {rand:20}")
	a := &session.Message{Seq: 1, Rand: 12345}
	b := &session.Message{Seq: 1, Rand: 12345, Worker: 9}
	c := &session.Message{Seq: 2, Rand: 54321}
	ga, gb, gc := tm.Append(nil, a, 1), tm.Append(nil, b, 1), tm.Append(nil, c, 1)
	if !bytes.Equal(ga, gb) {
		t.Errorf("same seed rendered differently: %q, %q", ga, gb)
	}
	if bytes.Equal(ga, gc) {
		t.Errorf("different seeds rendered the same: %q", ga)
	}
	f := strings.Fields(string(ga))
	if f[0] == f[2] {
		t.Errorf("two {rand:20} in one template drew the same digits: %q", ga)
	}
	addr := MustTemplate("u{rand:8}.{r}@x")
	if addr.Address(a, 1)[:9] == addr.Address(a, 2)[:9] {
		t.Errorf("two recipients drew the same digits: %q %q", addr.Address(a, 1), addr.Address(a, 2))
	}
}

func TestAddressListInTurn(t *testing.T) {
	l, err := AddressList([]string{"a@x", "b@x", "c@x", "d@x", "e@x"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for seq := uint64(1); seq <= 3; seq++ {
		for i := 1; i <= 2; i++ {
			got = append(got, l.Address(&session.Message{Seq: seq}, i))
		}
	}
	if want := "a@x b@x c@x d@x e@x a@x"; strings.Join(got, " ") != want {
		t.Errorf("recipients %v, want %s", got, want)
	}
	if n := l.Len(&session.Message{Seq: 3}, 2); n != 3 {
		t.Errorf("Len = %d", n)
	}
	for _, bad := range [][]string{nil, {"a@x", "b c@x"}, {"<a@x>"}, {"a@x\r\nQUIT"}} {
		if _, err := AddressList(bad, 1); err == nil {
			t.Errorf("AddressList(%q) accepted it", bad)
		}
	}
}

func TestSpreadDomains(t *testing.T) {
	tm, err := MustTemplate("u{n}.{r}@example.net").SpreadDomains(3, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for seq := uint64(1); seq <= 4; seq++ {
		got = append(got, tm.Address(&session.Message{Seq: seq}, 1))
	}
	want := "u1.1@d1.example.net u2.1@d2.example.net u3.1@d3.example.net u4.1@d1.example.net"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if _, err := MustTemplate("nodomain").SpreadDomains(3, 1); err == nil {
		t.Error("SpreadDomains accepted an address without '@'")
	}
}

func TestEncodeRawAndStuffDots(t *testing.T) {
	tests := []struct{ in, raw, data string }{
		{"", "", ".\r\n"},
		{"a", "a\r\n", "a\r\n.\r\n"},
		{"a\nb\rc\r\n", "a\r\nb\r\nc\r\n", "a\r\nb\r\nc\r\n.\r\n"},
		{".a\n..b\n.\n", ".a\r\n..b\r\n.\r\n", "..a\r\n...b\r\n..\r\n.\r\n"},
		{"x.\n.", "x.\r\n.\r\n", "x.\r\n..\r\n.\r\n"},
	}
	for _, tt := range tests {
		raw, err := EncodeRaw(nil, []byte(tt.in))
		if err != nil || string(raw) != tt.raw {
			t.Errorf("EncodeRaw(%q) = %q, %v; want %q", tt.in, raw, err, tt.raw)
		}
		data := append(StuffDots(nil, raw, true), ".\r\n"...)
		if want, _ := encodeData(nil, []byte(tt.in)); string(data) != string(want) || string(data) != tt.data {
			t.Errorf("StuffDots(%q) = %q; encodeData gives %q, want %q", raw, data, want, tt.data)
		}
	}
	if _, err := EncodeRaw(nil, bytes.Repeat([]byte("x"), 999)); err == nil {
		t.Error("EncodeRaw accepted a 999-octet line")
	}
	if got := StuffDots(nil, []byte(".b\r\n"), false); string(got) != ".b\r\n" {
		t.Errorf("StuffDots mid-line = %q", got)
	}
}

func TestDatePlaceholderIsNow(t *testing.T) {
	tm, _ := ParseContentTemplate("{date}")
	got, err := time.Parse("Mon, 02 Jan 2006 15:04:05 -0700", string(tm.Append(nil, &session.Message{}, 1)))
	if err != nil || time.Since(got) > time.Minute || time.Since(got) < -time.Minute {
		t.Errorf("{date} = %v, %v", got, err)
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		seq     uint64
		rcpt    int
		want    string
		wantErr bool
	}{
		{name: "literal", tmpl: "user@example.com", seq: 7, rcpt: 2, want: "user@example.com"},
		{name: "null sender", tmpl: "", want: ""},
		{name: "sequence", tmpl: "u{n}@example.com", seq: 42, rcpt: 1, want: "u42@example.com"},
		{name: "sequence zero", tmpl: "u{n}@x", seq: 0, want: "u0@x"},
		{name: "sequence max", tmpl: "{n}", seq: 1<<64 - 1, want: "18446744073709551615"},
		{name: "recipient", tmpl: "rcpt{r}@example.com", seq: 1, rcpt: 10, want: "rcpt10@example.com"},
		{name: "both", tmpl: "m{n}.r{r}@example.com", seq: 7, rcpt: 3, want: "m7.r3@example.com"},
		{name: "adjacent and repeated", tmpl: "{n}{r}{n}", seq: 7, rcpt: 3, want: "737"},
		{name: "braces that are not placeholders", tmpl: "a}b@x", want: "a}b@x"},
		{name: "CRLF injection", tmpl: "a@b\r\nRCPT TO:<c@d>", wantErr: true},
		{name: "LF", tmpl: "a\n@b", wantErr: true},
		{name: "CR", tmpl: "a\r@b", wantErr: true},
		{name: "angle brackets", tmpl: "<a@b>", wantErr: true},
		{name: "closing angle bracket", tmpl: "a>b@c", wantErr: true},
		{name: "opening angle bracket", tmpl: "a<b@c", wantErr: true},
		{name: "space", tmpl: "a b@c", wantErr: true},
		{name: "parameter injection", tmpl: "a@b SIZE=1", wantErr: true},
		{name: "unknown placeholder", tmpl: "{x}@b", wantErr: true},
		{name: "worker and connection", tmpl: "w{w}.c{c}@x", want: "w0.c0@x"},
		{name: "tab", tmpl: "a\tb@c", wantErr: true},
		{name: "date is content only", tmpl: "{date}@b", wantErr: true},
		{name: "rand without digits", tmpl: "{rand:}@b", wantErr: true},
		{name: "rand too long", tmpl: "{rand:65}@b", wantErr: true},
		{name: "upper-case placeholder", tmpl: "{N}@b", wantErr: true},
		{name: "empty placeholder", tmpl: "{}@b", wantErr: true},
		{name: "unclosed placeholder", tmpl: "a{n", wantErr: true},
		{name: "lone brace at end", tmpl: "a{", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := ParseTemplate(tt.tmpl)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseTemplate(%q) = %q, want an error", tt.tmpl, tm.Address(&session.Message{Seq: tt.seq}, tt.rcpt))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tt.tmpl, err)
			}
			m := &session.Message{Seq: tt.seq}
			if got := string(tm.Append([]byte("<"), m, tt.rcpt)); got != "<"+tt.want {
				t.Errorf("Append = %q, want %q", got, "<"+tt.want)
			}
			if got := tm.Address(m, tt.rcpt); got != tt.want {
				t.Errorf("Address = %q, want %q", got, tt.want)
			}
			if got := tm.Len(m, tt.rcpt); got != len(tt.want) {
				t.Errorf("Len = %d, want %d", got, len(tt.want))
			}
			if got := tm.String(); got != tt.tmpl {
				t.Errorf("String = %q, want %q", got, tt.tmpl)
			}
		})
	}
}

func TestMustTemplatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustTemplate accepted an address holding CRLF")
		}
	}()
	MustTemplate("a@b\r\nQUIT")
}

func TestAppendAddrAllocs(t *testing.T) {
	tm := MustTemplate("user{n}.{r}@example.com")
	buf := make([]byte, 0, 64)
	m := &session.Message{Seq: 123456}
	allocs := testing.AllocsPerRun(100, func() { buf = tm.Append(buf[:0], m, 7) })
	if allocs != 0 {
		t.Errorf("Append allocates %v times per call, want 0", allocs)
	}
}
