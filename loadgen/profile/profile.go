// Package profile holds the kinds of clients a run can mix in beside its
// normal sessions (--mix): clients that sit idle, write slowly, drop the
// connection mid-transaction, send bad commands, guess recipients, fail
// AUTH or only shake hands. A server on port 25 sees all of them; the run
// measures how its good mail fares among them.
//
// A profile is a small type with a name and a Play method that runs one
// session through a *Session; registering it (Register, usually from an
// init function) makes --mix know it. loadgen runs each profile's share of
// the concurrent sessions, one session after another, and counts them
// apart from the normal sessions.
package profile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smtpbench/smtpbench/message"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// Profile is one kind of client.
type Profile interface {
	// Name is what --mix calls it: lower case, no spaces.
	Name() string
	// Check says whether the profile can run with these settings, for
	// example that AUTH is configured; its error is a usage error.
	Check(s *Settings) error
	// Play runs one session from dial to end and says how it ended (one
	// of report's End* names). It must return soon after s.Context() is
	// done; Session's methods see to that for I/O.
	Play(s *Session) string
}

var (
	regMu    sync.Mutex
	registry = map[string]Profile{}
)

// Register makes p known to --mix under its name. It panics on a
// duplicate or on the reserved name "normal", which is a programming error.
func Register(p Profile) {
	regMu.Lock()
	defer regMu.Unlock()
	name := p.Name()
	if name == metrics.NormalProfile || name == "" || strings.ContainsAny(name, ":, ") {
		panic("profile: invalid name " + strconv.Quote(name))
	}
	if _, dup := registry[name]; dup {
		panic("profile: registered twice: " + name)
	}
	registry[name] = p
}

// Lookup returns the profile named name.
func Lookup(name string) (Profile, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	p, ok := registry[name]
	return p, ok
}

// Names lists "normal" and every registered profile, sorted after it.
func Names() []string {
	regMu.Lock()
	names := make([]string, 0, len(registry)+1)
	for n := range registry {
		names = append(names, n)
	}
	regMu.Unlock()
	sort.Strings(names)
	return append([]string{metrics.NormalProfile}, names...)
}

// MaxWeight bounds one weight of a mix.
const MaxWeight = 1_000_000

// Share is one NAME:WEIGHT of a mix. Profile is nil for normal.
type Share struct {
	Name    string
	Weight  int
	Profile Profile
}

// ParseMix reads NAME:WEIGHT[,NAME:WEIGHT…]. Weights are whole numbers,
// relative to each other; a profile not named has weight 0, normal too.
func ParseMix(s string) ([]Share, error) {
	known := strings.Join(Names(), ", ")
	var out []Share
	seen := map[string]bool{}
	total := 0
	for _, part := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("%q: want NAME:WEIGHT (profiles: %s)", part, known)
		}
		sh := Share{Name: name}
		if name != metrics.NormalProfile {
			p, ok := Lookup(name)
			if !ok {
				return nil, fmt.Errorf("unknown profile %q (profiles: %s)", name, known)
			}
			sh.Profile = p
		}
		if seen[name] {
			return nil, fmt.Errorf("profile %q named twice", name)
		}
		seen[name] = true
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 || n > MaxWeight {
			return nil, fmt.Errorf("%s weight %q: want a whole number from 0 to %d", name, w, MaxWeight)
		}
		sh.Weight = n
		total += n
		out = append(out, sh)
	}
	if total == 0 {
		return nil, fmt.Errorf("%q: every weight is 0, want at least one positive weight", s)
	}
	return out, nil
}

// Split shares c concurrent sessions among the mix by weight (largest
// remainder, so the counts add up to c exactly) and returns, per worker
// 0..c-1, the index of its share, interleaved so that a ramp or the first
// seconds of a run see every profile in proportion.
func Split(mix []Share, c int) (counts []int, plan []int) {
	total := 0
	for _, s := range mix {
		total += s.Weight
	}
	counts = make([]int, len(mix))
	type rem struct{ i, r int }
	var rems []rem
	left := c
	for i, s := range mix {
		counts[i] = c * s.Weight / total
		left -= counts[i]
		rems = append(rems, rem{i, c * s.Weight % total})
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; k < left; k++ {
		counts[rems[k%len(rems)].i]++
	}
	// Smooth weighted round-robin over the counts.
	credit := make([]int, len(mix))
	plan = make([]int, 0, c)
	for range c {
		best := -1
		for i, n := range counts {
			credit[i] += n
			if n > 0 && (best < 0 || credit[i] > credit[best]) {
				best = i
			}
		}
		credit[best] -= c
		plan = append(plan, best)
	}
	return counts, plan
}

// Defaults of the settings the profiles share.
const (
	DefaultSlowRate     = 100 // bytes per second
	DefaultHarvestRcpts = 20
	DefaultHarvestTo    = "nobody-{n}-{r}@example.invalid"
	DefaultBadCommands  = 3
)

// Settings are what the profiles share: the run's session options and
// message set, and each profile's own knobs. Zero fields mean the
// defaults above.
type Settings struct {
	// Session is the normal sessions' options: timeouts, EHLO name, TLS,
	// AUTH. Profiles take a copy and change what they need.
	Session session.Options
	Mail    *message.Set
	// SlowRate is how many bytes per second the slow profile writes.
	SlowRate int
	// IdleFor, when positive, is how long an idle session waits for the
	// server to give up before it says QUIT itself; zero waits until the
	// server ends the session or the run ends.
	IdleFor time.Duration
	// HarvestTo is the harvest profile's recipient template ({n} the
	// message number, {r} the recipient number), addresses the server
	// should refuse; HarvestRcpts how many RCPTs each session sends.
	HarvestTo    *message.Template
	HarvestRcpts int
	// BadCommands is how many bad commands badcmd sends before each
	// transaction.
	BadCommands int
}

// Normalize fills the defaults.
func (s *Settings) Normalize() error {
	if s.SlowRate == 0 {
		s.SlowRate = DefaultSlowRate
	}
	if s.SlowRate < 0 {
		return fmt.Errorf("slow rate %d bytes/s: must be positive", s.SlowRate)
	}
	if s.IdleFor < 0 {
		return fmt.Errorf("idle-for %s: must not be negative", s.IdleFor)
	}
	if s.HarvestTo == nil {
		s.HarvestTo = message.MustTemplate(DefaultHarvestTo)
	}
	if s.HarvestRcpts == 0 {
		s.HarvestRcpts = DefaultHarvestRcpts
	}
	if s.BadCommands == 0 {
		s.BadCommands = DefaultBadCommands
	}
	if s.HarvestRcpts < 0 || s.BadCommands < 0 {
		return errors.New("harvest recipients and bad commands must not be negative")
	}
	return nil
}

// Session is one profile session's access to the run: dialing, the
// message it may send, and the recorder its figures go to. It is used by
// one goroutine.
type Session struct {
	ctx      context.Context
	settings *Settings
	addr     string
	worker   int
	seq      uint64
	rec      *metrics.ProfileRecorder
	mu       *sync.Mutex

	client    *session.Client
	unwatch   func() bool
	connected time.Time
	greeted   time.Time // when the greeting (or the failure to get one) came
	msg       session.Message
	haveMsg   bool
}

// NewSession prepares one session of a profile against addr; rec, guarded
// by mu, receives its figures. seq numbers its message ({n}); worker is the
// worker running it, from 1 ({w}).
func NewSession(ctx context.Context, s *Settings, addr string, worker int, seq uint64, rec *metrics.ProfileRecorder, mu *sync.Mutex) *Session {
	return &Session{ctx: ctx, settings: s, addr: addr, worker: worker, seq: seq, rec: rec, mu: mu}
}

// Context is done when the run ends; Play must then return.
func (s *Session) Context() context.Context { return s.ctx }

// Settings are the run's profile settings.
func (s *Session) Settings() *Settings { return s.settings }

// Observe implements session.Observer into the profile's recorder.
func (s *Session) Observe(p session.Phase, code int, d time.Duration, _ *session.Message) {
	if p == session.PhaseBanner && s.greeted.IsZero() {
		s.greeted = time.Now()
	}
	s.mu.Lock()
	s.rec.Observe(p, code, d)
	s.mu.Unlock()
}

// Dial connects and returns a client that has not read the greeting yet.
// edit, when set, changes the session options first (a connection
// wrapper, other credentials). The session is closed when the run ends.
func (s *Session) Dial(edit func(*session.Options)) (*session.Client, error) {
	opts := s.settings.Session
	opts.Observer = s
	opts.Worker = s.worker
	opts.Trace = nil
	opts.PipeState = nil // a profile's pipelining teaches normal sessions nothing
	if edit != nil {
		edit(&opts)
	}
	s.count(func(r *metrics.ProfileRecorder) { r.ConnectAttempts++ })
	c, err := session.Dial(s.ctx, s.addr, opts)
	if err != nil {
		return nil, err
	}
	s.client = c
	s.connected = time.Now()
	s.unwatch = context.AfterFunc(s.ctx, c.Abort)
	s.count(func(r *metrics.ProfileRecorder) { r.Connections++ })
	return c, nil
}

// Message is the message this session sends, filled from the run's
// message set (one per session).
func (s *Session) Message() *session.Message {
	if !s.haveMsg {
		s.settings.Mail.Fill(&s.msg, s.seq)
		s.msg.Worker = uint64(s.worker)
		s.haveMsg = true
	}
	return &s.msg
}

// Result counts a message the server decided (or failed to). A message
// cut short by the run's end is not counted: its session ends as run_end.
func (s *Session) Result(res *session.Result) {
	if res.Outcome == session.OutcomeFailed && s.ctx.Err() != nil {
		return
	}
	s.count(func(r *metrics.ProfileRecorder) {
		r.Message(res)
		if !res.Start.IsZero() {
			metrics.RecordDuration(r.Phases[session.PhaseMessage], res.End.Sub(res.Start))
		}
	})
}

// Dropped counts a transaction abandoned before its end of data.
func (s *Session) Dropped() { s.count(func(r *metrics.ProfileRecorder) { r.Dropped++ }) }

// Unanswered counts a message whose end of data went out and whose reply
// we did not wait for.
func (s *Session) Unanswered() { s.count(func(r *metrics.ProfileRecorder) { r.Unanswered++ }) }

// BadReply counts the reply to a deliberate bad command.
func (s *Session) BadReply(code int) { s.count(func(r *metrics.ProfileRecorder) { r.Bad[code]++ }) }

// Error counts a failure that belongs to no message (a refused AUTH, a
// greeting that never came). Failures caused by the run's end are not
// counted.
func (s *Session) Error(err error) {
	if s.ctx.Err() != nil {
		return
	}
	var se *session.Error
	if !errors.As(err, &se) {
		se = &session.Error{Phase: session.PhaseConnect, Class: session.ClassProtocol, Err: err}
	}
	s.count(func(r *metrics.ProfileRecorder) { r.Error(se) })
}

func (s *Session) count(f func(*metrics.ProfileRecorder)) {
	s.mu.Lock()
	f(s.rec)
	s.mu.Unlock()
}

// EndOf names how a session ended after err: the run's end, a 421, a
// close, our own timeout, or another failure. A nil err is a QUIT.
func (s *Session) EndOf(err error) string {
	if s.ctx.Err() != nil {
		return metrics.EndRunEnd
	}
	if err == nil {
		return metrics.EndQuit
	}
	var se *session.Error
	if !errors.As(err, &se) {
		return metrics.EndError
	}
	switch {
	case se.Code == session.CodeServiceClosing:
		return metrics.EndServer421
	case se.Class == session.ClassClosed:
		return metrics.EndServerClose
	case se.Class == session.ClassTimeout:
		return metrics.EndOwnTimeout
	}
	return metrics.EndError
}

// Finish closes what is left of the session and records how it ended.
// The caller (loadgen) calls it after Play.
func (s *Session) Finish(how string) {
	var held time.Duration
	if c := s.client; c != nil {
		from := s.connected
		if !s.greeted.IsZero() {
			from = s.greeted
		}
		held = time.Since(from)
		c.Close()
		s.unwatch()
		s.count(func(r *metrics.ProfileRecorder) { r.BytesSent += c.BytesSent() })
	} else if how != metrics.EndRunEnd {
		how = metrics.EndConnectFailed
	}
	s.count(func(r *metrics.ProfileRecorder) { r.End(how, held) })
}

// Connected says whether Dial succeeded.
func (s *Session) Connected() bool { return s.client != nil }

// Quit ends the session with QUIT and returns how it ended.
func (s *Session) Quit(c *session.Client) string {
	err := c.Quit()
	if err != nil {
		return s.EndOf(err)
	}
	return s.EndOf(nil)
}

// Drop closes the connection without QUIT, on purpose.
func (s *Session) Drop(c *session.Client) string {
	c.Close()
	if s.ctx.Err() != nil {
		return metrics.EndRunEnd
	}
	return metrics.EndDropped
}

// throttle writes at most rate bytes per second, in pieces of a tenth of
// a second's worth, so a slow client looks like one to the server: each
// piece is its own segment, spread over the time the whole takes. The
// write deadline the session sets is renewed per piece, as the timeout
// applies per block of data (RFC 5321 4.5.3.2.5).
type throttle struct {
	net.Conn
	rate  int
	span  time.Duration // the session's write deadline, as a span from when it was set
	stop  <-chan struct{}
	timer *time.Timer
}

func newThrottle(c net.Conn, rate int, stop <-chan struct{}) *throttle {
	t := &throttle{Conn: c, rate: rate, stop: stop, timer: time.NewTimer(time.Hour)}
	t.timer.Stop()
	return t
}

func (t *throttle) SetWriteDeadline(d time.Time) error {
	if d.IsZero() {
		t.span = 0
	} else {
		t.span = time.Until(d)
	}
	return t.Conn.SetWriteDeadline(d)
}

func (t *throttle) SetDeadline(d time.Time) error {
	t.SetWriteDeadline(d)
	return t.Conn.SetDeadline(d)
}

func (t *throttle) Write(p []byte) (int, error) {
	piece := max(1, t.rate/10)
	start := time.Now()
	written := 0
	for written < len(p) {
		// Due: when the bytes written so far may be followed by more.
		due := start.Add(time.Duration(float64(written) / float64(t.rate) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			t.timer.Reset(d)
			select {
			case <-t.timer.C:
			case <-t.stop:
				t.timer.Stop()
				return written, net.ErrClosed
			}
		}
		if t.span > 0 {
			t.Conn.SetWriteDeadline(time.Now().Add(t.span))
		}
		n, err := t.Conn.Write(p[written:min(len(p), written+piece)])
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}
