package message

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/smtpbench/smtpbench/session"
)

// ErrLineTooLong is returned by EncodeRaw for content that SMTP cannot carry
// without rewrapping, which would change what the user asked us to send.
var ErrLineTooLong = errors.New("content line longer than 998 octets (RFC 5321 4.5.3.1.6)")

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// EncodeRaw appends content to dst as BDAT carries it (RFC 3030 2): every
// bare CR or LF becomes CRLF and the result ends with CRLF, but nothing is
// dot-stuffed and no end marker is added. Lines longer than 998 octets are
// refused: SMTP cannot carry them without rewrapping.
func EncodeRaw(dst, content []byte) ([]byte, error) {
	lineLen := 0
	for i := 0; i < len(content); i++ {
		c := content[i]
		switch c {
		case '\r':
			if i+1 < len(content) && content[i+1] == '\n' {
				i++
			}
			fallthrough
		case '\n':
			dst = append(dst, '\r', '\n')
			lineLen = 0
			continue
		}
		lineLen++
		if lineLen > session.MaxTextLine {
			return dst, fmt.Errorf("%w: line %d", ErrLineTooLong, countLines(content[:i])+1)
		}
		dst = append(dst, c)
	}
	if lineLen > 0 {
		dst = append(dst, '\r', '\n')
	}
	return dst, nil
}

// StuffDots appends raw content (CRLF line ends, as EncodeRaw makes it)
// with every line that starts with '.' given a second one (RFC 5321
// 4.5.2). lineStart says whether raw begins at the start of a line. It adds
// no end marker, so pieces of one content can be stuffed apart.
func StuffDots(dst, raw []byte, lineStart bool) []byte {
	for len(raw) > 0 {
		if lineStart && raw[0] == '.' {
			dst = append(dst, '.')
		}
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i+1]...)
		raw = raw[i+1:]
		lineStart = true
	}
	return dst
}
