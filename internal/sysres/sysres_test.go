package sysres

import (
	"math"
	"runtime"
	"testing"
)

func TestFitFiles(t *testing.T) {
	lim, ok := FitFiles(1)
	if !ok {
		t.Fatalf("one descriptor does not fit under %+v", lim)
	}
	if runtime.GOOS == "windows" {
		return
	}
	// After the raise the soft limit is the hard one wherever the system
	// allows it, and nothing fits beyond the hard limit.
	if lim.Soft == 0 || lim.Soft > lim.Hard {
		t.Errorf("limit %+v", lim)
	}
	if lim.Hard < math.MaxUint64 {
		if _, ok := FitFiles(lim.Hard + 1); ok {
			t.Errorf("%d descriptors fit under %+v", lim.Hard+1, lim)
		}
	}
}
