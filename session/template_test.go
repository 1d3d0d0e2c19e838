package session

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestContentTemplatePlaceholders(t *testing.T) {
	from, to := MustTemplate("s{n}@a.test"), MustTemplate("r{n}.{r}@b.test")
	m := &Message{Seq: 42, Worker: 3, Conn: 7, Rand: 99, From: from, To: to}
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
	a := &Message{Seq: 1, Rand: 12345}
	b := &Message{Seq: 1, Rand: 12345, Worker: 9}
	c := &Message{Seq: 2, Rand: 54321}
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
			got = append(got, l.Address(&Message{Seq: seq}, i))
		}
	}
	if want := "a@x b@x c@x d@x e@x a@x"; strings.Join(got, " ") != want {
		t.Errorf("recipients %v, want %s", got, want)
	}
	if n := l.Len(&Message{Seq: 3}, 2); n != 3 {
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
		got = append(got, tm.Address(&Message{Seq: seq}, 1))
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
		if want, _ := EncodeData(nil, []byte(tt.in)); string(data) != string(want) || string(data) != tt.data {
			t.Errorf("StuffDots(%q) = %q; EncodeData gives %q, want %q", raw, data, want, tt.data)
		}
		if got := appendUnstuffed(nil, data); string(got) != tt.raw {
			t.Errorf("appendUnstuffed(%q) = %q, want %q", data, got, tt.raw)
		}
		if n := unstuffedLen(data); n != len(tt.raw) {
			t.Errorf("unstuffedLen(%q) = %d, want %d", data, n, len(tt.raw))
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
	got, err := time.Parse("Mon, 02 Jan 2006 15:04:05 -0700", string(tm.Append(nil, &Message{}, 1)))
	if err != nil || time.Since(got) > time.Minute || time.Since(got) < -time.Minute {
		t.Errorf("{date} = %v, %v", got, err)
	}
}
