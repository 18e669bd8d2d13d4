package session

import (
	"errors"
	"fmt"
	stdio "io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"tailgate/generator"
	"tailgate/internal/redact"
	"tailgate/results"
	"tailgate/targets"
	"tailgate/targets/balance"
	grpct "tailgate/targets/grpc"
)

// Check checks the options before anything is planned or sent: every
// value in range, every file readable or writable, the URL, endpoints,
// keys and TLS material parsed. Its errors are of Kind Input.
func (o *Options) Check() error {
	for _, check := range []func() error{o.checkLoad, o.checkLoop, o.checkRequest, o.checkTargets, o.checkOutputs, o.checkTLS} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (o *Options) checkLoad() error {
	if o.Duration <= 0 {
		return inputErrorf("--duration %v: must be positive", o.Duration)
	}
	if _, err := generator.ParseArrivals(o.Arrivals); err != nil {
		return inputErrorf("--arrivals %q: want constant or poisson", o.Arrivals)
	}
	if o.Segment != "" {
		if _, _, err := results.ParseSegment(o.Segment); err != nil {
			return inputErrorf("--segment: %v", err)
		}
	}
	if o.ClosedLoop > 0 && (o.Segment != "" || !o.StartAt.IsZero()) {
		return inputErrorf("--rate max is closed loop: no schedule to split into segments")
	}
	if !o.StartAt.IsZero() && time.Until(o.StartAt) < -time.Second {
		return inputErrorf("--start-at %s is %v in the past", o.StartAt.Format(time.RFC3339), -time.Until(o.StartAt).Round(time.Second))
	}
	return nil
}

func (o *Options) checkLoop() error {
	switch {
	case o.MaxInFlight <= 0:
		return inputErrorf("--max-in-flight %d: must be positive", o.MaxInFlight)
	case o.Drain < 0:
		return inputErrorf("--drain %v: must not be negative", o.Drain)
	case o.Preconnect < -1:
		return inputErrorf("--preconnect %d: must not be negative", o.Preconnect)
	case o.TimerSlack < 0 || o.TimerSlack > time.Second:
		return inputErrorf("--timer-slack %v: want 0 to 1s", o.TimerSlack)
	case o.CoarseTimers && o.TimerSlack > 0:
		return inputErrorf("--timer-slack and --coarse-timers: choose one (Go timers already wake up to ~1 ms late)")
	case o.PreciseTimers && (o.CoarseTimers || o.TimerSlack > 0):
		return inputErrorf("--precise-timers with --timer-slack or --coarse-timers: choose one")
	case o.Connections < 0:
		return inputErrorf("--connections %d: must not be negative", o.Connections)
	case o.Timeout <= 0:
		return inputErrorf("--timeout %v: must be positive", o.Timeout)
	case o.Engine != "auto" && o.Engine != "fast-h1" && o.Engine != "net/http" && o.Engine != "grpc-fast" && o.Engine != "grpc":
		return inputErrorf("--engine %q: want auto, fast-h1, net/http, grpc-fast or grpc", o.Engine)
	case o.Reads != "" && o.Reads != "auto" && o.Reads != "lazy" && o.Reads != "eager":
		return inputErrorf("--reads %q: want auto, lazy or eager", o.Reads)
	case o.Reads == "lazy" && o.ClosedLoop > 0:
		return inputErrorf("--reads lazy: for open-loop runs (a closed loop reads each response before it sends the next)")
	case o.MaxSendLag <= 0:
		return inputErrorf("--max-send-lag %v: must be positive", o.MaxSendLag)
	}
	return nil
}

func (o *Options) checkRequest() error {
	for k, vs := range o.Header {
		if isSecretHeader(k, o.SecretHeaders) {
			for _, v := range vs {
				redact.AddSecret(v)
			}
		}
	}
	if o.Keys != "" {
		if _, err := ParseKeys(o.Keys, 0); err != nil {
			return inputErrorf("--keys %q: %v", o.Keys, err)
		}
	}
	if o.CacheHeader != "" && !strings.Contains(o.CacheHeader, "=") {
		return inputErrorf("--cache-header %q: want Name=value, e.g. X-Cache=HIT", o.CacheHeader)
	}
	if o.URL != "" && !strings.Contains(o.URL, "{{") {
		if isGRPC(o.URL) {
			if _, err := grpct.ParseURL(o.URL); err != nil {
				return inputErrorf("%v", err)
			}
		} else if _, err := targets.ParseURL(o.URL); err != nil {
			return inputErrorf("%v", err)
		}
	}
	if o.FanOut < 1 || o.FanOut > 1000 {
		return inputErrorf("--fanout %d: want 1 to 1000", o.FanOut)
	}
	if o.HedgeAfter != "" {
		if _, err := generator.ParseHedgeAfter(o.HedgeAfter); err != nil {
			return inputErrorf("--hedge-after %q: %v", o.HedgeAfter, err)
		}
	}
	return nil
}

func (o *Options) checkTargets() error {
	if o.Endpoints != "" {
		if _, err := balance.ParseEndpoints(o.Endpoints); err != nil {
			return inputErrorf("--endpoints: %v", err)
		}
		if !slices.Contains(balance.Strategies(), o.Balance) {
			return inputErrorf("--balance %q: want one of %s", o.Balance, strings.Join(balance.Strategies(), ", "))
		}
	} else if o.Explicit.Balance {
		return inputErrorf("--balance needs --endpoints")
	}
	if o.Streams < 0 {
		return inputErrorf("--streams-per-connection %d: must not be negative", o.Streams)
	}
	if o.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(o.MetricsAddr); err != nil {
			return inputErrorf("--metrics-addr %q: want host:port", o.MetricsAddr)
		}
	}
	return nil
}

// checkOutputs checks that every output file can be written.
func (o *Options) checkOutputs() error {
	return o.Outputs.Check()
}

// Check checks that every output file can be written, before any load.
func (w Outputs) Check() error {
	for _, f := range []struct{ flag, path string }{{"--out", w.Out}, {"--hdr-log", w.HdrLog}, {"--csv", w.CSV},
		{"--html", w.HTML}, {"--junit", w.JUnit}, {"--markdown", w.Markdown}} {
		if f.path != "" && f.path != "-" {
			if err := results.CheckWritable(f.path); err != nil {
				return inputErrorf("%s: %v", f.flag, err)
			}
		}
	}
	return nil
}

// tlsFlags maps targets.TLSFileError's fields to the flags that set them.
var tlsFlags = map[string]string{"CAFile": "--cacert", "CertFile": "--cert", "KeyFile": "--key"}

// checkTLS checks the TLS options: a certificate comes with its key, and
// every file exists and holds PEM that parses (a certificate that matches
// its key).
func (o *Options) checkTLS() error {
	t := o.TLS
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		return inputErrorf("--cert %s needs --key (the client certificate's private key)", t.CertFile)
	case t.KeyFile != "" && t.CertFile == "":
		return inputErrorf("--key %s needs --cert (the client certificate)", t.KeyFile)
	}
	if _, err := targets.TLSConfig(t); err != nil {
		var fe *targets.TLSFileError
		if errors.As(err, &fe) {
			return inputErrorf("%s %v", tlsFlags[fe.Field], err)
		}
		return inputErrorf("%v", err)
	}
	return nil
}

// isSecretHeader reports whether a header's value is secret: by the rule,
// or named in extra (--secret-header), which is remembered.
func isSecretHeader(name string, extra []string) bool {
	for _, h := range extra {
		redact.AddHeader(h)
	}
	return redact.SecretHeader(name)
}

// ParseKeys parses a key distribution: uniform:N, zipf:S:N, sequential:N.
func ParseKeys(spec string, seed uint64) (*targets.Keys, error) {
	parts := strings.Split(spec, ":")
	d, err := targets.ParseKeyDist(parts[0])
	if err != nil {
		return nil, err
	}
	want := 2
	if d == targets.KeyZipf {
		want = 3
	}
	if len(parts) != want {
		return nil, fmt.Errorf("want uniform:N, zipf:S:N or sequential:N")
	}
	n, err := strconv.ParseUint(parts[len(parts)-1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the key count %q is not a whole number", parts[len(parts)-1])
	}
	var sExp float64
	if d == targets.KeyZipf {
		if sExp, err = strconv.ParseFloat(parts[1], 64); err != nil {
			return nil, fmt.Errorf("the zipf exponent %q is not a number", parts[1])
		}
	}
	return targets.NewKeys(d, n, sExp, seed)
}

// ParseRate parses "2000", "2000/s", "600/m" or "10/ms" into requests per
// second.
func ParseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	per := time.Second
	if unit != "" {
		switch unit {
		case "s":
		case "m", "min":
			per = time.Minute
		case "ms":
			per = time.Millisecond
		case "h":
			per = time.Hour
		default:
			if d, err := time.ParseDuration(unit); err == nil && d > 0 {
				per = d
			} else {
				return 0, fmt.Errorf("unknown unit %q (want s, m, h or a duration)", unit)
			}
		}
	}
	r := v / per.Seconds()
	if err := (generator.Constant{Rate: r}).Validate(); err != nil {
		return 0, fmt.Errorf("must be a positive number of requests per second")
	}
	if r > generator.MaxRate {
		return 0, fmt.Errorf("%g req/s is above the %g req/s one tailgate process schedules: split the load over several generators (--segment 1/N … N/N)", r, generator.MaxRate)
	}
	return r, nil
}

// ParseHeaders parses 'Name: value' strings.
func ParseHeaders(hs []string) (http.Header, error) {
	h := http.Header{}
	for _, s := range hs {
		k, v, ok := strings.Cut(s, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") {
			name := s
			if i := strings.IndexAny(s, " \t="); i >= 0 {
				name = s[:i] + " …" // never echo what may be a secret value
			}
			return nil, fmt.Errorf("--header %q: want 'Name: value'", name)
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, nil
}

// ReadData returns an inline body, or a file's contents for "@path".
func ReadData(s string) ([]byte, error) {
	if path, ok := strings.CutPrefix(s, "@"); ok {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := targets.CheckSize(path, f); err != nil {
			return nil, err
		}
		return stdio.ReadAll(f)
	}
	return []byte(s), nil
}
