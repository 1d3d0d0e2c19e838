package session

import (
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
