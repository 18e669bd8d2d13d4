// Package demo is the built-in demo target of tailgate: a small HTTP service
// with a realistic latency tail, meant to be load tested with an open-loop
// generator.
//
// # Model
//
// Every item request looks its key up in a small TTL cache. On a miss the
// server calls a simulated in-process dependency that sleeps for a random
// latency and then returns a value that is stored in the cache. The
// dependency latency is lognormal with median [Config.DepMedian] and shape
// [Config.DepSigma]; with probability [Config.TailProb] a call additionally
// takes [Config.TailLatency] × U(0.5, 1.5) (a slow GC pause, a retry, a cold
// disk...). With the defaults a miss takes about 2 ms at the median and
// 3.9 ms at p90; p99 sits at the edge of the tail (≈ 21 ms in theory, 10–25
// ms in a finite sample), p99.5 ≈ 42 ms and p99.9 ≈ 58 ms.
//
// Sleeps use real timers (time.NewTimer), so the server also works inside a
// testing/synctest bubble where they complete instantly in virtual time, and
// every sleep honours the request context: a client that gives up frees its
// handler at once.
//
// # Capacity
//
// With [Config.Workers] > 0 the data endpoints are served by a fixed pool of
// that many workers; requests that find every worker busy wait in a FIFO
// queue (unbounded, but a request leaves it when its context is cancelled).
// A worker is held for the whole request: the dependency call (on a miss),
// [Config.ServiceTime] and writing the response. The capacity is therefore
// Workers / (ServiceTime + miss ratio × mean dependency latency) requests per
// second, see [Config.Capacity]; with DepMedian = 0 or an all-hit workload
// it is exactly Workers / ServiceTime, which makes the demo useful for
// testing capacity searches. With Workers = 0 concurrency is unlimited and
// the server never queues.
//
// # Endpoints
//
//	GET  /                 same as GET /item?key=default
//	GET  /item?key=K       {"key":"K","value":"...","cache":"HIT"}, header X-Cache: HIT|MISS
//	POST /batch            JSON array body; costs BatchFixed + n × BatchPerItem
//	GET  /healthz          200 "ok"
//	GET  /metrics          Prometheus text format 0.0.4
//	GET  /stats            [Stats] as JSON
//	GET  /faults           list the active faults (JSON array)
//	POST /faults[?ttl=D]   add a fault (JSON object, see [Fault]); with ttl
//	                       (a Go duration, "30s") it is dropped after D
//	GET  /faults/{name}    one fault
//	DELETE /faults/{name}  remove a fault
//	POST /faults/reset     remove every fault
//	POST /cache/flush      empty the cache
//
// Writes to /faults and /cache/flush are refused with 403 when they carry a
// foreign Origin, a non-loopback Host on a loopback listener, or a body that
// is not application/json, so that a web page cannot change the server's
// faults (see the Faults section).
//
// Error responses have a JSON body {"error":"...","status":N} (plus "key"
// for item requests). A data request whose context is done while it queues,
// waits on the dependency or sleeps gets 504.
//
// /batch accepts any JSON array: an element that is an object with a string
// "key" field, or a string, names the key of that item; any other element
// gets the key "item-<index>". It bypasses the cache and makes one batched
// dependency call whose cost is deterministic: [Config.BatchFixed] +
// n × [Config.BatchPerItem] (plus any injected latency). Under a worker pool,
// batching therefore trades latency for throughput.
//
// # Faults
//
// Fault injection works per request, not per connection (toxiproxy toxics pick
// connections, which with keep-alive means "all or nothing" for a load
// generator). A fault uses the JSON shape of a toxiproxy toxic:
//
//	{"name":"slow5","type":"latency","toxicity":0.05,"attributes":{"latency":300,"jitter":0}}
//
// toxicity is the fraction of dependency calls affected (each fault draws
// independently per call), attributes are in milliseconds, and stream is
// accepted and ignored. Types:
//
//	latency  attributes latency, jitter (ms): the call takes latency ± jitter
//	         (uniform) longer
//	error    attribute status (400–599, default 503): the call fails after its
//	         normal latency and the handler responds with that status
//	timeout  attribute timeout (ms, default 0): the call hangs until the
//	         request context is cancelled; with timeout > 0 it fails with
//	         504 after that long instead
//
// Faults apply to dependency calls only: cache hits are never affected. To
// fault every request, disable the cache (CacheTTL = 0) or flush it
// (POST /cache/flush) and use keys that miss. Faults can be added and removed
// at any time while serving, over HTTP or with [Server.Faults].
//
// A fault can carry a lease: POST /faults?ttl=30s (or [Fault.Expires]) makes
// it lapse after 30 s, so a fault whose owner died (a load test killed with
// SIGKILL) does not outlive it for long. A leased fault's JSON has
// "expires_at". Toxiproxy's toxic shape has no lease, so the TTL is a query
// parameter: a client that knows nothing of it sends none and gets a fault
// that stays until removed.
//
// The server does no per-request logging and allocates little per request; it
// is meant to sustain tens of thousands of requests per second on loopback.
package demo
