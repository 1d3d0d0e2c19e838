package loadgen

import (
	"testing"

	"github.com/smtpbench/smtpbench/internal/leakcheck"
)

// TestMain fails the package when a run leaves a worker, timer or session
// goroutine behind.
func TestMain(m *testing.M) { leakcheck.Main(m) }
