//go:build !unix

package demo

// cpuSeconds is not available on this platform.
func cpuSeconds() (float64, bool) { return 0, false }
