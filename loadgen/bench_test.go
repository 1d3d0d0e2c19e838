package loadgen

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/smtpbench/smtpbench/message"
	"github.com/smtpbench/smtpbench/metrics"
	"github.com/smtpbench/smtpbench/session"
	"github.com/smtpbench/smtpbench/sink"
)

// BenchmarkRunPipelined sends b.N messages through whole runs against an
// in-process sink: session, pipelining, recording and intervals together.
// allocs/op is per message; the run's fixed setup (histograms, sessions) is
// spread over b.N, so use -benchtime 20000x or more. The sink allocates
// nothing per message, so the figure is the client's.
func BenchmarkRunPipelined(b *testing.B) {
	for _, c := range []int{1, 8} {
		b.Run(map[int]string{1: "sessions=1", 8: "sessions=8"}[c], func(b *testing.B) {
			srv, err := sink.Start("127.0.0.1:0", sink.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Stop()
			data := bytes.Repeat([]byte("0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n"), 13)
			// The sink shares this process's CPUs, so busy-polling is off,
			// as the CLI does for its built-in sink.
			cfg := Config{Target: srv.Addr(), Concurrency: c, Messages: int64(b.N), Data: data, Grace: time.Second, Session: session.Options{BusyPoll: -1}}
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			res, err := Run(context.Background(), cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			if res.Total.OK != int64(b.N) {
				b.Fatalf("ok %d of %d: %v %v", res.Total.OK, b.N, res.Total.Errors, res.StopReason)
			}
		})
	}
}

// BenchmarkRunWorkload is BenchmarkRunPipelined with realistic mail: a size
// mix, 1 to 5 recipients spread over domains, random digits in the sender,
// over BDAT with SIZE declared. allocs/op must stay 0: every message is
// made from the prepared set and written into the session's buffer.
func BenchmarkRunWorkload(b *testing.B) {
	srv, err := sink.Start("127.0.0.1:0", sink.Config{Chunking: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	sizes, _ := message.ParseSizes("1KiB:60,10KiB:30,100KiB:10")
	mail, err := message.Prepare(message.Spec{Sizes: sizes, Rcpts: message.Range{Min: 1, Max: 5}, Domains: 10,
		From: "s{rand:6}@example.com", Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Target: srv.Addr(), Concurrency: 4, Messages: int64(b.N), Mail: mail, Grace: time.Second,
		Session: session.Options{Chunking: session.ChunkingAuto, BusyPoll: -1}}
	b.ReportAllocs()
	b.ResetTimer()
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if res.Total.OK != int64(b.N) {
		b.Fatalf("ok %d of %d: %v %v", res.Total.OK, b.N, res.Total.Errors, res.StopReason)
	}
}

// BenchmarkRecord is the per-message recording cost: phase observations
// and the message outcome.
func BenchmarkRecord(b *testing.B) {
	rec := metrics.NewRecorder(false)
	res := session.Result{Outcome: session.OutcomeOK, RcptAccepted: 1}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := time.Duration(i%5000) * time.Microsecond
		rec.Observe(session.PhaseMail, 250, d)
		rec.Observe(session.PhaseRcpt, 250, d)
		rec.Observe(session.PhaseData, 354, d)
		rec.Observe(session.PhaseBody, 250, d)
		rec.Message(&res)
		metrics.RecordDuration(rec.Phases[session.PhaseMessage], d)
	}
}
