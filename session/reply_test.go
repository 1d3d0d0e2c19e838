package session

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader returns its data in reads of 1, 3, 5, 7, 2, 4, ... octets, so
// that reply boundaries fall everywhere except where a server would put them.
type chunkReader struct {
	data []byte
	n    int
}

var chunkSizes = []int{1, 3, 5, 7, 2, 4, 11, 6}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	size := min(chunkSizes[r.n%len(chunkSizes)], len(p), len(r.data))
	r.n++
	n := copy(p, r.data[:size])
	r.data = r.data[n:]
	return n, nil
}

// readers are the ways one byte stream can arrive; ReadReply must not care.
var readers = []struct {
	name string
	wrap func([]byte) io.Reader
}{
	{"one read", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"one byte per read", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"odd chunks", func(b []byte) io.Reader { return &chunkReader{data: b} }},
	{"half reads", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
}

// wantReply is a Reply with its text as a string, for comparisons.
type wantReply struct {
	Code     int
	Enhanced EnhancedCode
	Text     string
	Lines    int
}

func asWant(r Reply) wantReply {
	return wantReply{Code: r.Code, Enhanced: r.Enhanced, Text: string(r.Text), Lines: r.Lines}
}

func TestReadReply(t *testing.T) {
	longText := strings.Repeat("x", MaxReplyLine-len("250 \r\n"))
	tests := []struct {
		name string
		in   string
		want []wantReply // the replies, in order, before the stream ends
		err  error       // what the read after the last wanted reply returns
	}{
		{name: "single line", in: "250 OK\r\n",
			want: []wantReply{{Code: 250, Text: "OK", Lines: 1}}, err: io.EOF},
		{name: "greeting", in: "220 mx.example.com ESMTP Postfix\r\n",
			want: []wantReply{{Code: 220, Text: "mx.example.com ESMTP Postfix", Lines: 1}}, err: io.EOF},
		{name: "multiline", in: "250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
			want: []wantReply{{Code: 250, Text: "mx.example.com\nPIPELINING\n8BITMIME", Lines: 3}}, err: io.EOF},
		{name: "bare code", in: "250\r\n",
			want: []wantReply{{Code: 250, Lines: 1}}, err: io.EOF},
		{name: "code and space only", in: "250 \r\n",
			want: []wantReply{{Code: 250, Lines: 1}}, err: io.EOF},
		{name: "multiline ending in a bare code", in: "250-first\r\n250\r\n",
			want: []wantReply{{Code: 250, Text: "first\n", Lines: 2}}, err: io.EOF},
		{name: "continuation without text", in: "250-\r\n250 last\r\n",
			want: []wantReply{{Code: 250, Text: "\nlast", Lines: 2}}, err: io.EOF},
		{name: "bare LF endings", in: "250-a\n250 b\n354 go\n",
			want: []wantReply{{Code: 250, Text: "a\nb", Lines: 2}, {Code: 354, Text: "go", Lines: 1}}, err: io.EOF},
		{name: "many replies in one read",
			in: "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go ahead\r\n",
			want: []wantReply{
				{Code: 250, Enhanced: EnhancedCode{2, 1, 0}, Text: "ok", Lines: 1},
				{Code: 250, Enhanced: EnhancedCode{2, 1, 5}, Text: "ok", Lines: 1},
				{Code: 550, Enhanced: EnhancedCode{5, 1, 1}, Text: "no such user", Lines: 1},
				{Code: 354, Text: "go ahead", Lines: 1},
			}, err: io.EOF},
		{name: "next reply with another code is not swallowed", in: "250-a\r\n250 b\r\n550 c\r\n",
			want: []wantReply{{Code: 250, Text: "a\nb", Lines: 2}, {Code: 550, Text: "c", Lines: 1}}, err: io.EOF},
		{name: "line of exactly MaxReplyLine", in: "250 " + longText + "\r\n",
			want: []wantReply{{Code: 250, Text: longText, Lines: 1}}, err: io.EOF},

		// Enhanced status codes (RFC 2034, RFC 3463 2).
		{name: "enhanced 2yz", in: "250 2.1.0 Sender ok\r\n",
			want: []wantReply{{Code: 250, Enhanced: EnhancedCode{2, 1, 0}, Text: "Sender ok", Lines: 1}}, err: io.EOF},
		{name: "enhanced 4yz", in: "451 4.3.0 try later\r\n",
			want: []wantReply{{Code: 451, Enhanced: EnhancedCode{4, 3, 0}, Text: "try later", Lines: 1}}, err: io.EOF},
		{name: "enhanced three-digit parts", in: "550 5.123.456 odd\r\n",
			want: []wantReply{{Code: 550, Enhanced: EnhancedCode{5, 123, 456}, Text: "odd", Lines: 1}}, err: io.EOF},
		{name: "enhanced without text", in: "250 2.0.0\r\n",
			want: []wantReply{{Code: 250, Enhanced: EnhancedCode{2, 0, 0}, Lines: 1}}, err: io.EOF},
		{name: "enhanced on a multiline reply", in: "550-5.7.1 first\r\n550 5.7.1 second\r\n",
			want: []wantReply{{Code: 550, Enhanced: EnhancedCode{5, 7, 1}, Text: "first\n5.7.1 second", Lines: 2}}, err: io.EOF},
		{name: "enhanced class disagrees with code", in: "550 2.1.1 mismatch\r\n",
			want: []wantReply{{Code: 550, Text: "2.1.1 mismatch", Lines: 1}}, err: io.EOF},
		{name: "enhanced on 354 ignored", in: "354 3.0.0 go ahead\r\n",
			want: []wantReply{{Code: 354, Text: "3.0.0 go ahead", Lines: 1}}, err: io.EOF},
		{name: "enhanced glued to text", in: "250 2.0.0ok\r\n",
			want: []wantReply{{Code: 250, Text: "2.0.0ok", Lines: 1}}, err: io.EOF},
		{name: "enhanced part too long", in: "250 2.1000.0 x\r\n",
			want: []wantReply{{Code: 250, Text: "2.1000.0 x", Lines: 1}}, err: io.EOF},
		{name: "enhanced with two parts", in: "250 2.1 x\r\n",
			want: []wantReply{{Code: 250, Text: "2.1 x", Lines: 1}}, err: io.EOF},
		{name: "version number is not an enhanced code", in: "250 12.0.1 x\r\n",
			want: []wantReply{{Code: 250, Text: "12.0.1 x", Lines: 1}}, err: io.EOF},

		// Errors.
		{name: "empty stream", in: "", err: io.EOF},
		{name: "line longer than MaxReplyLine", in: "250 " + longText + "y\r\n", err: ErrMalformedReply},
		{name: "line longer than the buffer", in: "250 " + strings.Repeat("x", 3*readBufferSize) + "\r\n", err: ErrMalformedReply},
		{name: "codes disagree", in: "250-a\r\n251 b\r\n", err: ErrMalformedReply},
		{name: "codes disagree after good reply", in: "220 hi\r\n250-a\r\n550 b\r\n",
			want: []wantReply{{Code: 220, Text: "hi", Lines: 1}}, err: ErrMalformedReply},
		{name: "first digit 1", in: "199 x\r\n", err: ErrMalformedReply},
		{name: "first digit 0", in: "000\r\n", err: ErrMalformedReply},
		{name: "first digit 6", in: "600 x\r\n", err: ErrMalformedReply},
		{name: "first digit 9", in: "999 x\r\n", err: ErrMalformedReply},
		{name: "missing space before text", in: "250OK\r\n", err: ErrMalformedReply},
		{name: "wrong separator", in: "250_OK\r\n", err: ErrMalformedReply},
		{name: "letters", in: "hello\r\n", err: ErrMalformedReply},
		{name: "letter in code", in: "2O0 ok\r\n", err: ErrMalformedReply},
		{name: "short code", in: "25\r\n", err: ErrMalformedReply},
		{name: "empty line", in: "\r\n", err: ErrMalformedReply},
		{name: "HTTP", in: "HTTP/1.1 400 Bad Request\r\n", err: ErrMalformedReply},
		{name: "bare CR inside text", in: "250 a\rb\r\n", err: ErrMalformedReply},
		{name: "doubled CR ending", in: "250 ok\r\r\n", err: ErrMalformedReply},
		{name: "EOF after continuation", in: "250-a\r\n250-b\r\n", err: io.ErrUnexpectedEOF},
		{name: "EOF inside a line", in: "250 o", err: io.ErrUnexpectedEOF},
		{name: "EOF inside the code", in: "25", err: io.ErrUnexpectedEOF},
		{name: "EOF mid second reply", in: "250 ok\r\n354-go", want: []wantReply{{Code: 250, Text: "ok", Lines: 1}},
			err: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				rr := NewReplyReader(rd.wrap([]byte(tt.in)))
				for i, want := range tt.want {
					r, err := rr.ReadReply()
					if err != nil {
						t.Fatalf("reply %d: %v", i, err)
					}
					if got := asWant(r); got != want {
						t.Fatalf("reply %d:\n got %+v\nwant %+v", i, got, want)
					}
				}
				_, err := rr.ReadReply()
				if !errors.Is(err, tt.err) {
					t.Fatalf("after %d replies: err = %v, want %v", len(tt.want), err, tt.err)
				}
			})
		}
	}
}

// TestReadReplyClone checks that a cloned reply survives the next read, which
// reuses the reader's buffer.
func TestReadReplyClone(t *testing.T) {
	rr := NewReplyReader(strings.NewReader("250 first\r\n250 second\r\n"))
	r1, err := rr.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	kept := r1.Clone()
	if _, err := rr.ReadReply(); err != nil {
		t.Fatal(err)
	}
	if string(kept.Text) != "first" {
		t.Errorf("cloned text = %q after the next read, want %q", kept.Text, "first")
	}
}

func TestReplyPositive(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{{220, true}, {250, true}, {354, true}, {421, false}, {452, false}, {550, false}}
	for _, tt := range tests {
		if got := (Reply{Code: tt.code}).Positive(); got != tt.want {
			t.Errorf("Reply{Code: %d}.Positive() = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestEnhancedCodeString(t *testing.T) {
	tests := []struct {
		e    EnhancedCode
		want string
	}{{EnhancedCode{}, ""}, {EnhancedCode{2, 1, 0}, "2.1.0"}, {EnhancedCode{5, 7, 26}, "5.7.26"}}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 OK\r\n",
		"220 mx.example.com ESMTP\r\n",
		"250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
		"250\r\n",
		"250-\r\n250\n",
		"250 2.1.0 ok\r\n550 5.1.1 no\r\n354 go\r\n",
		"550-5.7.1 a\r\n550 5.7.1 b\r\n",
		"250-a\r\n251 b\r\n",
		"199 x\r\n600 y\r\n",
		"hello\r\n",
		"\r\n\r\n",
		"250 a\rb\r\n",
		"250 ok\r\r\n",
		"2",
		"250-",
		"250 " + strings.Repeat("x", MaxReplyLine) + "\r\n",
		"250-" + strings.Repeat("y", 5000) + "\r\n250 z\r\n",
		"250 \x00\xff\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rr := NewReplyReader(bytes.NewReader(in))
		for range len(in) + 1 {
			r, err := rr.ReadReply()
			if err != nil {
				return
			}
			if r.Code < 200 || r.Code > 599 {
				t.Fatalf("code %d out of range from %q", r.Code, in)
			}
			if r.Lines < 1 {
				t.Fatalf("Lines = %d from %q", r.Lines, in)
			}
			if bytes.IndexByte(r.Text, '\r') >= 0 {
				t.Fatalf("text %q holds a CR, from %q", r.Text, in)
			}
			if !r.Enhanced.IsZero() && r.Enhanced.Class != r.Code/100 {
				t.Fatalf("enhanced code %s on a %d reply, from %q", r.Enhanced, r.Code, in)
			}
		}
		t.Fatalf("more replies than input octets from %q", in)
	})
}

// repeatReader returns the same bytes forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func BenchmarkReadReply(b *testing.B) {
	rr := NewReplyReader(&repeatReader{data: []byte("250 2.0.0 Ok: queued as 4Xyz123\r\n")})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rr.ReadReply(); err != nil {
			b.Fatal(err)
		}
	}
}
