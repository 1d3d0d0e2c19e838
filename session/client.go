package session

// A session's life on its connection: dial, greeting, EHLO (and TLS and
// AUTH, in tls.go and auth.go), reading replies with their deadlines and
// timing, the idle check, QUIT. The mail transaction it carries is in
// transaction.go; pipelining behind the end of data in pipeline.go.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// DefaultTimeout is how long a session waits for any one reply. RFC 5321
// 4.5.3.2 suggests minutes; a load tool wants to see a stalled server sooner.
const DefaultTimeout = 30 * time.Second

// DefaultDataTimeout is how long a session waits for the reply to the end of
// data: content filters and virus scanners run before it, so it gets longer
// than the other replies (RFC 5321 4.5.3.2.6 suggests 10 minutes).
const DefaultDataTimeout = 2 * time.Minute

// DefaultHostname is what we say in EHLO when the caller does not choose.
const DefaultHostname = "smtpbench.localhost"

// Pipelining says whether to use RFC 2920 pipelining.
type Pipelining uint8

const (
	// PipeliningAuto pipelines when the server advertises it, and writes
	// the next envelope behind the end of data once the target has shown
	// it serves commands written there (see PipeliningState).
	PipeliningAuto Pipelining = iota
	// PipeliningOn pipelines even if the server does not advertise it (for
	// servers that pipeline silently), behind the end of data too.
	PipeliningOn
	PipeliningOff
	// PipeliningGroups pipelines like PipeliningOn but writes each envelope
	// only after the reply to the previous end of data.
	PipeliningGroups
)

// ParsePipelining reads auto, on, groups or off.
func ParsePipelining(s string) (Pipelining, error) {
	switch s {
	case "auto":
		return PipeliningAuto, nil
	case "on":
		return PipeliningOn, nil
	case "off":
		return PipeliningOff, nil
	case "groups":
		return PipeliningGroups, nil
	}
	return 0, fmt.Errorf("pipelining mode %q: want auto, on, groups or off", s)
}

func (p Pipelining) String() string { return [...]string{"auto", "on", "off", "groups"}[p] }

// Observer receives every timed reply. It is called on the session's own
// goroutine, so an implementation owned by that goroutine needs no locking.
type Observer interface {
	// Observe records that a command of phase p got reply code (0 when no
	// reply came) after d, the server's share of the time (see readReply).
	// m is the message the command belongs to, nil for the session's own
	// phases (connect, banner, EHLO, QUIT): with pipelining, the next
	// message's envelope is answered while the current one finishes, and a
	// caller that counts warm-up apart must know whose reply it is.
	Observe(p Phase, code int, d time.Duration, m *Message)
}

// Options configure a Client; zero fields mean the defaults.
type Options struct {
	Hostname string        // EHLO argument; DefaultHostname if empty
	Timeout  time.Duration // per reply; DefaultTimeout if zero
	// DataTimeout bounds the wait for the reply to the end of data, which
	// servers send only after scanning the content (RFC 5321 4.5.3.2.6
	// allows 10 minutes); DefaultDataTimeout if zero.
	DataTimeout time.Duration
	Pipelining  Pipelining
	// LockstepEvery makes one message in N of a pipelining session go
	// lock-step, one command at a time, once the target is known to answer
	// pipelined groups in one write (see batching.go); DefaultLockstepEvery
	// if zero, never if negative.
	LockstepEvery int
	// PipeState is what the sessions to this target have learned about
	// pipelining (see PipeliningState); shared by them. NewClient makes one
	// of the session's own when it is nil.
	PipeState *PipeliningState
	Observer  Observer // may be nil
	// Trace, when set, receives this session's conversation, each line
	// prefixed with TraceID; --trace uses it for the first sessions only.
	Trace   *TraceWriter
	TraceID int64
	// SourceAddr, when valid, is the local address TCP connections are
	// made from, so short connections can spread over several addresses'
	// ephemeral ports.
	SourceAddr netip.Addr
	// Chunking chooses BDAT (RFC 3030) over DATA; ChunkSize is the largest
	// chunk, DefaultChunkSize if zero. BinaryMIME declares BODY=BINARYMIME
	// where the session uses BDAT and the server offers BINARYMIME.
	Chunking   Chunking
	ChunkSize  int
	BinaryMIME bool
	// LMTP speaks RFC 2033: LHLO instead of EHLO, and one reply per
	// accepted recipient after the content.
	LMTP bool
	// BusyPoll, when positive, makes reads try the socket for up to this
	// long before sleeping in the poller; worth it only while sessions are
	// fewer than CPUs (see busyPollConn). Zero or negative: off.
	BusyPoll time.Duration
	TLS      TLSOptions   // see tls.go
	Auth     *AuthOptions // nil: no AUTH; see auth.go
	Worker   int          // the load worker running this session, from 1: {w} in Auth.User
	// WrapConn, when set, wraps the connection before anything else uses
	// it, under TLS: a session profile that writes slowly puts its
	// throttle here. Normal sessions leave it nil.
	WrapConn func(net.Conn) net.Conn
}

func (o *Options) normalize() {
	if o.Hostname == "" {
		o.Hostname = DefaultHostname
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DataTimeout <= 0 {
		o.DataTimeout = DefaultDataTimeout
	}
	if o.LockstepEvery == 0 {
		o.LockstepEvery = DefaultLockstepEvery
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.PipeState == nil {
		o.PipeState = NewPipeliningState()
	}
}

// Result says how one message ended and when.
type Result struct {
	Outcome      Outcome
	Err          *Error // why the message was not accepted; nil when OK
	RcptAccepted int
	RcptRejected int
	// Delivered and Undelivered count LMTP's per-recipient replies after
	// the content (RFC 2033 4.2); zero over SMTP.
	Delivered, Undelivered int
	// Continued counts the further transactions that carried recipients
	// a 452 recipient limit put off (RFC 5321 3.3).
	Continued int
	// Start is when the server began on the message: the later of the write
	// holding its first envelope command and the arrival of the previous
	// message's deciding reply on the same connection (with pipelining the
	// envelope goes out while the server still works on the previous
	// message). End is when the reply that decided the message arrived.
	Start, End time.Time
}

// Client is one SMTP session. It is not safe for concurrent use: a load
// worker owns it, which is what keeps the hot path free of locks.
type Client struct {
	conn net.Conn
	raw  syscall.RawConn // the socket under conn, for peeking; nil for pipes
	tls  *tlsLayer       // nil unless TLS may be used
	rr   *ReplyReader
	opts Options
	caps Capabilities
	pipe bool
	bdat bool   // content goes out in BDAT chunks
	cbuf []byte // a message's raw content, cut into chunks from here

	wbuf  []byte
	sent  int64 // bytes written, for throughput
	err   *Error
	quit  bool
	rset  bool      // the last transaction failed: send RSET before the next MAIL
	ahead *envelope // a message whose envelope went out with the previous content
	env   [2]envelope

	last      time.Time // the latest write or reply stamp
	lastReply time.Time // when the latest reply arrived
	lastFinal time.Time // when the latest message's deciding reply arrived
	rdl, wdl  time.Time // read and write deadlines in force

	// Pipelining behind the end of data, and servers ending sessions (pipeline.go).
	proving   bool          // the envelope behind this content is the target's proof
	window    time.Duration // when set, the next read waits this long after the last stamp
	quiet     bool          // the next read is not observed
	split     bool          // the server writes the replies of a group apart (noteSplit)
	share     time.Duration // the server's share of the latest reply (readReply)
	delivered int           // transactions on this connection that reached their end-of-data reply
	ended     *Error        // the server ended the session at the start of a transaction
	endedN    int           // ... after this many messages

	// Reply batching and lock-step samples (batching.go).
	pobs          PipelinedObserver // opts.Observer, when it tells pipelined replies apart
	group         bool              // the next flush carries several commands that get replies
	grouped       bool              // the latest flush did
	nread         int               // replies read since the latest flush
	firstBuffered bool              // the next reply was buffered when the first of the flush was parsed
	groups        int64             // groups read on this session, not yet added to PipeState
	batchedGroups int64             // ... of which the server answered together
	batchingNoted bool              // this session has told PipeState the target batches
	sampling      bool              // the message in progress goes lock-step
}

// ParseTarget turns HOST, HOST:PORT, an IPv6 literal with or without brackets,
// or [IPv6]:PORT into a dial address, adding port 25 when none is given; a
// Unix socket is unix:/path.
func ParseTarget(s string) (string, error) { return ParseTargetPort(s, 25) }

// Dial connects to addr, timing the connect phase, and returns a Client that
// has not yet read the greeting; call Hello next.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	opts.normalize()
	network, address, d, err := dialer(addr, opts)
	if err != nil {
		return nil, &Error{Phase: PhaseConnect, Class: ClassRefused, Err: err}
	}
	t0 := time.Now()
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		e := &Error{Phase: PhaseConnect, Class: dialClass(ctx, err), Err: err}
		observe(opts.Observer, PhaseConnect, 0, time.Since(t0), nil)
		return nil, e
	}
	observe(opts.Observer, PhaseConnect, 0, time.Since(t0), nil)
	opts.TLS.dialed(network, address)
	return NewClient(conn, opts), nil
}

// NewClient wraps a connection the caller dialed (a net.Pipe in tests).
func NewClient(conn net.Conn, opts Options) *Client {
	opts.normalize()
	var raw syscall.RawConn
	if sc, ok := conn.(syscall.Conn); ok {
		raw, _ = sc.SyscallConn()
	}
	if opts.WrapConn != nil {
		conn = opts.WrapConn(conn)
	}
	conn = withBusyPoll(conn, opts.BusyPoll)
	tl := newTLSLayer(conn, opts.TLS)
	if tl != nil {
		conn = tl
	}
	if opts.Trace != nil {
		conn = newTraceConn(conn, opts.Trace, opts.TraceID)
	}
	pobs, _ := opts.Observer.(PipelinedObserver)
	return &Client{conn: conn, raw: raw, tls: tl, rr: NewReplyReader(conn), opts: opts, wbuf: make([]byte, 0, 4096), pobs: pobs}
}

func observe(o Observer, p Phase, code int, d time.Duration, m *Message) {
	if o != nil {
		o.Observe(p, code, d, m)
	}
}

// Capabilities returns what the server advertised in EHLO.
func (c *Client) Capabilities() Capabilities { return c.caps }

// Pipelining reports whether this session pipelines.
func (c *Client) Pipelining() bool { return c.pipe }

// BytesSent is the number of bytes written on this session so far.
func (c *Client) BytesSent() int64 { return c.sent }

// Err returns the error that broke the session, or nil while it is usable.
func (c *Client) Err() error {
	if c.err == nil {
		return nil
	}
	return c.err
}

// Ahead returns the message whose envelope was pipelined behind the previous
// content and which must be finished with Send, or nil.
func (c *Client) Ahead() *Message {
	if c.ahead == nil {
		return nil
	}
	return c.ahead.msg
}

// Hello reads the greeting and introduces us with EHLO, falling back to HELO
// only when the server says it does not know EHLO (RFC 5321 4.1.4: 500 or 502);
// any other failure is reported, because retrying with HELO would hide it.
func (c *Client) Hello() error {
	if err := checkArg("EHLO name", c.opts.Hostname); err != nil {
		return c.fail(&Error{Phase: PhaseEHLO, Class: ClassProtocol, Err: err})
	}
	if err := c.implicitTLS(); err != nil {
		return err
	}
	t0 := time.Now()
	c.last = t0
	r, err := c.readReply(PhaseBanner, t0, nil)
	if err != nil {
		return err
	}
	if c.rr.Buffered() > 0 && r.Code == CodeReady {
		// RFC 5321 4.3.1: nothing may follow the greeting until we speak;
		// a server that sends more is out of step from the start.
		return c.fail(&Error{Phase: PhaseBanner, Class: ClassProtocol, Text: "server sent data after the greeting before EHLO"})
	}
	if r.Code != CodeReady {
		e := replyError(PhaseBanner, r)
		if r.Code == CodeNoService {
			// RFC 5321 3.1: after a 554 greeting the client should QUIT.
			c.Quit()
		}
		return c.fail(e)
	}
	r, _, err = c.command(PhaseEHLO, c.helloVerb(), c.opts.Hostname)
	if err != nil {
		return err
	}
	if r.Code == CodeOK {
		c.caps = parseEHLO(r.Text)
	} else if !c.opts.LMTP && (r.Code == CodeSyntaxError || r.Code == CodeNotImplemented) { // LMTP has no HELO
		r, _, err = c.command(PhaseEHLO, "HELO ", c.opts.Hostname)
		if err != nil {
			return err
		}
		if r.Code != CodeOK {
			return c.fail(replyError(PhaseEHLO, r))
		}
		c.caps = Capabilities{}
	} else {
		return c.fail(replyError(PhaseEHLO, r))
	}
	c.opts.PipeState.sawFirstEHLO()
	if err := c.secure(); err != nil {
		return err
	}
	switch c.opts.Pipelining {
	case PipeliningOn, PipeliningGroups:
		c.pipe = true
	case PipeliningAuto:
		c.pipe = c.caps.Pipelining
	}
	c.bdat = c.opts.Chunking == ChunkingOn || c.opts.Chunking == ChunkingAuto && c.caps.Chunking
	c.opts.PipeState.sawEHLO(c.caps.Pipelining)
	return nil
}

// command writes one command line, waits for its reply and observes it.
func (c *Client) command(p Phase, verb, arg string) (Reply, time.Time, error) {
	c.wbuf = append(c.wbuf[:0], verb...)
	c.wbuf = append(c.wbuf, arg...)
	c.wbuf = append(c.wbuf, '\r', '\n')
	t0, err := c.flush(p)
	if err != nil {
		return Reply{}, t0, err
	}
	r, err := c.readReply(p, t0, nil)
	return r, t0, err
}

// writeChunk is the largest single write: one pipelined group of commands
// always fits, so groups still go out in one write.
const writeChunk = 256 << 10

// flush writes the buffer in one call (one group, RFC 2920 3.1) and returns
// the time just before the write: a command's clock starts there, because on
// loopback the reply can be waiting before the write call even returns.
func (c *Client) flush(p Phase) (time.Time, error) {
	c.grouped, c.group, c.nread = c.group, false, 0
	if c.err != nil {
		c.wbuf = c.wbuf[:0]
		return time.Time{}, c.err
	}
	t := time.Now()
	// A large content goes out in chunks, each with a renewed deadline:
	// the timeout applies per block of data (RFC 5321 4.5.3.2.5), so a
	// server that reads steadily but slowly is not cut off.
	var err error
	now := t
	for off := 0; off < len(c.wbuf) && err == nil; {
		end := min(off+writeChunk, len(c.wbuf))
		c.renewDeadline(&c.wdl, now, c.conn.SetWriteDeadline)
		var n int
		n, err = c.conn.Write(c.wbuf[off:end])
		c.sent += int64(n)
		off += n
		if off < len(c.wbuf) {
			now = time.Now()
		}
	}
	c.last = time.Now()
	c.wbuf = c.wbuf[:0]
	if err != nil {
		return t, c.fail(ioError(p, err))
	}
	c.quickAck()
	return t, nil
}

// renewDeadline moves a deadline to now+Timeout unless the one in force is
// already within Timeout/64 of that. A reply therefore always gets between
// 63/64 of --timeout and all of it, and most replies cost no timer update,
// which matters when a message takes several replies.
func (c *Client) renewDeadline(dl *time.Time, now time.Time, set func(time.Time) error) {
	want := now.Add(c.opts.Timeout)
	if want.Sub(*dl) > c.opts.Timeout/64 || dl.IsZero() {
		*dl = want
		set(want)
	}
}

// readReply reads the next reply with a fresh per-reply deadline and
// observes the server's share of its latency: from the later of since (when
// its command was written) and the previous reply's arrival. The server
// answers in order, so while it was still answering an earlier command it
// had not begun on this one; a pipelined group thus gives each command its
// own figure, and lock-step commands are unchanged. m is the message the
// command belongs to (nil for session phases). A 421 breaks the session
// whatever it answers.
func (c *Client) readReply(p Phase, since time.Time, m *Message) (Reply, error) {
	if c.err != nil {
		return Reply{}, c.err
	}
	// c.last is at most one reply old here: every read follows a flush or
	// another reply, or Hello's fresh stamp.
	if c.window > 0 {
		// A one-off short wait (readBehind); the zero deadline afterwards
		// makes the next read set the usual one.
		c.conn.SetReadDeadline(c.last.Add(c.window))
		c.rdl = time.Time{}
	} else if p == PhaseBody {
		// The end-of-data reply has its own, longer timeout; the zero
		// deadline afterwards makes the next read set the usual one.
		c.conn.SetReadDeadline(c.last.Add(c.opts.DataTimeout))
		c.rdl = time.Time{}
	} else {
		c.renewDeadline(&c.rdl, c.last, c.conn.SetReadDeadline)
	}
	r, err := c.rr.ReadReply()
	c.last = time.Now()
	from := since
	if c.lastReply.After(from) {
		from = c.lastReply
	}
	c.lastReply = c.last
	d := c.last.Sub(from)
	c.share = d
	if err != nil {
		if !c.quiet {
			c.observeReply(p, 0, d, m)
		}
		return Reply{}, c.fail(ioError(p, err))
	}
	c.noteReply()
	if !c.quiet {
		c.observeReply(p, r.Code, d, m)
	}
	if r.Code == CodeServiceClosing {
		return r, c.fail(replyError(p, r))
	}
	if r.Code/100 == 3 && (p != PhaseData || r.Code != CodeStartInput) {
		// Only DATA may be answered 3yz; a server that says 354 elsewhere
		// waits for content, and our next commands would become mail.
		return r, c.fail(replyError(p, r))
	}
	return r, nil
}

// fail marks the session broken: after an I/O error, a timeout or a desync
// nothing later on this connection can be trusted (mox calls this "botched").
func (c *Client) fail(e *Error) *Error {
	if c.err == nil {
		c.err = e
	}
	return e
}

func ioError(p Phase, err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	// Anything that is neither a bad reply nor a timeout means the
	// connection is gone: EOF, reset, broken pipe (the server's doing), or
	// closed by us (Abort): the caller gave up, and the server must not be
	// taken to have ended the session.
	e := &Error{Phase: p, Err: err, Class: ClassClosed}
	switch {
	case errors.Is(err, ErrMalformedReply):
		e.Class = ClassProtocol
	case isTimeout(err):
		e.Class = ClassTimeout
	case errors.Is(err, net.ErrClosed):
		e.Class = ClassAborted
	}
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Quit ends the session politely: QUIT, wait for 221, close. It always
// closes the connection.
func (c *Client) Quit() error {
	if c.quit {
		return nil
	}
	c.quit = true
	c.countGroups()
	defer c.conn.Close()
	if c.err != nil {
		return c.err
	}
	r, _, err := c.command(PhaseQuit, "QUIT", "")
	if err != nil {
		return err
	}
	if r.Code != CodeClosing {
		return replyError(PhaseQuit, r)
	}
	return nil
}

// Close drops the connection without QUIT, for when the run is aborted.
func (c *Client) Close() error {
	c.quit = true
	c.countGroups()
	c.fail(&Error{Phase: PhaseQuit, Class: ClassAborted})
	return c.conn.Close()
}

// LastActive is when this session last wrote or received anything.
func (c *Client) LastActive() time.Time { return c.last }

// ClosedWhileIdle looks, without waiting, for what a server may send on a
// connection nobody is talking on: a 421 (RFC 5321 3.8) or a close. When it
// finds either it marks the session broken and reports true, so the caller
// can dial again instead of charging the next message with a stale reply.
func (c *Client) ClosedWhileIdle() bool {
	if c.err != nil || c.ahead != nil {
		return c.err != nil
	}
	if c.rr.Buffered() == 0 {
		waiting, closed := c.idlePeek()
		if closed {
			c.fail(&Error{Phase: PhaseMail, Class: ClassClosed, Text: "connection closed by the server while idle"})
			return true
		}
		if !waiting {
			return false
		}
	}
	// Something is there: a reply nobody asked for ends the session.
	c.renewDeadline(&c.rdl, time.Now(), c.conn.SetReadDeadline)
	r, err := c.rr.ReadReply()
	if err != nil {
		c.fail(ioError(PhaseMail, err))
		return true
	}
	c.fail(&Error{Phase: PhaseMail, Class: ClassClosed, Code: r.Code, Enhanced: r.Enhanced,
		Text: "reply on an idle connection: " + string(r.Text)})
	return true
}

// Abort closes the connection under a session that another goroutine may be
// using, which makes its pending read or write fail at once. It is the only
// method that is safe to call concurrently.
func (c *Client) Abort() { c.conn.Close() }
