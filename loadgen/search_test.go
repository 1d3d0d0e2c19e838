package loadgen

import (
	"context"
	"errors"
	"math"
	"testing"
)

func TestRateSearch(t *testing.T) {
	tests := []struct {
		name     string
		search   RateSearch
		capacity float64 // the probe passes at rates up to this
		wantStop string
	}{
		{"capacity inside", RateSearch{Max: 2000}, 800, SearchPrecision},
		{"capacity near the top", RateSearch{Max: 1000}, 990, SearchPrecision},
		{"capacity tiny", RateSearch{Max: 10000, Probes: 6}, 3, SearchProbes},
		{"holds at max", RateSearch{Max: 500}, 600, SearchRateMax},
		{"tight precision", RateSearch{Max: 2000, Precision: 0.01, Probes: 30}, 1234, SearchPrecision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var probed []float64
			res, err := tt.search.Search(context.Background(), func(_ context.Context, rate float64) (bool, error) {
				probed = append(probed, rate)
				return rate <= tt.capacity, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Stopped != tt.wantStop {
				t.Errorf("stopped %q, want %q (probes %v)", res.Stopped, tt.wantStop, probed)
			}
			if res.Probes != len(probed) {
				t.Errorf("Probes = %d, probed %d", res.Probes, len(probed))
			}
			max := tt.search.Probes
			if max == 0 {
				max = DefaultSearchProbes
			}
			if len(probed) > max {
				t.Errorf("%d probes, bound %d", len(probed), max)
			}
			if probed[0] != tt.search.Max {
				t.Errorf("first probe %g, want the maximum %g", probed[0], tt.search.Max)
			}
			if res.Capacity > tt.capacity {
				t.Errorf("capacity %g above the true %g", res.Capacity, tt.capacity)
			}
			prec := tt.search.Precision
			if prec == 0 {
				prec = DefaultSearchPrecision
			}
			switch tt.wantStop {
			case SearchPrecision:
				if res.FailedAt <= tt.capacity || res.FailedAt-res.Capacity > prec*res.FailedAt {
					t.Errorf("bracket [%g, %g] does not hold the capacity %g within %g", res.Capacity, res.FailedAt, tt.capacity, prec)
				}
			case SearchRateMax:
				if res.Capacity != tt.search.Max || len(probed) != 1 {
					t.Errorf("capacity %g after %d probes, want the maximum after one", res.Capacity, len(probed))
				}
			}
			for _, r := range probed {
				if r <= 0 || r > tt.search.Max || math.IsNaN(r) {
					t.Errorf("probe at %g outside (0, %g]", r, tt.search.Max)
				}
			}
		})
	}
}

func TestRateSearchStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err := RateSearch{Max: 1000}.Search(ctx, func(context.Context, float64) (bool, error) {
		n++
		if n == 2 {
			cancel()
		}
		return false, nil
	})
	if err != nil || res.Stopped != SearchSignal || n != 2 {
		t.Errorf("after cancel: %+v, %v, %d probes", res, err, n)
	}
	boom := errors.New("no session")
	if _, err := (RateSearch{Max: 1000}).Search(context.Background(), func(context.Context, float64) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("probe error = %v", err)
	}
	if _, err := (RateSearch{}).Search(context.Background(), nil); err == nil {
		t.Error("Max 0 accepted")
	}
}

func TestRoundRate(t *testing.T) {
	for _, c := range []struct{ r, width, want float64 }{
		{1000, 2000, 1000}, {812.5, 125, 813}, {47.300000000000004, 15.7, 47.3}, {39.434, 7.9, 39.43},
		{35.449999, 3.9, 35.45}, {12345.6, 50000, 12300}, {0.123456, 0.01, 0.1235},
	} {
		if got := roundRate(c.r, c.width); got != c.want {
			t.Errorf("roundRate(%v, %v) = %v, want %v", c.r, c.width, got, c.want)
		}
	}
}
