package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testBinDir holds the binaries the tests build (goBuild). TestMain creates
// it and removes it when the tests are done, so no build is left behind.
var testBinDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "smtpbench-test-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating a directory for test binaries: %v\n", err)
		os.Exit(1)
	}
	testBinDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goBuild runs "go build" in the package directory dir (relative to
// cmd/smtpbench) and writes the binary to testBinDir/name. A build that needs
// the module proxy while offline can stall, so it is bounded.
func goBuild(dir, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(testBinDir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %v\n%s", dir, err, out)
	}
	return bin, nil
}

// smtpbenchBuilt is the once-per-process build of smtpbench.
var smtpbenchBuilt = sync.OnceValues(func() (string, error) { return goBuild(".", "smtpbench") })

// buildBinary compiles smtpbench once per test process, so signal tests hit
// a real process with real signals.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := smtpbenchBuilt()
	if err != nil {
		t.Fatalf("building smtpbench: %v", err)
	}
	return bin
}
