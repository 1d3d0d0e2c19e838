package session

import (
	"fmt"
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
