package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// hgrmTicks is the number of percentile rows per halving of the distance to
// 100 %, as HdrHistogram's own outputPercentileDistribution uses by default.
const hgrmTicks = 5

// SummaryPercentiles are the percentiles a Summary gives (p50_ms and so on),
// as percents; the hgrm output has a row at each of them.
var SummaryPercentiles = []float64{50, 90, 99, 99.9}

// WriteHGRM writes h (microsecond values) in HdrHistogram's percentile
// distribution text format (".hgrm"), values in milliseconds, which
// HdrHistogram's plotters and tools read. The rows are at HdrHistogram's usual
// percentile levels (5 per halving of the distance to 100 %) and also at
// SummaryPercentiles, so the file gives the JSON's percentiles exactly; each
// row's value is h.ValueAtQuantile of its percentile, like the JSON's.
func WriteHGRM(w io.Writer, h *hdrhistogram.Histogram) error {
	bw := bufio.NewWriter(w)
	const scale = 1000.0 // µs to ms
	fmt.Fprintf(bw, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	if h.TotalCount() > 0 {
		var bars []hdrhistogram.Bar
		for _, b := range h.Distribution() {
			if b.Count > 0 {
				bars = append(bars, b)
			}
		}
		for _, pct := range hgrmLevels(h) {
			v := h.ValueAtQuantile(pct)
			// TotalCount is the number of samples at or below the row's
			// value: the bars up to the one holding it.
			var n int64
			for _, b := range bars {
				if b.From > v {
					break
				}
				n += b.Count
			}
			q := pct / 100
			if pct >= 100 {
				fmt.Fprintf(bw, "%12.3f %2.12f %10d %14s\n", float64(v)/scale, q, n, "inf")
			} else {
				fmt.Fprintf(bw, "%12.3f %2.12f %10d %14.2f\n", float64(v)/scale, q, n, 1/(1-q))
			}
		}
	}
	buckets, subBuckets := hdrGeometry(h)
	fmt.Fprintf(bw, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", h.Mean()/scale, h.StdDev()/scale)
	fmt.Fprintf(bw, "#[Max     = %12.3f, Total count    = %12d]\n", float64(h.Max())/scale, h.TotalCount())
	fmt.Fprintf(bw, "#[Buckets = %12d, SubBuckets     = %12d]\n", buckets, subBuckets)
	return bw.Flush()
}

// hgrmLevels are the percentiles to print: HdrHistogram's reporting levels
// until they pass the percentile of the highest value's bucket, the summary
// percentiles, and 100.
func hgrmLevels(h *hdrhistogram.Histogram) []float64 {
	levels := map[float64]bool{100: true}
	for _, p := range SummaryPercentiles {
		levels[p] = true
	}
	// Below the last sample the levels step by 100/(ticks·2^k), where 2^k
	// is the power of two at or below 100/(100−level), doubled; the
	// resolution needed to tell the last sample apart is 100/count.
	last := 100 * (1 - 1/float64(h.TotalCount()))
	for p := 0.0; p < 100; {
		levels[p] = true
		if p >= last {
			break
		}
		half := math.Pow(2, math.Floor(math.Log2(100/(100-p)))+1)
		p += 100 / (hgrmTicks * half)
	}
	out := make([]float64, 0, len(levels))
	for p := range levels {
		out = append(out, p)
	}
	sort.Float64s(out)
	return out
}

// hdrGeometry computes the bucket and sub-bucket counts of h, which
// hdrhistogram-go does not export, for the hgrm footer.
func hdrGeometry(h *hdrhistogram.Histogram) (buckets, subBuckets int64) {
	largest := 2 * math.Pow(10, float64(h.SignificantFigures()))
	subBuckets = int64(math.Pow(2, math.Ceil(math.Log2(largest))))
	unit := int64(math.Floor(math.Log2(float64(max(1, h.LowestTrackableValue())))))
	smallestUntrackable := subBuckets << unit
	buckets = 1
	for smallestUntrackable <= h.HighestTrackableValue() {
		if smallestUntrackable > math.MaxInt64/2 {
			return buckets + 1, subBuckets
		}
		smallestUntrackable <<= 1
		buckets++
	}
	return buckets, subBuckets
}
