package demo

import (
	"fmt"
	"math"
	"time"
)

// Config configures a demo [Server]. Start from [DefaultConfig]: New takes
// every field as given, so a zero field means zero (no latency, no cache,
// unlimited workers...), not "default".
type Config struct {
	// DepMedian is the median latency of a dependency call (the lognormal
	// body of the distribution). Default 2ms.
	DepMedian time.Duration
	// DepSigma is the shape σ of the lognormal body (the standard deviation
	// of the log of the latency); 0 makes the body constant. Default 0.5.
	DepSigma float64
	// TailProb is the probability, in [0, 1], that a dependency call is a
	// heavy-tail call. Default 0.01.
	TailProb float64
	// TailLatency is the extra latency of a heavy-tail call; the actual extra
	// is uniform in [0.5, 1.5] × TailLatency. Default 40ms.
	TailLatency time.Duration
	// CacheTTL is how long a cached value stays fresh. 0 disables the cache
	// (every item request calls the dependency). Default 2s.
	CacheTTL time.Duration
	// CacheSize is the maximum number of cached keys; when the cache is full a
	// new key evicts a random entry, preferring expired ones. Must be > 0 when
	// the cache is enabled. Default 10000.
	CacheSize int
	// Workers is the number of request handlers for the data endpoints
	// (/, /item and /batch). 0 means unlimited; > 0 means a fixed pool where
	// requests queue (FIFO) for a free worker, so the capacity is known:
	// see [Config.Capacity]. Default 0.
	Workers int
	// ServiceTime is a fixed extra time spent (sleeping, no CPU) by every
	// data request inside its worker, after the cache lookup or dependency
	// call. Default 0.
	ServiceTime time.Duration
	// BatchFixed is the fixed cost of the dependency call of a POST /batch
	// request. Default 5ms.
	BatchFixed time.Duration
	// BatchPerItem is the cost per item of the dependency call of a
	// POST /batch request. Default 200µs.
	BatchPerItem time.Duration
	// MaxBatchItems is the maximum number of items in a POST /batch request
	// (larger batches get 413). 0 means no limit besides the 1 MiB body
	// limit. Default 1000.
	MaxBatchItems int
	// ShutdownTimeout is how long [Server.Serve] waits for in-flight requests
	// after its context is done before cancelling their contexts and closing
	// the connections. Default 5s.
	ShutdownTimeout time.Duration
	// Seed seeds the random sources (latency samples and fault draws). Sources
	// are pooled per goroutine, so a seed makes the distribution, not the
	// exact per-request sequence, reproducible under concurrency. Default 0.
	Seed int64
}

// DefaultConfig returns the default configuration: a dependency with a 2ms
// median, σ = 0.5 and a 1% tail of ~40ms behind a 2s, 10000-entry cache, with
// unlimited workers.
func DefaultConfig() Config {
	return Config{
		DepMedian:       2 * time.Millisecond,
		DepSigma:        0.5,
		TailProb:        0.01,
		TailLatency:     40 * time.Millisecond,
		CacheTTL:        2 * time.Second,
		CacheSize:       10000,
		BatchFixed:      5 * time.Millisecond,
		BatchPerItem:    200 * time.Microsecond,
		MaxBatchItems:   1000,
		ShutdownTimeout: 5 * time.Second,
	}
}

// maxSigma bounds DepSigma: beyond it the lognormal tail is absurd (σ = 5
// puts p99.9 at 5 million times the median).
const maxSigma = 5

// maxLatency caps any single simulated sleep.
const maxLatency = time.Hour

// Validate reports the first invalid field, naming the field and its value.
func (c Config) Validate() error {
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"DepMedian", c.DepMedian},
		{"TailLatency", c.TailLatency},
		{"CacheTTL", c.CacheTTL},
		{"ServiceTime", c.ServiceTime},
		{"BatchFixed", c.BatchFixed},
		{"BatchPerItem", c.BatchPerItem},
		{"ShutdownTimeout", c.ShutdownTimeout},
	}
	for _, d := range durations {
		if d.v < 0 {
			return fmt.Errorf("demo: invalid Config.%s %v: must be >= 0", d.name, d.v)
		}
	}
	for _, d := range durations[:2] {
		if d.v > maxLatency {
			return fmt.Errorf("demo: invalid Config.%s %v: must be <= %v", d.name, d.v, maxLatency)
		}
	}
	if math.IsNaN(c.DepSigma) || c.DepSigma < 0 || c.DepSigma > maxSigma {
		return fmt.Errorf("demo: invalid Config.DepSigma %v: must be in [0, %d]", c.DepSigma, maxSigma)
	}
	if math.IsNaN(c.TailProb) || c.TailProb < 0 || c.TailProb > 1 {
		return fmt.Errorf("demo: invalid Config.TailProb %v: must be a probability in [0, 1]", c.TailProb)
	}
	if c.CacheSize < 0 {
		return fmt.Errorf("demo: invalid Config.CacheSize %d: must be >= 0", c.CacheSize)
	}
	if c.CacheTTL > 0 && c.CacheSize == 0 {
		return fmt.Errorf("demo: invalid Config.CacheSize 0: must be > 0 when CacheTTL (%v) > 0; set CacheTTL to 0 to disable the cache", c.CacheTTL)
	}
	if c.Workers < 0 {
		return fmt.Errorf("demo: invalid Config.Workers %d: must be >= 0 (0 = unlimited)", c.Workers)
	}
	if c.MaxBatchItems < 0 {
		return fmt.Errorf("demo: invalid Config.MaxBatchItems %d: must be >= 0 (0 = no limit)", c.MaxBatchItems)
	}
	return nil
}

// MeanDependencyLatency returns the expected latency of a dependency call
// without faults: DepMedian × exp(σ²/2) + TailProb × TailLatency.
func (c Config) MeanDependencyLatency() time.Duration {
	m := float64(c.DepMedian)*math.Exp(c.DepSigma*c.DepSigma/2) + c.TailProb*float64(c.TailLatency)
	return time.Duration(m)
}

// Capacity returns the maximum sustainable throughput, in requests per
// second, of an item workload whose fraction missRatio (in [0, 1]) of requests
// misses the cache: Workers / (ServiceTime + missRatio ×
// MeanDependencyLatency). It returns +Inf when Workers is 0 (unlimited) or
// when requests cost no simulated time (the capacity is then CPU-bound and
// unknown).
func (c Config) Capacity(missRatio float64) float64 {
	per := c.ServiceTime.Seconds() + missRatio*c.MeanDependencyLatency().Seconds()
	if c.Workers == 0 || per <= 0 {
		return math.Inf(1)
	}
	return float64(c.Workers) / per
}
