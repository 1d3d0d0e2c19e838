package metrics

import "github.com/smtpbench/smtpbench/session"

// SessionEnds counts sessions the server ended at the start of a
// transaction after some messages (session.Client.Ended): its limit of
// messages per session. The message met there went again on a new
// connection and is counted once, by how it ended there.
type SessionEnds struct {
	Sessions                 int64
	MinMessages, MaxMessages int64 // messages each of those sessions carried
	// Code, Enhanced and Text are the first such reply seen (Code 0: the
	// server closed the connection instead of answering).
	Code     int
	Enhanced session.EnhancedCode
	Text     string
}

// Add counts one session that the server ended with e after messages.
func (s *SessionEnds) Add(e *session.Error, messages int) {
	n := int64(messages)
	if s.Sessions == 0 {
		s.MinMessages, s.MaxMessages = n, n
		s.Code, s.Enhanced, s.Text = e.Code, e.Enhanced, e.Explain()
	}
	s.Sessions++
	s.MinMessages = min(s.MinMessages, n)
	s.MaxMessages = max(s.MaxMessages, n)
}

// Merge adds o into s.
func (s *SessionEnds) Merge(o *SessionEnds) {
	if o.Sessions == 0 {
		return
	}
	if s.Sessions == 0 {
		*s = *o
		return
	}
	s.Sessions += o.Sessions
	s.MinMessages = min(s.MinMessages, o.MinMessages)
	s.MaxMessages = max(s.MaxMessages, o.MaxMessages)
}
