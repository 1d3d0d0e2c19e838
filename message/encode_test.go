package message

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/smtpbench/smtpbench/session"
)

// encodeData puts content in DATA wire form the way every content of a run
// is prepared: EncodeRaw normalises line ends and checks line lengths,
// StuffDots doubles leading dots (RFC 5321 4.5.2), then the end marker.
// The tests and the fuzzer below hold that production path to the rules.
func encodeData(dst, content []byte) ([]byte, error) {
	raw, err := EncodeRaw(nil, content)
	if err != nil {
		return dst, err
	}
	return append(StuffDots(dst, raw, true), '.', '\r', '\n'), nil
}

func TestEncodeData(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ".\r\n"},
		{"no trailing newline", "a", "a\r\n.\r\n"},
		{"CRLF kept", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"only CRLF", "\r\n", "\r\n.\r\n"},
		{"bare LF", "a\nb\n", "a\r\nb\r\n.\r\n"},
		{"bare LF without trailing newline", "a\nb", "a\r\nb\r\n.\r\n"},
		{"bare CR", "a\rb\r", "a\r\nb\r\n.\r\n"},
		{"CR before CRLF", "a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"},
		{"LF before CR", "a\n\rb", "a\r\n\r\nb\r\n.\r\n"},
		{"blank lines kept", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n.\r\n"},
		{"leading dot", ".hidden\r\n", "..hidden\r\n.\r\n"},
		{"dot at content start without newline", ".", "..\r\n.\r\n"},
		{"line that is only a dot", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
		{"two dots", "..\r\n", "...\r\n.\r\n"},
		{"dot inside a line", "a.b\r\n a.\r\n", "a.b\r\n a.\r\n.\r\n"},
		{"dot after bare LF", "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n"},
		{"smuggling LF.CRLF", "a\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
		{"smuggling CR.CR", "a\r.\rb", "a\r\n..\r\nb\r\n.\r\n"},
		{"ends with a dot line", "a\r\n.", "a\r\n..\r\n.\r\n"},
		{"8-bit and NUL pass through", "caf\xc3\xa9\x00\r\n", "caf\xc3\xa9\x00\r\n.\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeData(nil, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("encodeData(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEncodeDataAppends(t *testing.T) {
	got, err := encodeData([]byte("MAIL\r\n"), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "MAIL\r\nx\r\n.\r\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEncodeDataLineLength(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"998 octets", strings.Repeat("a", 998), false},
		{"998 octets with CRLF", strings.Repeat("a", 998) + "\r\n", false},
		{"999 octets", strings.Repeat("a", 999), true},
		{"999 octets on line 2", "short\r\n" + strings.Repeat("a", 999) + "\r\n", true},
		{"999 octets after bare LF", "short\n" + strings.Repeat("a", 999), true},
		// RFC 5321 4.5.3.1.6: the stuffed dot does not count.
		{"998 octets starting with a dot", "." + strings.Repeat("a", 997), false},
		{"999 octets starting with a dot", "." + strings.Repeat("a", 998), true},
		{"many 998-octet lines", strings.Repeat(strings.Repeat("a", 998)+"\n", 5), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := encodeData(nil, []byte(tt.in))
			if tt.wantErr != (err != nil) {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrLineTooLong) {
				t.Errorf("err = %v, want ErrLineTooLong", err)
			}
		})
	}
}

// normalizeContent is what the receiver must store for in: every line break
// CRLF, and a final CRLF added when missing.
func normalizeContent(in []byte) string {
	s := strings.ReplaceAll(string(in), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// checkEncoded checks the wire form out of encodeData(in) the way a receiver
// would read it (RFC 5321 4.5.2) and returns what is wrong, or "".
func checkEncoded(in, out []byte) string {
	if !bytes.Equal(out, []byte(".\r\n")) && !bytes.HasSuffix(out, []byte("\r\n.\r\n")) {
		return "does not end with CRLF.CRLF"
	}
	for i, c := range out {
		if c == '\n' && (i == 0 || out[i-1] != '\r') {
			return "bare LF"
		}
		if c == '\r' && (i+1 == len(out) || out[i+1] != '\n') {
			return "bare CR"
		}
	}
	body := out[:len(out)-len(".\r\n")]
	for _, bad := range []string{"\n.\n", "\n.\r\n", "\r.\r"} {
		if bytes.Contains(body, []byte(bad)) {
			return "body holds " + strings.ReplaceAll(strings.ReplaceAll(bad, "\r", `\r`), "\n", `\n`)
		}
	}
	// Undo dot-stuffing: every line that starts with '.' must have been
	// stuffed, so it starts with "..", and one dot comes off.
	var unstuffed []byte
	for len(body) > 0 {
		i := bytes.Index(body, []byte("\r\n"))
		line := body[:i]
		body = body[i+2:]
		if len(line) > 0 && line[0] == '.' {
			if len(line) < 2 || line[1] != '.' {
				return "unstuffed line " + string(line)
			}
			line = line[1:]
		}
		unstuffed = append(append(unstuffed, line...), '\r', '\n')
	}
	if got, want := string(unstuffed), normalizeContent(in); got != want {
		return "receiver would store " + strconvQuote(got) + ", want " + strconvQuote(want)
	}
	return ""
}

func strconvQuote(s string) string { return "`" + strings.ReplaceAll(s, "\r\n", `\r\n`) + "`" }

// TestEncodeDataProperties runs checkEncoded over random content built from
// the octets that matter: dots, CR, LF and text.
func TestEncodeDataProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5321, 2920))
	alphabet := []byte(".\r\na ")
	for i := range 20000 {
		in := make([]byte, rng.IntN(40))
		for j := range in {
			in[j] = alphabet[rng.IntN(len(alphabet))]
		}
		out, err := encodeData(nil, in)
		if err != nil {
			t.Fatalf("case %d: encodeData(%q): %v", i, in, err)
		}
		if msg := checkEncoded(in, out); msg != "" {
			t.Fatalf("case %d: encodeData(%q) = %q: %s", i, in, out, msg)
		}
	}
}

func FuzzEncodeRawStuffDots(f *testing.F) {
	for _, s := range []string{
		"", "a", ".", "\r\n", "a\n.\nb", "a\r\n.\r\nb", "a\r.\rb", "..\r\n", "\r\r\n\n",
		"Subject: x\r\n\r\nbody\r\n", strings.Repeat("a", 998), strings.Repeat("a", 999),
		"." + strings.Repeat("a", 998),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := encodeData(nil, in)
		longest := 0
		for _, line := range strings.Split(strings.TrimSuffix(normalizeContent(in), "\r\n"), "\r\n") {
			longest = max(longest, len(line))
		}
		if err != nil {
			if !errors.Is(err, ErrLineTooLong) || longest <= session.MaxTextLine {
				t.Fatalf("encodeData(%q): %v (longest line %d)", in, err, longest)
			}
			return
		}
		if longest > session.MaxTextLine {
			t.Fatalf("encodeData(%q) accepted a line of %d octets", in, longest)
		}
		if msg := checkEncoded(in, out); msg != "" {
			t.Fatalf("encodeData(%q) = %q: %s", in, out, msg)
		}
	})
}

func BenchmarkEncodeData(b *testing.B) {
	var content []byte
	for i := 0; len(content) < 1000; i++ {
		if i%5 == 0 {
			content = append(content, '.')
		}
		content = append(content, "The quick brown fox jumps over the lazy dog, again and again.\r\n"...)
	}
	content = content[:1000]
	dst := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		var err error
		if dst, err = encodeData(dst[:0], content); err != nil {
			b.Fatal(err)
		}
	}
}
