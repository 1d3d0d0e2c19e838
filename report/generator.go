package report

import "time"

// Generator is what a run cost smtpbench itself, so a reader can tell when
// the figures describe the tool rather than the server.
type Generator struct {
	// Cores is GOMAXPROCS: the CPUs the generator could use.
	Cores int
	// CPU is the process's user and system time over the run.
	CPU time.Duration
	// CPUShare is CPU over elapsed time and all cores, from 0 to 1.
	CPUShare float64
	// SchedP50, SchedP99 and SchedMax summarise how long the generator's
	// goroutines waited, runnable, for a CPU during the run (the Go
	// runtime's /sched/latencies histogram, read at bucket bounds).
	SchedP50, SchedP99, SchedMax time.Duration
	// SchedSamples is how many scheduling events that histogram counted.
	SchedSamples uint64
	// Shards is how many recorders the sessions shared.
	Shards int
}
