package report

import (
	"fmt"
	"strings"
	"time"
)

// ServerCost is what the server under test cost the machine during a run,
// sampled from outside (--server-pid, --server-cgroup, or the server ab and
// sweep started).
type ServerCost struct {
	// Method is how it was measured: process_tree, cgroup_v2 or cgroup_v1.
	Method string
	// CPU is the server's CPU time, user and system, over the measured
	// window (after any warm-up, to the end of the run).
	CPU time.Duration
	// Window is the length of that window.
	Window time.Duration
	// MemoryPeak is the largest of the per-second memory samples in the
	// window, in bytes.
	MemoryPeak int64
	// Processes is the most processes the tree held at a sample.
	Processes int
	// GoneAt is when, from the run's start, the server was found gone;
	// zero while it lived.
	GoneAt time.Duration
	// Notes say what the method cannot see.
	Notes []string
}

// ServerSecond is the server's cost in one second of the timeline.
type ServerSecond struct {
	CPU    time.Duration
	Memory int64
}

// ServerJSON is the "server" object of a report: the server's own cost.
type ServerJSON struct {
	// Method is how the server was measured: "process_tree" (the given
	// processes and their descendants, from /proc), "cgroup_v2" or
	// "cgroup_v1" (the group's counters).
	Method string `json:"method"`
	// CPUS is the server's CPU time, user and system, in seconds over the
	// measured window (after any warm-up).
	CPUS float64 `json:"cpu_s"`
	// CPUUSPerMessage is cpu_s per accepted message (totals.messages_ok),
	// in microseconds; absent when no message was accepted.
	CPUUSPerMessage *float64 `json:"cpu_us_per_message,omitempty"`
	// Cores is cpu_s over the measured window's length: how many CPUs the
	// server kept busy on average.
	Cores float64 `json:"cores"`
	// MemoryPeakBytes is the highest memory sample (once a second) in the
	// window: RSS summed over the process tree, or the cgroup's usage.
	MemoryPeakBytes int64 `json:"memory_peak_bytes"`
	// ProcessesPeak is the most processes the tree held at a sample; absent
	// for a cgroup.
	ProcessesPeak int `json:"processes_peak,omitempty"`
	// GoneAtS is when, in seconds from the start, every process of the
	// server was found gone; absent while it lived.
	GoneAtS *float64 `json:"gone_at_s,omitempty"`
	// Notes say what the method cannot see.
	Notes []string `json:"notes,omitempty"`
}

func serverJSON(s *ServerCost, ok int64) *ServerJSON {
	if s == nil {
		return nil
	}
	j := &ServerJSON{Method: s.Method, CPUS: s.CPU.Seconds(), MemoryPeakBytes: s.MemoryPeak, ProcessesPeak: s.Processes, Notes: s.Notes}
	if s.Window > 0 {
		j.Cores = s.CPU.Seconds() / s.Window.Seconds()
	}
	if ok > 0 {
		v := float64(s.CPU.Microseconds()) / float64(ok)
		j.CPUUSPerMessage = &v
	}
	if s.GoneAt > 0 {
		v := s.GoneAt.Seconds()
		j.GoneAtS = &v
	}
	return j
}

// serverLine is the table's line on the server's cost.
func serverLine(s *ServerJSON) string {
	if s == nil {
		return ""
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "server      CPU %.2f s", s.CPUS)
	if s.CPUUSPerMessage != nil {
		fmt.Fprintf(b, ", %.1f µs per accepted message", *s.CPUUSPerMessage)
	}
	fmt.Fprintf(b, ", %.2f cores; memory peak %s", s.Cores, fmtBytes(s.MemoryPeakBytes))
	if s.ProcessesPeak > 0 {
		fmt.Fprintf(b, " over up to %d %s", s.ProcessesPeak, plural(s.ProcessesPeak, "process", "processes"))
	}
	fmt.Fprintf(b, " (%s)\n", strings.ReplaceAll(s.Method, "_", " "))
	if s.GoneAtS != nil {
		fmt.Fprintf(b, "            the server was gone from %.1f s on: nothing after that is in these figures\n", *s.GoneAtS)
	}
	return b.String()
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// mergeServer combines the server figures of generators that ran side by
// side against one server: each measured the whole server over about the
// same time, so their figures are not added up. The largest CPU time and
// memory are kept, and the CPU per message is taken over the messages of
// all generators.
func mergeServer(docs []*JSONReport, ok int64) *ServerJSON {
	var out *ServerJSON
	for _, d := range docs {
		s := d.Server
		if s == nil {
			continue
		}
		if out == nil {
			c := *s
			c.CPUUSPerMessage, c.GoneAtS, c.Notes = nil, nil, append([]string(nil), s.Notes...)
			out = &c
			continue
		}
		if s.Method != out.Method {
			out.Method = out.Method + "," + s.Method
		}
		out.CPUS = max(out.CPUS, s.CPUS)
		out.Cores = max(out.Cores, s.Cores)
		out.MemoryPeakBytes = max(out.MemoryPeakBytes, s.MemoryPeakBytes)
		out.ProcessesPeak = max(out.ProcessesPeak, s.ProcessesPeak)
	}
	if out == nil {
		return nil
	}
	for _, d := range docs {
		if g := d.Server; g != nil && g.GoneAtS != nil && (out.GoneAtS == nil || *g.GoneAtS < *out.GoneAtS) {
			v := *g.GoneAtS
			out.GoneAtS = &v
		}
	}
	if ok > 0 {
		v := out.CPUS * 1e6 / float64(ok)
		out.CPUUSPerMessage = &v
	}
	return out
}
