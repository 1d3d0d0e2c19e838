package message

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smtpbench/smtpbench/session"
)

// Template is text with placeholders that differ from message to message:
// an envelope address (Spec.From, Spec.To) or a line of content headers. It is
// parsed once, so the hot path appends each message's text straight into
// the write buffer without building strings. Placeholders:
//
//	{n}       the message number (from 1)
//	{w}       the worker (session slot) that sends it, from 1
//	{c}       the connection that carries it, from 1 in the order dialed
//	{r}       the recipient's number within the message, from 1 (addresses only)
//	{rand:N}  N random digits (1 to 64), drawn from the message's seed
//	{uuid}    a random (version 4) UUID, drawn from the message's seed
//	{date}    the time the content is written, RFC 5322 3.3 (content only)
//	{from}    the message's envelope sender (content only)
//	{to}      the message's first recipient (content only)
//
// Random values depend only on Message.Rand and the placeholder's place, so
// a message is the same whichever session sends it.
type Template struct {
	raw   string
	parts []templatePart
	// lines, when set, replaces the address with one line of a list,
	// taken in turn (see AddressList).
	lines []string
	// stride is how many list entries or domains a message advances by:
	// the mean recipient count, so that message n's recipients follow
	// message n-1's (see AddressList and SpreadDomains).
	stride  float64
	domains int
}

type templatePart struct {
	lit  string
	kind byte // 0 literal, or the placeholder: n w c r d R(and) u(uid) D(ate) f(rom) t(o)
	n    int  // digits of {rand:N}
}

const (
	maxRandDigits = 64
	dateLen       = len("Mon, 02 Jan 2006 15:04:05 -0700")
	uuidLen       = 36
)

// ParseTemplate checks an address template with session.CheckAddress, the
// client's own rule for what may go between angle brackets.
func ParseTemplate(s string) (*Template, error) {
	if err := session.CheckAddress(s); err != nil {
		return nil, err
	}
	t, err := parseTemplate(s, "nwcrRu")
	if err != nil {
		return nil, fmt.Errorf("address %q: %v", s, err)
	}
	return t, nil
}

// ParseSenderTemplate is ParseTemplate for the envelope sender. {r}, the
// recipient's number, is refused: one MAIL FROM serves every recipient of
// the message, so it has no recipient number to fill in.
func ParseSenderTemplate(s string) (*Template, error) {
	t, err := ParseTemplate(s)
	if err != nil {
		return nil, err
	}
	for _, p := range t.parts {
		if p.kind == 'r' {
			return nil, fmt.Errorf("address %q: {r} is the recipient's number, for recipient addresses only (one sender serves every recipient)", s)
		}
	}
	return t, nil
}

// ParseContentTemplate parses one piece of content (a header section, say)
// with placeholders. {r} is refused: content is the same for every
// recipient. The text is taken as it is; encode it for the wire first.
func ParseContentTemplate(s string) (*Template, error) {
	return parseTemplate(s, "nwcRuDft")
}

// MustTemplate is ParseTemplate for addresses known to be valid.
func MustTemplate(s string) *Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

var placeholders = map[string]byte{"n": 'n', "w": 'w', "c": 'c', "r": 'r', "uuid": 'u', "date": 'D', "from": 'f', "to": 't'}

func parseTemplate(s, allowed string) (*Template, error) {
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
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed placeholder at %q", rest[i:])
		}
		name := rest[i+1 : i+end]
		p := templatePart{kind: placeholders[name]}
		if digits, ok := strings.CutPrefix(name, "rand:"); ok {
			n, err := strconv.Atoi(digits)
			if err != nil || n < 1 || n > maxRandDigits {
				return nil, fmt.Errorf("placeholder {%s}: want {rand:N} with N from 1 to %d", name, maxRandDigits)
			}
			p = templatePart{kind: 'R', n: n}
		}
		if p.kind == 0 || !strings.ContainsRune(allowed, rune(p.kind)) {
			return nil, fmt.Errorf("unknown placeholder {%s} here (use %s)", name, allowedNames(allowed))
		}
		t.parts = append(t.parts, p)
		rest = rest[i+end+1:]
	}
	return t, nil
}

func allowedNames(allowed string) string {
	var names []string
	for _, k := range allowed {
		switch k {
		case 'R':
			names = append(names, "{rand:N}")
		default:
			for name, kind := range placeholders {
				if rune(kind) == k {
					names = append(names, "{"+name+"}")
				}
			}
		}
	}
	return strings.Join(names, " ")
}

// AddressList is a recipient "template" that takes the addresses of a list
// in turn: message n's recipients start at entry ⌊(n−1)·perMessage⌋, so with
// perMessage set to the mean recipient count the list is used evenly and a
// message's addresses depend on its number alone.
func AddressList(lines []string, perMessage float64) (*Template, error) {
	if len(lines) == 0 {
		return nil, fmt.Errorf("empty address list")
	}
	for i, l := range lines {
		if err := session.CheckAddress(l); err != nil {
			return nil, fmt.Errorf("entry %d: %v", i+1, err)
		}
		if l == "" || strings.ContainsAny(l, "<> \t") {
			return nil, fmt.Errorf("entry %d %q: want an address without '<', '>' or spaces", i+1, l)
		}
	}
	return &Template{raw: fmt.Sprintf("(%d addresses)", len(lines)), lines: lines, stride: perMessage}, nil
}

// SpreadDomains returns a copy of an address template whose domain gets a
// number from 1 to n in front (user@d3.example.net), recipients taking the
// domains in turn like AddressList, so a server sees n destinations.
func (t *Template) SpreadDomains(n int, perMessage float64) (*Template, error) {
	if t.lines != nil {
		return nil, fmt.Errorf("an address list keeps its own domains")
	}
	at := -1
	for i, p := range t.parts {
		if p.kind == 0 && strings.Contains(p.lit, "@") {
			at = i
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("address %q has no '@' before its domain", t.raw)
	}
	c := &Template{raw: t.raw, domains: n, stride: perMessage}
	c.parts = append(c.parts, t.parts[:at]...)
	j := strings.LastIndexByte(t.parts[at].lit, '@')
	c.parts = append(c.parts, templatePart{lit: t.parts[at].lit[:j+1] + "d"}, templatePart{kind: 'd'},
		templatePart{lit: "." + t.parts[at].lit[j+1:]})
	c.parts = append(c.parts, t.parts[at+1:]...)
	return c, nil
}

// NonASCII reports whether any address the template gives holds octets
// above 127: an internationalised address (RFC 6531).
func (t *Template) NonASCII() bool {
	for _, s := range append([]string{t.raw}, t.lines...) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return true
			}
		}
	}
	return false
}

func (t *Template) String() string { return t.raw }

// Varies reports whether every message gets its own text: it holds {n} or
// {uuid}.
func (t *Template) Varies() bool {
	for _, p := range t.parts {
		if p.kind == 'n' || p.kind == 'u' {
			return true
		}
	}
	return false
}

// turn is the position, in a list taken in turn, of recipient i of m.
func (t *Template) turn(m *session.Message, i int) uint64 {
	return uint64(float64(m.Seq-min(m.Seq, 1))*t.stride) + uint64(i-1)
}

// Append appends the text for message m and, in an address, recipient i
// (from 1; the sender is 1).
func (t *Template) Append(dst []byte, m *session.Message, i int) []byte {
	if t.lines != nil {
		return append(dst, t.lines[t.turn(m, i)%uint64(len(t.lines))]...)
	}
	for k := range t.parts {
		p := &t.parts[k]
		switch p.kind {
		case 0:
			dst = append(dst, p.lit...)
		case 'n':
			dst = strconv.AppendUint(dst, m.Seq, 10)
		case 'w':
			dst = strconv.AppendUint(dst, m.Worker, 10)
		case 'c':
			dst = strconv.AppendUint(dst, m.Conn, 10)
		case 'r':
			dst = strconv.AppendInt(dst, int64(i), 10)
		case 'd':
			dst = strconv.AppendUint(dst, t.turn(m, i)%uint64(t.domains)+1, 10)
		case 'R':
			s := randState(m, k, i)
			for range p.n {
				dst = append(dst, byte('0'+splitmix(&s)%10))
			}
		case 'u':
			s := randState(m, k, i)
			dst = appendUUID(dst, splitmix(&s), splitmix(&s))
		case 'D':
			dst = time.Now().UTC().AppendFormat(dst, "Mon, 02 Jan 2006 15:04:05 -0700")
		case 'f':
			dst = m.From.Append(dst, m, 1)
		case 't':
			dst = m.To.Append(dst, m, 1)
		}
	}
	return dst
}

// Len is the length of what Append appends, computed without building it.
func (t *Template) Len(m *session.Message, i int) int {
	if t.lines != nil {
		return len(t.lines[t.turn(m, i)%uint64(len(t.lines))])
	}
	n := 0
	for _, p := range t.parts {
		switch p.kind {
		case 0:
			n += len(p.lit)
		case 'n':
			n += digits(m.Seq)
		case 'w':
			n += digits(m.Worker)
		case 'c':
			n += digits(m.Conn)
		case 'r':
			n += digits(uint64(i))
		case 'd':
			n += digits(t.turn(m, i)%uint64(t.domains) + 1)
		case 'R':
			n += p.n
		case 'u':
			n += uuidLen
		case 'D':
			n += dateLen
		case 'f':
			n += addressLen(m.From, m)
		case 't':
			n += addressLen(m.To, m)
		}
	}
	return n
}

// addressLen is the length of a's first address in m. Every address this
// package builds knows its length without rendering it; another
// implementation of session.Address is rendered once to find out.
func addressLen(a session.Address, m *session.Message) int {
	if l, ok := a.(interface {
		Len(m *session.Message, i int) int
	}); ok {
		return l.Len(m, 1)
	}
	return len(a.Append(nil, m, 1))
}

// MaxLen bounds Len for any message, counting an address as session.MaxAddressLen.
func (t *Template) MaxLen() int {
	if t.lines != nil {
		n := 0
		for _, l := range t.lines {
			n = max(n, len(l))
		}
		return n
	}
	n := 0
	for _, p := range t.parts {
		switch p.kind {
		case 0:
			n += len(p.lit)
		case 'n', 'w', 'c', 'r', 'd':
			n += 20
		case 'R':
			n += p.n
		case 'u':
			n += uuidLen
		case 'D':
			n += dateLen
		case 'f', 't':
			n += session.MaxAddressLen
		}
	}
	return n
}

// Address returns the address for message m, recipient i, as a string.
func (t *Template) Address(m *session.Message, i int) string {
	return string(t.Append(nil, m, i))
}

func digits(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// randState seeds the random stream of placeholder k for recipient i of m:
// a function of the message's seed alone, so it does not matter which
// session builds the message or in what order.
func randState(m *session.Message, k, i int) uint64 {
	s := m.Rand ^ (uint64(k)+1)*0xbf58476d1ce4e5b9 ^ uint64(i)*0x94d049bb133111eb
	splitmix(&s)
	return s
}

// splitmix advances a SplitMix64 generator (Steele, Lea and Flood 2014): a
// few arithmetic operations per value and good enough statistics for
// choosing test data.
func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

const hexDigits = "0123456789abcdef"

// appendUUID formats 128 random bits as a version 4 UUID (RFC 9562 5.4).
func appendUUID(dst []byte, hi, lo uint64) []byte {
	hi = hi&^(0xf<<12) | 0x4<<12       // version 4
	lo = lo&^(0x3<<62) | uint64(2)<<62 // variant 10
	for i := 15; i >= 0; i-- {
		if i == 7 || i == 3 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[hi>>(uint(i)*4)&0xf])
	}
	for i := 15; i >= 0; i-- {
		if i == 15 || i == 11 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[lo>>(uint(i)*4)&0xf])
	}
	return dst
}
