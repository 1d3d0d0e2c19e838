// Command smtpbench benchmarks SMTP servers: it runs pipelined SMTP sessions
// at a chosen concurrency or rate and reports throughput and latency per
// SMTP phase. See README.md and docs/ for the full guide.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}
