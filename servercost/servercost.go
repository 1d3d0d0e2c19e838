// Package servercost measures what a server under test costs the machine:
// the CPU time and memory of its processes (a process tree found from the
// PIDs given, children included as they come and go) or of its cgroup,
// sampled about once a second while a benchmark runs.
//
// It reads what the kernel already keeps (/proc and the cgroup files on
// Linux) and never touches the server, so sampling costs the server nothing
// but a share of one core's idle time.
package servercost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultInterval is how often the server is sampled.
const DefaultInterval = time.Second

// Methods of measurement, as the report names them.
const (
	MethodTree     = "process_tree" // /proc, the given PIDs and their descendants
	MethodCgroupV2 = "cgroup_v2"    // cpu.stat and memory.current of a v2 group
	MethodCgroupV1 = "cgroup_v1"    // cpuacct.usage and memory.usage_in_bytes of v1 groups
)

// ErrUnsupported is returned where this system offers no way to measure a
// server's cost.
var ErrUnsupported = errors.New("measuring a server's CPU and memory is supported on Linux only")

// Source says which server to measure: processes with their descendants, or
// a cgroup. Exactly one of the two is set.
type Source struct {
	// PIDs are the server's root processes; each is measured with all its
	// descendants.
	PIDs []int
	// Cgroup is a cgroup v2 directory, or the directory of the group in a
	// cgroup v1 controller (cpuacct or memory; the other controller's
	// directory of the same group is found beside it).
	Cgroup string
}

func (s Source) String() string {
	if s.Cgroup != "" {
		return "cgroup " + s.Cgroup
	}
	return fmt.Sprintf("pids %v", s.PIDs)
}

// Sample is one reading of the server.
type Sample struct {
	// At is when it was taken.
	At time.Time
	// CPU is the server's CPU time, user and system, since the first
	// sample.
	CPU time.Duration
	// Memory is its resident memory in bytes at that moment: RSS summed
	// over the process tree, or the cgroup's usage.
	Memory int64
	// Processes is how many processes the tree held (0 for a cgroup).
	Processes int
}

// Measurement is what a Sampler saw.
type Measurement struct {
	Method string
	// Samples are in time order; the first is the baseline (CPU 0), the
	// last was taken by Stop.
	Samples []Sample
	// GoneAt is when every process of the tree was found gone; zero while
	// any remained (and always for a cgroup).
	GoneAt time.Time
	// Notes say what the measurement could not see.
	Notes []string
}

// CPUBetween is the server's CPU time between from and to, such as a run's
// measured window. Between two samples the CPU time is taken to grow
// evenly; callers that need a boundary exact take a sample there (Sample).
func (m *Measurement) CPUBetween(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	return m.cpuAt(to) - m.cpuAt(from)
}

// cpuAt is the cumulative CPU time at t, interpolated between the samples
// around it; before the first sample it is 0 and after the last, the
// last's.
func (m *Measurement) cpuAt(t time.Time) time.Duration {
	for i, s := range m.Samples {
		if s.At.Before(t) {
			continue
		}
		if i == 0 || s.At.Equal(t) {
			return s.CPU
		}
		p := m.Samples[i-1]
		span := s.At.Sub(p.At)
		if span <= 0 {
			return s.CPU
		}
		f := float64(t.Sub(p.At)) / float64(span)
		return p.CPU + time.Duration(f*float64(s.CPU-p.CPU))
	}
	if len(m.Samples) == 0 {
		return 0
	}
	return m.Samples[len(m.Samples)-1].CPU
}

// PeakMemory is the largest memory figure of the samples taken from from
// on: a sampled peak, so a spike shorter than the interval may be missed.
func (m *Measurement) PeakMemory(from time.Time) int64 {
	var peak int64
	for _, s := range m.Samples {
		if !s.At.Before(from.Add(-100 * time.Millisecond)) {
			peak = max(peak, s.Memory)
		}
	}
	return peak
}

// reader takes one reading; it is the system's part.
type reader interface {
	method() string
	// read returns the CPU time used since the reader was opened, the
	// memory now, the number of processes, and whether the server is gone.
	read() (cpu time.Duration, mem int64, procs int, gone bool, err error)
	notes() []string
}

// Sampler samples one server at a fixed interval until stopped.
type Sampler struct {
	r        reader
	interval time.Duration
	mu       sync.Mutex
	m        Measurement
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// Start checks the source (every PID exists, the cgroup is one), takes the
// baseline sample and samples every interval (DefaultInterval if zero) until
// Stop or ctx ends.
func Start(ctx context.Context, src Source, interval time.Duration) (*Sampler, error) {
	if (len(src.PIDs) == 0) == (src.Cgroup == "") {
		return nil, errors.New("want server PIDs or a cgroup, not both or neither")
	}
	r, err := open(src)
	if err != nil {
		return nil, err
	}
	return startReader(ctx, r, interval), nil
}

func startReader(ctx context.Context, r reader, interval time.Duration) *Sampler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	s := &Sampler{r: r, interval: interval, stop: make(chan struct{}), done: make(chan struct{})}
	s.m.Method = r.method()
	s.sample()
	go s.loop(ctx)
	return s
}

func (s *Sampler) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.sample()
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// sample takes one reading. The lock covers the reading too: the reader
// keeps state between readings, and the ticker and Sample may call at once.
func (s *Sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	cpu, mem, procs, gone, err := s.r.read()
	if err != nil {
		if len(s.m.Notes) < 5 {
			s.m.Notes = append(s.m.Notes, "a reading failed: "+err.Error())
		}
		return
	}
	if gone && s.m.GoneAt.IsZero() {
		s.m.GoneAt = now
	}
	if !gone {
		s.m.GoneAt = time.Time{}
	}
	s.m.Samples = append(s.m.Samples, Sample{At: now, CPU: cpu, Memory: mem, Processes: procs})
}

// Sample takes a reading now, besides the regular ones: at the end of a
// warm-up, say, so that the measured window starts on a reading.
func (s *Sampler) Sample() { s.sample() }

// Stop takes a last sample and returns the measurement. It may be called
// more than once; later calls return the same measurement.
func (s *Sampler) Stop() *Measurement {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.sample()
		s.m.Notes = append(s.m.Notes, s.r.notes()...)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	m.Samples = append([]Sample(nil), s.m.Samples...)
	return &m
}

// Check reports whether src can be measured: every PID exists, the cgroup
// is one. Commands call it before starting anything, so a mistake is told
// at once.
func Check(src Source) error {
	if (len(src.PIDs) == 0) == (src.Cgroup == "") {
		return errors.New("want server PIDs or a cgroup, not both or neither")
	}
	_, err := open(src)
	return err
}
