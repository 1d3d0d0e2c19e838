package report

// Session profiles (--mix): what each kind of client that is not a normal
// one did and what the server did to it, counted apart from the normal
// sessions, whose figures stay the report's headline.

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// ProfileResult is one profile of a run's mix.
type ProfileResult struct {
	Name    string
	Weight  int
	Workers int // its share of the concurrent sessions (-c)
	// Rec is nil for the normal profile, whose figures are the run's.
	Rec *metrics.ProfileRecorder
}

// JSONProfile is one entry of the JSON's "profiles" object (--mix).
type JSONProfile struct {
	// Weight is the profile's weight in --mix; Workers its share of the
	// concurrent sessions (-c), each running one session after another.
	Weight  int `json:"weight"`
	Workers int `json:"workers"`
	// Sessions counts sessions begun, successful or not (for normal: the
	// sessions that got past EHLO).
	Sessions int64 `json:"sessions"`
	// Messages decided by the server, as in the totals: attempted = ok +
	// rejected + failed. Failed messages got no decision (timeout, close,
	// 421): the server or the network caused them.
	MessagesAttempted int64 `json:"messages_attempted"`
	MessagesOK        int64 `json:"messages_ok"`
	MessagesRejected  int64 `json:"messages_rejected"`
	MessagesFailed    int64 `json:"messages_failed"`
	// MessagesDropped were abandoned by us before the end of data
	// (abort-mail, abort-rcpt, abort-data): never delivered, not attempted.
	MessagesDropped int64 `json:"messages_dropped,omitempty"`
	// MessagesUnanswered had their end of data written, and then we dropped
	// the connection before the reply (abort-dot): the server may have
	// delivered them. Not attempted, not failed.
	MessagesUnanswered int64 `json:"messages_unanswered,omitempty"`
	RecipientsAccepted int64 `json:"recipients_accepted"`
	RecipientsRejected int64 `json:"recipients_rejected"`
	ConnectAttempts    int64 `json:"connect_attempts"`
	BytesSent          int64 `json:"bytes_sent"`
	// Phases summarises the profile's own replies per phase (only phases
	// with samples); absent for normal, whose phases are the top-level ones.
	Phases map[string]Summary `json:"phases,omitempty"`
	// Replies counts reply codes per phase, as the top-level "replies".
	Replies map[string]map[string]int64 `json:"replies,omitempty"`
	// BadCommandReplies counts the replies to deliberate bad commands
	// (badcmd) by code.
	BadCommandReplies map[string]int64 `json:"bad_command_replies,omitempty"`
	// Errors lists the profile's failures as the top-level "errors" does.
	Errors []ErrorCount `json:"errors,omitempty"`
	// Ended counts sessions by how they ended: quit, server_421,
	// server_close, own_timeout, dropped, run_end, connect_failed, error.
	Ended map[string]int64 `json:"ended,omitempty"`
	// SessionTime summarises how long each session lasted, from the
	// greeting (or the end of the connect, when none came) to its end
	// (ms): for idle and slow clients, how long the server kept them once
	// it served them. Absent when no session got that far.
	SessionTime *Summary `json:"session_time,omitempty"`
}

// profilesJSON builds the "profiles" object; nil without a mix.
func profilesJSON(res *Result, withHDR bool) map[string]JSONProfile {
	if len(res.Profiles) == 0 {
		return nil
	}
	out := map[string]JSONProfile{}
	for _, p := range res.Profiles {
		jp := JSONProfile{Weight: p.Weight, Workers: p.Workers}
		if p.Rec == nil {
			t := res.Total
			jp.Sessions, jp.MessagesAttempted, jp.MessagesOK, jp.MessagesRejected, jp.MessagesFailed =
				t.Connections, t.Attempted, t.OK, t.Rejected, t.Failed
			jp.RecipientsAccepted, jp.RecipientsRejected = t.RcptAccepted, t.RcptRejected
			jp.ConnectAttempts, jp.BytesSent = t.ConnectAttempts, t.BytesSent
			out[p.Name] = jp
			continue
		}
		r := p.Rec
		jp.Sessions, jp.MessagesAttempted, jp.MessagesOK, jp.MessagesRejected, jp.MessagesFailed =
			r.Sessions, r.Attempted, r.OK, r.Rejected, r.Failed
		jp.MessagesDropped, jp.MessagesUnanswered = r.Dropped, r.Unanswered
		jp.RecipientsAccepted, jp.RecipientsRejected = r.RcptAccepted, r.RcptRejected
		jp.ConnectAttempts, jp.BytesSent = r.ConnectAttempts, r.BytesSent
		jp.Phases, jp.Replies = phasesOf(r.Recorder, withHDR)
		jp.Errors = errorCounts(r.Recorder)
		if len(r.Ended) > 0 {
			jp.Ended = map[string]int64{}
			for k, n := range r.Ended {
				jp.Ended[k] = n
			}
		}
		if len(r.Bad) > 0 {
			jp.BadCommandReplies = map[string]int64{}
			for code, n := range r.Bad {
				jp.BadCommandReplies[fmt.Sprint(code)] = n
			}
		}
		if r.Held.TotalCount() > 0 {
			s := summarize(r.Held, withHDR)
			jp.SessionTime = &s
		}
		out[p.Name] = jp
	}
	return out
}

// mixTotals adds every profile's counters to the normal sessions' totals:
// what the server saw from everyone.
func mixTotals(res *Result, window, elapsed time.Duration) *Totals {
	if len(res.Profiles) == 0 {
		return nil
	}
	all := metrics.NewRecorder(false)
	all.Attempted, all.OK, all.Rejected, all.Failed = res.Total.Attempted, res.Total.OK, res.Total.Rejected, res.Total.Failed
	all.RcptAccepted, all.RcptRejected = res.Total.RcptAccepted, res.Total.RcptRejected
	all.Connections, all.ConnectAttempts, all.BytesSent = res.Total.Connections, res.Total.ConnectAttempts, res.Total.BytesSent
	all.IdleCloses = res.Total.IdleCloses
	for _, p := range res.Profiles {
		if r := p.Rec; r != nil {
			all.Attempted += r.Attempted
			all.OK += r.OK
			all.Rejected += r.Rejected
			all.Failed += r.Failed
			all.RcptAccepted += r.RcptAccepted
			all.RcptRejected += r.RcptRejected
			all.Connections += r.Connections
			all.ConnectAttempts += r.ConnectAttempts
			all.BytesSent += r.BytesSent
		}
	}
	t := totals(all, window, elapsed)
	return &t
}

// phasesOf summarises r's phases that have samples, and its reply codes.
func phasesOf(r *metrics.Recorder, withHDR bool) (map[string]Summary, map[string]map[string]int64) {
	phases := map[string]Summary{}
	replies := map[string]map[string]int64{}
	for i, h := range r.Phases {
		name := session.Phase(i).String()
		if h.TotalCount() > 0 {
			phases[name] = summarize(h, withHDR)
		}
		for code, n := range r.Codes[i] {
			if n == 0 {
				continue
			}
			if replies[name] == nil {
				replies[name] = map[string]int64{}
			}
			replies[name][fmt.Sprint(code)] = n
		}
	}
	if len(replies) == 0 {
		replies = nil
	}
	return phases, replies
}

// ProfileNames lists the profiles of j in a stable order: normal first,
// then by name.
func ProfileNames(m map[string]JSONProfile) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		if n != metrics.NormalProfile {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if _, ok := m[metrics.NormalProfile]; ok {
		names = append([]string{metrics.NormalProfile}, names...)
	}
	return names
}

// writeProfiles renders the table's section of the mix: one row per
// profile.
func writeProfiles(b *strings.Builder, j *JSONReport) {
	if len(j.Profiles) == 0 {
		return
	}
	b.WriteString("\nsession mix (the figures above are the normal sessions'; ")
	if t := j.MixTotals; t != nil {
		fmt.Fprintf(b, "everyone: %d ok of %d attempted, %d connections, %d bytes", t.MessagesOK, t.MessagesAttempted, t.Connections, t.BytesSent)
	}
	b.WriteString(")\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  profile\tworkers\tsessions\tok\trejected\tfailed\tdropped\tunanswered\trcpt ok/no\tsession p50\tsession max\tended\t")
	for _, name := range ProfileNames(j.Profiles) {
		p := j.Profiles[name]
		p50, mx := "-", "-"
		if s := p.SessionTime; s != nil {
			p50, mx = ms3(s.P50MS), ms3(s.MaxMS)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d/%d\t%s\t%s\t%s\t\n", name, p.Workers, p.Sessions,
			p.MessagesOK, p.MessagesRejected, p.MessagesFailed, p.MessagesDropped, p.MessagesUnanswered,
			p.RecipientsAccepted, p.RecipientsRejected, p50, mx, endedText(p.Ended))
	}
	tw.Flush()
	b.WriteString("  (session times in ms, from the greeting to the session's end)\n")
}

func endedText(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// mergeProfiles adds up the session mixes of several results, profile by
// profile: counters summed, histograms merged exactly, errors by key.
func mergeProfiles(docs []*JSONReport, names []string) (map[string]JSONProfile, error) {
	var out map[string]JSONProfile
	for i, d := range docs {
		for name, p := range d.Profiles {
			if out == nil {
				out = map[string]JSONProfile{}
			}
			m, seen := out[name]
			if !seen {
				m = JSONProfile{}
			}
			if err := m.add(&p); err != nil {
				return nil, fmt.Errorf("%s: profiles.%s: %v", names[i], name, err)
			}
			out[name] = m
		}
	}
	return out, nil
}

// add merges o into p.
func (p *JSONProfile) add(o *JSONProfile) error {
	p.Weight += o.Weight
	p.Workers += o.Workers
	p.Sessions += o.Sessions
	p.MessagesAttempted += o.MessagesAttempted
	p.MessagesOK += o.MessagesOK
	p.MessagesRejected += o.MessagesRejected
	p.MessagesFailed += o.MessagesFailed
	p.MessagesDropped += o.MessagesDropped
	p.MessagesUnanswered += o.MessagesUnanswered
	p.RecipientsAccepted += o.RecipientsAccepted
	p.RecipientsRejected += o.RecipientsRejected
	p.ConnectAttempts += o.ConnectAttempts
	p.BytesSent += o.BytesSent
	mergeSummary := func(a *Summary, b Summary) error {
		ha, err := a.Histogram()
		if err != nil {
			return err
		}
		hb, err := b.Histogram()
		if err != nil {
			return err
		}
		ha.Merge(hb)
		*a = Summarize(ha)
		return nil
	}
	for name, s := range o.Phases {
		if p.Phases == nil {
			p.Phases = map[string]Summary{}
		}
		cur, ok := p.Phases[name]
		if !ok {
			p.Phases[name] = s
			continue
		}
		if err := mergeSummary(&cur, s); err != nil {
			return fmt.Errorf("phases.%s: %v", name, err)
		}
		p.Phases[name] = cur
	}
	if o.SessionTime != nil {
		if p.SessionTime == nil {
			s := *o.SessionTime
			p.SessionTime = &s
		} else if err := mergeSummary(p.SessionTime, *o.SessionTime); err != nil {
			return fmt.Errorf("session_time: %v", err)
		}
	}
	addCounts := func(dst *map[string]int64, src map[string]int64) {
		for k, n := range src {
			if *dst == nil {
				*dst = map[string]int64{}
			}
			(*dst)[k] += n
		}
	}
	addCounts(&p.Ended, o.Ended)
	addCounts(&p.BadCommandReplies, o.BadCommandReplies)
	for phase, codes := range o.Replies {
		if p.Replies == nil {
			p.Replies = map[string]map[string]int64{}
		}
		m := p.Replies[phase]
		addCounts(&m, codes)
		p.Replies[phase] = m
	}
	for _, e := range o.Errors {
		found := false
		for i := range p.Errors {
			if q := &p.Errors[i]; q.Phase == e.Phase && q.Class == e.Class && q.Code == e.Code {
				q.Count += e.Count
				found = true
				break
			}
		}
		if !found {
			p.Errors = append(p.Errors, e)
		}
	}
	return nil
}
