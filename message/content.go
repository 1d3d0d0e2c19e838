package message

import (
	"bytes"
	"strings"

	"github.com/smtpbench/smtpbench/session"
)

// content is every kind of content this package makes: a sequence of
// pieces, each literal text, a template rendered per message, or a
// generated body of the message's BodySize. It keeps each piece in both
// wire forms, encoded once: DATA form (dot-stuffed) and raw form (for BDAT).
type content struct {
	data, raw []piece
	end       []byte // appended after the DATA form: ".\r\n"
	eightBit  bool
	// name says where the content came from, for errors and the report.
	name string
}

type piece struct {
	lit  []byte
	tmpl *Template
	body *bodyGen // a generated body of m.BodySize octets
}

var _ session.Content = (*content)(nil)

func (c *content) AppendData(dst []byte, m *session.Message) []byte {
	dst = appendPieces(dst, c.data, m)
	return append(dst, c.end...)
}

func (c *content) AppendRaw(dst []byte, m *session.Message) []byte {
	return appendPieces(dst, c.raw, m)
}

func (c *content) Size(m *session.Message) int64 {
	var n int64
	for i := range c.raw {
		p := &c.raw[i]
		switch {
		case p.tmpl != nil:
			n += int64(p.tmpl.Len(m, 1))
		case p.body != nil:
			n += p.body.size(m.BodySize)
		default:
			n += int64(len(p.lit))
		}
	}
	return n
}

// Literal is text sent as it is, the same in every message: line ends
// become CRLF and leading dots are doubled for DATA, once. name says where
// the text came from, in errors.
func Literal(name string, text []byte) (session.Content, error) {
	return literal(name, text)
}

func literal(name string, text []byte) (*content, error) {
	raw, err := EncodeRaw(nil, text)
	if err != nil {
		return nil, err
	}
	b := newBuilder(name)
	b.literal(raw)
	return b.done(), nil
}

func appendPieces(dst []byte, ps []piece, m *session.Message) []byte {
	for i := range ps {
		p := &ps[i]
		switch {
		case p.tmpl != nil:
			dst = p.tmpl.Append(dst, m, 1)
		case p.body != nil:
			dst = p.body.append(dst, m.BodySize)
		default:
			dst = append(dst, p.lit...)
		}
	}
	return dst
}

// builder assembles a content from raw text (CRLF line ends, as
// EncodeRaw makes it), keeping track of line starts so the DATA
// form of each piece is stuffed correctly.
type builder struct {
	c         *content
	lineStart bool
}

func newBuilder(name string) *builder {
	return &builder{c: &content{name: name, end: []byte(".\r\n")}, lineStart: true}
}

func (b *builder) literal(raw []byte) {
	if len(raw) == 0 {
		return
	}
	b.c.raw = append(b.c.raw, piece{lit: raw})
	b.c.data = append(b.c.data, piece{lit: StuffDots(nil, raw, b.lineStart)})
	b.lineStart = raw[len(raw)-1] == '\n'
}

// template adds raw text holding placeholders; where is for errors.
func (b *builder) template(raw string, where origin) error {
	if err := checkTemplateLines(raw, where); err != nil {
		return err
	}
	rt, err := ParseContentTemplate(raw)
	if err != nil {
		return where.fail(err)
	}
	dt, err := ParseContentTemplate(string(StuffDots(nil, []byte(raw), b.lineStart)))
	if err != nil {
		return where.fail(err)
	}
	b.c.raw = append(b.c.raw, piece{tmpl: rt})
	b.c.data = append(b.c.data, piece{tmpl: dt})
	b.lineStart = strings.HasSuffix(raw, "\n")
	return nil
}

// checkTemplateLines makes sure no line can grow past SMTP's limit once
// its placeholders are filled in, and that no line starts with an address
// (which could start with '.', and would then need stuffing per message).
func checkTemplateLines(raw string, where origin) error {
	for i, line := range strings.SplitAfter(raw, "\n") {
		line = strings.TrimRight(line, "\r\n")
		t, err := ParseContentTemplate(line)
		if err != nil {
			return where.line(i + 1).fail(err)
		}
		if n := t.MaxLen(); n > session.MaxTextLine {
			return where.line(i+1).failf("may grow to %d octets with its placeholders filled in, over SMTP's %d (RFC 5321 4.5.3.1.6)",
				n, session.MaxTextLine)
		}
		if strings.HasPrefix(line, "{from}") || strings.HasPrefix(line, "{to}") {
			return where.line(i + 1).failf("a line may not start with {from} or {to}")
		}
	}
	return nil
}

func (b *builder) generatedBody(g *bodyGen) {
	b.c.raw = append(b.c.raw, piece{body: g})
	b.c.data = append(b.c.data, piece{body: g}) // no line of it starts with '.'
	b.lineStart = true
}

func (b *builder) done() *content {
	if !b.lineStart {
		// Only a generated empty body or content without a final line
		// end gets here; EncodeRaw always ends with CRLF otherwise.
		b.literal([]byte("\r\n"))
	}
	high := func(r rune) bool { return r >= 0x80 }
	for _, p := range b.c.raw {
		if bytes.ContainsFunc(p.lit, high) || p.tmpl != nil && strings.ContainsFunc(p.tmpl.String(), high) {
			b.c.eightBit = true
		}
	}
	return b.c
}

// bodyLine fills generated bodies: 77 octets and CRLF, under the 78 that
// RFC 5322 2.1.1 recommends.
const bodyLine = "The quick brown fox jumps over the lazy dog; smtpbench fills bodies with it.\r\n"

// bodyGen writes a body of any size from one prepared block of lines, so a
// size drawn per message costs no encoding and no allocation.
type bodyGen struct {
	block []byte // whole lines, about 64 KiB
	tail  []byte // "xxx…x\r\n", long enough for any last line
}

func newBodyGen() *bodyGen {
	n := (64 << 10) / len(bodyLine)
	return &bodyGen{block: []byte(strings.Repeat(bodyLine, n)), tail: []byte(strings.Repeat("x", 2*len(bodyLine)) + "\r\n")}
}

// layout splits size into whole lines and a last line of rest octets
// (CRLF included). One octet left over cannot be a line of its own, so the
// last whole line gives up its place to a longer one; a body of 1 octet
// still needs CRLF and is 3.
func layout(size int) (full, rest int) {
	full, rest = size/len(bodyLine), size%len(bodyLine)
	if rest == 1 && full > 0 {
		full--
		rest += len(bodyLine)
	}
	return full, rest
}

func (g *bodyGen) size(size int) int64 {
	if size == 1 {
		return 3
	}
	return int64(size)
}

func (g *bodyGen) append(dst []byte, size int) []byte {
	full, rest := layout(size)
	for n := full * len(bodyLine); n > 0; {
		k := min(n, len(g.block))
		dst = append(dst, g.block[:k]...)
		n -= k
	}
	switch {
	case rest >= 2:
		dst = append(dst, g.tail[len(g.tail)-rest:]...)
	case rest == 1:
		dst = append(dst, 'x', '\r', '\n')
	}
	return dst
}
