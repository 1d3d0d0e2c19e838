package session

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxReplyLine caps one reply line, CRLF included. RFC 5321 4.5.3.1.5 allows
// 512 octets; real servers send longer text, so we accept up to the cap go-smtp
// uses and call anything longer a protocol error rather than buffer it.
const MaxReplyLine = 2000

// MaxReplySize caps a whole multiline reply: a server that never ends one
// must not make us buffer without limit. An EHLO reply is a few hundred octets.
const MaxReplySize = 64 << 10

// readBufferSize must hold a whole line of MaxReplyLine, because ReadSlice only
// returns complete lines that fit in the buffer.
const readBufferSize = 4096

// EnhancedCode is an RFC 3463 status code class.subject.detail; the zero value
// means the reply carried none.
type EnhancedCode struct {
	Class, Subject, Detail int
}

// IsZero reports whether no enhanced code was present.
func (e EnhancedCode) IsZero() bool { return e.Class == 0 }

func (e EnhancedCode) String() string {
	if e.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e.Class, e.Subject, e.Detail)
}

// Reply is one complete (possibly multiline) server reply. Text and Lines alias
// the reader's buffer and are valid only until the next ReadReply; call Clone
// to keep them.
type Reply struct {
	Code     int
	Enhanced EnhancedCode
	// Text holds the text of every line, without codes, joined by '\n'.
	Text []byte
	// Lines is how many lines the reply had.
	Lines int
}

// Clone returns a copy of r that does not alias the reader's buffer.
func (r Reply) Clone() Reply {
	r.Text = bytes.Clone(r.Text)
	return r
}

// Positive reports a 2yz or 3yz reply (RFC 5321 4.2.1).
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// ErrMalformedReply is wrapped by every reply-syntax error.
var ErrMalformedReply = errors.New("malformed reply")

// ReplyReader parses SMTP replies from a byte stream. It is our own rather than
// textproto.Reader.ReadResponse because that one treats a following line with a
// different code as text and so can swallow the next pipelined reply.
type ReplyReader struct {
	br   *bufio.Reader
	text []byte // reused across replies so the steady state does not allocate
}

// NewReplyReader returns a reader over r.
func NewReplyReader(r io.Reader) *ReplyReader {
	return &ReplyReader{br: bufio.NewReaderSize(r, readBufferSize), text: make([]byte, 0, 256)}
}

// Buffered reports how many unread bytes the reader holds; a non-zero count
// where none is expected (after a STARTTLS 220, before the greeting) means the
// peer sent unasked data.
func (rr *ReplyReader) Buffered() int { return rr.br.Buffered() }

// fill waits for at least one unread byte, reading more only when none is
// buffered; it returns the read error otherwise.
func (rr *ReplyReader) fill() error {
	_, err := rr.br.Peek(1)
	return err
}

// ReadReply reads one complete reply. It reads line by line, so a read that
// holds half a reply or several replies is handled the same as one that holds
// exactly one.
func (rr *ReplyReader) ReadReply() (Reply, error) {
	rr.text = rr.text[:0]
	var rep Reply
	for {
		line, err := rr.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return Reply{}, fmt.Errorf("%w: line longer than %d octets", ErrMalformedReply, MaxReplyLine)
			}
			if errors.Is(err, io.EOF) && (len(line) > 0 || rep.Lines > 0) {
				err = io.ErrUnexpectedEOF
			}
			return Reply{}, err
		}
		if len(line) > MaxReplyLine {
			return Reply{}, fmt.Errorf("%w: line longer than %d octets", ErrMalformedReply, MaxReplyLine)
		}
		code, more, text, err := parseReplyLine(line)
		if err != nil {
			return Reply{}, err
		}
		if rep.Lines == 0 {
			rep.Code = code
		} else {
			if code != rep.Code {
				return Reply{}, fmt.Errorf("%w: line with code %d inside a %d reply", ErrMalformedReply, code, rep.Code)
			}
			rr.text = append(rr.text, '\n')
		}
		rep.Lines++
		rr.text = append(rr.text, text...)
		if len(rr.text) > MaxReplySize {
			return Reply{}, fmt.Errorf("%w: multiline reply longer than %d octets", ErrMalformedReply, MaxReplySize)
		}
		if !more {
			break
		}
	}
	rep.Text = rr.text
	rep.Enhanced, rep.Text = splitEnhanced(rep.Code, rep.Text)
	return rep, nil
}

// parseReplyLine splits "NNN-text\r\n", "NNN text\r\n" or "NNN\r\n". A bare LF
// ending is tolerated: being strict about it would only make the tool fail
// against servers that otherwise work.
func parseReplyLine(line []byte) (code int, more bool, text []byte, err error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) < 3 {
		return 0, false, nil, fmt.Errorf("%w: %q", ErrMalformedReply, line)
	}
	// RFC 5321 4.2: reply text is HT, SP and printable characters; a CR left
	// inside the line would reach error texts and traces as a line break.
	if bytes.IndexByte(line, '\r') >= 0 {
		return 0, false, nil, fmt.Errorf("%w: CR inside %q", ErrMalformedReply, truncate(line))
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, false, nil, fmt.Errorf("%w: %q", ErrMalformedReply, truncate(line))
		}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	// RFC 5321 4.2.1: the first digit is 2 to 5; anything else is not SMTP.
	if line[0] < '2' || line[0] > '5' {
		return 0, false, nil, fmt.Errorf("%w: reply code %d out of range", ErrMalformedReply, code)
	}
	if len(line) == 3 {
		return code, false, nil, nil
	}
	switch line[3] {
	case '-':
		return code, true, line[4:], nil
	case ' ':
		return code, false, line[4:], nil
	default:
		// RFC 5321 4.2: receivers should accept a missing space only for a bare
		// code; "250X" is not a reply.
		return 0, false, nil, fmt.Errorf("%w: %q", ErrMalformedReply, truncate(line))
	}
}

// splitEnhanced takes an RFC 2034 enhanced code off the front of the text when
// its class agrees with the reply code's first digit (RFC 3463 2); otherwise
// the text is left alone.
func splitEnhanced(code int, text []byte) (EnhancedCode, []byte) {
	class := code / 100
	if class != 2 && class != 4 && class != 5 {
		return EnhancedCode{}, text
	}
	var parts [3]int
	i := 0
	for p := 0; p < 3; p++ {
		start := i
		n := 0
		for i < len(text) && text[i] >= '0' && text[i] <= '9' && i-start < 3 {
			n = n*10 + int(text[i]-'0')
			i++
		}
		if i == start {
			return EnhancedCode{}, text
		}
		parts[p] = n
		if p < 2 {
			if i >= len(text) || text[i] != '.' {
				return EnhancedCode{}, text
			}
			i++
		}
	}
	if i < len(text) && text[i] != ' ' && text[i] != '\n' {
		return EnhancedCode{}, text
	}
	if parts[0] != class {
		return EnhancedCode{}, text
	}
	if i < len(text) && text[i] == ' ' {
		i++
	}
	return EnhancedCode{parts[0], parts[1], parts[2]}, text[i:]
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
