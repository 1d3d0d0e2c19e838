package report

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// EncodeHistogram writes what hdrhistogram-go writes, byte for byte, and it
// decodes to the same histogram.
func TestEncodeHistogramMatchesLibrary(t *testing.T) {
	for _, digits := range []int{2, 3} {
		for _, values := range [][]int64{nil, {1}, {5, 5, 5, 900, 1200, 70_000}, {1, 3_600_000_000}} {
			h := hdrhistogram.New(1, 3600e6, digits)
			for i, v := range values {
				h.RecordValues(v, int64(i+1))
			}
			want, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
			if err != nil {
				t.Fatal(err)
			}
			got := EncodeHistogram(h)
			if got != string(want) {
				t.Errorf("%d digits, %v: encoding differs from hdrhistogram-go's\n got %s\nwant %s", digits, values, got, want)
			}
			d, err := DecodeHistogram(got)
			if err != nil || !d.Equals(h) {
				t.Errorf("%d digits, %v: decodes to a different histogram (%v)", digits, values, err)
			}
		}
	}
}

func BenchmarkEncodeHistogram(b *testing.B) {
	h := hdrhistogram.New(1, 3600e6, 2)
	for i := range 40 {
		h.RecordValues(int64(300+37*i), 50)
	}
	b.ReportAllocs()
	for b.Loop() {
		EncodeHistogram(h)
	}
}
