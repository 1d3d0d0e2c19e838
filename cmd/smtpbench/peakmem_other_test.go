//go:build !linux

package main

import (
	"os"
	"testing"
)

func peakMemory(*os.ProcessState) string { return "peak RSS not measured here" }

func checkPeakMemory(*testing.T, *os.ProcessState, int64) {}
