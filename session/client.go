package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
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
}

// envelope tracks the replies to one message's MAIL, RCPT and DATA.
type envelope struct {
	msg      *Message
	start    time.Time // just before the write holding its first command
	after    time.Time // when the previous message's deciding reply arrived
	mailOK   bool
	rcptOK   int
	rcptRej  int
	gotData  bool  // 354 received: content must follow
	bdat     bool  // the content goes as BDAT: no DATA command
	list     []int // recipient numbers when not all of them (a continuation)
	seen     int   // RCPT replies read so far
	deferred []int // recipients put off by a recipient limit (452)
	deferErr *Error
	err      *Error
	rcptErr  *Error
	fatalErr *Error
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
	conn = withBusyPoll(conn, opts.BusyPoll)
	tl := newTLSLayer(conn, opts.TLS)
	if tl != nil {
		conn = tl
	}
	if opts.Trace != nil {
		conn = newTraceConn(conn, opts.Trace, opts.TraceID)
	}
	return &Client{conn: conn, raw: raw, tls: tl, rr: NewReplyReader(conn), opts: opts, wbuf: make([]byte, 0, 4096)}
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
			observe(c.opts.Observer, p, 0, d, m)
		}
		return Reply{}, c.fail(ioError(p, err))
	}
	if !c.quiet {
		observe(c.opts.Observer, p, r.Code, d, m)
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
	// connection is gone: EOF, reset, broken pipe, closed by us on abort.
	e := &Error{Phase: p, Err: err, Class: ClassClosed}
	switch {
	case errors.Is(err, ErrMalformedReply):
		e.Class = ClassProtocol
	case isTimeout(err):
		e.Class = ClassTimeout
	}
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// Send runs one mail transaction for m. When next is not nil and the session
// pipelines, next's MAIL, RCPT and DATA go out in the same write as m's
// content, so that a steady stream costs one round trip per message
// (RFC 2920 3.1 lets content start a group); next must then be passed to the
// following Send. A failed Send leaves the session usable unless Err says
// otherwise.
func (c *Client) Send(m *Message, next *Message) Result {
	var env *envelope
	if c.ahead != nil {
		if c.ahead.msg != m {
			// A caller bug, not a server problem: the pipelined envelope
			// belongs to another message and the server is waiting for it.
			panic("session: Send called with a message other than Ahead()")
		}
		env, c.ahead = c.ahead, nil
	} else {
		env = c.freeEnvelope(nil)
		c.prepare(env, m)
		c.sendEnvelope(env)
		if c.endedByServer(env) {
			// Nothing was decided: the caller sends m again on a new
			// connection.
			return Result{Outcome: OutcomeResend, Err: c.ended, Start: env.began(), End: c.lastReply}
		}
	}
	// The previous message on this connection was decided before this
	// Send began, so its deciding reply is the latest final one.
	env.after = c.lastFinal
	res := c.transact(env, next)
	c.lastFinal = res.End
	return res
}

// transact finishes env's transaction once its envelope replies are in.
func (c *Client) transact(env *envelope, next *Message) Result {
	m := env.msg
	if env.fatalErr != nil {
		if env.err != nil && !env.mailOK {
			// MAIL was refused before the session broke (a server that
			// answers pipelined commands it does not allow with 500, then
			// closes): that reply decided the message, as the replies
			// table shows.
			return rejected(env, c.lastReply)
		}
		return failed(env, env.fatalErr)
	}
	if env.rcptOK == 0 && env.deferred != nil {
		// A recipient limit with no recipient taken is a refusal.
		env.rcptRej += len(env.deferred)
		if env.rcptErr == nil {
			env.rcptErr = env.deferErr
		}
		env.deferred = nil
	}
	if env.bdat {
		env.gotData = env.mailOK && env.rcptOK > 0 // no DATA to answer 354
	}
	if !env.gotData {
		c.rset = true
		return rejected(env, c.lastReply)
	}
	if !env.mailOK || env.rcptOK == 0 {
		// RFC 2920 3.1: DATA was pipelined and still got 354, though no
		// recipient was accepted. Send an empty content so the server ends the
		// transaction, then count the message as rejected.
		c.wbuf = append(c.wbuf, '.', '\r', '\n')
		t, err := c.flush(PhaseBody)
		if err == nil {
			_, err = c.readReply(PhaseBody, t, m)
		}
		if err != nil {
			return failed(env, c.err)
		}
		c.delivered++
		c.rset = true
		return rejected(env, c.lastReply)
	}

	pending, cerr := c.appendContent(env)
	if cerr != nil {
		// A chunk was refused, or the session broke, before the last one.
		c.wbuf = c.wbuf[:0]
		if c.err != nil {
			return failed(env, c.err)
		}
		c.rset = true
		return Result{Outcome: outcomeOf(cerr), Err: cerr, Start: env.began(), End: c.lastReply,
			RcptAccepted: env.rcptOK, RcptRejected: env.rcptRej}
	}
	var nextEnv *envelope
	// writeBehind last: it may claim the target's proof.
	if next != nil && c.pipe && env.deferred == nil && c.writeBehind() {
		nextEnv = c.freeEnvelope(env)
		c.prepare(nextEnv, next)
		c.appendEnvelope(nextEnv)
	}
	t, err := c.flush(PhaseBody)
	if err != nil {
		return failed(env, c.err)
	}
	chunkErr := c.readChunkReplies(pending, t, m)
	d, err := c.readDecision(env, t)
	res := Result{Start: env.began(), End: c.last, RcptAccepted: env.rcptOK, RcptRejected: env.rcptRej,
		Delivered: d.delivered, Undelivered: d.undelivered}
	if err == nil {
		c.delivered++
	}
	if chunkErr != nil && err == nil {
		d.err = chunkErr // the content was refused before its last chunk
	}
	switch {
	case err != nil:
		res.Outcome, res.Err = OutcomeFailed, c.err
	case d.err == nil:
		res.Outcome = OutcomeOK
	default:
		res.Outcome, res.Err = outcomeOf(d.err), d.err
		if nextEnv == nil {
			c.rset = true
		}
	}
	if res.Outcome == OutcomeOK && env.deferred != nil {
		c.continueRest(env, &res)
	}
	if nextEnv != nil {
		nextEnv.start = t
		switch {
		case err == nil:
			if c.readBehind(nextEnv, t) {
				c.ahead = nextEnv
			}
		case c.opts.Pipelining == PipeliningAuto:
			// The session died with next's envelope on the wire,
			// unanswered, and its content never sent: next goes again.
			if c.proving {
				c.opts.PipeState.abandon()
			}
		default:
			// As above, but --pipelining on keeps the envelope it wrote:
			// next fails at MAIL with the same class, but the reply code
			// belongs to the message it answered, not to this one.
			e := *c.err
			e.Phase, e.Code, e.Enhanced = PhaseMail, 0, EnhancedCode{}
			e.Text = "session ended before MAIL was answered"
			if e.Err == nil {
				e.Err = c.err
			}
			nextEnv.fatalErr = &e
			c.ahead = nextEnv
		}
	}
	return res
}

func outcomeOf(e *Error) Outcome {
	if e.Fatal() {
		return OutcomeFailed
	}
	return OutcomeRejected
}

func failed(env *envelope, e *Error) Result {
	return Result{Outcome: OutcomeFailed, Err: e, Start: env.began(), End: time.Now(),
		RcptAccepted: env.rcptOK, RcptRejected: env.rcptRej}
}

// rejected reports the reply that decided a transaction that never reached
// content, which arrived at end: the MAIL failure, else the last RCPT
// failure, else DATA's.
func rejected(env *envelope, end time.Time) Result {
	res := Result{Outcome: OutcomeRejected, Err: env.err, Start: env.began(), End: end,
		RcptAccepted: env.rcptOK, RcptRejected: env.rcptRej}
	if res.Err == nil {
		res.Err = env.rcptErr
	}
	if res.Err == nil {
		res.Err = &Error{Phase: PhaseRcpt, Class: ClassProtocol, Text: "transaction failed without a reply saying why"}
	}
	if res.Err.Fatal() {
		res.Outcome = OutcomeFailed
	}
	return res
}

// freeEnvelope returns whichever of the two envelopes is not busy; two are
// enough because at most one message is in progress and one ahead of it.
func (c *Client) freeEnvelope(busy *envelope) *envelope {
	if busy == &c.env[0] {
		return &c.env[1]
	}
	return &c.env[0]
}

// prepare sets up env for m on this session.
func (c *Client) prepare(env *envelope, m *Message) {
	*env = envelope{msg: m, bdat: c.bdat}
}

// began is when the server could start on the message: it answers in order,
// so not before it decided the previous one.
func (e *envelope) began() time.Time {
	if e.after.After(e.start) {
		return e.after
	}
	return e.start
}

// appendEnvelope adds [RSET] MAIL RCPT... DATA to the write buffer.
func (c *Client) appendEnvelope(env *envelope) {
	if c.rset {
		c.wbuf = append(c.wbuf, "RSET\r\n"...)
	}
	m := env.msg
	c.appendMail(m)
	for k := range env.rcptCount() {
		c.appendRcpt(m, env.rcpt(k))
	}
	if !env.bdat {
		c.wbuf = append(c.wbuf, "DATA\r\n"...)
	}
}

// appendMail adds MAIL FROM, declaring the size where the server offers
// SIZE (RFC 1870 6), BINARYMIME when asked for and possible (RFC 3030 3),
// and 8-bit content where the server offers 8BITMIME (RFC 6152 3).
func (c *Client) appendMail(m *Message) {
	c.wbuf = append(c.wbuf, "MAIL FROM:<"...)
	c.wbuf = m.From.Append(c.wbuf, m, 1)
	c.wbuf = append(c.wbuf, '>')
	if c.caps.Size {
		c.wbuf = append(c.wbuf, " SIZE="...)
		c.wbuf = strconv.AppendInt(c.wbuf, m.Size(), 10)
	}
	switch {
	case c.opts.BinaryMIME && c.bdat && c.caps.BinaryMIME:
		c.wbuf = append(c.wbuf, " BODY=BINARYMIME"...)
	case m.EightBit && c.caps.EightBitMIME:
		c.wbuf = append(c.wbuf, " BODY=8BITMIME"...)
	}
	c.wbuf = append(c.wbuf, '\r', '\n')
}

// appendRcpt adds RCPT TO for recipient i (from 1) of m.
func (c *Client) appendRcpt(m *Message, i int) {
	c.wbuf = append(c.wbuf, "RCPT TO:<"...)
	c.wbuf = m.To.Append(c.wbuf, m, i)
	c.wbuf = append(c.wbuf, ">\r\n"...)
}

// appendData adds m's content in DATA form.
func (c *Client) appendData(m *Message) {
	c.wbuf = m.appendData(c.wbuf)
}

// sendEnvelope runs MAIL, RCPT and DATA for env: as one group when
// pipelining, otherwise one command at a time, stopping at the first
// command whose failure makes the rest pointless.
func (c *Client) sendEnvelope(env *envelope) {
	if c.pipe {
		c.appendEnvelope(env)
		t, err := c.flush(PhaseMail)
		env.start = t
		if err != nil {
			env.fatalErr = c.err
			return
		}
		c.readEnvelope(env, t)
		return
	}
	m := env.msg
	if c.rset {
		if !c.lockstep(env, PhaseRset, func() { c.wbuf = append(c.wbuf, "RSET\r\n"...) }) {
			return
		}
	}
	if !c.lockstep(env, PhaseMail, func() { c.appendMail(m) }) {
		return
	}
	for k := range env.rcptCount() {
		if !c.lockstep(env, PhaseRcpt, func() { c.appendRcpt(m, env.rcpt(k)) }) {
			return
		}
	}
	if env.rcptOK == 0 || env.bdat {
		return // RFC 5321 3.3: no accepted recipient, so no DATA
	}
	c.lockstep(env, PhaseData, func() { c.wbuf = append(c.wbuf, "DATA\r\n"...) })
}

// lockstep writes one command, reads its reply and applies it to env; it
// reports whether the transaction may go on.
func (c *Client) lockstep(env *envelope, p Phase, write func()) bool {
	write()
	t, err := c.flush(p)
	if env.start.IsZero() && p != PhaseRset {
		env.start = t
	}
	if err != nil {
		env.fatalErr = c.err
		return false
	}
	r, err := c.readReply(p, t, env.msg)
	if err != nil {
		env.fatalErr = c.err
		return false
	}
	c.apply(env, p, r)
	return env.fatalErr == nil && (p != PhaseMail || env.mailOK)
}

// readEnvelope reads the replies to a pipelined [RSET] MAIL RCPT... DATA
// group, all of them and in order, even after a failure, so the session
// stays in step with the server (RFC 2920 3.1).
func (c *Client) readEnvelope(env *envelope, since time.Time) {
	if c.rset {
		if !c.readApply(env, PhaseRset, since) {
			return
		}
	}
	if !c.readApply(env, PhaseMail, since) {
		return
	}
	for range env.rcptCount() {
		if !c.readApply(env, PhaseRcpt, since) {
			return
		}
	}
	if !env.bdat {
		c.readApply(env, PhaseData, since)
	}
}

func (c *Client) readApply(env *envelope, p Phase, since time.Time) bool {
	r, err := c.readReply(p, since, env.msg)
	if err != nil {
		env.fatalErr = c.err
		return false
	}
	c.noteSplit(p != PhaseData && !env.bdat)
	c.apply(env, p, r)
	return env.fatalErr == nil
}

// apply records one envelope reply.
func (c *Client) apply(env *envelope, p Phase, r Reply) {
	ok := r.Code >= 200 && r.Code < 300
	switch p {
	case PhaseRset:
		c.rset = false
		if !ok {
			// A server that will not reset cannot be trusted to start a
			// clean transaction.
			env.fatalErr = c.fail(&Error{Phase: p, Class: ClassProtocol, Code: r.Code, Text: "RSET refused: " + string(r.Text)})
		}
	case PhaseMail:
		env.mailOK = ok
		if !ok {
			env.err = replyError(p, r)
		}
	case PhaseRcpt:
		if !env.mailOK {
			// MAIL was refused, so these replies (503) to pipelined RCPTs
			// say nothing about the recipients; lockstep never sends them.
			return
		}
		// RFC 5321 4.2.2: 251 "will forward" is as good as 250.
		i := env.rcpt(env.seen)
		env.seen++
		switch {
		case ok:
			env.rcptOK++
		case tooManyRcpts(r):
			env.deferred = append(env.deferred, i)
			env.deferErr = replyError(p, r)
		default:
			env.rcptRej++
			env.rcptErr = replyError(p, r)
		}
	case PhaseData:
		switch {
		case r.Code == CodeStartInput:
			env.gotData = true
		case ok:
			env.fatalErr = c.fail(&Error{Phase: p, Class: ClassProtocol, Code: r.Code, Text: "DATA answered with 2yz instead of 354"})
		default:
			if env.err == nil && env.rcptOK > 0 {
				env.err = replyError(p, r)
			}
		}
	}
}

// Quit ends the session politely: QUIT, wait for 221, close. It always
// closes the connection.
func (c *Client) Quit() error {
	if c.quit {
		return nil
	}
	c.quit = true
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
