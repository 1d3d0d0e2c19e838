package session

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// MaxTextLine is the longest content line SMTP allows, CRLF excluded
// (RFC 5321 4.5.3.1.6: 1000 octets including CRLF).
const MaxTextLine = 998

// ErrLineTooLong is returned by EncodeData for content that SMTP cannot carry
// without rewrapping, which would change what the user asked us to send.
var ErrLineTooLong = errors.New("content line longer than 998 octets (RFC 5321 4.5.3.1.6)")

// EncodeData appends content to dst in DATA wire form: every bare CR or LF
// becomes CRLF, lines starting with '.' are dot-stuffed (RFC 5321 4.5.2) and the
// result ends with exactly CRLF.CRLF, adding the first CRLF only when the
// content does not already end with one. Normalising lone CR and LF matters:
// forwarding them is what made the 2023 SMTP smuggling attacks possible.
func EncodeData(dst, content []byte) ([]byte, error) {
	lineStart := true
	lineLen := 0
	for i := 0; i < len(content); i++ {
		c := content[i]
		switch c {
		case '\r':
			if i+1 < len(content) && content[i+1] == '\n' {
				i++
			}
			dst = append(dst, '\r', '\n')
			lineStart, lineLen = true, 0
			continue
		case '\n':
			dst = append(dst, '\r', '\n')
			lineStart, lineLen = true, 0
			continue
		}
		if lineStart && c == '.' {
			dst = append(dst, '.')
		}
		lineStart = false
		lineLen++
		if lineLen > MaxTextLine {
			return dst, fmt.Errorf("%w: line %d", ErrLineTooLong, countLines(content[:i])+1)
		}
		dst = append(dst, c)
	}
	if !lineStart {
		dst = append(dst, '\r', '\n')
	}
	return append(dst, '.', '\r', '\n'), nil
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// checkArg rejects CR and LF in anything we put on a command line: an address
// holding "\r\nRCPT TO:<x>" would inject commands (golang/go#21159).
func checkArg(what, s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("%s %q contains CR or LF", what, s)
	}
	return nil
}

// EncodeRaw appends content to dst as BDAT carries it (RFC 3030 2): every
// bare CR or LF becomes CRLF and the result ends with CRLF, but nothing is
// dot-stuffed and no end marker is added. Lines longer than 998 octets are
// refused as in EncodeData.
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
		if lineLen > MaxTextLine {
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

// appendUnstuffed appends content in DATA wire form (EncodeData's output)
// as BDAT carries it: dot-stuffing undone, the final "." line dropped.
func appendUnstuffed(dst, wire []byte) []byte {
	wire = bytes.TrimSuffix(wire, []byte(".\r\n"))
	lineStart := true
	for len(wire) > 0 {
		if lineStart && wire[0] == '.' {
			wire = wire[1:]
		}
		i := bytes.IndexByte(wire, '\n')
		if i < 0 {
			return append(dst, wire...)
		}
		dst = append(dst, wire[:i+1]...)
		wire = wire[i+1:]
		lineStart = true
	}
	return dst
}

// unstuffedLen is the length of appendUnstuffed's output.
func unstuffedLen(wire []byte) int {
	wire = bytes.TrimSuffix(wire, []byte(".\r\n"))
	n := len(wire)
	if len(wire) > 0 && wire[0] == '.' {
		n--
	}
	for i := bytes.Index(wire, []byte("\n.")); i >= 0; {
		n--
		j := bytes.Index(wire[i+2:], []byte("\n."))
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return n
}
