package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Parse decodes and validates a profile. source names it in problems (a
// file name, or "builtin:NAME") and becomes Profile.Source. Unknown
// fields are errors. On failure the error is an *Error listing every
// problem found, each with its line; the profile is then nil.
//
// Defaults are filled in: the name (source's base name), the method
// (GET), phase names (phase-N), fault names (<phase>-<target>-<type>),
// toxicity (1) and stream (downstream).
func Parse(source string, data []byte) (*Profile, error) {
	c := newChecker(source)
	root := c.document(data)
	if root == nil {
		return nil, c.err()
	}
	p := c.profile(root)
	p.Source = source
	p.setDefaults()
	c.validate(p)
	if err := c.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// Field names, in the order the documentation gives them.
var (
	profileFields     = []string{"name", "description", "target", "keys", "data", "cache", "seed", "fault_targets", "phases"}
	targetFields      = []string{"url", "method", "headers", "body"}
	keysFields        = []string{"dist", "s", "n"}
	dataFields        = []string{"file"}
	cacheFields       = []string{"header", "hit"}
	faultTargetFields = []string{"kind", "api", "proxy"}
	phaseFields       = []string{"name", "duration", "rate", "arrivals", "warmup", "faults", "actions"}
	faultFields       = []string{"name", "target", "type", "toxicity", "stream", "attributes"}
	actionFields      = []string{"at", "do", "target", "endpoint", "value"}
	rampFields        = []string{"from", "to", "over"}
	stepFields        = []string{"rate", "duration"}
	sineFields        = []string{"mean", "amplitude", "period"}
	burstFields       = []string{"baseline", "peak", "length", "period", "offset"}
)

// maxNodes bounds the number of YAML values a profile may expand to
// (aliases included), so that an alias bomb fails fast.
const maxNodes = 100_000

// checker decodes a YAML node tree into a Profile and validates it,
// collecting every problem.
type checker struct {
	file  string
	probs []Problem
	// pos is the node each decoded path came from, for line numbers.
	pos map[string]*yaml.Node
	// keyPos is the key node of each mapping entry, by path.
	keyPos map[string]*yaml.Node
	// bad holds the paths that failed to decode: validation says nothing
	// more about them or what is under them.
	bad       map[string]bool
	budget    int
	exhausted bool
}

func newChecker(file string) *checker {
	return &checker{file: file, pos: map[string]*yaml.Node{}, keyPos: map[string]*yaml.Node{}, bad: map[string]bool{}, budget: maxNodes}
}

// err returns the problems, sorted by position, as an *Error; nil if none.
func (c *checker) err() error {
	if len(c.probs) == 0 {
		return nil
	}
	ps := slices.Clone(c.probs)
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
	return &Error{Problems: ps}
}

// note records a problem at node n (nil: position unknown).
func (c *checker) note(n *yaml.Node, path, value, msg string) {
	if c.exhausted {
		return
	}
	p := Problem{File: c.file, Path: path, Value: value, Msg: msg}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	c.probs = append(c.probs, p)
}

// fail records that the value n at path could not be decoded.
func (c *checker) fail(n *yaml.Node, path, format string, args ...any) {
	c.bad[path] = true
	c.note(n, path, scalar(n), fmt.Sprintf(format, args...))
}

// missing records that the mapping parent lacks the required field path.
func (c *checker) missing(n *yaml.Node, path string) {
	c.bad[path] = true
	if k := c.keyPos[parent(path)]; k != nil {
		n = k // point at "keys:" rather than at the first field below it
	}
	c.note(n, path, "", "missing "+lastElem(path))
}

// scalar is n's value if n is a scalar, else "".
func scalar(n *yaml.Node) string {
	if n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a string"
	}
	return "an empty value"
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// join appends a mapping key to a path, quoting keys that are not plain
// identifiers.
func join(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// parent strips the last element of a path; "" for a top-level field.
func parent(path string) string {
	if strings.HasSuffix(path, `"]`) {
		if i := strings.LastIndex(path, `["`); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

// lastElem is the last element of a path, without index brackets.
func lastElem(path string) string {
	s := strings.TrimPrefix(path, parent(path))
	s = strings.TrimPrefix(s, ".")
	if uq, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return uq
	}
	return s
}

// resolve follows aliases and counts n against the size budget. It
// returns nil once the budget is exhausted.
func (c *checker) resolve(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > 100 {
			return nil
		}
		n = n.Alias
	}
	c.budget--
	if c.budget < 0 {
		if !c.exhausted {
			c.note(n, "", "", fmt.Sprintf("profile too large: more than %d values once aliases are expanded", maxNodes))
			c.exhausted = true
		}
		return nil
	}
	return n
}

var (
	syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownRef = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// syntax records a YAML syntax error, with its line where known.
func (c *checker) syntax(err error, data []byte) {
	msg := err.Error()
	line := 0
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else if m := unknownRef.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	c.note(&yaml.Node{Line: line}, "", "", "invalid YAML: "+msg)
}

// document parses data into the root node of its single document; nil
// after a problem.
func (c *checker) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.note(&yaml.Node{Line: 1, Column: 1}, "", "", "empty profile: want a mapping with at least phases")
		} else {
			c.syntax(err, data)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		c.syntax(err, data)
		return nil
	default:
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		c.note(at, "", "", "more than one YAML document (---): a profile is one document")
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	root = c.resolve(root)
	if root == nil || root.Kind == yaml.DocumentNode || isNull(root) {
		c.note(&yaml.Node{Line: max(1, doc.Line), Column: 1}, "", "", "empty profile: want a mapping with at least phases")
		return nil
	}
	return root
}

// pair is a key and its value in a mapping.
type pair struct {
	key  string
	k, v *yaml.Node
}

// pairs returns the entries of the mapping n, merge keys (<<) expanded,
// reporting duplicate keys. ok is false if n is not a mapping (reported).
func (c *checker) pairs(n *yaml.Node, path string) (ps []pair, ok bool) {
	c.pos[path] = n
	if n.Kind != yaml.MappingNode {
		c.fail(n, path, "must be a mapping, not %s", kindName(n))
		return nil, false
	}
	c.collect(n, path, &ps, map[string]bool{}, map[*yaml.Node]bool{})
	return ps, true
}

func (c *checker) collect(n *yaml.Node, path string, out *[]pair, seen map[string]bool, stack map[*yaml.Node]bool) {
	if stack[n] {
		c.note(n, path, "", "merge key (<<) refers to a mapping that contains it")
		return
	}
	stack[n] = true
	defer delete(stack, n)
	local := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := c.resolve(n.Content[i])
		if k == nil {
			return
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, n.Content[i+1])
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.note(k, path, "", "mapping keys must be strings, not "+kindName(k))
			continue
		}
		if first, dup := local[k.Value]; dup {
			c.note(k, join(path, k.Value), k.Value, fmt.Sprintf("duplicate field (first at line %d)", first.Line))
			continue
		}
		local[k.Value] = k
		if seen[k.Value] { // set by a mapping that merges this one
			continue
		}
		seen[k.Value] = true
		c.keyPos[join(path, k.Value)] = k
		*out = append(*out, pair{k.Value, k, n.Content[i+1]})
	}
	for _, m := range merges {
		m = c.resolve(m)
		switch {
		case m == nil:
			return
		case m.Kind == yaml.MappingNode:
			c.collect(m, path, out, seen, stack)
		case m.Kind == yaml.SequenceNode:
			for _, e := range m.Content {
				if e = c.resolve(e); e == nil {
					return
				}
				if e.Kind != yaml.MappingNode {
					c.note(e, path, scalar(e), "merge key (<<) needs a mapping or a list of mappings")
					continue
				}
				c.collect(e, path, out, seen, stack)
			}
		default:
			c.note(m, path, scalar(m), "merge key (<<) needs a mapping or a list of mappings")
		}
	}
}

// fields returns the values of the mapping n by key, reporting unknown
// keys. Null values count as absent. ok is false if n is not a mapping.
func (c *checker) fields(n *yaml.Node, path string, known []string) (m map[string]*yaml.Node, ok bool) {
	ps, ok := c.pairs(n, path)
	if !ok {
		return nil, false
	}
	m = make(map[string]*yaml.Node, len(ps))
	for _, kv := range ps {
		if path == "" && strings.HasPrefix(kv.key, "x-") {
			continue // extension field, for anchors
		}
		if !slices.Contains(known, kv.key) {
			c.note(kv.k, join(path, kv.key), kv.key, "unknown field"+suggest(kv.key, known))
			continue
		}
		if v := c.resolve(kv.v); !isNull(v) {
			m[kv.key] = v
		}
	}
	return m, true
}

// suggest is " (did you mean "x"?)" for a near miss, else the list of
// known names.
func suggest(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(got), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (want one of: " + strings.Join(known, ", ") + ")"
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Typed getters. n is a resolved, non-null node; each records its
// position under path.

func (c *checker) str(n *yaml.Node, path string) string {
	c.pos[path] = n
	if n.Kind != yaml.ScalarNode {
		c.fail(n, path, "must be a string, not %s", kindName(n))
		return ""
	}
	return n.Value
}

func isNumber(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	t := n.ShortTag()
	return t == "!!int" || t == "!!float"
}

func (c *checker) num(n *yaml.Node, path string) float64 {
	c.pos[path] = n
	var f float64
	if !isNumber(n) || n.Decode(&f) != nil {
		c.fail(n, path, "must be a number, not %s", kindName(n))
		return 0
	}
	return f
}

func (c *checker) integer(n *yaml.Node, path string) int {
	c.pos[path] = n
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		c.fail(n, path, "must be a whole number")
		return 0
	}
	return i
}

func (c *checker) uinteger(n *yaml.Node, path string) uint64 {
	c.pos[path] = n
	var u uint64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&u) != nil {
		c.fail(n, path, "must be a whole number ≥ 0")
		return 0
	}
	return u
}

func (c *checker) boolean(n *yaml.Node, path string) bool {
	c.pos[path] = n
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		c.fail(n, path, "must be true or false")
		return false
	}
	return b
}

func (c *checker) duration(n *yaml.Node, path string) time.Duration {
	c.pos[path] = n
	if n.Kind == yaml.ScalarNode {
		if d, err := time.ParseDuration(n.Value); err == nil {
			return d
		}
	}
	c.fail(n, path, `must be a duration with a unit, like "10s", "250ms" or "1m30s"`)
	return 0
}

// seq returns the items of the list n, nil if n is not a list (reported).
func (c *checker) seq(n *yaml.Node, path string) []*yaml.Node {
	c.pos[path] = n
	if n.Kind != yaml.SequenceNode {
		c.fail(n, path, "must be a list, not %s", kindName(n))
		return nil
	}
	return n.Content
}

// item resolves list item i, recording its position; nil if it is null.
func (c *checker) item(n *yaml.Node, path string) *yaml.Node {
	n = c.resolve(n)
	if isNull(n) {
		if !c.exhausted && n != nil {
			c.fail(n, path, "empty list item")
		}
		return nil
	}
	c.pos[path] = n
	return n
}

// The decoders proper.

func (c *checker) profile(root *yaml.Node) *Profile {
	p := &Profile{}
	if root.Kind != yaml.MappingNode {
		c.fail(root, "", "a profile must be a mapping with at least phases, not %s", kindName(root))
		return p
	}
	m, ok := c.fields(root, "", profileFields)
	if !ok {
		return p
	}
	if v := m["name"]; v != nil {
		p.Name = c.str(v, "name")
	}
	if v := m["description"]; v != nil {
		p.Description = c.str(v, "description")
	}
	if v := m["target"]; v != nil {
		p.Target = c.target(v, "target")
	}
	if v := m["keys"]; v != nil {
		p.Keys = c.keys(v, "keys")
	}
	if v := m["data"]; v != nil {
		if dm, ok := c.fields(v, "data", dataFields); ok {
			p.Data = &Data{}
			if f := dm["file"]; f != nil {
				p.Data.File = c.str(f, "data.file")
			} else {
				c.missing(v, "data.file")
			}
		}
	}
	if v := m["cache"]; v != nil {
		if cm, ok := c.fields(v, "cache", cacheFields); ok {
			p.Cache = &Cache{}
			if h := cm["header"]; h != nil {
				p.Cache.Header = c.str(h, "cache.header")
			} else {
				c.missing(v, "cache.header")
			}
			if h := cm["hit"]; h != nil {
				p.Cache.Hit = c.str(h, "cache.hit")
			} else {
				c.missing(v, "cache.hit")
			}
		}
	}
	if v := m["seed"]; v != nil {
		p.Seed = c.uinteger(v, "seed")
	}
	if v := m["fault_targets"]; v != nil {
		p.FaultTargets = c.faultTargets(v, "fault_targets")
	}
	if v := m["phases"]; v != nil {
		items := c.seq(v, "phases")
		p.Phases = make([]Phase, 0, len(items))
		for i, it := range items {
			path := index("phases", i)
			if it = c.item(it, path); it != nil {
				p.Phases = append(p.Phases, c.phase(it, path))
			}
		}
		if items == nil {
			p.Phases = nil
		}
	} else {
		c.missing(root, "phases")
	}
	return p
}

func (c *checker) target(n *yaml.Node, path string) TargetDefaults {
	var t TargetDefaults
	m, ok := c.fields(n, path, targetFields)
	if !ok {
		return t
	}
	if v := m["url"]; v != nil {
		t.URL = c.str(v, join(path, "url"))
	}
	if v := m["method"]; v != nil {
		t.Method = c.str(v, join(path, "method"))
	}
	if v := m["headers"]; v != nil {
		hp := join(path, "headers")
		if ps, ok := c.pairs(v, hp); ok {
			t.Headers = make(map[string]string, len(ps))
			for _, kv := range ps {
				if val := c.resolve(kv.v); val != nil {
					t.Headers[kv.key] = c.str(val, join(hp, kv.key))
				}
			}
		}
	}
	if v := m["body"]; v != nil {
		t.Body = c.str(v, join(path, "body"))
	}
	return t
}

func (c *checker) keys(n *yaml.Node, path string) *Keys {
	m, ok := c.fields(n, path, keysFields)
	if !ok {
		return nil
	}
	k := &Keys{}
	if v := m["dist"]; v != nil {
		k.Dist = c.str(v, join(path, "dist"))
	} else {
		c.missing(n, join(path, "dist"))
	}
	if v := m["s"]; v != nil {
		k.S = c.num(v, join(path, "s"))
	}
	if v := m["n"]; v != nil {
		k.N = c.integer(v, join(path, "n"))
	} else {
		c.missing(n, join(path, "n"))
	}
	return k
}

func (c *checker) faultTargets(n *yaml.Node, path string) map[string]FaultTarget {
	ps, ok := c.pairs(n, path)
	if !ok {
		return nil
	}
	out := make(map[string]FaultTarget, len(ps))
	for _, kv := range ps {
		tp := join(path, kv.key)
		v := c.resolve(kv.v)
		if isNull(v) {
			if v != nil {
				c.missing(v, join(tp, "kind"))
			}
			out[kv.key] = FaultTarget{Name: kv.key}
			continue
		}
		m, ok := c.fields(v, tp, faultTargetFields)
		t := FaultTarget{Name: kv.key}
		if ok {
			if x := m["kind"]; x != nil {
				t.Kind = c.str(x, join(tp, "kind"))
			} else {
				c.missing(v, join(tp, "kind"))
			}
			if x := m["api"]; x != nil {
				t.API = c.str(x, join(tp, "api"))
			}
			if x := m["proxy"]; x != nil {
				t.Proxy = c.str(x, join(tp, "proxy"))
			}
		}
		out[kv.key] = t
	}
	return out
}

func (c *checker) phase(n *yaml.Node, path string) Phase {
	var ph Phase
	m, ok := c.fields(n, path, phaseFields)
	if !ok {
		return ph
	}
	if v := m["name"]; v != nil {
		ph.Name = c.str(v, join(path, "name"))
	}
	if v := m["duration"]; v != nil {
		ph.Duration = c.duration(v, join(path, "duration"))
	} else {
		c.missing(n, join(path, "duration"))
	}
	if v := m["rate"]; v != nil {
		ph.Rate = c.rate(v, join(path, "rate"))
	} else {
		c.missing(n, join(path, "rate"))
	}
	if v := m["arrivals"]; v != nil {
		ph.Arrivals = c.str(v, join(path, "arrivals"))
	}
	if v := m["warmup"]; v != nil {
		ph.Warmup = c.boolean(v, join(path, "warmup"))
	}
	if v := m["faults"]; v != nil {
		fp := join(path, "faults")
		for i, it := range c.seq(v, fp) {
			ip := index(fp, i)
			if it = c.item(it, ip); it != nil {
				ph.Faults = append(ph.Faults, c.fault(it, ip))
			}
		}
	}
	if v := m["actions"]; v != nil {
		ap := join(path, "actions")
		for i, it := range c.seq(v, ap) {
			ip := index(ap, i)
			if it = c.item(it, ip); it != nil {
				ph.Actions = append(ph.Actions, c.action(it, ip))
			}
		}
	}
	return ph
}

func (c *checker) fault(n *yaml.Node, path string) Fault {
	f := Fault{Toxicity: 1}
	m, ok := c.fields(n, path, faultFields)
	if !ok {
		return f
	}
	if v := m["name"]; v != nil {
		f.Name = c.str(v, join(path, "name"))
	}
	if v := m["target"]; v != nil {
		f.Target = c.str(v, join(path, "target"))
	} else {
		c.missing(n, join(path, "target"))
	}
	if v := m["type"]; v != nil {
		f.Type = c.str(v, join(path, "type"))
	} else {
		c.missing(n, join(path, "type"))
	}
	if v := m["toxicity"]; v != nil {
		f.Toxicity = c.num(v, join(path, "toxicity"))
	}
	if v := m["stream"]; v != nil {
		f.Stream = c.str(v, join(path, "stream"))
	}
	if v := m["attributes"]; v != nil {
		ap := join(path, "attributes")
		if ps, ok := c.pairs(v, ap); ok {
			f.Attributes = make(map[string]float64, len(ps))
			for _, kv := range ps {
				if x := c.resolve(kv.v); x != nil {
					f.Attributes[kv.key] = c.num(x, join(ap, kv.key))
				}
			}
		}
	}
	return f
}

func (c *checker) action(n *yaml.Node, path string) Action {
	var a Action
	m, ok := c.fields(n, path, actionFields)
	if !ok {
		return a
	}
	if v := m["at"]; v != nil {
		a.At = c.duration(v, join(path, "at"))
	} else {
		c.missing(n, join(path, "at"))
	}
	if v := m["do"]; v != nil {
		a.Do = c.str(v, join(path, "do"))
	} else {
		c.missing(n, join(path, "do"))
	}
	if v := m["target"]; v != nil {
		a.Target = c.str(v, join(path, "target"))
	} else if a.Do != ActionRemoveEndpoint && a.Do != ActionRestoreEndpoint && a.Do != ActionSetHedge {
		c.missing(n, join(path, "target"))
	}
	if v := m["value"]; v != nil {
		a.Value = c.str(v, join(path, "value"))
	}
	if v := m["endpoint"]; v != nil {
		ep := c.num(v, join(path, "endpoint"))
		if ep != float64(int(ep)) || ep < 1 || ep > 1e6 {
			c.fail(v, join(path, "endpoint"), "must be a whole number ≥ 1 (the endpoint's position in --endpoints)")
		} else {
			a.Endpoint = int(ep)
		}
	}
	return a
}

// rate decodes a RateShape: a bare number or a mapping with one shape.
func (c *checker) rate(n *yaml.Node, path string) RateShape {
	var r RateShape
	if n = c.resolve(n); isNull(n) {
		return r
	}
	c.pos[path] = n
	const want = "must be a number of requests per second, or a mapping with one of: constant, ramp, steps, sine, burst"
	switch n.Kind {
	case yaml.ScalarNode:
		if isNumber(n) {
			r.Constant = c.num(n, path)
		} else {
			c.fail(n, path, want)
		}
		return r
	case yaml.MappingNode:
	default:
		c.fail(n, path, want)
		return r
	}
	ps, _ := c.pairs(n, path)
	if len(ps) == 0 {
		c.fail(n, path, "empty rate: want one of constant, ramp, steps, sine, burst")
		return r
	}
	first := ""
	for _, kv := range ps {
		kp := join(path, kv.key)
		if !slices.Contains(shapeNames, kv.key) {
			c.note(kv.k, kp, kv.key, "unknown rate shape"+suggest(kv.key, shapeNames))
			continue
		}
		if first != "" {
			c.note(kv.k, kp, kv.key, fmt.Sprintf("more than one rate shape (%s and %s): a phase has exactly one", first, kv.key))
			continue
		}
		first = kv.key
		v := c.resolve(kv.v)
		if isNull(v) {
			c.missing(n, kp)
			if kv.key == ShapeSteps {
				r.Steps = []StepShape{}
			}
			continue
		}
		switch kv.key {
		case ShapeConstant:
			r.Constant = c.num(v, kp)
		case ShapeRamp:
			r.Ramp = c.ramp(v, kp)
		case ShapeSteps:
			r.Steps = c.steps(v, kp)
		case ShapeSine:
			r.Sine = c.sine(v, kp)
		case ShapeBurst:
			r.Burst = c.burst(v, kp)
		}
	}
	return r
}

// need decodes required field key of mapping n (path p) with get, or
// reports it missing.
func need[T any](c *checker, m map[string]*yaml.Node, n *yaml.Node, p, key string, get func(*yaml.Node, string) T) T {
	if v := m[key]; v != nil {
		return get(v, join(p, key))
	}
	c.missing(n, join(p, key))
	var zero T
	return zero
}

func (c *checker) ramp(n *yaml.Node, p string) *RampShape {
	r := &RampShape{}
	m, ok := c.fields(n, p, rampFields)
	if !ok {
		return r
	}
	r.From = need(c, m, n, p, "from", c.num)
	r.To = need(c, m, n, p, "to", c.num)
	if v := m["over"]; v != nil {
		op := join(p, "over")
		if r.Over = c.duration(v, op); r.Over == 0 && !c.bad[op] {
			c.fail(v, op, "must be positive (leave it out to ramp over the whole phase)")
		}
	}
	return r
}

func (c *checker) steps(n *yaml.Node, p string) []StepShape {
	out := []StepShape{}
	for i, it := range c.seq(n, p) {
		ip := index(p, i)
		if it = c.item(it, ip); it == nil {
			continue
		}
		m, ok := c.fields(it, ip, stepFields)
		if !ok {
			continue
		}
		out = append(out, StepShape{
			Rate:     need(c, m, it, ip, "rate", c.num),
			Duration: need(c, m, it, ip, "duration", c.duration),
		})
	}
	return out
}

func (c *checker) sine(n *yaml.Node, p string) *SineShape {
	s := &SineShape{}
	if m, ok := c.fields(n, p, sineFields); ok {
		s.Mean = need(c, m, n, p, "mean", c.num)
		s.Amplitude = need(c, m, n, p, "amplitude", c.num)
		s.Period = need(c, m, n, p, "period", c.duration)
	}
	return s
}

func (c *checker) burst(n *yaml.Node, p string) *BurstShape {
	b := &BurstShape{}
	if m, ok := c.fields(n, p, burstFields); ok {
		b.Baseline = need(c, m, n, p, "baseline", c.num)
		b.Peak = need(c, m, n, p, "peak", c.num)
		b.Length = need(c, m, n, p, "length", c.duration)
		b.Period = need(c, m, n, p, "period", c.duration)
		if v := m["offset"]; v != nil {
			b.Offset = c.duration(v, join(p, "offset"))
		}
	}
	return b
}

// setDefaults fills in the defaults Parse documents.
func (p *Profile) setDefaults() {
	if p.Name == "" {
		base := filepath.Base(strings.TrimPrefix(p.Source, "builtin:"))
		if base != "." && base != string(filepath.Separator) {
			p.Name = strings.TrimSuffix(base, filepath.Ext(base))
		}
	}
	if p.Target.Method == "" {
		p.Target.Method = "GET"
	}
	for i := range p.Phases {
		ph := &p.Phases[i]
		if ph.Name == "" {
			ph.Name = fmt.Sprintf("phase-%d", i+1)
		}
		for j := range ph.Faults {
			f := &ph.Faults[j]
			if f.Stream == "" {
				f.Stream = StreamDownstream
			}
			if f.Name == "" {
				f.Name = ph.Name + "-" + f.Target + "-" + f.Type
			}
		}
	}
}
