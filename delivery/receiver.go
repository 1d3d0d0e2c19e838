package delivery

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smtpbench/smtpbench/sink"
)

// Arrivals is told of every message a receiver sees: its header section
// (at least up to the Message-ID), how many recipients the transaction or
// file stands for, and when it arrived. Tracker implements it.
type Arrivals interface {
	Arrived(header []byte, rcpts int, at time.Time)
}

// Receiver watches the place where the server under test delivers. Open
// checks the place and claims it (a listener binds its address at once),
// Start begins reporting arrivals, Stop ends it. Adding a kind (an IMAP
// mailbox, a web API) means adding a Receiver and a prefix in Open; the
// Tracker does not change.
type Receiver interface {
	Start(to Arrivals) error
	Stop() error
	// String names the receiver as the report shows it.
	String() string
}

// UsageError is a receiver specification that cannot work: a busy
// address, a missing Maildir. Value is the specification given to Open
// (empty when none was), Reason why it cannot work, Err the cause if there
// is one. It names no command-line flag: a command line words it with
// Text, naming its own, and treats it as a usage error.
type UsageError struct {
	Value  string
	Reason string
	Err    error
}

func (e *UsageError) Error() string { return e.Text("receiver") }
func (e *UsageError) Unwrap() error { return e.Err }

// Text words the error with name for the setting the specification came
// from.
func (e *UsageError) Text(name string) string {
	if e.Value == "" {
		return name + ": " + e.Reason
	}
	return name + " " + e.Value + ": " + e.Reason
}

// Open prepares the receiver that spec names: maildir:DIR watches a
// Maildir's new/ and cur/; anything else is an address (host:port) where an
// SMTP and LMTP listener takes what the server relays.
func Open(spec string) (Receiver, error) {
	if dir, ok := strings.CutPrefix(spec, "maildir:"); ok {
		return openMaildir(dir)
	}
	if spec == "" {
		return nil, &UsageError{Reason: "want ADDR or maildir:DIR"}
	}
	return listen(spec)
}

// listener is an SMTP/LMTP receiver built on the sink's engine: the
// server under test relays to it, and it hands each message's header to
// the tracker.
type listener struct {
	srv  *sink.Server
	to   Arrivals
	done chan struct{}
}

func listen(addr string) (*listener, error) {
	l := &listener{done: make(chan struct{})}
	srv, err := sink.Listen(addr, sink.Config{Hostname: "smtpbench-receiver", OnHeader: l.arrived})
	if err != nil {
		return nil, &UsageError{Value: addr, Reason: err.Error(), Err: err}
	}
	l.srv = srv
	return l, nil
}

func (l *listener) arrived(header []byte, rcpts int, at time.Time) {
	l.to.Arrived(header, rcpts, at)
}

func (l *listener) Start(to Arrivals) error {
	l.to = to
	go func() {
		l.srv.Serve(context.Background())
		close(l.done)
	}()
	return nil
}

func (l *listener) Stop() error {
	err := l.srv.Close()
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
	}
	return err
}

func (l *listener) String() string { return l.srv.Addr() }

// Addr is the address the listener took (useful with port 0).
func (l *listener) Addr() string { return l.srv.Addr() }

// maildir watches a Maildir (new/ and cur/) by polling: portable, and a
// delivery takes milliseconds anyway. Each file is one arrival for one
// recipient; its time is the file's modification time, when the server
// wrote it. Files present before Start are not counted. It remembers
// the names of the files in the mailbox, so its memory follows the
// mailbox, not the run.
type maildir struct {
	dir  string
	seen map[string]bool
	stop chan struct{}
	done chan struct{}
	buf  []byte
}

// maildirPoll is how often new/ and cur/ are listed.
const maildirPoll = 20 * time.Millisecond

func openMaildir(dir string) (*maildir, error) {
	if dir == "" {
		return nil, &UsageError{Value: "maildir:", Reason: "want a directory"}
	}
	for _, sub := range []string{"new", "cur"} {
		if _, err := os.ReadDir(filepath.Join(dir, sub)); err != nil {
			return nil, &UsageError{Value: "maildir:" + dir, Reason: "not a readable Maildir: " + err.Error(), Err: err}
		}
	}
	return &maildir{dir: dir, seen: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{}), buf: make([]byte, 64<<10)}, nil
}

func (m *maildir) String() string { return "maildir:" + m.dir }

func (m *maildir) Start(to Arrivals) error {
	m.scan(nil) // what is there already is not this run's
	go func() {
		defer close(m.done)
		t := time.NewTicker(maildirPoll)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				m.scan(to) // what arrived since the last look
				return
			case <-t.C:
				m.scan(to)
			}
		}
	}()
	return nil
}

func (m *maildir) Stop() error {
	close(m.stop)
	<-m.done
	return nil
}

// scan lists new/ and cur/ and reports files not seen before to to (none
// when to is nil). A message moved from new/ to cur/ keeps its unique
// name (the part before ':'), so it is not counted twice.
func (m *maildir) scan(to Arrivals) {
	now := map[string]bool{}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(m.dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			key, _, _ := strings.Cut(e.Name(), ":")
			if now[key] {
				continue // moved from new/ to cur/ while we listed
			}
			now[key] = true
			if m.seen[key] {
				continue
			}
			if to != nil {
				path := filepath.Join(m.dir, sub, e.Name())
				header, at, err := m.readHeader(path)
				if err != nil {
					delete(now, key) // gone meanwhile (moved to cur/): next look
					continue
				}
				to.Arrived(header, 1, at)
			}
		}
	}
	m.seen = now
}

// readHeader reads the start of a message file, enough for its header.
func (m *maildir) readHeader(path string) ([]byte, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	n, err := io.ReadFull(f, m.buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, time.Time{}, err
	}
	return m.buf[:n], fi.ModTime(), nil
}

// Router hands arrivals to whichever tracker is current, so that one
// receiver serves a series of runs (the steps of a sweep), each with a
// tracker of its own. Arrivals while none is set are dropped.
type Router struct {
	cur atomic.Pointer[Tracker]
}

// Set makes t the current tracker (nil: none).
func (r *Router) Set(t *Tracker) { r.cur.Store(t) }

// Arrived implements Arrivals.
func (r *Router) Arrived(header []byte, rcpts int, at time.Time) {
	if t := r.cur.Load(); t != nil {
		t.Arrived(header, rcpts, at)
	}
}
