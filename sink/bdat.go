package sink

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"time"
)

// bdat answers "BDAT size [LAST]" (RFC 3030 2): exactly size octets of
// content follow the command line, taken as they are (no dot-stuffing, no
// end marker). Every chunk gets a reply, the last one the end-of-data reply
// (StepBody, with its delays and rejections). A chunk outside a transaction
// is read and refused, so the session stays in step (RFC 3030 4.2). It
// returns false when the connection failed.
func (c *conn) bdat(line []byte) bool {
	size, last, ok := parseBDAT(line[len("BDAT "):])
	if !ok {
		// The size is unknown, so the octets cannot be skipped: the
		// session cannot go on.
		c.bw.WriteString("501 5.5.4 sink: want BDAT <size> [LAST]\r\n")
		return false
	}
	if c.s.cfg.IdleTimeout > 0 {
		c.c.SetReadDeadline(timeZero) // receiving content is not idling
	}
	keep := c.rcptN > 0 && !c.chunkFailed
	if keep && (c.keepData || c.keepHeader) {
		start := len(c.data)
		c.data = slices.Grow(c.data, int(size))[:start+int(size)]
		if _, err := io.ReadFull(c.br, c.data[start:]); err != nil {
			return false
		}
	} else if _, err := c.br.Discard(int(size)); err != nil {
		return false
	}
	switch {
	case c.rcptN == 0:
		c.bw.WriteString("503 5.5.1 sink: no valid recipients\r\n")
	case c.chunkFailed:
		c.bw.WriteString("503 5.5.1 sink: an earlier chunk failed\r\n")
	case !last:
		c.bw.WriteString("250 2.0.0 sink: chunk of ")
		c.bw.Write(strconv.AppendInt(c.num[:0], size, 10))
		c.bw.WriteString(" octets\r\n")
		return true
	default:
		at := time.Now()
		if c.reply(StepBody, "250 2.0.0 Ok: queued") {
			c.lmtpReplies("250 2.0.0 Ok: delivered")
			c.s.accepted.Add(1)
			c.accepted++
			c.arrived(at)
		}
	}
	if last {
		c.resetTx()
		c.chunkFailed = false
	} else {
		c.chunkFailed = true // discard the rest of this message's chunks
	}
	return true
}

// parseBDAT reads "size" or "size LAST" (keywords case-insensitive, one
// space), without allocating: the sink serves BDAT at full speed.
func parseBDAT(args []byte) (size int64, last, ok bool) {
	i := 0
	for i < len(args) && args[i] >= '0' && args[i] <= '9' {
		size = size*10 + int64(args[i]-'0')
		if size > maxChunk {
			return 0, false, false
		}
		i++
	}
	if i == 0 {
		return 0, false, false
	}
	switch rest := args[i:]; {
	case len(rest) == 0:
		return size, false, true
	case len(rest) == 5 && rest[0] == ' ' && bytes.EqualFold(rest[1:], []byte("LAST")):
		return size, true, true
	}
	return 0, false, false
}

// maxChunk bounds one BDAT chunk: ten times the SIZE the sink announces.
const maxChunk = 1 << 30

// timeZero clears a deadline.
var timeZero time.Time

// mailPath is the reverse-path of a MAIL command's argument, without the
// parameters (SIZE=, BODY=) that may follow it.
func mailPath(arg []byte) []byte {
	if i := bytes.IndexByte(arg, '>'); i >= 0 {
		return arg[:i+1]
	}
	if i := bytes.IndexByte(arg, ' '); i >= 0 {
		return arg[:i]
	}
	return arg
}
