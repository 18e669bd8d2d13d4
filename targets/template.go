package targets

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// KeyDist is how request keys are drawn.
type KeyDist uint8

// Key distributions.
const (
	KeyUniform    KeyDist = iota // every key in [0, N) equally likely
	KeyZipf                      // P(k) ∝ (k+1)^−S: a few hot keys, a long tail
	KeySequential                // seq mod N: every key in turn
)

// ParseKeyDist parses "uniform", "zipf" or "sequential".
func ParseKeyDist(s string) (KeyDist, error) {
	switch s {
	case "uniform":
		return KeyUniform, nil
	case "zipf":
		return KeyZipf, nil
	case "sequential":
		return KeySequential, nil
	}
	return 0, fmt.Errorf("unknown key distribution %q (want uniform, zipf or sequential)", s)
}

func (d KeyDist) String() string {
	return [...]string{"uniform", "zipf", "sequential"}[d]
}

// Keys draws the key of request seq. The key is a pure function of
// (Seed, seq): the same schedule gives the same keys, on one generator or
// split across many.
type Keys struct {
	Dist KeyDist
	N    uint64  // number of distinct keys, ≥ 1
	S    float64 // Zipf exponent, > 1
	Seed uint64

	z zipf
}

// NewKeys validates and returns a key source.
func NewKeys(d KeyDist, n uint64, s float64, seed uint64) (*Keys, error) {
	if n < 1 {
		return nil, fmt.Errorf("keys: n must be at least 1, got %d", n)
	}
	k := &Keys{Dist: d, N: n, S: s, Seed: seed}
	if d == KeyZipf {
		if !(s > 1) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("keys: zipf s must be greater than 1, got %v", s)
		}
		k.z = newZipf(s, 1, n-1)
	}
	return k, nil
}

// Key returns request seq's key, in [0, N).
func (k *Keys) Key(seq uint64) uint64 {
	switch k.Dist {
	case KeySequential:
		return seq % k.N
	case KeyZipf:
		src := rand.NewPCG(k.Seed, seq^0x9e3779b97f4a7c15)
		return k.z.draw(src)
	default:
		src := rand.NewPCG(k.Seed, seq^0x9e3779b97f4a7c15)
		return src.Uint64() % k.N
	}
}

// zipf is math/rand/v2's rejection-inversion Zipf sampler (Hörmann and
// Derflinger), drawing its uniforms from a caller's source so a sample can
// be a pure function of a seed.
type zipf struct {
	imax, v, q, s, oneminusQ, oneminusQinv, hxm, hx0minusHxm float64
}

func newZipf(s, v float64, imax uint64) zipf {
	z := zipf{imax: float64(imax), v: v, q: s}
	z.oneminusQ = 1 - z.q
	z.oneminusQinv = 1 / z.oneminusQ
	z.hxm = z.h(z.imax + 0.5)
	z.hx0minusHxm = z.h(0.5) - math.Exp(math.Log(z.v)*(-z.q)) - z.hxm
	z.s = 1 - z.hinv(z.h(1.5)-math.Exp(-z.q*math.Log(z.v+1)))
	return z
}

func (z *zipf) h(x float64) float64    { return math.Exp(z.oneminusQ*math.Log(z.v+x)) * z.oneminusQinv }
func (z *zipf) hinv(x float64) float64 { return math.Exp(z.oneminusQinv*math.Log(z.oneminusQ*x)) - z.v }

func (z *zipf) draw(src *rand.PCG) uint64 {
	for {
		r := float64(src.Uint64()>>11) / (1 << 53)
		ur := z.hxm + r*z.hx0minusHxm
		x := z.hinv(ur)
		k := math.Floor(x + 0.5)
		if k-x <= z.s || ur >= z.h(k+0.5)-math.Exp(-math.Log(k+z.v)*z.q) {
			if k > z.imax {
				k = z.imax
			}
			return uint64(k)
		}
	}
}

// Data is rows of named values from a CSV (with a header line) or JSONL
// file. Request seq uses row seq mod len(rows).
type Data struct {
	Source  string
	Columns []string
	Rows    [][]string
}

// LoadData reads a .csv or .jsonl/.ndjson file.
func LoadData(path string) (*Data, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := CheckSize(path, f); err != nil {
		return nil, err
	}
	// A UTF-8 byte-order mark (as spreadsheets write) is not part of the
	// first column's name.
	br := bufio.NewReader(f)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return readCSV(path, br)
	case ".jsonl", ".ndjson":
		return readJSONL(path, br)
	}
	return nil, fmt.Errorf("%s: data files must be .csv or .jsonl", path)
}

// MaxDataFile bounds a file held in memory for the whole run (a data
// file's rows, a request body): 64 MiB.
const MaxDataFile = 64 << 20

// CheckSize refuses, before reading it, a file larger than MaxDataFile.
func CheckSize(path string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > MaxDataFile {
		return fmt.Errorf("%s: %d MB: a file read into memory for the run may be at most %d MiB (split it, or draw keys with --keys)",
			path, st.Size()/1_000_000, MaxDataFile>>20)
	}
	return nil
}

func readCSV(name string, r io.Reader) (*Data, error) {
	cr := csv.NewReader(r)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s: want a header line and at least one row", name)
	}
	d := &Data{Source: name, Columns: recs[0], Rows: recs[1:]}
	seen := map[string]bool{}
	for i, c := range d.Columns {
		if c == "" || seen[c] {
			return nil, fmt.Errorf("%s:1: column %d: empty or repeated name %q", name, i+1, c)
		}
		seen[c] = true
	}
	return d, nil
}

func readJSONL(name string, r io.Reader) (*Data, error) {
	d := &Data{Source: name}
	idx := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	var objs []map[string]any
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := idx[k]; !ok {
				idx[k] = len(d.Columns)
				d.Columns = append(d.Columns, k)
			}
		}
		objs = append(objs, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, line+1, err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	for _, m := range objs {
		row := make([]string, len(d.Columns))
		for k, v := range m {
			switch v := v.(type) {
			case string:
				row[idx[k]] = v
			case nil:
			default:
				b, _ := json.Marshal(v)
				row[idx[k]] = string(b)
			}
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// Vars are what templates draw on.
type Vars struct {
	Keys *Keys // nil: {{key}} is the sequence number
	Data *Data
}

type partKind uint8

const (
	partLit partKind = iota
	partSeq
	partKey
	partData
)

type part struct {
	kind partKind
	lit  string
	col  int
}

// Template is a string with {{seq}}, {{key}} and {{data.COLUMN}}
// variables, compiled once and rendered per request without parsing.
type Template struct {
	src   string
	parts []part
}

// ErrUnknownVar is wrapped by template errors naming a variable that does
// not exist.
var ErrUnknownVar = errors.New("unknown template variable")

// ParseTemplate compiles s. data may be nil when s uses no data columns.
func ParseTemplate(s string, data *Data) (*Template, error) {
	t := &Template{src: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, part{kind: partLit, lit: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, part{kind: partLit, lit: rest[:i]})
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template %q: unclosed {{", s)
		}
		name := strings.TrimSpace(rest[i+2 : i+j])
		switch {
		case name == "seq":
			t.parts = append(t.parts, part{kind: partSeq})
		case name == "key":
			t.parts = append(t.parts, part{kind: partKey})
		case strings.HasPrefix(name, "data."):
			col := strings.TrimPrefix(name, "data.")
			if data == nil {
				return nil, fmt.Errorf("template %q: {{%s}} needs a data file: %w", s, name, ErrUnknownVar)
			}
			k := -1
			for c, n := range data.Columns {
				if n == col {
					k = c
				}
			}
			if k < 0 {
				return nil, fmt.Errorf("template %q: %s has no column %q (columns: %s): %w", s, data.Source, col, strings.Join(data.Columns, ", "), ErrUnknownVar)
			}
			t.parts = append(t.parts, part{kind: partData, col: k})
		default:
			return nil, fmt.Errorf("template %q: {{%s}} (want seq, key or data.COLUMN): %w", s, name, ErrUnknownVar)
		}
		rest = rest[i+j+2:]
	}
}

// Static reports whether the template has no variables.
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.kind != partLit {
			return false
		}
	}
	return true
}

func (t *Template) String() string { return t.src }

// Append renders the template for request seq onto b.
func (t *Template) Append(b []byte, seq uint64, v *Vars) []byte {
	for _, p := range t.parts {
		switch p.kind {
		case partLit:
			b = append(b, p.lit...)
		case partSeq:
			b = strconv.AppendUint(b, seq, 10)
		case partKey:
			k := seq
			if v != nil && v.Keys != nil {
				k = v.Keys.Key(seq)
			}
			b = strconv.AppendUint(b, k, 10)
		case partData:
			if v != nil && v.Data != nil && len(v.Data.Rows) > 0 {
				b = append(b, v.Data.Rows[seq%uint64(len(v.Data.Rows))][p.col]...)
			}
		}
	}
	return b
}
