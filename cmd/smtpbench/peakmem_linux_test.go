package main

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// peakMemory is a finished child's peak resident set.
func peakMemory(ps *os.ProcessState) string {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return fmt.Sprintf("peak RSS %d MB", ru.Maxrss/1024)
	}
	return "peak RSS unknown"
}

// checkPeakMemory fails when the child's peak resident set passed limit.
func checkPeakMemory(t *testing.T, ps *os.ProcessState, limit int64) {
	t.Helper()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru.Maxrss*1024 > limit {
		t.Errorf("peak RSS %d MB, more than %d MB", ru.Maxrss/1024, limit>>20)
	}
}
