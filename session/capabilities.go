package session

import (
	"bytes"
	"strings"
)

// Capabilities are the EHLO keywords a session acts on (RFC 5321 4.1.1.1).
type Capabilities struct {
	ESMTP               bool // EHLO succeeded; false after a HELO fallback
	Pipelining          bool // RFC 2920
	Size                bool // RFC 1870
	MaxSize             int64
	EightBitMIME        bool // RFC 6152
	EnhancedStatusCodes bool // RFC 2034
	Chunking            bool // RFC 3030
	BinaryMIME          bool // RFC 3030 3
	StartTLS            bool // RFC 3207
	SMTPUTF8            bool // RFC 6531
	DSN                 bool // RFC 3461
	Auth                []string
}

// parseEHLO reads the keywords from an EHLO reply's text (first line is the
// server's greeting; keywords are case-insensitive).
func parseEHLO(text []byte) Capabilities {
	caps := Capabilities{ESMTP: true}
	first := true
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		if first {
			first = false
			continue
		}
		kw, params := splitKeyword(line)
		switch strings.ToUpper(string(kw)) {
		case "PIPELINING":
			caps.Pipelining = true
		case "SIZE":
			caps.Size = true
			var n int64
			for _, c := range params {
				if c < '0' || c > '9' {
					break
				}
				n = n*10 + int64(c-'0')
			}
			caps.MaxSize = n
		case "8BITMIME":
			caps.EightBitMIME = true
		case "ENHANCEDSTATUSCODES":
			caps.EnhancedStatusCodes = true
		case "CHUNKING":
			caps.Chunking = true
		case "BINARYMIME":
			caps.BinaryMIME = true
		case "STARTTLS":
			caps.StartTLS = true
		case "SMTPUTF8":
			caps.SMTPUTF8 = true
		case "DSN":
			caps.DSN = true
		case "AUTH":
			for _, m := range strings.Fields(string(params)) {
				caps.Auth = append(caps.Auth, strings.ToUpper(m))
			}
		}
	}
	return caps
}

func splitKeyword(line []byte) (kw, params []byte) {
	for i, c := range line {
		if c == ' ' || c == '=' {
			return line[:i], line[i+1:]
		}
	}
	return line, nil
}
