// Package leakcheck fails a test binary that leaves behind goroutines running
// this module's code: every server, sink and client a test starts must be
// closed by that test. It does what go.uber.org/goleak does for us, without
// the dependency.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// grace is how long goroutines get to finish after the last test.
const grace = 2 * time.Second

// Main runs the tests and then the leak check; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaks := Leaked(grace); leaks != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n\n%s\n", leaks)
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked waits up to grace for every goroutine running code from this module
// to end, and returns the stacks of those that did not.
func Leaked(grace time.Duration) string {
	deadline := time.Now().Add(grace)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaks []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "smtpbench/smtpbench/") && !strings.Contains(g, ".TestMain(") &&
				!strings.Contains(g, "leakcheck.") {
				leaks = append(leaks, g)
			}
		}
		if len(leaks) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(leaks, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
