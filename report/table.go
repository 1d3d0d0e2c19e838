package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
)

// WriteTable renders res as the human-readable report.
func WriteTable(w io.Writer, res *Result) error {
	return writeTable(w, Figures(res), res.Grace.String())
}

// WriteRunTable renders a run's report, saved or merged, as the
// human-readable table.
func WriteRunTable(w io.Writer, j *JSONReport) error {
	return writeTable(w, j, "")
}

// writeTable renders j; grace, when known, completes the sentence about the
// drain after the stop.
func writeTable(w io.Writer, j *JSONReport, grace string) error {
	b := &strings.Builder{}
	open := j.LoadModel == "open"
	model := "closed loop"
	if open {
		model = "open model"
	}
	fmt.Fprintf(b, "target %s, %s, stopped by %s after %.2f s", j.Target, model, j.StopReason, j.ElapsedS)
	if drain := j.ElapsedS - j.StoppedAtS; j.StoppedAtS > 0 && drain >= 0.1 {
		fmt.Fprintf(b, " (stopped starting messages at %.2f s, then waited %.2f s for those in flight", j.StoppedAtS, drain)
		if grace != "" {
			fmt.Fprintf(b, ", up to --grace %s", grace)
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	writeDeliveryLine(b, j)
	if j.Merged != nil {
		fmt.Fprintf(b, "merged from %d results:", len(j.Merged.Sources))
		for _, src := range j.Merged.Sources {
			fmt.Fprintf(b, " %s (%d ok)", src.File, src.MessagesOK)
		}
		b.WriteString("\n")
		for _, diff := range j.Merged.Differences {
			vals := make([]string, len(diff.Values))
			for i, v := range diff.Values {
				vals[i] = string(v)
			}
			fmt.Fprintf(b, "  differs: %s = %s\n", diff.Field, strings.Join(vals, ", "))
		}
	}
	b.WriteString("\n")

	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tcount\tmin\tmean\tp50\tp90\tp99\tp99.9\tmax\t")
	for _, name := range PhaseNames(j) {
		s := j.Phases[name]
		if src, ok := j.PhaseSources[name]; ok && !src.Attributed() {
			fmt.Fprintf(tw, "%s\t-\t\t\t\t\t\t\t\t\n", name)
			continue
		}
		if s.Count == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, s.Count,
			ms3(s.MinMS), ms3(s.MeanMS), ms3(s.P50MS), ms3(s.P90MS), ms3(s.P99MS), ms3(s.P999MS), ms3(s.MaxMS))
	}
	tw.Flush()
	b.WriteString("(latencies in ms")
	if len(Unattributed(j)) > 0 {
		b.WriteString("; - : the server answered pipelined commands together and no message went lock-step, so the time of each is unknown")
	}
	if open {
		b.WriteString("; message is measured from each message's due time, message_service from when a session began it")
	}
	b.WriteString(")\n\n")

	t := j.Totals
	fmt.Fprintf(b, "messages    %d ok, %d rejected, %d failed (%d attempted)", t.MessagesOK, t.MessagesRejected, t.MessagesFailed, t.MessagesAttempted)
	if t.MessagesSkipped > 0 {
		fmt.Fprintf(b, "; %d skipped, over the server's SIZE limit", t.MessagesSkipped)
	}
	if t.MessagesAbandoned > 0 {
		fmt.Fprintf(b, "; %d pipelined ahead and abandoned at the stop, content never sent", t.MessagesAbandoned)
	}
	if j.countsOnly {
		fmt.Fprintf(b, "\nthroughput  %.1f messages/s in %.2f s (recipients, connections and bytes are not in a live file)\n", t.MessagesPerS, j.ElapsedS)
	} else {
		writeCounts(b, j)
	}
	if g := j.Generator; g != nil {
		fmt.Fprintf(b, "generator   CPU %.0f%% of %d cores (%.2f s), scheduling delay p50 %s p99 %s max %s ms\n",
			g.CPUPercent, g.Cores, g.CPUS, ms3(g.SchedDelayP50MS), ms3(g.SchedDelayP99MS), ms3(g.SchedDelayMaxMS))
	}
	b.WriteString(serverLine(j.Server))
	if j.Warmup != nil {
		fmt.Fprintf(b, "warm-up     %d ok, %d rejected, %d failed (not in the figures above)\n", j.Warmup.MessagesOK, j.Warmup.MessagesRejected, j.Warmup.MessagesFailed)
	}
	if len(j.Sizes) > 1 || len(j.Sizes) == 1 && strings.Contains(j.Sizes[0].Size, "-") {
		parts := make([]string, len(j.Sizes))
		for i, sz := range j.Sizes {
			parts[i] = fmt.Sprintf("%s B x%d (%.1f%%, asked %.0f%%)", sz.Size, sz.Messages, sz.SharePct, sz.WeightPct)
		}
		fmt.Fprintf(b, "sizes       %s\n", strings.Join(parts, ", "))
	}
	// The seed is printed so that a run can be repeated; a run that
	// records none (a merge of runs with different seeds) prints none.
	if c := j.Config; c.Seed != 0 || c.SeedGiven {
		fmt.Fprintf(b, "seed        %d\n", c.Seed)
	}
	if len(j.Targets) > 0 {
		b.WriteString("\ntargets\n")
		tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  target\tweight\tattempted\tok\trejected\tfailed\tconnections\tbytes\t")
		for _, t := range j.Targets {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", t.Target, t.Weight, t.MessagesAttempted,
				t.MessagesOK, t.MessagesRejected, t.MessagesFailed, t.Connections, t.BytesSent)
		}
		tw.Flush()
	}

	writeProfiles(b, j)
	writeStages(b, j)

	b.WriteString("\nreplies")
	if len(j.Replies) == 0 {
		b.WriteString("     none")
	}
	b.WriteString("\n")
	for _, name := range orderedPhases(j.Replies) {
		codes := j.Replies[name]
		if len(codes) == 0 {
			continue
		}
		keys := make([]string, 0, len(codes))
		for k := range codes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " x" + strconv.FormatInt(codes[k], 10)
		}
		fmt.Fprintf(b, "  %-8s %s\n", name, strings.Join(parts, ", "))
	}

	b.WriteString("\nerrors")
	if len(j.Errors) == 0 {
		b.WriteString("      none\n")
	} else {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  phase\tclass\tcode\tcount\twhy (first seen)")
		for _, e := range j.Errors {
			code := "-"
			if e.Code != 0 {
				code = strconv.Itoa(e.Code)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", e.Phase, e.Class, code, e.Count, e.Text)
		}
		tw.Flush()
		hinted := map[string]bool{}
		for _, e := range j.Errors {
			if e.Hint != "" && !hinted[e.Class] {
				hinted[e.Class] = true
				fmt.Fprintf(b, "  hint (%s): %s\n", e.Class, e.Hint)
			}
		}
		writeMeanings(b, j.Errors)
	}
	for _, warn := range j.Warnings {
		fmt.Fprintf(b, "\nWARNING: %s\n", warn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeStages prints a row per stage of the load profile.
func writeStages(b *strings.Builder, j *JSONReport) {
	if len(j.Stages) == 0 {
		return
	}
	unit := "sessions"
	if j.LoadModel == "open" {
		unit = "msg/s"
	}
	b.WriteString("\nstages\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  from s\tto s\ttarget (%s)\tmessages/s\tp50\tp99\terrors\t\n", unit)
	for _, st := range j.Stages {
		target := strconv.FormatFloat(st.Target, 'f', -1, 64)
		if st.From != st.Target {
			target = strconv.FormatFloat(st.From, 'f', -1, 64) + " -> " + target
		}
		fmt.Fprintf(tw, "  %.1f\t%.1f\t%s\t%.1f\t%s\t%s\t%d\t\n", st.StartS, st.EndS, target, st.MessagesPerS, ms3(st.P50MS), ms3(st.P99MS), st.Errors)
	}
	tw.Flush()
	b.WriteString("  (latencies in ms, each stage's own histogram of the message phase)\n")
}

// phaseOrder is the order phases appear in a report.
func phaseOrder() []string {
	names := make([]string, 0, session.NumPhases+2)
	for p := session.Phase(0); p < session.NumPhases; p++ {
		names = append(names, p.String())
	}
	return append(names, metrics.SeriesService, metrics.SeriesLag, metrics.SeriesDelivery, metrics.SeriesEndToEnd)
}

// FormatMS prints milliseconds to about three significant digits, as the
// tables do.
func FormatMS(v float64) string { return ms3(v) }

// ms3 prints milliseconds to about three significant digits.
func ms3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// writeCounts writes the recipients, connections, TLS, pipelining and
// throughput lines of j.
func writeCounts(b *strings.Builder, j *JSONReport) {
	t := j.Totals
	fmt.Fprintf(b, "\nrecipients  %d accepted, %d rejected", t.RecipientsAccepted, t.RecipientsRejected)
	if t.RecipientsDelivered+t.RecipientsUndelivered > 0 {
		fmt.Fprintf(b, "; after the content %d delivered, %d not (LMTP)", t.RecipientsDelivered, t.RecipientsUndelivered)
	}
	if t.TransactionsContinued > 0 {
		fmt.Fprintf(b, "; %d further transactions after a recipient limit (452)", t.TransactionsContinued)
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "connections %d (%d attempts)\n", t.Connections, t.ConnectAttempts)
	b.WriteString(tlsLine(j.TLS))
	b.WriteString(pipeliningLines(j))
	b.WriteString(batchingLines(j))
	fmt.Fprintf(b, "throughput  %.1f messages/s, %.2f MB/s (%d bytes sent in %.2f s)\n", t.MessagesPerS, t.MBPerS, t.BytesSent, j.ElapsedS)
}
