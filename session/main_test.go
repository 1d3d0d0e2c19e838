package session

import (
	"testing"

	"github.com/smtpbench/smtpbench/internal/leakcheck"
)

// TestMain fails the package when a test leaves a goroutine of ours behind:
// every scripted server, sink and client here must be closed by its test.
func TestMain(m *testing.M) { leakcheck.Main(m) }
