package demo

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.DepMedian != 2*time.Millisecond || c.DepSigma != 0.5 || c.TailProb != 0.01 ||
		c.TailLatency != 40*time.Millisecond || c.CacheTTL != 2*time.Second || c.CacheSize != 10000 ||
		c.Workers != 0 || c.ServiceTime != 0 || c.BatchFixed != 5*time.Millisecond ||
		c.BatchPerItem != 200*time.Microsecond {
		t.Errorf("unexpected defaults: %+v", c)
	}
	if _, err := New(Config{}); err != nil {
		t.Errorf("zero Config: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		mod        func(*Config)
		field, val string
	}{
		{func(c *Config) { c.DepMedian = -time.Millisecond }, "DepMedian", "-1ms"},
		{func(c *Config) { c.DepMedian = 2 * time.Hour }, "DepMedian", "2h0m0s"},
		{func(c *Config) { c.DepSigma = -0.1 }, "DepSigma", "-0.1"},
		{func(c *Config) { c.DepSigma = math.NaN() }, "DepSigma", "NaN"},
		{func(c *Config) { c.DepSigma = 7 }, "DepSigma", "7"},
		{func(c *Config) { c.TailProb = 1.5 }, "TailProb", "1.5"},
		{func(c *Config) { c.TailProb = -0.01 }, "TailProb", "-0.01"},
		{func(c *Config) { c.TailLatency = -time.Second }, "TailLatency", "-1s"},
		{func(c *Config) { c.CacheTTL = -time.Second }, "CacheTTL", "-1s"},
		{func(c *Config) { c.CacheSize = -3 }, "CacheSize", "-3"},
		{func(c *Config) { c.CacheSize = 0 }, "CacheSize", "0"},
		{func(c *Config) { c.Workers = -1 }, "Workers", "-1"},
		{func(c *Config) { c.ServiceTime = -time.Microsecond }, "ServiceTime", "-1µs"},
		{func(c *Config) { c.BatchFixed = -time.Millisecond }, "BatchFixed", "-1ms"},
		{func(c *Config) { c.BatchPerItem = -time.Millisecond }, "BatchPerItem", "-1ms"},
		{func(c *Config) { c.MaxBatchItems = -5 }, "MaxBatchItems", "-5"},
		{func(c *Config) { c.ShutdownTimeout = -time.Second }, "ShutdownTimeout", "-1s"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mod(&c)
		_, err := New(c)
		if err == nil {
			t.Errorf("%s = %s: no error", tt.field, tt.val)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "Config."+tt.field+" "+tt.val) {
			t.Errorf("%s = %s: error %q does not name the field and value", tt.field, tt.val, msg)
		}
	}

	// CacheSize 0 is fine when the cache is disabled.
	c := DefaultConfig()
	c.CacheTTL, c.CacheSize = 0, 0
	if err := c.Validate(); err != nil {
		t.Errorf("disabled cache with size 0: %v", err)
	}
}

func TestCapacity(t *testing.T) {
	c := noDelay()
	c.Workers, c.ServiceTime = 2, 10*time.Millisecond
	if got := c.Capacity(0); math.Abs(got-200) > 1e-9 {
		t.Errorf("Capacity(0) = %v, want 200", got)
	}
	c = DefaultConfig()
	if !math.IsInf(c.Capacity(1), 1) {
		t.Errorf("unlimited workers: Capacity = %v, want +Inf", c.Capacity(1))
	}
	c.Workers = 4
	// Mean dependency latency: 2ms × exp(0.125) + 0.01 × 40ms ≈ 2.666ms.
	mean := c.MeanDependencyLatency()
	if mean < 2600*time.Microsecond || mean > 2700*time.Microsecond {
		t.Errorf("MeanDependencyLatency = %v, want ≈ 2.666ms", mean)
	}
	want := 4 / (0.5 * mean.Seconds())
	if got := c.Capacity(0.5); math.Abs(got-want) > 1e-6*want {
		t.Errorf("Capacity(0.5) = %v, want %v", got, want)
	}
}
