package session

import (
	"bytes"
	"strconv"
	"strings"
)

// The client's tests build their messages here rather than with package
// message, which imports this one: a numbered address and content already in
// DATA wire form are all a transcript test needs.

// numberedAddress renders local{n}[.{r}]@domain: the message number, and the
// recipient's number when perRcpt is set.
type numberedAddress struct {
	local, domain string
	perRcpt       bool
}

func (a numberedAddress) Append(dst []byte, m *Message, i int) []byte {
	dst = strconv.AppendUint(append(dst, a.local...), m.Seq, 10)
	if a.perRcpt {
		dst = strconv.AppendInt(append(dst, '.'), int64(i), 10)
	}
	return append(append(dst, '@'), a.domain...)
}

// wireData is content in DATA wire form (CRLF line ends, dot-stuffed, ending
// in CRLF.CRLF), the same for every message.
type wireData []byte

// toWire puts text with LF or CRLF line ends into DATA wire form.
func toWire(text string) wireData {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var b []byte
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if line[0] == '.' {
			b = append(b, '.')
		}
		b = append(b, strings.TrimSuffix(line, "\n")...)
		b = append(b, '\r', '\n')
	}
	return append(b, '.', '\r', '\n')
}

func (w wireData) AppendData(dst []byte, _ *Message) []byte { return append(dst, w...) }

// AppendRaw undoes the dot-stuffing and drops the end marker, as BDAT
// carries the content.
func (w wireData) AppendRaw(dst []byte, _ *Message) []byte {
	wire := bytes.TrimSuffix(w, []byte(".\r\n"))
	for _, line := range bytes.SplitAfter(wire, []byte("\n")) {
		dst = append(dst, bytes.TrimPrefix(line, []byte("."))...)
	}
	return dst
}

func (w wireData) Size(m *Message) int64 { return int64(len(w.AppendRaw(nil, m))) }
