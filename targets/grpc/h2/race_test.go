//go:build race

package h2

// raceEnabled: the race detector is on (sync.Pool then drops items, so
// allocations are not counted).
const raceEnabled = true
