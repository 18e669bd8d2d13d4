package demo

import (
	"net/http"
	"time"

	"tailgate/targets/internal/apiguard"
)

// refuseWrite says why a write to the management API (faults, cache
// flush) must be refused, or "" (apiguard.RefuseWrite).
func refuseWrite(r *http.Request) string { return apiguard.RefuseWrite(r, "this server", false) }

// guard wraps a management write handler with refuseWrite.
func guard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if msg := refuseWrite(r); msg != "" {
			writeError(w, http.StatusForbidden, msg)
			return
		}
		h(w, r)
	}
}

// parseTTL parses the ttl query parameter of a write that takes a lease.
func parseTTL(v string) (time.Duration, error) { return apiguard.ParseTTL(v) }
