package message

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/smtpbench/smtpbench/internal/readlimit"
)

// splitHeader cuts raw content (CRLF line ends) after the empty line that
// ends its header section (RFC 5322 2.1). ok is false when there is none.
func splitHeader(raw []byte) (header, rest []byte, ok bool) {
	if bytes.HasPrefix(raw, []byte("\r\n")) {
		return nil, raw, true
	}
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	if i < 0 {
		return raw, nil, false
	}
	return raw[:i+2], raw[i+2:], true
}

// checkHeaderSection refuses a template whose text before the first empty
// line is not a header section (RFC 5322 2.1, 2.2): fields "Name: value",
// folded lines starting with white space. Without this check a template of
// body text alone would be sent as body text, then our Message-ID field,
// then the end of data: a malformed message. A template is refused rather
// than given a header section of ours, so that what is sent is what the
// file says.
func checkHeaderSection(header []byte) error {
	if len(header) == 0 {
		return errors.New("starts with an empty line: a template needs a header section (Name: value lines), an empty line, then the body")
	}
	for n, line := range strings.SplitAfter(string(header), "\r\n") {
		line = strings.TrimSuffix(line, "\r\n")
		if line == "" {
			continue
		}
		if n > 0 && (line[0] == ' ' || line[0] == '\t') {
			continue // a folded line of the field above
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			shown := line
			if len(shown) > 40 {
				shown = shown[:40] + "..."
			}
			return fmt.Errorf("line %d %q is not a header field (Name: value): a template needs a header section, an empty line, then the body", n+1, shown)
		}
	}
	return nil
}

// findField finds the header field name (case-insensitive) in a header
// section, folded continuation lines included: [start, end) of its lines.
func findField(header []byte, name string) (start, end int, ok bool) {
	for off := 0; off < len(header); {
		eol := bytes.IndexByte(header[off:], '\n')
		next := len(header)
		if eol >= 0 {
			next = off + eol + 1
		}
		line := header[off:next]
		if len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(string(line[:len(name)]), name) {
			end = next
			for end < len(header) && (header[end] == ' ' || header[end] == '\t') {
				if e := bytes.IndexByte(header[end:], '\n'); e >= 0 {
					end += e + 1
				} else {
					end = len(header)
				}
			}
			return off, end, true
		}
		off = next
	}
	return 0, 0, false
}

// messageIDLine is the Message-ID field this package gives every message
// that does not carry its own varying one: the run's token and {n}, so no
// two messages of a run share one and servers that drop duplicates count
// every message.
func (s *Set) messageIDLine() string {
	return "Message-ID: <smtpbench." + s.runToken + ".{n}@" + s.hostname + ">\r\n"
}

// withMessageID returns the header section with its Message-ID replaced
// by ours (or ours added at its end), as three pieces: text before, our
// field, text after.
func withMessageID(header []byte) (before, after []byte) {
	if start, end, ok := findField(header, "Message-ID"); ok {
		return header[:start], header[end:]
	}
	return header, nil
}

// loadTemplate prepares an .eml template: placeholders are filled in its
// header section; the body is sent as it is.
func (s *Set) loadTemplate(name string) (*content, error) {
	file, err := ReadFileLimit(name, MaxContentFile)
	if err != nil {
		return nil, err
	}
	where := origin{field: "Template", value: name}
	if len(bytes.TrimSpace(file)) == 0 {
		return nil, where.failf("empty file")
	}
	raw, err := EncodeRaw(nil, file)
	if err != nil {
		return nil, where.fail(err)
	}
	header, rest, _ := splitHeader(raw)
	if err := checkHeaderSection(header); err != nil {
		return nil, where.fail(err)
	}
	if err := checkTemplateLines(string(header), where); err != nil {
		return nil, err
	}
	if start, end, ok := findField(header, "Message-ID"); ok {
		// A Message-ID that is the same for every message would make
		// servers that drop duplicates keep one: ours replaces it.
		t, _ := ParseContentTemplate(string(header[start:end]))
		if !t.Varies() || s.spec.Tracked {
			header = bytes.Join([][]byte{header[:start], []byte(s.messageIDLine()), header[end:]}, nil)
		}
	} else {
		header = append(header[:len(header):len(header)], s.messageIDLine()...)
	}
	b := newBuilder(name)
	if err := b.template(string(header), where); err != nil {
		return nil, err
	}
	b.literal(rest)
	return b.done(), nil
}

// realMessage prepares one message of a corpus: sent as it is, but for a
// Message-ID of our own.
func (s *Set) realMessage(file []byte, where origin) (*content, error) {
	if len(bytes.TrimSpace(file)) == 0 {
		return nil, where.failf("empty message")
	}
	raw, err := EncodeRaw(nil, file)
	if err != nil {
		return nil, where.fail(err)
	}
	header, rest, _ := splitHeader(raw)
	before, after := withMessageID(header)
	b := newBuilder(where.value)
	b.literal(before)
	if err := b.template(s.messageIDLine(), where); err != nil {
		return nil, err
	}
	b.literal(after)
	b.literal(rest)
	return b.done(), nil
}

// loadCorpus reads a directory (every file in it and below, one message
// each, in name order, hidden files skipped) or an mbox file.
func (s *Set) loadCorpus(name string) ([]*content, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	var out []*content
	if !fi.IsDir() {
		file, err := ReadFileLimit(name, MaxContentFile)
		if err != nil {
			return nil, err
		}
		msgs, err := splitMbox(file)
		if err != nil {
			return nil, wrapError("Corpus", name, err)
		}
		for i, m := range msgs {
			c, err := s.realMessage(m.text, origin{field: "Corpus", value: name, at: fmt.Sprintf("message %d (line %d)", i+1, m.line)})
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	var files []string
	err = filepath.WalkDir(name, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != name && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		file, err := ReadFileLimit(f, MaxContentFile)
		if err != nil {
			return nil, err
		}
		c, err := s.realMessage(file, origin{field: "Corpus", value: f})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, specError("Corpus", name, "no messages in it")
	}
	return out, nil
}

type mboxMessage struct {
	text []byte
	line int // where its From_ line is, from 1
}

// splitMbox splits an mbox (RFC 4155): each message starts with a "From "
// line at the start of the file or after an empty line, and ends with an
// empty line that belongs to the format. Lines that mboxrd escaped as
// ">From " (">>From ", …) lose one '>'. A message that ends before its
// header section does, or a file that ends inside a line, is truncated and
// refused: replaying half a message would measure something else.
func splitMbox(file []byte) ([]mboxMessage, error) {
	if !bytes.HasPrefix(file, []byte("From ")) {
		return nil, fmt.Errorf("not an mbox: it does not start with a \"From \" line")
	}
	if file[len(file)-1] != '\n' {
		return nil, fmt.Errorf("the file ends inside a line: truncated?")
	}
	var msgs []mboxMessage
	var cur *mboxMessage
	blank := true
	line := 0
	for rest := file; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		l := rest[:i+1]
		rest = rest[i+1:]
		line++
		if blank && bytes.HasPrefix(l, []byte("From ")) {
			msgs = append(msgs, mboxMessage{line: line})
			cur = &msgs[len(msgs)-1]
			blank = false
			continue
		}
		blank = len(bytes.TrimRight(l, "\r\n")) == 0
		if t := bytes.TrimLeft(l, ">"); len(t) < len(l) && bytes.HasPrefix(t, []byte("From ")) {
			l = l[1:]
		}
		cur.text = append(cur.text, l...)
	}
	for i := range msgs {
		m := &msgs[i]
		if len(bytes.TrimSpace(m.text)) == 0 {
			return nil, fmt.Errorf("message %d (line %d) is empty", i+1, m.line)
		}
		norm, _ := EncodeRaw(nil, m.text)
		if _, _, ok := splitHeader(norm); !ok {
			return nil, fmt.Errorf("message %d (line %d) ends inside its header section: truncated?", i+1, m.line)
		}
		// Every message ends with an empty line that is the format's, not
		// the message's (RFC 4155); one without it was cut short.
		switch {
		case bytes.HasSuffix(m.text, []byte("\r\n\r\n")):
			m.text = m.text[:len(m.text)-2]
		case bytes.HasSuffix(m.text, []byte("\n\n")):
			m.text = m.text[:len(m.text)-1]
		default:
			return nil, fmt.Errorf("message %d (line %d) does not end with an empty line: truncated?", i+1, m.line)
		}
	}
	return msgs, nil
}

// Bounds on the files a run reads: content as large as the largest
// message, address lists far beyond any real one. A larger file, or an
// endless one such as /dev/zero, is refused rather than read until memory
// runs out.
const (
	MaxContentFile = MaxSize + 1<<20
	maxListFile    = 64 << 20
)

// ReadFileLimit reads name ("-" is standard input), refusing more than
// limit bytes and devices.
func ReadFileLimit(name string, limit int64) ([]byte, error) {
	if name == "-" {
		return readlimit.Reader(os.Stdin, name, limit)
	}
	return readlimit.File(name, limit)
}
