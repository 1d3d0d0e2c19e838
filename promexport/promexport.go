// Package promexport serves a run's figures, and the built-in sink's, to
// Prometheus while they happen. Nothing here is on the path of a command:
// the figures are read from the run's recorders when Prometheus scrapes
// (loadgen.Watch), and every label takes values from a small fixed set
// (outcomes, phases, reply codes, error classes), never per message or per
// session.
package promexport

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	runtimemetrics "runtime/metrics"
	"slices"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/smtpbench/smtpbench/loadgen"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

// Server is a listening /metrics endpoint.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds addr first, so that an address in use is known before any
// load starts, then serves reg's metrics on /metrics.
func Listen(addr string, reg *prometheus.Registry) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the endpoint listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving, letting a scrape in progress finish for a moment.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return s.srv.Close()
	}
	return err
}

// NativeSchema is the resolution of the native histograms: schema 3, each
// bucket about 9% wider than the one before, as client_golang's default
// bucket factor of 1.1 gives.
const NativeSchema = 3

// ClassicBuckets are the upper bounds, in seconds, of the classic buckets
// exposed beside the native ones for servers that do not ingest native
// histograms: from 100 µs (a loopback reply) to a minute (a slow content
// scan).
var ClassicBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// RunCollector exposes a run's figures.
type RunCollector struct {
	watch *loadgen.Watch

	messages, rcpts, replies, errs, connections, bytes *prometheus.Desc
	phase, sessionsOpen, cpu, sched, elapsed           *prometheus.Desc
}

// NewRunCollector returns a collector reading w.
func NewRunCollector(w *loadgen.Watch) *RunCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("smtpbench_"+name, help, labels, nil)
	}
	return &RunCollector{
		watch:        w,
		messages:     d("messages_total", "Messages decided, by outcome: ok (accepted after the end of data), rejected (a 4yz/5yz reply), failed (no decision). Warm-up included.", "outcome"),
		rcpts:        d("recipients_total", "Recipients the server accepted or rejected at RCPT.", "outcome"),
		replies:      d("replies_total", "Replies read, by phase and reply code.", "phase", "code"),
		errs:         d("errors_total", "Failed phases, by phase and error class (refused, timeout, temp_reject, perm_reject, closed, ...).", "phase", "class"),
		connections:  d("connections_total", "Sessions that got past the greeting and EHLO."),
		bytes:        d("bytes_sent_total", "Bytes written to the servers, commands included."),
		phase:        d("phase_duration_seconds", "Time per SMTP phase, from the command written to its final reply line; message is a whole transaction (from its due time in the open model); start_lag is how late a message started against its schedule.", "phase"),
		sessionsOpen: d("sessions_open", "SMTP sessions open now."),
		cpu:          d("generator_cpu_seconds_total", "CPU time, user and system, smtpbench has used since the run began."),
		sched:        d("generator_sched_delay_seconds", "How long smtpbench's goroutines waited, runnable, for a CPU (the Go runtime's scheduling latency): time the tool itself adds to what it measures."),
		elapsed:      d("run_elapsed_seconds", "Seconds since the run began."),
	}
}

// Describe implements prometheus.Collector.
func (c *RunCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.messages, c.rcpts, c.replies, c.errs, c.connections, c.bytes, c.phase, c.sessionsOpen, c.cpu, c.sched, c.elapsed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *RunCollector) Collect(ch chan<- prometheus.Metric) {
	c.watch.Read(func(s loadgen.Snapshot) {
		counter := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
		}
		t := s.Total
		if t == nil {
			t = metrics.NewRecorder(false) // before the run: every series at zero
		}
		counter(c.messages, float64(t.OK), "ok")
		counter(c.messages, float64(t.Rejected), "rejected")
		counter(c.messages, float64(t.Failed), "failed")
		counter(c.rcpts, float64(t.RcptAccepted), "accepted")
		counter(c.rcpts, float64(t.RcptRejected), "rejected")
		counter(c.connections, float64(t.Connections))
		counter(c.bytes, float64(t.BytesSent))
		counter(c.cpu, s.CPU.Seconds())
		ch <- prometheus.MustNewConstMetric(c.sessionsOpen, prometheus.GaugeValue, float64(s.OpenSessions))
		ch <- prometheus.MustNewConstMetric(c.elapsed, prometheus.GaugeValue, s.Elapsed.Seconds())
		for p := session.Phase(0); p < session.NumPhases; p++ {
			for code, n := range t.Codes[p] {
				if n > 0 {
					counter(c.replies, float64(n), p.String(), strconv.Itoa(code))
				}
			}
			ch <- &hdrMetric{desc: c.phase, h: t.Phases[p], labels: []string{p.String()}}
		}
		if t.Lag != nil && t.Lag.TotalCount() > 0 {
			ch <- &hdrMetric{desc: c.phase, h: t.Service, labels: []string{metrics.SeriesService}}
			ch <- &hdrMetric{desc: c.phase, h: t.Lag, labels: []string{metrics.SeriesLag}}
		}
		errs := map[[2]string]int64{}
		for k, n := range t.Errors {
			errs[[2]string{k.Phase.String(), k.Class.String()}] += n
		}
		for k, n := range errs {
			counter(c.errs, float64(n), k[0], k[1])
		}
	})
	if m := schedMetric(c.sched); m != nil {
		ch <- m
	}
}

// hdrMetric is a histogram of microseconds from the run's recorders,
// written as a Prometheus histogram in seconds with both classic buckets
// and native (sparse) buckets.
type hdrMetric struct {
	desc   *prometheus.Desc
	h      *hdrhistogram.Histogram
	labels []string
}

func (m *hdrMetric) Desc() *prometheus.Desc { return m.desc }

func (m *hdrMetric) Write(out *dto.Metric) error {
	pm := prometheus.MustNewConstMetric(m.desc, prometheus.UntypedValue, 0, m.labels...)
	if err := pm.Write(out); err != nil { // fills the label pairs
		return err
	}
	out.Untyped = nil
	out.Histogram = hdrToDTO(m.h)
	return nil
}

// hdrToDTO converts h (microseconds) to a Prometheus histogram in seconds.
// Each of h's buckets is counted at its upper bound, so a value is never
// placed in a lower bucket than it had.
func hdrToDTO(h *hdrhistogram.Histogram) *dto.Histogram {
	classic := make([]uint64, len(ClassicBuckets))
	native := map[int]int64{}
	var count uint64
	if h != nil && h.TotalCount() > 0 {
		for _, b := range h.Distribution() {
			if b.Count == 0 {
				continue
			}
			v := float64(b.To) / 1e6
			count += uint64(b.Count)
			for i, ub := range ClassicBuckets {
				if v <= ub {
					classic[i] += uint64(b.Count)
					break
				}
			}
			native[nativeIndex(v)] += b.Count
		}
	}
	out := &dto.Histogram{SampleCount: proto.Uint64(count), Schema: proto.Int32(NativeSchema),
		ZeroThreshold: proto.Float64(0), ZeroCount: proto.Uint64(0)}
	var sum float64
	if h != nil {
		sum = h.Mean() * float64(h.TotalCount()) / 1e6
	}
	out.SampleSum = proto.Float64(sum)
	var cum uint64
	for i, ub := range ClassicBuckets {
		cum += classic[i]
		out.Bucket = append(out.Bucket, &dto.Bucket{UpperBound: proto.Float64(ub), CumulativeCount: proto.Uint64(cum)})
	}
	// Native buckets as spans of consecutive indexes and deltas between
	// neighbouring counts, as the exposition format wants them.
	keys := make([]int, 0, len(native))
	for k := range native {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var prevKey int
	var prevCount int64
	for i, k := range keys {
		switch {
		case i == 0:
			out.PositiveSpan = append(out.PositiveSpan, &dto.BucketSpan{Offset: proto.Int32(int32(k)), Length: proto.Uint32(1)})
		case k == prevKey+1:
			s := out.PositiveSpan[len(out.PositiveSpan)-1]
			s.Length = proto.Uint32(s.GetLength() + 1)
		default:
			out.PositiveSpan = append(out.PositiveSpan, &dto.BucketSpan{Offset: proto.Int32(int32(k - prevKey - 1)), Length: proto.Uint32(1)})
		}
		out.PositiveDelta = append(out.PositiveDelta, native[k]-prevCount)
		prevKey, prevCount = k, native[k]
	}
	if len(keys) == 0 {
		// An empty native histogram still needs a span to be told apart
		// from a classic-only one.
		out.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
	}
	return out
}

// nativeIndex is the native bucket holding v > 0 at NativeSchema: bucket i
// covers (2^((i-1)/8), 2^(i/8)].
func nativeIndex(v float64) int {
	frac, exp := math.Frexp(v) // v = frac · 2^exp, frac in [0.5, 1)
	f := 1 << NativeSchema
	// log2(v) = exp + log2(frac); exact powers of two fall on a bound.
	return int(math.Ceil((float64(exp) + math.Log2(frac)) * float64(f)))
}

// schedMetric reads the Go runtime's scheduling latency histogram into a
// classic histogram at ClassicBuckets (plus finer bounds below 100 µs,
// where most of it lies).
func schedMetric(d *prometheus.Desc) prometheus.Metric {
	s := []runtimemetrics.Sample{{Name: "/sched/latencies:seconds"}}
	runtimemetrics.Read(s)
	if s[0].Value.Kind() != runtimemetrics.KindFloat64Histogram {
		return nil
	}
	rh := s[0].Value.Float64Histogram()
	bounds := append([]float64{0.000001, 0.00001, 0.00005}, ClassicBuckets...)
	buckets := map[float64]uint64{}
	var count uint64
	var sum float64
	for i, n := range rh.Counts {
		if n == 0 {
			continue
		}
		hi := rh.Buckets[i+1]
		if math.IsInf(hi, 1) {
			hi = rh.Buckets[i]
		}
		count += n
		sum += float64(n) * hi
		for _, b := range bounds {
			if hi <= b {
				buckets[b] += n
			}
		}
	}
	m, err := prometheus.NewConstHistogram(d, count, sum, buckets)
	if err != nil {
		return nil
	}
	return m
}

// SinkCollector exposes the built-in sink's counters.
type SinkCollector struct {
	srv                      *sink.Server
	accepted, sessions, recv *prometheus.Desc
}

// NewSinkCollector returns a collector reading srv.
func NewSinkCollector(srv *sink.Server) *SinkCollector {
	return &SinkCollector{srv: srv,
		accepted: prometheus.NewDesc("smtpbench_sink_messages_accepted_total", "Messages the sink accepted.", nil, nil),
		sessions: prometheus.NewDesc("smtpbench_sink_sessions_total", "Sessions the sink served.", nil, nil),
		recv:     prometheus.NewDesc("smtpbench_sink_bytes_received_total", "Bytes the sink read from its clients, counted when a session ends.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *SinkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.accepted
	ch <- c.sessions
	ch <- c.recv
}

// Collect implements prometheus.Collector.
func (c *SinkCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.accepted, prometheus.CounterValue, float64(c.srv.Accepted()))
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.CounterValue, float64(c.srv.Sessions()))
	ch <- prometheus.MustNewConstMetric(c.recv, prometheus.CounterValue, float64(c.srv.BytesReceived()))
}

// ServeRun serves a run's metrics on addr before the run starts, so that
// an address in use fails at once: it hooks a Watch into cfg, from which
// the metrics are read at scrape time.
func ServeRun(addr string, cfg *loadgen.Config) (*Server, error) {
	w := loadgen.NewWatch()
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewRunCollector(w))
	srv, err := Listen(addr, reg)
	if err != nil {
		return nil, err
	}
	cfg.Watch = w
	return srv, nil
}

// ServeSink serves the built-in sink's counters on addr.
func ServeSink(addr string, srv *sink.Server) (*Server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewSinkCollector(srv))
	return Listen(addr, reg)
}
