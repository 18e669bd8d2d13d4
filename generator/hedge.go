package generator

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// HedgeAfter says how long a hedging target (targets.Hedge) waits for an
// answer before sending a duplicate. It is plain data, kept here so that
// whoever reads a hedge delay (flags, profiles' set_hedge) can check it
// without importing the target that applies it.
type HedgeAfter struct {
	// Fixed is the delay when Quantile is 0. With a Quantile, it is the
	// delay until enough latencies have been seen (see Quantile); 0 then
	// means no hedging until then.
	Fixed time.Duration
	// Quantile, when in (0, 1), hedges after that quantile of recent
	// primary latencies: about 1 − Quantile of the requests are hedged.
	// How many recent latencies count, and how many are needed before the
	// quantile is used, is the hedging target's choice (targets.Hedge: the
	// last HedgeWindow, first once max(100, 10/(1 − Quantile)) are seen).
	Quantile float64
}

// Validate checks h.
func (h HedgeAfter) Validate() error {
	switch {
	case h.Fixed < 0:
		return fmt.Errorf("hedge delay must not be negative, got %v", h.Fixed)
	case math.IsNaN(h.Quantile) || h.Quantile < 0 || h.Quantile >= 1:
		return fmt.Errorf("hedge quantile must be in (0, 1), got %v", h.Quantile)
	case h.Quantile == 0 && h.Fixed == 0:
		return errors.New("hedge needs a delay or a quantile")
	}
	return nil
}

// String prints h as ParseHedgeAfter reads it: "50ms", "p95", "p95,20ms".
func (h HedgeAfter) String() string {
	if h.Quantile == 0 {
		return h.Fixed.String()
	}
	s := "p" + strconv.FormatFloat(math.Round(h.Quantile*1e12)/1e10, 'f', -1, 64)
	if h.Fixed > 0 {
		s += "," + h.Fixed.String()
	}
	return s
}

// ParseHedgeAfter reads a hedge delay: a duration ("50ms"), a percentile
// of recent latencies ("p95", "p99.9"), or a percentile with the delay to
// use until it is known ("p95,20ms").
func ParseHedgeAfter(s string) (HedgeAfter, error) {
	var h HedgeAfter
	q, fixed, hasFixed := strings.Cut(strings.TrimSpace(s), ",")
	if !strings.HasPrefix(q, "p") {
		if hasFixed {
			return h, fmt.Errorf("hedge delay %q: want 50ms, p95 or p95,20ms", s)
		}
		fixed, q = q, ""
	}
	if q != "" {
		pct, err := strconv.ParseFloat(q[1:], 64)
		if err != nil || pct <= 0 || pct >= 100 {
			return h, fmt.Errorf("hedge delay %q: percentile must be in (0, 100)", s)
		}
		h.Quantile = math.Round(pct*1e10) / 1e12 // 99.9 → 0.999 exactly
	}
	if fixed != "" {
		d, err := time.ParseDuration(strings.TrimSpace(fixed))
		if err != nil {
			return h, fmt.Errorf("hedge delay %q: %w", s, err)
		}
		h.Fixed = d
	}
	return h, h.Validate()
}
