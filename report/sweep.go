package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// What a sweep varies.
const (
	VariesConcurrency = "concurrency" // closed loop, one step per -c value
	VariesRate        = "rate"        // open model, one step per --rate value
	VariesSearch      = "search"      // open model, rates chosen by a capacity search
	// VariesAbuse: the normal load fixed, one step per number of sessions
	// of one client profile (idle, slow, …) added beside it.
	VariesAbuse = "abuse"
)

// HurtGain is the abuse sweep's threshold: abuse hurts the good mail from
// the first step at which the normal sessions' messages/s falls by more
// than HurtGain (a fraction) below the first step's, or their message,
// connect or banner p99 grows to more than twice the first step's.
const HurtGain = 0.10

// KneeGain is the knee rule's threshold: the knee is the first step after
// which messages/s grows by less than KneeGain (a fraction) while the
// message p99 grows by more than it.
const KneeGain = 0.05

// SweepJSON is the "sweep" object of a sweep document.
type SweepJSON struct {
	// Varies is "concurrency", "rate" or "search".
	Varies string `json:"varies"`
	// Target is the server address as dialed.
	Target string `json:"target"`
	// WarmupS is each step's warm-up and DurationS its measured length
	// after it, in seconds (DurationS 0 when steps are bounded by -n).
	WarmupS   float64 `json:"warmup_s"`
	DurationS float64 `json:"duration_s"`
	// Steps has one entry per step or probe, in the order run; the full
	// report of step i is the document's runs[i].
	Steps []StepJSON `json:"steps"`
	// Knee is the saturation point found in the steps (see KneeGain); null
	// when there is none, and absent for a capacity search.
	Knee *KneeJSON `json:"knee"`
	// Search describes a capacity search; absent for a plain sweep.
	Search *SearchJSON `json:"search,omitempty"`
	// AbuseProfile names the profile an abuse sweep adds (--abuse), and
	// Hurt is its first step at which the good mail suffered (HurtGain);
	// null when none did. Both absent outside an abuse sweep.
	AbuseProfile string    `json:"abuse_profile,omitempty"`
	Hurt         *HurtJSON `json:"hurt,omitempty"`
	// Interrupted is true when a signal stopped the sweep: its last step
	// may be short and later steps are missing.
	Interrupted bool `json:"interrupted,omitempty"`
}

// StepJSON is one step's headline figures.
type StepJSON struct {
	// Label is the step's run label: "c=8" or "rate=500".
	Label string `json:"label"`
	// Concurrency is -c for the step (with a rate: the most sessions that
	// may be open); Rate the open-model rate, 0 in a closed loop.
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate"`
	// MessagesPerS, MessageP50MS and MessageP99MS are the step's totals
	// and message-phase percentiles (after its warm-up).
	MessagesPerS float64 `json:"messages_per_s"`
	MessageP50MS float64 `json:"message_p50_ms"`
	MessageP99MS float64 `json:"message_p99_ms"`
	// Errors counts messages rejected or failed; ErrorPct is their percent
	// of attempted messages.
	Errors   int64   `json:"errors"`
	ErrorPct float64 `json:"error_pct"`
	// SLOMet says whether a search probe met the SLO and the error limit;
	// Breaches says how it did not. Absent outside a search.
	SLOMet   *bool    `json:"slo_met,omitempty"`
	Breaches []string `json:"breaches,omitempty"`
	// AbuseSessions is how many sessions of the abuse profile ran beside
	// the normal ones (abuse sweep only). ConnectP99MS and BannerP99MS are
	// the normal sessions' connect and greeting p99, where a server's
	// limit on sessions shows as the wait for a free one.
	AbuseSessions int     `json:"abuse_sessions,omitempty"`
	ConnectP99MS  float64 `json:"connect_p99_ms,omitempty"`
	BannerP99MS   float64 `json:"banner_p99_ms,omitempty"`
	// Warnings are the step's own warnings (generator overloaded, rate
	// not kept).
	Warnings []string `json:"warnings,omitempty"`
	// ServerCPUUSPerMessage and ServerMemoryPeakBytes are the step's
	// server.cpu_us_per_message and server.memory_peak_bytes; absent when
	// the server was not measured.
	ServerCPUUSPerMessage *float64 `json:"server_cpu_us_per_message,omitempty"`
	ServerMemoryPeakBytes *int64   `json:"server_memory_peak_bytes,omitempty"`
	// DeliveredPerS, BacklogMax and Lost come from the step's delivery
	// object (--receive); absent without one. BacklogGrew says the backlog
	// was still growing when the load ended (see analysis.BacklogGrew).
	DeliveredPerS float64 `json:"delivered_per_s,omitempty"`
	BacklogMax    int64   `json:"backlog_max,omitempty"`
	Lost          int64   `json:"lost,omitempty"`
	BacklogGrew   bool    `json:"backlog_grew,omitempty"`
}

// KneeJSON locates the knee of a sweep.
type KneeJSON struct {
	// Step indexes Steps (from 0).
	Step  int    `json:"step"`
	Label string `json:"label"`
	// Value is the knee's sessions (concurrency sweep) or rate.
	Value float64 `json:"value"`
	// GainPct is how much messages/s changed from the knee to the next
	// step, P99GrowthPct how much the message p99 did.
	GainPct      float64 `json:"gain_pct"`
	P99GrowthPct float64 `json:"p99_growth_pct"`
}

// SearchJSON describes a capacity search.
type SearchJSON struct {
	// Method is "bisection": the first probe at RateMax, then each probe
	// halfway between the highest rate that met the SLO (0 at first) and
	// the lowest that did not.
	Method string `json:"method"`
	// SLO lists the latency objectives as PHASE:pNN<=D.
	SLO []string `json:"slo"`
	// MaxErrorPct is the highest error rate a probe may show, in percent.
	MaxErrorPct float64 `json:"max_error_pct"`
	RateMax     float64 `json:"rate_max"`
	// PrecisionPct: the search stops once the bracket between the best
	// passing and the worst failing rate is within this percent of the
	// latter; MaxProbes bounds it in any case.
	PrecisionPct float64 `json:"precision_pct"`
	MaxProbes    int     `json:"max_probes"`
	// Capacity is the highest rate that met the SLO (0 if none did);
	// FailedAt the lowest that did not (0 if every probe met it).
	Capacity float64 `json:"capacity"`
	FailedAt float64 `json:"failed_at"`
	// Stopped says why the search ended: "precision", "probes", "rate_max"
	// (the SLO held at --rate-max), or "signal".
	Stopped string `json:"stopped"`
}

// HurtJSON locates where abuse starts to hurt the good mail.
type HurtJSON struct {
	// Step indexes Steps; AbuseSessions is that step's.
	Step          int `json:"step"`
	AbuseSessions int `json:"abuse_sessions"`
	// Why says which figure crossed the threshold, with both values.
	Why string `json:"why"`
}

// WriteSweepTable renders a sweep or capacity search: one row per step,
// then the knee or the capacity found.
func WriteSweepTable(w io.Writer, d *Document) error {
	s := d.Sweep
	if s == nil {
		return fmt.Errorf("not a sweep document")
	}
	b := &strings.Builder{}
	each := fmt.Sprintf("%s after a %s warm-up each", secs(s.DurationS), secs(s.WarmupS))
	if s.DurationS == 0 {
		each = fmt.Sprintf("bounded by -n, the first %s of each a warm-up", secs(s.WarmupS))
	}
	switch s.Varies {
	case VariesConcurrency:
		fmt.Fprintf(b, "sweep of %s: closed loop, %s of %s\n\n", s.Target, count(int64(len(s.Steps)), "step"), each)
	case VariesRate:
		fmt.Fprintf(b, "sweep of %s: open model, %s of %s, at most %s\n\n", s.Target, count(int64(len(s.Steps)), "step"), each, count(int64(firstConcurrency(s)), "session"))
	case VariesAbuse:
		fmt.Fprintf(b, "abuse sweep of %s: %d normal sessions and more and more %s sessions, %s of %s\n\n", s.Target, firstConcurrency(s), s.AbuseProfile, count(int64(len(s.Steps)), "step"), each)
	case VariesSearch:
		q := s.Search
		slo := strings.Join(q.SLO, ", ")
		fmt.Fprintf(b, "capacity search on %s: the highest open-model rate with %s and errors <= %g%%\n", s.Target, slo, q.MaxErrorPct)
		fmt.Fprintf(b, "bisection between 0 and %g/s, at most %s, until the bracket is within %g%%; probes of %s, at most %s\n\n",
			q.RateMax, count(int64(q.MaxProbes), "probe"), q.PrecisionPct, each, count(int64(firstConcurrency(s)), "session"))
	}
	if s.Interrupted {
		b.WriteString("stopped by a signal: the last step may be short, and the steps after it did not run\n\n")
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	first := map[string]string{VariesConcurrency: "sessions", VariesRate: "rate/s", VariesSearch: "rate/s", VariesAbuse: s.AbuseProfile}[s.Varies]
	server := false
	for _, st := range s.Steps {
		server = server || st.ServerMemoryPeakBytes != nil
	}
	serverCols := ""
	if server {
		serverCols = "server µs/msg\tserver memory\t"
	}
	if s.Varies == VariesAbuse {
		fmt.Fprintf(tw, "%s\tmessages/s\tmessage p50\tmessage p99\tconnect p99\tbanner p99\terrors\t%s\n", first, serverCols)
	} else if s.Varies == VariesSearch {
		fmt.Fprintf(tw, "probe\t%s\tmessages/s\tmessage p50\tmessage p99\terrors\t%s\n", first, serverCols)
	} else {
		fmt.Fprintf(tw, "%s\tmessages/s\tmessage p50\tmessage p99\terrors\t%s\n", first, serverCols)
	}
	for i, st := range s.Steps {
		v := strconv.Itoa(st.Concurrency)
		if s.Varies != VariesConcurrency {
			v = strconv.FormatFloat(st.Rate, 'f', -1, 64)
		}
		errs := strconv.FormatInt(st.Errors, 10)
		if st.Errors > 0 {
			errs += fmt.Sprintf(" (%.2f%%)", st.ErrorPct)
		}
		row := fmt.Sprintf("%s\t%.1f\t%s\t%s\t%s\t", v, st.MessagesPerS, ms3(st.MessageP50MS), ms3(st.MessageP99MS), errs)
		if s.Varies == VariesAbuse {
			row = fmt.Sprintf("%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t", st.AbuseSessions, st.MessagesPerS, ms3(st.MessageP50MS), ms3(st.MessageP99MS),
				ms3(st.ConnectP99MS), ms3(st.BannerP99MS), errs)
		}
		if s.Varies == VariesSearch {
			row = strconv.Itoa(i+1) + "\t" + row
		}
		if server {
			cpu, mem := "-", "-"
			if st.ServerCPUUSPerMessage != nil {
				cpu = strconv.FormatFloat(*st.ServerCPUUSPerMessage, 'f', 1, 64)
			}
			if st.ServerMemoryPeakBytes != nil {
				mem = fmtBytes(*st.ServerMemoryPeakBytes)
			}
			row += cpu + "\t" + mem + "\t"
		}
		if st.DeliveredPerS > 0 || st.Lost > 0 {
			row += fmt.Sprintf("  delivered %.1f/s, backlog max %d, lost %d", st.DeliveredPerS, st.BacklogMax, st.Lost)
			if st.BacklogGrew {
				row += ", backlog growing"
			}
		}
		if note := stepNote(s, i); note != "" {
			row += "  " + note
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
	b.WriteString("(latencies in ms")
	if s.Varies == VariesAbuse {
		b.WriteString(", the normal sessions' only")
	} else if s.Varies != VariesConcurrency {
		b.WriteString("; message is measured from each message's due time")
	}
	b.WriteString(")\n\n")
	switch {
	case s.Varies == VariesAbuse && s.Hurt != nil:
		fmt.Fprintf(b, "abuse hurts the good mail from %d %s sessions: %s\n", s.Hurt.AbuseSessions, s.AbuseProfile, s.Hurt.Why)
	case s.Varies == VariesAbuse:
		fmt.Fprintf(b, "abuse hurts the good mail: not within these steps (messages/s never fell %g%% below the first step's, no p99 doubled)\n", HurtGain*100)
	case s.Search != nil:
		b.WriteString(searchSentence(s.Search) + "\n")
	case s.Knee != nil:
		k := s.Knee
		next := s.Steps[k.Step+1]
		nv := float64(next.Concurrency)
		if s.Varies != VariesConcurrency {
			nv = next.Rate
		}
		load := func(v float64) string {
			if s.Varies == VariesConcurrency {
				return count(int64(v), "session")
			}
			return strconv.FormatFloat(v, 'g', -1, 64) + "/s"
		}
		fmt.Fprintf(b, "knee: %s. From there to %s messages/s changed %+.1f%% (under %g%%) while message p99 grew %.0f%%: more load only adds waiting\n",
			load(k.Value), load(nv), k.GainPct, KneeGain*100, k.P99GrowthPct)
	default:
		fmt.Fprintf(b, "knee: none. At every step messages/s grew by %g%% or more, or message p99 did not grow: no saturation within these steps\n", KneeGain*100)
	}
	for i, st := range s.Steps {
		for _, warn := range st.Warnings {
			fmt.Fprintf(b, "\nWARNING (%s): %s\n", stepName(s, i), warn)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func stepNote(s *SweepJSON, i int) string {
	st := s.Steps[i]
	switch {
	case st.SLOMet != nil && *st.SLOMet:
		return "met"
	case st.SLOMet != nil:
		return "breached: " + strings.Join(st.Breaches, ", ")
	case s.Knee != nil && s.Knee.Step == i:
		return "<- knee"
	case s.Hurt != nil && s.Hurt.Step == i:
		return "<- hurts"
	}
	return ""
}

func stepName(s *SweepJSON, i int) string {
	if s.Varies == VariesSearch {
		return fmt.Sprintf("probe %d, %s", i+1, s.Steps[i].Label)
	}
	return s.Steps[i].Label
}

func searchSentence(q *SearchJSON) string {
	switch {
	case q.Stopped == "rate_max":
		return fmt.Sprintf("capacity: at least %g/s: the SLO held at --rate-max; raise it to find the limit", q.RateMax)
	case q.Capacity == 0:
		return fmt.Sprintf("capacity: below %g/s: the SLO was breached at every rate probed", q.FailedAt)
	}
	why := map[string]string{"precision": "the bracket is within the precision", "probes": "the probes are used up", "signal": "stopped by a signal"}[q.Stopped]
	return fmt.Sprintf("capacity: %g/s: the SLO held at %g/s and was breached at %g/s (%s)", q.Capacity, q.Capacity, q.FailedAt, why)
}

func firstConcurrency(s *SweepJSON) int {
	if len(s.Steps) == 0 {
		return 0
	}
	return s.Steps[0].Concurrency
}

func secs(v float64) string {
	return (time.Duration(v * float64(time.Second))).Round(time.Millisecond).String()
}

// Article puts "a" or "an" before a word as it is said: "an ab document",
// "a sweep document".
func Article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
