package session

import (
	"fmt"
	"strconv"
	"strings"
)

// Template is an address with optional placeholders: {n} is replaced by the
// message sequence number and {r} by the recipient's index within the message
// (1-based). Parsing once up front lets the hot path append addresses straight
// into the write buffer without building strings.
type Template struct {
	raw   string
	parts []templatePart
}

type templatePart struct {
	lit string
	arg byte // 0 literal, 'n' sequence, 'r' recipient index
}

// ParseTemplate checks an address template. CR and LF are refused because
// they would inject commands (golang/go#21159); so are '<' and '>', which
// would break the path syntax of RFC 5321 4.1.2.
func ParseTemplate(s string) (*Template, error) {
	if err := checkArg("address", s); err != nil {
		return nil, err
	}
	if strings.ContainsAny(s, "<> ") {
		return nil, fmt.Errorf("address %q must not contain '<', '>' or spaces", s)
	}
	t := &Template{raw: s}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.parts = append(t.parts, templatePart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{lit: rest[:i]})
		}
		switch {
		case strings.HasPrefix(rest[i:], "{n}"):
			t.parts = append(t.parts, templatePart{arg: 'n'})
		case strings.HasPrefix(rest[i:], "{r}"):
			t.parts = append(t.parts, templatePart{arg: 'r'})
		default:
			return nil, fmt.Errorf("address %q: unknown placeholder at %q (use {n} or {r})", s, rest[i:])
		}
		rest = rest[i+3:]
	}
	return t, nil
}

// MustTemplate is ParseTemplate for addresses known to be valid.
func MustTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

func (t *Template) String() string { return t.raw }

// AppendAddr appends the address for message seq, recipient rcpt.
func (t *Template) AppendAddr(dst []byte, seq uint64, rcpt int) []byte {
	for _, p := range t.parts {
		switch p.arg {
		case 'n':
			dst = strconv.AppendUint(dst, seq, 10)
		case 'r':
			dst = strconv.AppendInt(dst, int64(rcpt), 10)
		default:
			dst = append(dst, p.lit...)
		}
	}
	return dst
}

// Address returns the address for message seq, recipient rcpt as a string.
func (t *Template) Address(seq uint64, rcpt int) string {
	return string(t.AppendAddr(nil, seq, rcpt))
}

// Message is one transaction to send. Data is already in wire form (see
// EncodeData) so that content shared by every message is encoded once.
type Message struct {
	Seq   uint64
	From  *Template
	To    *Template
	Rcpts int // number of RCPT TO commands, at least 1
	Data  []byte
	// SeqAt, when positive, is the offset in Data of SeqDigits digits that
	// are replaced by Seq, zero-padded, as the content is written: a unique
	// Message-ID per message without encoding the content again.
	SeqAt int
	// EightBit says Data has octets above 127; MAIL then declares
	// BODY=8BITMIME where the server offers it (RFC 6152).
	EightBit bool
}

// SeqDigits is the width of the sequence number written at Message.SeqAt.
const SeqDigits = 20

// Outcome is how a message ended, for the invariant
// attempted = ok + rejected + failed.
type Outcome uint8

const (
	OutcomeOK       Outcome = iota // the server accepted the content
	OutcomeRejected                // the server said no with a 4yz/5yz reply
	OutcomeFailed                  // no decision: timeout, I/O error, protocol error, 421
)

func (o Outcome) String() string {
	return [...]string{"ok", "rejected", "failed"}[o]
}
