package results

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// SecondsCSVHeader names the columns WriteSecondsCSV writes.
var SecondsCSVHeader = []string{"t", "phase", "offered", "completed", "errors", "dropped",
	"p50_ms", "p90_ms", "p99_ms", "max_ms", "service_p99_ms", "cache_hits", "bytes_in", "bytes_out"}

// WriteSecondsCSV writes the run's per-second rows as CSV (RFC 4180), one
// row per second after a header line (SecondsCSVHeader): t is the second's
// start in whole seconds from the run's start; phase is the name of the
// phase the second falls in; offered counts the requests whose intended
// time fell in the second, completed (with or without error), errors and
// dropped those that finished or were dropped in it; the latencies are
// response time (from the intended send) in milliseconds, service_p99_ms
// from the actual send, all empty when nothing completed in the second.
func WriteSecondsCSV(w io.Writer, f *File) error {
	if f == nil || f.Summary == nil {
		return fmt.Errorf("write csv: result has no summary")
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(SecondsCSVHeader); err != nil {
		return err
	}
	phases := f.Summary.Phases
	row := make([]string, len(SecondsCSVHeader))
	for _, s := range f.Summary.Seconds {
		ph := ""
		if s.Phase >= 0 && s.Phase < len(phases) {
			ph = phases[s.Phase].Name
		}
		ms := func(d time.Duration) string {
			if s.Completed == 0 {
				return ""
			}
			return strconv.FormatFloat(float64(d)/1e6, 'f', -1, 64)
		}
		row = append(row[:0], strconv.FormatInt(s.T, 10), ph,
			strconv.FormatInt(s.Offered, 10), strconv.FormatInt(s.Completed, 10),
			strconv.FormatInt(s.Errors, 10), strconv.FormatInt(s.Dropped, 10),
			ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), ms(s.ServiceP99),
			strconv.FormatInt(s.CacheHits, 10), strconv.FormatInt(s.BytesIn, 10), strconv.FormatInt(s.BytesOut, 10))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
