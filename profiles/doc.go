// Package profiles holds tailgate's load scenarios: a YAML file format for
// them, its validation, and a library of built-in profiles.
//
// A profile is a sequence of phases, each with an offered-rate shape, an
// arrival process, and the faults active during it. [Parse] decodes and
// validates one before any load is sent, reporting every problem at once
// with its line ([Error]). [Profile.Schedule] turns a profile into a
// generator.Schedule; [Profile.FaultEvents] is the plan of faults to
// apply and remove. [Load] reads a built-in by name or a file by path.
//
// # File format
//
// Durations are Go duration strings ("10s", "250ms", "1m30s"); rates are
// requests per second. Unknown fields are errors. docs/profiles.md has the
// same reference with more examples.
//
//	name: degraded-dependency           # default: the file's base name
//	description: Baseline, then 5% of dependency calls get +300ms, then recovery.
//	target:                             # request defaults; the CLI's URL argument overrides url
//	  url: http://127.0.0.1:8080/item?key={{key}}   # http, https or grpc
//	  method: GET                       # default GET
//	  headers: {X-Client: tailgate}
//	  body: ""
//	keys: {dist: zipf, s: 1.1, n: 10000}  # uniform | zipf (needs s > 1) | sequential; n ≥ 1
//	data: {file: users.csv}             # .csv (with a header) or .jsonl rows for {{data.NAME}}
//	cache: {header: X-Cache, hit: HIT}  # responses with this header value are cache hits
//	seed: 1                             # default seed for Poisson arrivals and keys
//	fault_targets:                      # named places faults can be applied
//	  dep: {kind: demo}                 # api defaults to the target URL's scheme://host
//	  db: {kind: toxiproxy, api: http://127.0.0.1:8474, proxy: postgres}
//	phases:                             # at least one; run in order
//	  - name: baseline                  # unique; default phase-N
//	    duration: 10s                   # > 0
//	    rate: 500                       # a bare number: constant
//	    arrivals: poisson               # constant (default) | poisson
//	    warmup: false                   # true: run, but left out of the totals
//	  - name: degraded
//	    duration: 10s
//	    rate: {ramp: {from: 100, to: 1000}}   # or constant, steps, sine, burst (see RateShape)
//	    faults:                         # applied at the phase's start, removed at its end
//	      - {name: slow-dep, target: dep, type: latency, toxicity: 0.05, attributes: {latency: 300, jitter: 0}}
//	    actions:                        # one-off, at an offset into the phase
//	      - {at: 5s, do: flush_cache, target: dep}
//
// Templates in url, header values and body: {{seq}} (the request's
// sequence number), {{key}} (drawn from keys) and {{data.NAME}} (column
// NAME of a data row; needs a data section), written without spaces.
//
// Rate shapes (exactly one per phase):
//
//	rate: 500                                       constant
//	rate: {constant: 500}                           the same
//	rate: {ramp: {from: 100, to: 1000, over: 5s}}   linear, then flat; over ≤ duration, default the phase
//	rate: {steps: [{rate: 100, duration: 3s}, …]}   levels in turn, the last holding; durations > 0, sum ≤ duration
//	rate: {sine: {mean: 500, amplitude: 200, period: 10s}}   amplitude ≤ mean
//	rate: {burst: {baseline: 500, peak: 2000, length: 2s, period: 5s, offset: 1s}}   0 < length < period, 0 ≤ offset < period
//
// Faults have a name (default "<phase>-<target>-<type>", unique within its
// phase), a target, a type, a toxicity in [0, 1] (default 1: the fraction
// of requests or connections affected), a stream (downstream, the default,
// or upstream; demo targets ignore it) and attributes, all ≥ 0:
//
//	kind       type        attributes (* required)
//	demo       latency     latency* (ms), jitter (ms)
//	demo       error       status (400–599, default 503)
//	demo       timeout     timeout* (ms, 0 = hang until the client gives up)
//	toxiproxy  latency     latency* (ms), jitter (ms)
//	toxiproxy  bandwidth   rate* (KB/s)
//	toxiproxy  timeout     timeout* (ms, 0 = black hole)
//	toxiproxy  reset_peer  timeout* (ms)
//	toxiproxy  disable     none: the proxy is disabled for the phase
//
// Demo millisecond attributes are at most 3600000 (1 h); toxiproxy
// attributes are whole numbers. The only action is flush_cache, on demo
// targets. An action's at is in [0, phase duration).
//
// YAML anchors, aliases and merge keys (<<) may be used to share parts;
// top-level fields whose names start with "x-" are ignored, to hold them:
//
//	x-base: &base {duration: 10s, rate: 300, arrivals: poisson}
//	phases:
//	  - {<<: *base, name: before}
//	  - {<<: *base, name: after, rate: 600}
package profiles
