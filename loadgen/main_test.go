package loadgen

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a run leaves a worker, timer or session
// goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
