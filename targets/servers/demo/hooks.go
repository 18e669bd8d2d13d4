package demo

import (
	"context"
	"fmt"
	"net/http"
)

// Item serves one item request outside HTTP, exactly as GET /item?key=K
// does: it counts the request, waits for a worker (when Config.Workers > 0),
// looks key up in the cache or calls the dependency (with the active
// faults), spends Config.ServiceTime, and releases the worker. It lets other
// front ends (the gRPC demo in targets/servers/grpcdemo) share the server's latency,
// cache, capacity and fault model.
//
// An empty key means DefaultKey. status is the HTTP status GET /item would
// send: 200 with the value on success; 400 for a key longer than MaxKeyLen;
// the fault's status for an injected error (503 by default) or finite
// timeout (504); 504 when ctx is done first. err is nil exactly when status
// is 200; hit reports a cache hit.
func (s *Server) Item(ctx context.Context, key string) (value string, hit bool, status int, err error) {
	s.requests.Add(1)
	if key == "" {
		key = DefaultKey
	}
	if len(key) > MaxKeyLen {
		return "", false, http.StatusBadRequest, fmt.Errorf("invalid key: %d bytes, longer than %d", len(key), MaxKeyLen)
	}
	if !s.acquire(ctx) {
		s.cancelled.Add(1)
		return "", false, http.StatusGatewayTimeout, fmt.Errorf("cancelled while queued for a worker: %w", ctx.Err())
	}
	defer s.release()
	value, hit, err = s.lookup(ctx, key)
	if err == nil {
		err = sleep(ctx, s.cfg.ServiceTime)
	}
	if err != nil {
		status = http.StatusGatewayTimeout
		if fe, ok := err.(*faultError); ok {
			status = fe.status
		} else {
			s.cancelled.Add(1)
			err = fmt.Errorf("request cancelled: %w", err)
		}
		return "", hit, status, err
	}
	return value, hit, http.StatusOK, nil
}
