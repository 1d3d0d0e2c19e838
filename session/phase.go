package session

import (
	"bytes"
	"fmt"
	"strings"
)

// Phase names a timed step of a session; one histogram is kept per phase.
type Phase uint8

const (
	PhaseConnect Phase = iota // TCP connect
	PhaseBanner               // connect done → 220 greeting
	PhaseEHLO                 // EHLO (or HELO) → its reply
	PhaseTLS                  // TLS handshake: connected (implicit TLS) or STARTTLS written → handshake done
	PhaseAuth                 // AUTH written → its final reply (235 or a refusal)
	PhaseMail                 // MAIL FROM → reply
	PhaseRcpt                 // each RCPT TO → reply
	PhaseData                 // DATA → 354
	PhaseBDAT                 // each BDAT chunk but the last → its reply (RFC 3030)
	PhaseBody                 // end of content → the reply that accepts or rejects it
	PhaseRset                 // RSET → reply
	PhaseQuit                 // QUIT → 221
	PhaseMessage              // first envelope byte written → the reply that decides the message
	NumPhases
)

var phaseNames = [NumPhases]string{"connect", "banner", "ehlo", "tls", "auth", "mail", "rcpt", "data", "bdat", "body", "rset", "quit", "message"}

func (p Phase) String() string {
	if p < NumPhases {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", p)
}

// ParsePhase maps a phase name back to its Phase.
func ParsePhase(s string) (Phase, error) {
	for i, n := range phaseNames {
		if n == s {
			return Phase(i), nil
		}
	}
	return 0, fmt.Errorf("unknown phase %q (want one of %v)", s, phaseNames)
}

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
