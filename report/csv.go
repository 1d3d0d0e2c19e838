package report

import (
	"encoding/csv"
	"io"
	"strconv"
)

// csvColumns are the per-second columns, named as in the JSON intervals.
// length_s is last, so that readers of the older six columns still work: 1
// for a second, more for a row folded before the detail window.
var csvColumns = []string{"t", "ok", "failed", "messages_per_s", "p50_ms", "p99_ms", "length_s"}

// csvNumber writes every fractional column the same way: three decimals,
// a microsecond for latencies in ms, so columns line up and compare as text.
func csvNumber(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// WriteCSV writes the per-second timeline of d, one row per interval, with a
// header row; a second without message latencies has empty p50 and p99
// cells. With label set (several files in one table) every row starts
// with a "file" column holding it.
func WriteCSV(w io.Writer, docs []*JSONReport, labels []string) error {
	cw := csv.NewWriter(w)
	several := len(docs) > 1
	head := csvColumns
	if several {
		head = append([]string{"file"}, csvColumns...)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for i, d := range docs {
		for _, iv := range d.Intervals {
			p50, p99 := csvNumber(iv.P50MS), csvNumber(iv.P99MS)
			if iv.P50MS == 0 && iv.P99MS == 0 && iv.HDR == "" {
				// No message latency that second: an empty cell, not a
				// 0 ms a spreadsheet would average in.
				p50, p99 = "", ""
			}
			row := []string{strconv.Itoa(iv.T), strconv.FormatInt(iv.OK, 10), strconv.FormatInt(iv.Failed, 10),
				csvNumber(iv.MessagesPerS), p50, p99, strconv.Itoa(iv.Seconds())}
			if several {
				row = append([]string{labels[i]}, row...)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
