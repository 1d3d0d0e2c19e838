// Package leakcheck fails a test binary, or a test, that leaves behind
// goroutines running this module's code: every server, sink and client a test
// starts must be closed by that test. It does what go.uber.org/goleak does
// for us, without the dependency. It is internal: test code only.
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
// to end, and returns the stacks of those that did not. The calling
// goroutine, and tests parked in t.Parallel or waiting for their subtests,
// are not leaks.
func Leaked(grace time.Duration) string {
	deadline := time.Now().Add(grace)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaks []string
		// runtime.Stack lists the calling goroutine first.
		for _, g := range strings.Split(string(buf), "\n\n")[1:] {
			if strings.Contains(g, "smtpbench/smtpbench/") && !strings.Contains(g, ".TestMain(") &&
				!strings.Contains(g, "leakcheck.") && !parkedTest(g) {
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

// parkedTest reports whether stack is a test function's goroutine that is
// waiting on the testing package: to run in parallel, or for its subtests.
func parkedTest(stack string) bool {
	return strings.Contains(stack, "testing.(*T).Parallel(") || strings.Contains(stack, "testing.(*T).Run(") ||
		strings.Contains(stack, "testing.tRunner.func1(")
}

// Check fails t if goroutines running this module's code are still there
// after grace: for a test that does not run in parallel with others.
func Check(t testing.TB, grace time.Duration) {
	t.Helper()
	if leaks := Leaked(grace); leaks != "" {
		t.Errorf("leaked goroutines:\n\n%s", leaks)
	}
}
