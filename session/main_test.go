package session

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine of ours behind:
// every scripted server, sink and client here must be closed by its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
