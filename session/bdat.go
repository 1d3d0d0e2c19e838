package session

import (
	"fmt"
	"strconv"
	"time"
)

// Chunking says whether to send content with BDAT (RFC 3030) instead of
// DATA.
type Chunking uint8

const (
	ChunkingOff  Chunking = iota // DATA, as most clients send
	ChunkingAuto                 // BDAT when the server offers CHUNKING
	ChunkingOn                   // BDAT even if it does not (for servers that take it silently)
)

// ParseChunking reads auto, on or off.
func ParseChunking(s string) (Chunking, error) {
	switch s {
	case "auto":
		return ChunkingAuto, nil
	case "on":
		return ChunkingOn, nil
	case "off":
		return ChunkingOff, nil
	}
	return 0, fmt.Errorf("chunking mode %q: want auto, on or off", s)
}

func (c Chunking) String() string { return [...]string{"off", "auto", "on"}[c] }

// DefaultChunkSize is the largest BDAT chunk when Options.ChunkSize is
// zero: small enough that a big message shows how a server takes chunks,
// large enough that a typical message is one.
const DefaultChunkSize = 64 << 10

// Chunking reports whether this session sends content with BDAT.
func (c *Client) Chunking() bool { return c.bdat }

// TooBig reports whether m is larger than the limit the server announced
// with SIZE (RFC 1870 4): such a message is refused anyway, so a caller
// may skip it rather than send it.
func (c *Client) TooBig(m *Message) bool {
	return c.caps.MaxSize > 0 && m.Size() > c.caps.MaxSize
}

// appendContent adds m's content to the write buffer: in DATA form, or as
// BDAT chunks, the last one marked LAST. Without pipelining, every chunk
// but the last is written and answered here, one at a time, and a refused
// chunk ends the content (RFC 3030 4.2: send no more after a failure); with
// pipelining all of them go out with the last, and pending says how many
// chunk replies come before the last one's.
func (c *Client) appendContent(env *envelope) (pending int, e *Error) {
	m := env.msg
	if !env.bdat {
		c.appendData(m)
		return 0, nil
	}
	c.cbuf = m.Content.AppendRaw(c.cbuf[:0], m)
	raw := c.cbuf
	for len(raw) > c.opts.ChunkSize {
		c.appendChunk(raw[:c.opts.ChunkSize], false)
		raw = raw[c.opts.ChunkSize:]
		if c.pipe && !c.sampling {
			pending++
			continue
		}
		t, err := c.flush(PhaseBDAT)
		if err != nil {
			return 0, c.err
		}
		r, err := c.readReply(PhaseBDAT, t, m)
		if err != nil {
			return 0, c.err
		}
		if r.Code/100 != 2 {
			return 0, replyError(PhaseBDAT, r)
		}
	}
	c.appendChunk(raw, true)
	return pending, nil
}

// appendChunk adds one BDAT command and its octets, sent as they are: no
// dot-stuffing, no end marker (RFC 3030 2).
func (c *Client) appendChunk(b []byte, last bool) {
	c.wbuf = append(c.wbuf, "BDAT "...)
	c.wbuf = strconv.AppendInt(c.wbuf, int64(len(b)), 10)
	if last {
		c.wbuf = append(c.wbuf, " LAST"...)
	}
	c.wbuf = append(c.wbuf, '\r', '\n')
	c.wbuf = append(c.wbuf, b...)
}

// readChunkReplies reads the replies to pipelined chunks before the last
// and returns the first refusal; an I/O failure leaves c.err set.
func (c *Client) readChunkReplies(pending int, since time.Time, m *Message) *Error {
	var first *Error
	for range pending {
		r, err := c.readReply(PhaseBDAT, since, m)
		if err != nil {
			return c.err
		}
		if r.Code/100 != 2 && first == nil {
			first = replyError(PhaseBDAT, r)
		}
	}
	return first
}
