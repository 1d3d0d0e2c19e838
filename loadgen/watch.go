package loadgen

import (
	"sync"
	"time"

	"github.com/smtpbench/smtpbench/metrics"
)

// Watch lets a caller read a run's figures while it goes on, for live
// metrics (Config.Watch). Reading takes each shard's lock once, as a worker
// does once per message, and copies the shard into a recorder the Watch
// keeps: the workers' hot path gains nothing, and the copy costs in
// proportion to how often it is read (a Prometheus scrape, once every few
// seconds), not to the load.
type Watch struct {
	mu  sync.Mutex
	r   *run
	acc *metrics.Recorder
}

// NewWatch returns a Watch to put in Config.Watch.
func NewWatch() *Watch { return &Watch{} }

// Snapshot is a run's figures so far.
type Snapshot struct {
	// Running is false before the run starts; the other fields are then
	// zero.
	Running bool
	Elapsed time.Duration
	// Total is every message so far, warm-up included: a counter must not
	// jump when the warm-up ends. It belongs to the Watch and is valid
	// until the next call to Read.
	Total        *metrics.Recorder
	OpenSessions int64
	// CPU is the process's user and system CPU time since the run began.
	CPU time.Duration
}

func (w *Watch) attach(r *run) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.r = r
	w.acc = metrics.NewRecorder(true)
}

// Read returns the figures so far; calls are serialized.
func (w *Watch) Read(fn func(Snapshot)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.r == nil {
		fn(Snapshot{})
		return
	}
	w.acc.Reset()
	for _, sh := range w.r.shards {
		sh.mu.Lock()
		w.acc.Merge(sh.rec)
		if sh.warm != nil {
			w.acc.Merge(sh.warm)
		}
		sh.mu.Unlock()
	}
	fn(Snapshot{Running: true, Elapsed: time.Since(w.r.start), Total: w.acc,
		OpenSessions: w.r.openSessions.Load(), CPU: cpuTime() - w.r.cpu0})
}
