// Package sink is a fast SMTP server that accepts mail and throws it away. It
// is smtpbench's default target and the server its tests run against, and it
// can inject delays, rejections and stalls so that demos and tests can see
// how a client and its figures react.
//
// It is written here rather than on a server library because it must never
// be the bottleneck: replies are batched per read so a pipelined group costs
// one write, and content is scanned without copying.
package sink

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smtpbench/smtpbench/internal/finesleep"
)

// Step is a point in the SMTP dialogue where a delay or rejection can be
// injected.
type Step uint8

const (
	StepConnect Step = iota // the greeting
	StepEHLO
	StepMail
	StepRcpt
	StepData // the reply to DATA
	StepBody // the reply after end of data
	StepRset
	StepQuit
	numSteps
)

var stepNames = [numSteps]string{"connect", "ehlo", "mail", "rcpt", "data", "body", "rset", "quit"}

// ParseStep reads a step name (the smtpbench phase names; "banner" is an
// alias for connect).
func ParseStep(s string) (Step, error) {
	if s == "banner" {
		return StepConnect, nil
	}
	for i, n := range stepNames {
		if n == s {
			return Step(i), nil
		}
	}
	return 0, fmt.Errorf("unknown step %q (want one of %s)", s, strings.Join(stepNames[:], ", "))
}

func (s Step) String() string { return stepNames[s] }

// Reject makes a share of replies at one step negative.
type Reject struct {
	Percent float64 // 0-100
	Code    int     // reply code; a sensible 5yz per step when zero
}

// Config sets up a Server; the zero value is a plain fast sink.
type Config struct {
	Hostname string
	Delay    [numSteps]time.Duration
	Reject   [numSteps]Reject
	// StallAt and StallFor hold every reply due in [StallAt, StallAt+StallFor)
	// after Serve starts until the window ends, as a server stuck in a
	// garbage-collection pause or fsync would.
	StallAt, StallFor time.Duration
	// IdleTimeout, when set, ends a session that sends no command for
	// that long with a 421, as production servers do.
	IdleTimeout time.Duration
	// CommandTimeout, when set, ends with a 421 a session whose command
	// line takes longer than this to arrive from its first byte, or whose
	// content takes longer from the 354 to the end of data: the limit that
	// stops a client trickling bytes to hold a server's process (the idle
	// timeout never fires on it).
	CommandTimeout time.Duration
	// MaxSessions, when positive, is how many sessions the server serves
	// at once; SessionLimit says what happens to connections beyond it.
	MaxSessions  int
	SessionLimit SessionLimit
	// Workers, when set, makes the end-of-data work (the body delay) go
	// through that many workers shared by all sessions, as a server with a
	// fixed pool of delivery threads: it then accepts at most
	// Workers/Delay[StepBody] messages per second, and sessions beyond
	// Workers queue for a worker. Zero means every session has its own.
	//
	// Each worker keeps a schedule rather than sleeping the delay afresh:
	// when its timer fires late, a message that was already waiting for it
	// gets that much less (up to one delay), so a saturated sink serves
	// Workers/Delay messages per second however late a busy machine wakes
	// it, and its capacity is known in advance.
	Workers int
	// BatchReplies keeps the replies of a pipelined group in one write
	// even across delays, as Postfix does (RFC 2920 3.2): a delayed reply
	// then waits, and so do the replies queued before it, until the server
	// has read and answered all the commands waiting. Without it a delay
	// first sends what is queued, so each delayed reply leaves apart.
	BatchReplies bool
	// CPU, when set, is CPU time the server spends on each message after
	// its end of data, before the reply: real work on a processor, not a
	// sleep, so that a measurement of a server's cost has a known truth
	// to be checked against. It is measured on the thread's own CPU
	// clock where the system has one (Linux), so a busy machine that
	// takes the processor away mid-way does not shorten it.
	CPU time.Duration
	// AfterDot says what the server does with commands that arrive in the
	// same read as the end of data, as some real servers do (see AfterDot).
	AfterDot AfterDot
	// MaxPerSession, when positive, refuses MAIL once a session has had
	// that many messages accepted, with MaxPerSessionCode (421 when zero,
	// which also closes the session), as servers that limit messages per
	// connection do.
	MaxPerSession     int
	MaxPerSessionCode int
	// Chunking advertises CHUNKING and BINARYMIME (RFC 3030). BDAT is
	// understood either way, for clients that send it unasked.
	Chunking bool
	// OnMessage, when set, receives each accepted message's envelope and
	// content (dot-unstuffed, as stored by a real server). It runs on the
	// connection's goroutine and must not keep data.
	OnMessage func(from string, to []string, data []byte)
	// OnHeader, when set, receives each accepted message's header section
	// (dot-unstuffed, up to and including the empty line that ends it) and
	// how many recipients the transaction had, stamped when the end of
	// data was read. It is what a delivery receiver needs, at the cost of
	// copying only the header: the body is scanned as without it. It runs
	// on the connection's goroutine and must not keep header.
	OnHeader func(header []byte, rcpts int, at time.Time)
	// TLS, when set, makes the server offer STARTTLS (RFC 3207), or with
	// ImplicitTLS speak TLS from the first byte (RFC 8314); see tls.go.
	TLS         *tls.Config
	ImplicitTLS bool
	// Users, when set, enables AUTH PLAIN, LOGIN and CRAM-MD5 against
	// these user → password pairs; see auth.go.
	Users       map[string]string
	RequireTLS  bool // answer MAIL with 530 until STARTTLS (or on a plaintext listener)
	RequireAuth bool // answer MAIL with 530 until AUTH succeeded
	// Relay, when set, forwards each accepted message to another server
	// after a hold, dropping and duplicating some on a fixed rule (see
	// Relay): a queue whose faults are known, for checking delivery
	// tracking.
	Relay *Relay
}

// AfterDot is how the sink treats commands that arrive in the same read as
// the end of data (".", RFC 5321 4.1.1.4). RFC 2920 3.1 lets a client start
// its next group with the content, so such commands are legitimate; some
// servers still do not serve them, and these modes let tests and demos see
// how a client copes.
type AfterDot uint8

const (
	// AfterDotServe answers them like any other command.
	AfterDotServe AfterDot = iota
	// AfterDotDrop discards them unanswered, as chasquid 1.11 does: it
	// reads the content through a buffer of its own and loses what that
	// buffer read beyond the dot.
	AfterDotDrop
	// AfterDotReject answers each complete command among them with 503
	// after the end-of-data reply and discards them, as Haraka 3.3 does
	// ("pipelined after end of DATA").
	AfterDotReject
)

// ParseAfterDot reads serve, drop or reject.
func ParseAfterDot(s string) (AfterDot, error) {
	switch s {
	case "serve":
		return AfterDotServe, nil
	case "drop":
		return AfterDotDrop, nil
	case "reject":
		return AfterDotReject, nil
	}
	return 0, fmt.Errorf("after-dot mode %q: want serve, drop or reject", s)
}

func (a AfterDot) String() string { return [...]string{"serve", "drop", "reject"}[a] }

// SessionLimit is what the sink does with a connection beyond MaxSessions.
type SessionLimit uint8

const (
	// LimitWait holds the connection, accepted but not greeted, until a
	// session ends: the client sees a slow greeting, as at a Postfix whose
	// smtpd processes are all busy (the connection waits for one).
	LimitWait SessionLimit = iota
	// LimitRefuse greets it with 421 and closes it at once (RFC 5321 3.8),
	// as servers with a hard connection limit do.
	LimitRefuse
)

// ParseSessionLimit reads wait or refuse.
func ParseSessionLimit(s string) (SessionLimit, error) {
	switch s {
	case "wait":
		return LimitWait, nil
	case "refuse":
		return LimitRefuse, nil
	}
	return 0, fmt.Errorf("session limit mode %q: want wait or refuse", s)
}

func (l SessionLimit) String() string { return [...]string{"wait", "refuse"}[l] }

// Server is a running sink.
type Server struct {
	cfg      Config
	chunking string // the CHUNKING line of the EHLO reply, if offered
	ln       net.Listener
	start    time.Time
	accepted atomic.Uint64
	sessions atomic.Uint64
	limited  atomic.Uint64
	received atomic.Uint64 // bytes read from clients; see countingConn
	rejectN  [numSteps]atomic.Uint64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	done     chan struct{}  // closed by Close, so injected delays end early
	workers  chan time.Time // one per idle end-of-data worker: when its last message was due to end; nil without Config.Workers
	served   chan struct{}  // closed when Serve, begun by Start, returns
	serveErr error
	tlsStats tlsStats
	precise  chan *finesleep.Timer // idle precise timers (see sleep)
	timers   []*finesleep.Timer    // every precise timer made, for Close to interrupt
	slots    chan struct{}         // one per session being served; nil without MaxSessions
	relay    *relayer              // nil unless Config.Relay

	idleTimeouts, commandTimeouts, refused, waited atomic.Uint64
}

// Listen opens addr (for example 127.0.0.1:0) and returns a server that is
// not yet serving.
func Listen(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "smtpbench-sink"
	}
	s := &Server{cfg: cfg, ln: ln, conns: map[net.Conn]struct{}{}, done: make(chan struct{}),
		precise: make(chan *finesleep.Timer, preciseSlots)}
	if cfg.Workers > 0 {
		s.workers = make(chan time.Time, cfg.Workers)
		for range cfg.Workers {
			s.workers <- time.Time{}
		}
	}
	if cfg.MaxSessions > 0 {
		s.slots = make(chan struct{}, cfg.MaxSessions)
	}
	if cfg.Chunking {
		s.chunking = "250-CHUNKING\r\n250-BINARYMIME\r\n"
	}
	if cfg.Relay != nil {
		s.relay = newRelayer(*cfg.Relay, s.done)
	}
	return s, nil
}

// Start listens on addr and serves in the background until Stop: the
// built-in target of "smtpbench run" and the server of many tests.
func Start(addr string, cfg Config) (*Server, error) {
	s, err := Listen(addr, cfg)
	if err != nil {
		return nil, err
	}
	s.served = make(chan struct{})
	go func() {
		s.serveErr = s.Serve(context.Background())
		close(s.served)
	}()
	return s, nil
}

// Stop closes a server begun with Start and waits until every session has
// ended; it returns what Serve returned.
func (s *Server) Stop() error {
	if s.served == nil {
		return s.Close() // not begun by Start: nothing to wait for
	}
	s.Close()
	<-s.served
	return s.serveErr
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Accepted is how many messages the server has accepted.
func (s *Server) Accepted() uint64 { return s.accepted.Load() }

// BytesReceived returns how many bytes the sink has read from its clients,
// TLS records included; a session's bytes are added every 64 KiB and when
// it ends.
func (s *Server) BytesReceived() uint64 { return s.received.Load() }

// countingConn counts the bytes read on one connection, owned by the
// goroutine serving it, and adds them to the server's total in steps, so
// that reading costs no atomic operation per read.
type countingConn struct {
	net.Conn
	n     uint64
	total *atomic.Uint64
}

const countStep = 64 << 10

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += uint64(n)
	if c.n >= countStep {
		c.settle()
	}
	return n, err
}

func (c *countingConn) settle() {
	c.total.Add(c.n)
	c.n = 0
}

// Sessions is how many connections the server has accepted.
func (s *Server) Sessions() uint64 { return s.sessions.Load() }

// SessionsLimited is how many sessions met MaxPerSession.
func (s *Server) SessionsLimited() uint64 { return s.limited.Load() }

// IdleTimeouts and CommandTimeouts count sessions ended by IdleTimeout and
// CommandTimeout.
func (s *Server) IdleTimeouts() uint64    { return s.idleTimeouts.Load() }
func (s *Server) CommandTimeouts() uint64 { return s.commandTimeouts.Load() }

// SessionsRefused counts connections turned away with 421 beyond
// MaxSessions (LimitRefuse); SessionsWaited those that had to wait for a
// free session first (LimitWait).
func (s *Server) SessionsRefused() uint64 { return s.refused.Load() }
func (s *Server) SessionsWaited() uint64  { return s.waited.Load() }

// Serve accepts connections until ctx is done or Close is called, then
// closes every open connection and waits for their goroutines.
func (s *Server) Serve(ctx context.Context) error {
	s.start = time.Now()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			s.Close()
			s.wg.Wait()
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.sessions.Add(1)
		go func() {
			defer s.wg.Done()
			if s.admit(conn) {
				s.serveConn(conn)
				if s.slots != nil {
					<-s.slots
				}
			}
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			conn.Close()
		}()
	}
}

// admit takes a session slot for conn under MaxSessions: at once, after a
// wait (LimitWait), or not at all (LimitRefuse, after a 421). It reports
// whether conn is to be served; without MaxSessions it always is.
func (s *Server) admit(conn net.Conn) bool {
	if s.slots == nil {
		return true
	}
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	if s.cfg.SessionLimit == LimitRefuse {
		s.refused.Add(1)
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(conn, "421 4.3.2 "+s.cfg.Hostname+" sink: too many sessions, try again later\r\n")
		return false
	}
	s.waited.Add(1)
	select {
	case s.slots <- struct{}{}:
		return true
	case <-s.done:
		return false
	}
}

// Close stops the listener and drops open connections.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	for _, t := range s.timers {
		t.Interrupt()
	}
	// Idle timers are closed here, without waiting: one a session takes
	// meanwhile (takeTimer takes without the lock) goes back through
	// putTimer, which closes it now that closed is set.
	for drained := false; !drained; {
		select {
		case t := <-s.precise:
			t.Close()
		default:
			drained = true
		}
	}
	for c := range s.conns {
		c.Close()
	}
	return s.ln.Close()
}

// rejects decides, deterministically, whether this occurrence of step is
// rejected: exactly Percent of occurrences are, spread evenly, so tests can
// predict counts.
func (s *Server) rejects(step Step) bool {
	p := s.cfg.Reject[step].Percent
	if p <= 0 {
		return false
	}
	k := s.rejectN[step].Add(1)
	return uint64(float64(k)*p/100) > uint64(float64(k-1)*p/100)
}

var defaultReject = [numSteps]string{
	StepConnect: "554 5.3.2 sink: not accepting connections",
	StepEHLO:    "550 5.5.0 sink: EHLO rejected",
	StepMail:    "550 5.7.1 sink: sender rejected",
	StepRcpt:    "550 5.1.1 sink: recipient rejected",
	StepData:    "554 5.5.0 sink: DATA rejected",
	StepBody:    "554 5.6.0 sink: message rejected",
	StepRset:    "500 5.5.0 sink: RSET rejected",
	StepQuit:    "500 5.5.0 sink: QUIT rejected",
}

type conn struct {
	s        *Server
	c        net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	mail     bool
	from     string
	rcpts    []string
	rcptN    int
	keepData bool
	data     []byte
	tls      bool // inside TLS
	authed   bool // AUTH succeeded
	accepted int  // messages accepted in this session
	limited  bool
	// chunkFailed: a BDAT chunk of this transaction was refused, so the
	// rest of its chunks are read and refused too (RFC 3030 4.2).
	chunkFailed bool
	num         [20]byte // room to format a number without allocating
	// keepHeader: collect the header section into data for OnHeader.
	keepHeader bool
	lmtp       bool // the client said LHLO: one reply per recipient after the content (RFC 2033 4.2)
}

func (s *Server) serveConn(nc net.Conn) {
	cc := &countingConn{Conn: nc, total: &s.received}
	defer cc.settle()
	nc, ok := s.implicitTLS(cc)
	if !ok {
		return
	}
	c := &conn{s: s, c: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 4096),
		keepData: s.cfg.OnMessage != nil || s.relay != nil, keepHeader: s.cfg.OnHeader != nil && s.cfg.OnMessage == nil, tls: s.cfg.ImplicitTLS}
	if !c.reply(StepConnect, "220 "+s.cfg.Hostname+" ESMTP smtpbench sink") {
		c.refuseUntilQuit()
		return
	}
	c.flush()
	for {
		if d := s.cfg.IdleTimeout; d > 0 {
			c.c.SetReadDeadline(time.Now().Add(d))
		}
		var line []byte
		err := c.awaitCommand()
		if err == nil {
			line, err = c.readLine()
		}
		if err != nil {
			if isTimeout(err) {
				// What real servers do on an idle or trickling client
				// (RFC 5321 3.8).
				c.timedOut(err == errIdle || s.cfg.CommandTimeout == 0)
			}
			return
		}
		if !c.handle(line) {
			c.flush()
			return
		}
		// Flush only when the client has nothing more queued: a pipelined
		// group then gets its replies in one write (RFC 2920 3.2).
		if c.br.Buffered() == 0 {
			if c.flush() != nil {
				return
			}
		}
	}
}

// errIdle is awaitCommand's idle timeout, told apart from the command
// timeout that may follow it.
var errIdle = &idleError{}

type idleError struct{}

func (*idleError) Error() string { return "idle timeout" }
func (*idleError) Timeout() bool { return true }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// awaitCommand, under a CommandTimeout, waits for the first byte of the
// next command (under the idle timeout, if any) and then gives the whole
// line CommandTimeout to arrive. Without one it does nothing: the idle
// deadline covers the whole line, as before.
func (c *conn) awaitCommand() error {
	d := c.s.cfg.CommandTimeout
	if d <= 0 {
		return nil
	}
	if c.br.Buffered() == 0 {
		if c.s.cfg.IdleTimeout <= 0 {
			c.c.SetReadDeadline(time.Time{})
		}
		if _, err := c.br.Peek(1); err != nil {
			if isTimeout(err) {
				return errIdle
			}
			return err
		}
	}
	c.c.SetReadDeadline(time.Now().Add(d))
	return nil
}

// timedOut says 421 to a session that hit the idle timeout (idle) or the
// command timeout, and counts it.
func (c *conn) timedOut(idle bool) {
	what := "command timeout"
	if idle {
		what = "idle timeout"
		c.s.idleTimeouts.Add(1)
	} else {
		c.s.commandTimeouts.Add(1)
	}
	c.c.SetWriteDeadline(time.Now().Add(time.Second))
	c.bw.WriteString("421 4.4.2 " + c.s.cfg.Hostname + " sink: " + what + "\r\n")
	c.flush()
}

func (c *conn) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Drain the rest of an overlong line and answer it as a syntax error.
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = c.br.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		return []byte("\x00TOO-LONG"), nil
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func (c *conn) flush() error {
	if c.bw.Buffered() == 0 {
		return nil
	}
	if cfg := &c.s.cfg; cfg.StallFor > 0 {
		since := time.Since(c.s.start)
		if since >= cfg.StallAt && since < cfg.StallAt+cfg.StallFor {
			c.s.sleep(cfg.StallAt + cfg.StallFor - since)
		}
	}
	return c.bw.Flush()
}

// reply queues the reply to step, or the injected rejection; it reports
// whether the step succeeded.
func (c *conn) reply(step Step, ok string) bool {
	if step == StepBody && c.s.cfg.CPU > 0 {
		burnCPU(c.s.cfg.CPU)
	}
	if d := c.s.cfg.Delay[step]; d > 0 {
		// The reply must leave late, so earlier queued replies go first,
		// unless the server batches its replies.
		if !c.s.cfg.BatchReplies {
			c.flush()
		}
		if step == StepBody && c.s.workers != nil {
			c.s.work(d)
		} else {
			c.s.sleep(d)
		}
	}
	if c.s.rejects(step) {
		r := c.s.cfg.Reject[step]
		text := defaultReject[step]
		if r.Code != 0 {
			text = strconv.Itoa(r.Code) + text[3:]
			if r.Code/100 != 5 && text[4] == '5' {
				text = text[:4] + strconv.Itoa(r.Code/100) + text[5:]
			}
		}
		c.bw.WriteString(text + "\r\n")
		return false
	}
	c.bw.WriteString(ok)
	c.bw.WriteString("\r\n")
	return true
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && strings.EqualFold(string(b[:len(p)]), p)
}

// handle answers one command line; false ends the session.
func (c *conn) handle(line []byte) bool {
	switch {
	case hasPrefixFold(line, "EHLO"), hasPrefixFold(line, "LHLO"):
		c.resetTx()
		c.lmtp = hasPrefixFold(line, "LHLO")
		if c.reply(StepEHLO, "250-"+c.s.cfg.Hostname+" greets you\r\n"+c.securityKeywords()+"250-PIPELINING\r\n250-SIZE "+strconv.Itoa(MaxMessageSize)+"\r\n"+c.s.chunking+"250-8BITMIME\r\n250 ENHANCEDSTATUSCODES") {
			return true
		}
	case hasPrefixFold(line, "HELO"):
		c.resetTx()
		c.reply(StepEHLO, "250 "+c.s.cfg.Hostname)
	case hasPrefixFold(line, "MAIL FROM:"):
		if max := c.s.cfg.MaxPerSession; max > 0 && c.accepted >= max {
			return c.refuseOverLimit()
		}
		if c.mail {
			c.bw.WriteString("503 5.5.1 sink: nested MAIL\r\n")
			return true
		}
		if c.refuseMail() {
			return true
		}
		if c.reply(StepMail, "250 2.1.0 Ok") {
			c.mail = true
			if c.keepData {
				c.from = string(mailPath(line[len("MAIL FROM:"):]))
			}
		}
	case hasPrefixFold(line, "RCPT TO:"):
		if !c.mail {
			c.bw.WriteString("503 5.5.1 sink: need MAIL first\r\n")
			return true
		}
		if c.reply(StepRcpt, "250 2.1.5 Ok") {
			c.rcptN++
			if c.keepData {
				c.rcpts = append(c.rcpts, string(line[len("RCPT TO:"):]))
			}
		}
	case hasPrefixFold(line, "DATA"):
		if c.rcptN == 0 {
			// RFC 2920 3.1: a pipelined DATA after every RCPT failed.
			c.bw.WriteString("554 5.5.1 sink: no valid recipients\r\n")
			return true
		}
		if !c.reply(StepData, "354 End data with <CR><LF>.<CR><LF>") {
			c.resetTx()
			return true
		}
		n, err := c.readData()
		if err != nil {
			if isTimeout(err) {
				c.timedOut(false)
			}
			return false
		}
		var at time.Time
		if c.keepHeader {
			at = time.Now()
		}
		refused := c.afterDot()
		if n > MaxMessageSize {
			// RFC 1870 6.3: what the server announced, it enforces.
			c.bw.WriteString("552 5.3.4 sink: message larger than the SIZE announced\r\n")
		} else if c.reply(StepBody, "250 2.0.0 Ok: queued") {
			c.lmtpReplies("250 2.0.0 Ok: delivered")
			c.s.accepted.Add(1)
			c.accepted++
			c.arrived(at)
		}
		c.resetTx()
		for range refused {
			c.bw.WriteString("503 5.5.1 sink: command pipelined after end of data refused\r\n")
		}
	case hasPrefixFold(line, "BDAT "):
		return c.bdat(line)
	case hasPrefixFold(line, "RSET"):
		c.resetTx()
		c.reply(StepRset, "250 2.0.0 Ok")
	case hasPrefixFold(line, "STARTTLS"):
		return c.startTLS(line)
	case hasPrefixFold(line, "AUTH"):
		return c.auth(line)
	case hasPrefixFold(line, "NOOP"):
		c.bw.WriteString("250 2.0.0 Ok\r\n")
	case hasPrefixFold(line, "QUIT"):
		c.reply(StepQuit, "221 2.0.0 Bye")
		return false
	case len(line) > 0 && line[0] == 0:
		c.bw.WriteString("500 5.5.2 sink: line too long\r\n")
	default:
		c.bw.WriteString("502 5.5.2 sink: command not recognized\r\n")
	}
	return true
}

// afterDot applies Config.AfterDot to what the client sent in the same read
// as the end of data: with the sink's one buffered reader, whatever is
// buffered now. It returns how many complete commands must be answered
// with 503.
func (c *conn) afterDot() int {
	mode := c.s.cfg.AfterDot
	n := c.br.Buffered()
	if mode == AfterDotServe || n == 0 {
		return 0
	}
	rest, _ := c.br.Peek(n)
	lines := bytes.Count(rest, []byte("\n"))
	c.br.Discard(n)
	if mode == AfterDotReject {
		return lines
	}
	return 0
}

// refuseOverLimit answers MAIL in a session that has had its
// MaxPerSession messages; false ends the session (after a 421).
func (c *conn) refuseOverLimit() bool {
	code := c.s.cfg.MaxPerSessionCode
	if code == 0 {
		code = 421
	}
	if !c.limited {
		c.limited = true
		c.s.limited.Add(1)
	}
	if code == 421 {
		// RFC 5321 3.8: 421 and close, as Exim does at
		// smtp_accept_max_per_connection.
		c.bw.WriteString("421 4.7.0 " + c.s.cfg.Hostname + " sink: too many messages in this session\r\n")
		return false
	}
	fmt.Fprintf(c.bw, "%d %d.5.3 sink: too many messages in this session\r\n", code, code/100)
	return true
}

// arrived hands an accepted message to OnMessage or OnHeader.
func (c *conn) arrived(at time.Time) {
	if c.s.relay != nil {
		c.s.relay.accept(c.from, c.rcpts, c.data)
	}
	if c.keepData && c.s.cfg.OnMessage != nil {
		c.s.cfg.OnMessage(c.from, c.rcpts, c.data)
	} else if c.keepHeader {
		c.s.cfg.OnHeader(c.data, c.rcptN, at)
	}
}

// lmtpReplies adds, in an LMTP session, the replies for the second and
// later recipients: RFC 2033 4.2 wants one per accepted recipient, and
// reply has already queued the first.
func (c *conn) lmtpReplies(text string) {
	if !c.lmtp {
		return
	}
	for i := 1; i < c.rcptN; i++ {
		c.bw.WriteString(text)
		c.bw.WriteString("\r\n")
	}
}

func (c *conn) resetTx() {
	c.mail = false
	c.rcptN = 0
	c.rcpts = c.rcpts[:0]
	c.data = c.data[:0]
}

// MaxMessageSize is the SIZE the sink announces (RFC 1870) and enforces: a
// larger content is refused with 552 after the end of data.
const MaxMessageSize = 100 << 20

// readData consumes content up to the "." line (RFC 5321 4.5.2), undoing
// dot-stuffing when the content is kept, and returns its length on the wire.
func (c *conn) readData() (int64, error) {
	// Replies already queued (MAIL, RCPT, 354) must reach the client before
	// it will send content.
	if err := c.flush(); err != nil {
		return 0, err
	}
	if d := c.s.cfg.CommandTimeout; d > 0 {
		c.c.SetReadDeadline(time.Now().Add(d)) // the whole content
	} else if c.s.cfg.IdleTimeout > 0 {
		c.c.SetReadDeadline(time.Time{}) // receiving content is not idling
	}
	lineStart := true
	inHeader := c.keepHeader
	var n int64
	for {
		chunk, err := c.br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return n, io.ErrUnexpectedEOF
			}
			return n, err
		}
		complete := err == nil
		if lineStart && (bytes.Equal(chunk, []byte(".\r\n")) || bytes.Equal(chunk, []byte(".\n"))) {
			return n, nil
		}
		n += int64(len(chunk))
		if c.keepData || inHeader {
			if lineStart && len(chunk) > 0 && chunk[0] == '.' {
				chunk = chunk[1:]
			}
			c.data = append(c.data, chunk...)
			if inHeader && lineStart && complete && (len(chunk) == 2 && chunk[0] == '\r' || len(chunk) == 1) {
				inHeader = false // the empty line that ends the header section
			}
		}
		lineStart = complete
	}
}

// sleep waits for d or until the server closes. A Go timer can wake up to
// a millisecond late on Linux, which would blur the per-phase figures of a
// test that delays MAIL by 2 ms; so a delay of up to preciseMax waits on a
// precise timer (finesleep.Timer: a timerfd on Linux; elsewhere a Go timer
// whose last stretch blocks an OS thread in a fine sleep). At most
// preciseSlots such timers exist, so that a sink with thousands of sessions
// holds no descriptor or thread for each: the others fall back to a Go
// timer.
func (s *Server) sleep(d time.Duration) {
	until := time.Now().Add(d)
	if d <= preciseMax {
		if t := s.takeTimer(); t != nil {
			t.Wait(until) // false when Close interrupted it
			s.putTimer(t)
			return
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

// takeTimer returns an idle precise timer, a new one while fewer than
// preciseSlots exist, or nil.
func (s *Server) takeTimer() *finesleep.Timer {
	select {
	case t := <-s.precise:
		return t
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.timers) >= preciseSlots {
		return nil
	}
	t := finesleep.NewTimer(true)
	s.timers = append(s.timers, t)
	return t
}

// putTimer returns t to the idle ones; after Close, which interrupted
// every timer, it is closed instead.
func (s *Server) putTimer(t *finesleep.Timer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		t.Close()
		return
	}
	s.precise <- t // never blocks: at most preciseSlots exist
}

// Precise delays: see sleep.
const (
	preciseMax   = 100 * time.Millisecond
	preciseSlots = 64
)

// work spends d on one of the shared end-of-data workers, waiting first for
// one to be free (or until the server closes). It keeps the schedule of an
// exact server: a message that had to wait for the worker ends d after the
// worker's previous message was due to end, not d after its timer fired
// (late, on a busy machine); a message that found the worker idle ends d
// after it arrived. After a long stall a message makes up for at most one
// delay, so the worker does not rush through a backlog.
func (s *Server) work(d time.Duration) {
	arrived := time.Now()
	var prevEnd time.Time
	select {
	case prevEnd = <-s.workers:
	case <-s.done:
		return
	}
	start := arrived
	if prevEnd.After(start) {
		start = prevEnd // queued behind the worker's previous message
	}
	if floor := time.Now().Add(-d); start.Before(floor) {
		start = floor
	}
	end := start.Add(d)
	s.sleep(time.Until(end))
	s.workers <- end
}

// refuseUntilQuit serves a session whose greeting was 554: RFC 5321 3.1 says
// the server waits for QUIT and answers 503 to anything else.
func (c *conn) refuseUntilQuit() {
	for {
		if c.flush() != nil {
			return
		}
		line, err := c.readLine()
		if err != nil {
			return
		}
		if hasPrefixFold(line, "QUIT") {
			c.bw.WriteString("221 2.0.0 Bye\r\n")
			c.flush()
			return
		}
		c.bw.WriteString("503 5.5.1 sink: no service\r\n")
	}
}
