package report

import (
	"fmt"
	"strings"

	"github.com/smtpbench/smtpbench/metrics"
)

// PipeliningOutcome is which pipelining mode the sessions to one target
// ended in, and why (session.PipeliningState.Outcome).
type PipeliningOutcome struct {
	Target string
	Mode   string // session.ModeFull, ModeGroups or ModeOff
	Reason string
	// Resent counts messages sent again, uncharged, because the target did
	// not serve the envelope written behind the end of data.
	Resent int64
	// Groups counts the pipelined groups the sessions to the target read
	// (writes with more than one command that gets a reply), Batched how
	// many of them the server answered in one write.
	Groups, Batched int64
}

// JSONPipelining is one target's pipelining outcome.
type JSONPipelining struct {
	Target string `json:"target"`
	// Mode is "full" (the next envelope written behind the end of data:
	// one round trip per message), "groups" (MAIL, RCPT and DATA as one
	// group after the end-of-data reply: two) or "off" (one command at a
	// time).
	Mode string `json:"mode"`
	// Reason says why: "set to" the pipelining setting's value when that
	// forced the mode ("set to off"), or what the server did.
	Reason string `json:"reason"`
	// Resent counts messages sent again, uncharged, because the server did
	// not serve an envelope written behind the end of data.
	Resent int64 `json:"resent"`
	// Groups counts the pipelined groups read from the target: writes
	// carrying more than one command that gets a reply.
	Groups int64 `json:"groups"`
	// GroupsBatched counts those the server answered in one write (the
	// next reply had arrived with the first), BatchedPct is their share of
	// groups in percent: where it is high, pipelined replies do not show
	// which command took the time (docs/phases.md).
	GroupsBatched int64   `json:"groups_batched"`
	BatchedPct    float64 `json:"batched_pct"`
}

// JSONSessionLimits describes sessions the server ended at the start of a
// transaction, after some messages: a 421 or a close instead of the reply
// to MAIL, or a 4yz to MAIL. Each such message went again on a new
// connection; it is counted once, by how it ended there.
type JSONSessionLimits struct {
	// Sessions is how many sessions the server ended so.
	Sessions int64 `json:"sessions"`
	// MessagesMin and MessagesMax are the fewest and most messages one of
	// those sessions carried before.
	MessagesMin int64 `json:"messages_min"`
	MessagesMax int64 `json:"messages_max"`
	// Code is the first such reply's code (0: the server closed the
	// connection), Text the reply or what happened.
	Code int    `json:"code"`
	Text string `json:"text"`
	// Enhanced is that reply's enhanced status code (RFC 3463), if any.
	Enhanced string `json:"enhanced,omitempty"`
	// Summary is the sentence the table prints, with the --per-conn that
	// keeps under the limit.
	Summary string `json:"summary"`
}

func pipeliningJSON(res *Result) []JSONPipelining {
	var out []JSONPipelining
	for _, p := range res.Pipelining {
		jp := JSONPipelining{Target: p.Target, Mode: p.Mode, Reason: p.Reason, Resent: p.Resent,
			Groups: p.Groups, GroupsBatched: p.Batched}
		if p.Groups > 0 {
			jp.BatchedPct = 100 * float64(p.Batched) / float64(p.Groups)
		}
		out = append(out, jp)
	}
	return out
}

func sessionLimitsJSON(s *metrics.SessionEnds) *JSONSessionLimits {
	if s.Sessions == 0 {
		return nil
	}
	j := &JSONSessionLimits{Sessions: s.Sessions, MessagesMin: s.MinMessages, MessagesMax: s.MaxMessages,
		Code: s.Code, Text: s.Text, Enhanced: s.Enhanced.String()}
	j.Summary = j.summary()
	return j
}

// summary is, for example, "the server ended 20 sessions after 100
// messages each (452 4.5.3 Too many messages); --per-conn 100 avoids it".
func (s *JSONSessionLimits) summary() string {
	sessions := "1 session"
	if s.Sessions > 1 {
		sessions = fmt.Sprintf("%d sessions", s.Sessions)
	}
	var after string
	switch {
	case s.MessagesMin == s.MessagesMax && s.Sessions > 1:
		after = fmt.Sprintf("%d messages each", s.MessagesMin)
	case s.MessagesMin == s.MessagesMax:
		after = count(s.MessagesMin, "message")
	default:
		after = fmt.Sprintf("%d to %d messages", s.MessagesMin, s.MessagesMax)
	}
	reply := "closed the connection"
	if s.Code != 0 {
		parts := []string{fmt.Sprint(s.Code)}
		if s.Enhanced != "" {
			parts = append(parts, s.Enhanced)
		}
		if s.Text != "" {
			parts = append(parts, s.Text)
		}
		reply = strings.Join(parts, " ")
	}
	return fmt.Sprintf("the server ended %s after %s (%s); --per-conn %d avoids it", sessions, after, reply, s.MessagesMin)
}

// count says "1 message" or "N messages".
func count(n int64, what string) string {
	return fmt.Sprintf("%d %s", n, plural(int(n), what, what+"s"))
}

// pipeliningLines are the table's lines for res.Pipelining and the
// session limits.
func pipeliningLines(j *JSONReport) string {
	var b strings.Builder
	for _, p := range j.Pipelining {
		target := ""
		if len(j.Pipelining) > 1 {
			target = p.Target + " "
		}
		fmt.Fprintf(&b, "pipelining  %s%s: %s", target, p.Mode, p.Reason)
		if p.Resent > 0 {
			fmt.Fprintf(&b, " (%s sent again)", count(p.Resent, "message"))
		}
		b.WriteString("\n")
	}
	if s := j.SessionLimits; s != nil {
		fmt.Fprintf(&b, "sessions    %s\n", s.Summary)
	}
	return b.String()
}
