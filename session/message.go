package session

// Message is one transaction to send. Its envelope and content are rendered
// as they go out, from parts prepared once for the run, so that nothing is
// encoded or allocated per message.
type Message struct {
	Seq   uint64 // the message number, {n}
	From  Address
	To    Address
	Rcpts int // number of RCPT TO commands, at least 1
	// Content writes the content.
	Content Content
	// EightBit says the content has octets above 127; MAIL then declares
	// BODY=8BITMIME where the server offers it (RFC 6152).
	EightBit bool
	// UTF8 says an envelope address holds non-ASCII characters (an
	// internationalised address, RFC 6531): MAIL declares SMTPUTF8 where
	// the server offers it, and where it does not the message fails
	// before anything is written (ErrNoSMTPUTF8): the address cannot be
	// sent as it is, and there is no ASCII form of its local part.
	UTF8 bool

	// Worker and Conn number the session slot and the connection that
	// send the message ({w} and {c}), from 1.
	Worker, Conn uint64
	// Rand seeds every random choice inside the message ({rand:N},
	// {uuid}); package message derives it from the run's seed and Seq.
	Rand uint64
	// BodySize is the size of a generated body, for contents that make one
	// per message (see package message).
	BodySize int
}

// Address is an envelope address that differs from message to message
// (package message's templates and address lists implement it). The client
// knows only this much of it, so that building messages stays out of the
// package that speaks SMTP.
type Address interface {
	// Append appends the address of m's sender (i = 1) or of its ith
	// recipient (from 1), without angle brackets. It must not allocate:
	// it runs once per command on the hot path. What it appends must have
	// passed CheckAddress.
	Append(dst []byte, m *Message, i int) []byte
}

// Content is a message's content, written into the write buffer as the
// message goes out. Implementations prepare what does not vary once and
// write the rest per message without allocating; they are shared by every
// session, so they must not change after the run starts.
type Content interface {
	// AppendData appends m's content in DATA form: CRLF line ends, lines
	// starting with '.' dot-stuffed, ending in CRLF.CRLF (RFC 5321 4.5.2).
	AppendData(dst []byte, m *Message) []byte
	// AppendRaw appends m's content as BDAT carries it (RFC 3030): CRLF
	// line ends, no dot-stuffing, no end marker.
	AppendRaw(dst []byte, m *Message) []byte
	// Size is the length of what AppendRaw appends, which is what SIZE=
	// declares (RFC 1870 6).
	Size(m *Message) int64
}

// Size is the message's size as RFC 1870 counts it: the content with CRLF
// line ends, without dot-stuffing and the final ".".
func (m *Message) Size() int64 { return m.Content.Size(m) }

// Outcome is how a message ended, for the invariant
// attempted = ok + rejected + failed.
type Outcome uint8

const (
	OutcomeOK       Outcome = iota // the server accepted the content
	OutcomeRejected                // the server said no with a 4yz/5yz reply
	OutcomeFailed                  // no decision: timeout, I/O error, protocol error, 421
	// OutcomeResend is no outcome: the server ended the session at the
	// start of the message's transaction, after other messages (a limit
	// of messages per session), so the caller sends it again on a new
	// connection and counts it then.
	OutcomeResend
)

func (o Outcome) String() string {
	return [...]string{"ok", "rejected", "failed", "resend"}[o]
}
