package profiles

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"tailgate/generator"
)

// MaxDuration bounds a profile's total duration.
const MaxDuration = 366 * 24 * time.Hour

// maxFaultName bounds a fault name, in bytes (as the demo target does).
const maxFaultName = 128

// maxDemoMillis bounds the millisecond attributes of demo faults (1 h).
const maxDemoMillis = 3_600_000

// attrSpec lists the attributes of one fault type on one target kind.
type attrSpec struct {
	required, optional []string
	unit               string // of every attribute but status
}

func (s attrSpec) allowed() []string { return append(slices.Clone(s.required), s.optional...) }

// faultSpecs: kind → fault type → attributes.
var faultSpecs = map[string]map[string]attrSpec{
	KindDemo: {
		FaultLatency: {required: []string{"latency"}, optional: []string{"jitter"}, unit: "ms"},
		FaultError:   {optional: []string{"status"}},
		FaultTimeout: {required: []string{"timeout"}, unit: "ms"},
	},
	KindToxiproxy: {
		FaultLatency:   {required: []string{"latency"}, optional: []string{"jitter"}, unit: "ms"},
		FaultBandwidth: {required: []string{"rate"}, unit: "KB/s"},
		FaultTimeout:   {required: []string{"timeout"}, unit: "ms"},
		FaultResetPeer: {required: []string{"timeout"}, unit: "ms"},
		FaultDisable:   {},
	},
}

// faultTypeOrder is the order fault types are listed in messages.
var faultTypeOrder = []string{FaultLatency, FaultError, FaultTimeout, FaultBandwidth, FaultResetPeer, FaultDisable}

// actionSpecs: kind → supported actions.
var actionSpecs = map[string][]string{
	KindDemo:      {ActionFlushCache},
	KindToxiproxy: nil,
}

// Validate checks p as Parse does after decoding: a profile built or
// changed in Go (WithURL, Scale) can be checked before use. Defaults are
// not applied: an empty fault name or a zero toxicity is taken as given.
// The error is an *Error whose problems have no line numbers.
func (p *Profile) Validate() error {
	c := newChecker(p.Source)
	c.validate(p)
	return c.err()
}

// at returns the node recorded for path or, failing that, for its
// nearest ancestor; exact tells which.
func (c *checker) at(path string) (n *yaml.Node, exact bool) {
	if n := c.pos[path]; n != nil {
		return n, true
	}
	for path != "" {
		path = parent(path)
		if n := c.keyPos[path]; n != nil {
			return n, false
		}
		if n := c.pos[path]; n != nil {
			return n, false
		}
	}
	return nil, false
}

// problemAt records a problem at path with value as given.
func (c *checker) problemAt(path, value, format string, args ...any) {
	if c.isBad(path) {
		return
	}
	n, _ := c.at(path)
	c.note(n, path, value, fmt.Sprintf(format, args...))
}

// keyProblem records a problem with the key at path: at the key's
// position, with the key as the value.
func (c *checker) keyProblem(path, format string, args ...any) {
	if c.isBad(path) {
		return
	}
	n := c.keyPos[path]
	if n == nil {
		n, _ = c.at(path)
	}
	c.note(n, path, lastElem(path), fmt.Sprintf(format, args...))
}

// isBad reports whether path or one of its ancestors failed to decode.
func (c *checker) isBad(path string) bool {
	for {
		if c.bad[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parent(path)
	}
}

// problem records a validation problem at path. value is shown unless the
// source has the value as written.
func (c *checker) problem(path, value, format string, args ...any) {
	if c.isBad(path) {
		return
	}
	n, exact := c.at(path)
	if exact && n.Kind == yaml.ScalarNode {
		value = n.Value
	}
	c.note(n, path, value, fmt.Sprintf(format, args...))
}

func (c *checker) validate(p *Profile) {
	haveData := p.Data != nil
	c.checkTarget(p.Target, "target", haveData)
	if k := p.Keys; k != nil {
		switch k.Dist {
		case DistUniform, DistSequential:
			if k.S != 0 {
				c.problem("keys.s", fnum(k.S), "s only applies to dist zipf")
			}
		case DistZipf:
			if k.S == 0 {
				c.problem("keys.s", "", "missing s: zipf needs a finite s > 1")
			} else if !(k.S > 1) || math.IsInf(k.S, 0) {
				c.problem("keys.s", fnum(k.S), "zipf needs a finite s > 1")
			}
		case "":
			c.problem("keys.dist", "", "missing dist (want uniform, zipf or sequential)")
		default:
			c.problem("keys.dist", k.Dist, "unknown key distribution (want uniform, zipf or sequential)")
		}
		if k.N < 1 {
			c.problem("keys.n", fmt.Sprint(k.N), "must be at least 1")
		}
	}
	if d := p.Data; d != nil {
		switch ext := strings.ToLower(filepath.Ext(d.File)); {
		case d.File == "":
			c.problem("data.file", "", "missing file")
		case ext != ".csv" && ext != ".jsonl" && ext != ".ndjson":
			c.problem("data.file", d.File, "unknown data file type (want .csv, .jsonl or .ndjson)")
		}
	}
	if ch := p.Cache; ch != nil {
		c.token(ch.Header, "cache.header", "header name")
		if ch.Hit == "" {
			c.problem("cache.hit", "", "missing hit")
		}
	}
	names := make([]string, 0, len(p.FaultTargets))
	for name := range p.FaultTargets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c.faultTarget(p.FaultTargets[name], join("fault_targets", name))
	}
	c.phases(p)
}

var (
	tokenRE  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	templRE  = regexp.MustCompile(`\{\{[^{}]*\}\}`)
	dataName = regexp.MustCompile(`^[^\s{}]+$`)
)

// token checks an HTTP token (method or header name).
func (c *checker) token(s, path, what string) {
	switch {
	case s == "":
		c.problem(path, "", "missing %s", what)
	case !tokenRE.MatchString(s):
		c.problem(path, s, "invalid %s: letters, digits and !#$%%&'*+-.^_`|~ only", what)
	}
}

func (c *checker) checkTarget(t TargetDefaults, path string, haveData bool) {
	if t.URL != "" {
		up := join(path, "url")
		if msg := checkURL(t.URL, []string{"http", "https", "grpc"}); msg != "" {
			c.problem(up, t.URL, "%s", msg)
		}
		c.templates(t.URL, up, haveData)
	}
	if t.Method != "" {
		c.token(t.Method, join(path, "method"), "method")
	}
	hp := join(path, "headers")
	keys := make([]string, 0, len(t.Headers))
	for k := range t.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := join(hp, k)
		if !tokenRE.MatchString(k) {
			c.keyProblem(kp, "invalid header name")
		}
		c.templates(t.Headers[k], kp, haveData)
	}
	c.templates(t.Body, join(path, "body"), haveData)
}

// stripTemplates replaces every {{…}} with "x".
func stripTemplates(s string) string { return templRE.ReplaceAllString(s, "x") }

// checkURL returns what is wrong with u ("" if nothing), templates aside.
func checkURL(u string, schemes []string) string {
	pu, err := url.Parse(stripTemplates(u))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "invalid URL: " + err.Error()
	}
	if !slices.Contains(schemes, strings.ToLower(pu.Scheme)) {
		if pu.Scheme == "" {
			return fmt.Sprintf("URL has no scheme (want %s)", orList(schemes))
		}
		return fmt.Sprintf("unsupported URL scheme %q (want %s)", pu.Scheme, orList(schemes))
	}
	if pu.Host == "" {
		return "URL has no host"
	}
	return ""
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return "none"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// templates checks the {{…}} variables of s.
func (c *checker) templates(s, path string, haveData bool) {
	for i := 0; ; {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			return
		}
		j += i
		k := strings.Index(s[j+2:], "}}")
		if k < 0 {
			c.problemAt(path, s[j:], "unterminated template: {{ without }}")
			return
		}
		name, tok := s[j+2:j+2+k], s[j:j+4+k]
		i = j + 4 + k
		if v := strings.TrimSpace(name); v != name && validVar(v) {
			c.problemAt(path, tok, "write template variables without spaces: {{%s}}", v)
			continue
		}
		switch {
		case !validVar(name):
			c.problemAt(path, tok, "unknown template variable (want {{seq}}, {{key}} or {{data.NAME}})")
		case strings.HasPrefix(name, "data.") && !haveData:
			c.problemAt(path, tok, "{{data.NAME}} needs a data section")
		}
	}
}

func validVar(name string) bool {
	if name == "seq" || name == "key" {
		return true
	}
	col, ok := strings.CutPrefix(name, "data.")
	return ok && dataName.MatchString(col)
}

func (c *checker) faultTarget(t FaultTarget, path string) {
	if t.Name == "" && path != "" {
		c.keyProblem(path, "fault target names must not be empty")
	}
	kp := join(path, "kind")
	switch t.Kind {
	case "":
		c.problem(kp, "", "missing kind (want demo or toxiproxy)")
	case KindDemo:
		if t.Proxy != "" {
			c.problem(join(path, "proxy"), t.Proxy, "proxy only applies to toxiproxy targets")
		}
	case KindToxiproxy:
		if t.API == "" {
			c.problem(join(path, "api"), "", "missing api (the toxiproxy API, e.g. http://127.0.0.1:8474)")
		}
		if t.Proxy == "" {
			c.problem(join(path, "proxy"), "", "missing proxy (the toxiproxy proxy name)")
		}
	default:
		c.problem(kp, t.Kind, "unknown kind (want demo or toxiproxy)")
	}
	if t.API != "" {
		if msg := checkURL(t.API, []string{"http", "https"}); msg != "" {
			c.problem(join(path, "api"), t.API, "%s", msg)
		}
	}
}

// durValue formats a duration for a problem's value.
func durValue(d time.Duration) string { return d.String() }

// MaxPhases bounds a profile's phases: each has its own histograms and
// rows in every report (a phase costs a few KB until it gets a request).
const MaxPhases = 10000

func (c *checker) phases(p *Profile) {
	if len(p.Phases) == 0 {
		c.problem("phases", "", "no phases: a profile needs at least one")
		return
	}
	if len(p.Phases) > MaxPhases {
		c.problem("phases", fmt.Sprint(len(p.Phases)), "more than %d phases: each is reported on its own (merge neighbouring phases, or use a ramp or steps within one)", MaxPhases)
		return
	}
	seen := map[string]int{}
	var total time.Duration
	for i, ph := range p.Phases {
		path := index("phases", i)
		np := join(path, "name")
		if ph.Name == "" {
			c.problem(np, "", "missing name")
		} else if j, dup := seen[ph.Name]; dup {
			c.problem(np, ph.Name, "duplicate phase name (also phases[%d])", j)
		} else {
			seen[ph.Name] = i
		}
		dp := join(path, "duration")
		if ph.Duration <= 0 {
			c.problem(dp, durValue(ph.Duration), "must be positive")
		} else if total += ph.Duration; total > MaxDuration || total < 0 {
			c.problem(dp, durValue(ph.Duration), "makes the profile longer than %v", MaxDuration)
			total = MaxDuration
		}
		if ph.Arrivals != "" {
			if _, err := generator.ParseArrivals(ph.Arrivals); err != nil {
				c.problem(join(path, "arrivals"), ph.Arrivals, "unknown arrivals (want constant or poisson)")
			}
		}
		c.rateValues(ph.Rate, join(path, "rate"), ph.Duration)
		c.faults(p, ph, path)
		c.actions(p, ph, path)
	}
}

// rateValues checks a rate shape; d is the phase's duration (0: unknown).
func (c *checker) rateValues(r RateShape, path string, d time.Duration) {
	rate := func(p string, v float64) {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			c.problem(p, fnum(v), "must be a finite number of requests per second")
		case v < 0:
			c.problem(p, fnum(v), "must not be negative")
		case v > generator.MaxRate:
			c.problem(p, fnum(v), "above the %s req/s one tailgate process schedules: split the load over several generators (--segment 1/N … N/N)", fnum(generator.MaxRate))
		}
	}
	positive := func(p string, v time.Duration) {
		if v <= 0 {
			c.problem(p, durValue(v), "must be positive")
		}
	}
	n := 0
	for _, set := range []bool{r.Ramp != nil, r.Steps != nil, r.Sine != nil, r.Burst != nil} {
		if set {
			n++
		}
	}
	if n > 1 || n == 1 && r.Constant != 0 {
		c.problem(path, "", "more than one rate shape: a phase has exactly one")
		return
	}
	switch {
	case r.Ramp != nil:
		p := join(path, ShapeRamp)
		rate(join(p, "from"), r.Ramp.From)
		rate(join(p, "to"), r.Ramp.To)
		op := join(p, "over")
		if r.Ramp.Over < 0 {
			c.problem(op, durValue(r.Ramp.Over), "must be positive")
		} else if d > 0 && r.Ramp.Over > d {
			c.problem(op, durValue(r.Ramp.Over), "ramp is longer than its phase (%v)", d)
		}
	case r.Steps != nil:
		p := join(path, ShapeSteps)
		if len(r.Steps) == 0 {
			c.problem(p, "", "empty steps: want at least one {rate, duration}")
			return
		}
		var sum time.Duration
		for i, st := range r.Steps {
			sp := index(p, i)
			rate(join(sp, "rate"), st.Rate)
			positive(join(sp, "duration"), st.Duration)
			sum += st.Duration
		}
		if d > 0 && sum > d {
			c.problem(p, "", "steps last %v, longer than their phase (%v)", sum, d)
		}
	case r.Sine != nil:
		p := join(path, ShapeSine)
		rate(join(p, "mean"), r.Sine.Mean)
		rate(join(p, "amplitude"), r.Sine.Amplitude)
		if r.Sine.Amplitude > r.Sine.Mean && r.Sine.Mean >= 0 {
			c.problem(join(p, "amplitude"), fnum(r.Sine.Amplitude),
				"amplitude is larger than mean %s: the rate would go negative", fnum(r.Sine.Mean))
		}
		positive(join(p, "period"), r.Sine.Period)
	case r.Burst != nil:
		b, p := r.Burst, join(path, ShapeBurst)
		rate(join(p, "baseline"), b.Baseline)
		rate(join(p, "peak"), b.Peak)
		positive(join(p, "length"), b.Length)
		positive(join(p, "period"), b.Period)
		if b.Period > 0 && b.Length >= b.Period {
			c.problem(join(p, "length"), durValue(b.Length), "must be shorter than the period (%v)", b.Period)
		}
		op := join(p, "offset")
		if b.Offset < 0 {
			c.problem(op, durValue(b.Offset), "must not be negative")
		} else if b.Period > 0 && b.Offset >= b.Period {
			c.problem(op, durValue(b.Offset), "must be shorter than the period (%v)", b.Period)
		}
	default:
		p := path
		if c.pos[join(path, ShapeConstant)] != nil {
			p = join(path, ShapeConstant)
		}
		rate(p, r.Constant)
	}
}

// targetRef checks a reference to a fault target; ok if it exists.
func (c *checker) targetRef(p *Profile, name, path string) (FaultTarget, bool) {
	if name == "" {
		c.problem(path, "", "missing target")
		return FaultTarget{}, false
	}
	t, ok := p.FaultTargets[name]
	if ok {
		return t, true
	}
	if len(p.FaultTargets) == 0 {
		c.problem(path, name, "unknown fault target (no fault_targets defined)")
	} else {
		names := make([]string, 0, len(p.FaultTargets))
		for n := range p.FaultTargets {
			names = append(names, n)
		}
		sort.Strings(names)
		c.problem(path, name, "unknown fault target (defined: %s)", strings.Join(names, ", "))
	}
	return FaultTarget{}, false
}

func (c *checker) faults(p *Profile, ph Phase, path string) {
	seen := map[string]int{}
	for j, f := range ph.Faults {
		fp := index(join(path, "faults"), j)
		np := join(fp, "name")
		if msg := checkFaultName(f.Name); msg != "" {
			c.problem(np, f.Name, "%s", msg)
		} else if k, dup := seen[f.Name]; dup {
			c.problem(np, f.Name, "duplicate fault name in phase %q (also faults[%d])", ph.Name, k)
		} else {
			seen[f.Name] = j
		}
		t, ok := c.targetRef(p, f.Target, join(fp, "target"))
		tp := join(fp, "type")
		var spec attrSpec
		known := false
		if types, kindOK := faultSpecs[t.Kind]; ok && kindOK {
			switch spec, known = types[f.Type]; {
			case f.Type == "":
				c.problem(tp, "", "missing type")
			case !known:
				c.problem(tp, f.Type, "fault type not supported by %s target %q (supported: %s)",
					t.Kind, f.Target, strings.Join(typesOf(t.Kind), ", "))
			}
		}
		if math.IsNaN(f.Toxicity) || f.Toxicity < 0 || f.Toxicity > 1 {
			c.problem(join(fp, "toxicity"), fnum(f.Toxicity), "must be in [0, 1]: the fraction of requests affected")
		}
		if f.Stream != "" && f.Stream != StreamUpstream && f.Stream != StreamDownstream {
			c.problem(join(fp, "stream"), f.Stream, "unknown stream (want downstream or upstream)")
		}
		ap := join(fp, "attributes")
		attrs := make([]string, 0, len(f.Attributes))
		for a := range f.Attributes {
			attrs = append(attrs, a)
		}
		sort.Strings(attrs)
		for _, a := range attrs {
			v, kp := f.Attributes[a], join(ap, a)
			switch {
			case known && !slices.Contains(spec.allowed(), a):
				if len(spec.allowed()) == 0 {
					c.keyProblem(kp, "%s faults take no attributes", f.Type)
				} else {
					c.keyProblem(kp, "unknown attribute for %s faults (want %s)", f.Type, strings.Join(spec.allowed(), ", "))
				}
			case math.IsNaN(v) || math.IsInf(v, 0) || v < 0:
				c.problem(kp, fnum(v), "must be a finite number ≥ 0")
			case a == "status":
				if v != math.Trunc(v) || v < 400 || v > 599 {
					c.problem(kp, fnum(v), "must be an HTTP status in [400, 599]")
				}
			case t.Kind == KindToxiproxy && (v != math.Trunc(v) || v > 1<<53):
				c.problem(kp, fnum(v), "must be a whole number (toxiproxy attributes are integers)")
			case t.Kind == KindDemo && v > maxDemoMillis:
				c.problem(kp, fnum(v), "must be at most %d ms (1h)", maxDemoMillis)
			}
		}
		if known {
			for _, a := range spec.required {
				if _, ok := f.Attributes[a]; !ok {
					c.problem(join(ap, a), "", "missing attribute %s (%s) for %s faults", a, spec.unit, f.Type)
				}
			}
		}
	}
}

// typesOf lists the fault types a kind supports, in documentation order.
func typesOf(kind string) []string {
	var out []string
	for _, t := range faultTypeOrder {
		if _, ok := faultSpecs[kind][t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// checkFaultName applies the demo target's rules for fault names.
func checkFaultName(name string) string {
	switch {
	case name == "":
		return "missing name"
	case len(name) > maxFaultName:
		return fmt.Sprintf("fault names are at most %d bytes", maxFaultName)
	case !utf8.ValidString(name):
		return "fault names must be valid UTF-8"
	}
	for _, r := range name {
		if r == '/' || !unicode.IsPrint(r) {
			return fmt.Sprintf("fault names must not contain %q", r)
		}
	}
	return ""
}

func (c *checker) actions(p *Profile, ph Phase, path string) {
	for j, a := range ph.Actions {
		ap := index(join(path, "actions"), j)
		atp := join(ap, "at")
		if a.At < 0 {
			c.problem(atp, durValue(a.At), "must not be negative")
		} else if ph.Duration > 0 && a.At >= ph.Duration {
			c.problem(atp, durValue(a.At), "action is not before the end of its phase (%v)", ph.Duration)
		}
		dp := join(ap, "do")
		if a.Do == ActionSetHedge {
			if a.Value != "off" {
				if _, err := generator.ParseHedgeAfter(a.Value); err != nil {
					c.problem(join(ap, "value"), a.Value, "set_hedge wants off, a delay (10ms), a percentile (p95) or both (p95,20ms): %v", err)
				}
			}
			if a.Target != "" || a.Endpoint != 0 {
				c.problem(dp, a.Do, "set_hedge takes a value, not a target or an endpoint")
			}
			continue
		}
		if a.Value != "" {
			c.problem(join(ap, "value"), a.Value, "only set_hedge takes a value")
		}
		if a.Do == ActionRemoveEndpoint || a.Do == ActionRestoreEndpoint {
			if a.Endpoint < 1 {
				c.problem(join(ap, "endpoint"), "", "%s needs endpoint: N (1-based, as in --endpoints)", a.Do)
			}
			if a.Target != "" {
				c.problem(join(ap, "target"), a.Target, "%s takes no target", a.Do)
			}
			continue
		}
		if a.Endpoint != 0 {
			c.problem(join(ap, "endpoint"), fmt.Sprint(a.Endpoint), "only remove_endpoint and restore_endpoint take an endpoint")
		}
		t, ok := c.targetRef(p, a.Target, join(ap, "target"))
		switch supported, kindOK := actionSpecs[t.Kind]; {
		case a.Do == "":
			c.problem(dp, "", "missing do (want %s)", ActionFlushCache)
		case ok && kindOK && !slices.Contains(supported, a.Do):
			c.problem(dp, a.Do, "action not supported by %s target %q (supported: %s)",
				t.Kind, a.Target, orList(supported))
		case !ok && a.Do != ActionFlushCache:
			c.problem(dp, a.Do, "unknown action (want %s, %s, %s or %s)", ActionFlushCache, ActionRemoveEndpoint, ActionRestoreEndpoint, ActionSetHedge)
		}
	}
}
