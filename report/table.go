package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/smtpbench/smtpbench/session"
)

// WriteTable renders res as the human-readable report.
func WriteTable(w io.Writer, res *Result) error {
	j := Figures(res)
	b := &strings.Builder{}
	model := "closed loop"
	if res.Open {
		model = "open model"
	}
	fmt.Fprintf(b, "target %s, %s, stopped by %s after %.2f s", res.Target, model, res.StopReason, res.Elapsed.Seconds())
	if drain := res.Elapsed - res.StoppedAt; res.StoppedAt > 0 && drain >= 100*time.Millisecond {
		fmt.Fprintf(b, " (stopped starting messages at %.2f s, then waited %.2f s for those in flight, up to --grace %s)",
			res.StoppedAt.Seconds(), drain.Seconds(), res.Grace)
	}
	b.WriteString("\n\n")

	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tcount\tmin\tmean\tp50\tp90\tp99\tp99.9\tmax\t")
	row := func(name string, h *hdrhistogram.Histogram) {
		s := summarize(h, false)
		if s.Count == 0 {
			return
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, s.Count,
			ms3(s.MinMS), ms3(s.MeanMS), ms3(s.P50MS), ms3(s.P90MS), ms3(s.P99MS), ms3(s.P999MS), ms3(s.MaxMS))
	}
	for p := session.Phase(0); p < session.NumPhases; p++ {
		row(p.String(), res.Total.Phases[p])
	}
	if res.Open {
		row(SeriesService, res.Total.Service)
		row(SeriesLag, res.Total.Lag)
	}
	tw.Flush()
	b.WriteString("(latencies in ms")
	if res.Open {
		b.WriteString("; message is measured from each message's due time, message_service from when a session began it")
	}
	b.WriteString(")\n\n")

	t := j.Totals
	fmt.Fprintf(b, "messages    %d ok, %d rejected, %d failed (%d attempted)\n", t.MessagesOK, t.MessagesRejected, t.MessagesFailed, t.MessagesAttempted)
	fmt.Fprintf(b, "recipients  %d accepted, %d rejected\n", t.RecipientsAccepted, t.RecipientsRejected)
	fmt.Fprintf(b, "connections %d (%d attempts)\n", t.Connections, t.ConnectAttempts)
	b.WriteString(tlsLine(j.TLS))
	fmt.Fprintf(b, "throughput  %.1f messages/s, %.2f MB/s (%d bytes sent in %.2f s)\n", t.MessagesPerS, t.MBPerS, t.BytesSent, j.ElapsedS)
	if g := j.Generator; g != nil {
		fmt.Fprintf(b, "generator   CPU %.0f%% of %d cores (%.2f s), scheduling delay p50 %s p99 %s max %s ms\n",
			g.CPUPercent, g.Cores, g.CPUS, ms3(g.SchedDelayP50MS), ms3(g.SchedDelayP99MS), ms3(g.SchedDelayMaxMS))
	}
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
	if res.Seed != nil {
		fmt.Fprintf(b, "seed        %d\n", *res.Seed)
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

	b.WriteString("\nreplies")
	if len(j.Replies) == 0 {
		b.WriteString("     none")
	}
	b.WriteString("\n")
	for p := session.Phase(0); p < session.NumPhases; p++ {
		codes := j.Replies[p.String()]
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
		fmt.Fprintf(b, "  %-8s %s\n", p.String(), strings.Join(parts, ", "))
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
