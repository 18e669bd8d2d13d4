package targets

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestTemplateRender(t *testing.T) {
	d, err := LoadData("testdata/users.csv")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := NewKeys(KeySequential, 5, 0, 0)
	v := &Vars{Keys: keys, Data: d}
	tm, err := ParseTemplate("/u/{{data.user}}?seq={{seq}}&k={{ key }}", d)
	if err != nil {
		t.Fatal(err)
	}
	for seq, want := range map[uint64]string{0: "/u/alice?seq=0&k=0", 1: "/u/bob?seq=1&k=1", 7: "/u/bob?seq=7&k=2"} {
		if got := string(tm.Append(nil, seq, v)); got != want {
			t.Errorf("seq %d: %q, want %q", seq, got, want)
		}
	}
	if tm.Static() {
		t.Error("template with variables called static")
	}
	if st, _ := ParseTemplate("plain", nil); !st.Static() || string(st.Append(nil, 3, nil)) != "plain" {
		t.Error("static template")
	}
}

func TestTemplateErrors(t *testing.T) {
	d, _ := LoadData("testdata/users.csv")
	for in, want := range map[string]string{
		"{{nope}}":       "{{nope}}",
		"{{data.user}}":  "needs a data file",
		"x{{seq":         "unclosed",
		"{{data.email}}": `no column "email" (columns: user, token)`,
	} {
		var data *Data
		if strings.Contains(in, "email") {
			data = d
		}
		_, err := ParseTemplate(in, data)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTemplate(%q) = %v, want %q", in, err, want)
		}
		if strings.Contains(in, "nope") && !errors.Is(err, ErrUnknownVar) {
			t.Errorf("%q: not ErrUnknownVar", in)
		}
	}
}

func TestLoadDataJSONL(t *testing.T) {
	d, err := LoadData("testdata/users.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	tm, err := ParseTemplate("{{data.user}}:{{data.n}}:{{data.extra}}", d)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(tm.Append(nil, 1, &Vars{Data: d})); got != "dave:4:" {
		t.Fatalf("got %q", got)
	}
	if _, err := LoadData("testdata/missing.csv"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestKeysDeterministicAndDistributed(t *testing.T) {
	u, _ := NewKeys(KeyUniform, 100, 0, 7)
	z, _ := NewKeys(KeyZipf, 10000, 1.1, 7)
	var uc [100]int
	zTop := 0
	for seq := uint64(0); seq < 100000; seq++ {
		k := u.Key(seq)
		if k >= 100 || k != u.Key(seq) {
			t.Fatalf("uniform key %d for %d", k, seq)
		}
		uc[k]++
		zk := z.Key(seq)
		if zk >= 10000 {
			t.Fatalf("zipf key %d out of range", zk)
		}
		if zk < 10 {
			zTop++
		}
	}
	for k, n := range uc {
		if math.Abs(float64(n)-1000) > 5*math.Sqrt(1000) {
			t.Errorf("uniform key %d drawn %d times, want ≈ 1000", k, n)
		}
	}
	// Zipf(1.1) over 10,000 keys: the top 10 take roughly 30-45 % of draws.
	if f := float64(zTop) / 100000; f < 0.25 || f > 0.5 {
		t.Errorf("zipf top-10 share %.3f", f)
	}
	if _, err := NewKeys(KeyZipf, 10, 1, 0); err == nil {
		t.Error("zipf s=1 accepted")
	}
	if _, err := NewKeys(KeyUniform, 0, 0, 0); err == nil {
		t.Error("n=0 accepted")
	}
}

func TestKeyDoesNotAllocate(t *testing.T) {
	z, _ := NewKeys(KeyZipf, 10000, 1.1, 7)
	tm, _ := ParseTemplate("/item?key={{key}}&s={{seq}}", nil)
	buf := make([]byte, 0, 64)
	v := &Vars{Keys: z}
	if n := testing.AllocsPerRun(1000, func() { buf = tm.Append(buf[:0], 12345, v) }); n != 0 {
		t.Fatalf("rendering allocates %.1f times", n)
	}
}

func TestHTTPTemplates(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RequestURI()+" "+r.Header.Get("X-Seq"))
		mu.Unlock()
	}))
	defer srv.Close()
	keys, _ := NewKeys(KeySequential, 2, 0, 0)
	tg, err := NewHTTP(HTTPOptions{URL: srv.URL + "/item?key={{key}}", Header: http.Header{"X-Seq": {"s{{seq}}"}}, Vars: &Vars{Keys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(0); seq < 3; seq++ {
		tg.Do(context.Background(), seq)
	}
	want := []string{"/item?key=0 s0", "/item?key=1 s1", "/item?key=0 s2"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Fatalf("server saw %v, want %v", seen, want)
	}
	if _, err := NewHTTP(HTTPOptions{URL: srv.URL + "/{{bogus}}"}); err == nil {
		t.Fatal("unknown variable accepted")
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"/item?key={{key}}", "{{seq}}{{seq}}", "{{data.user}}", "{{", "}}{{x}}"} {
		f.Add(s)
	}
	d := &Data{Source: "f", Columns: []string{"user"}, Rows: [][]string{{"u"}}}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTemplate(s, d)
		if err != nil {
			return
		}
		out := string(tm.Append(nil, 42, &Vars{Data: d}))
		if tm.Static() && out != s {
			t.Fatalf("static template %q rendered %q", s, out)
		}
	})
}

func FuzzLoadDataJSONL(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"b\":\"x\"}\n"))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := readJSONL("fuzz", strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, r := range d.Rows {
			if len(r) != len(d.Columns) {
				t.Fatalf("row of %d for %d columns", len(r), len(d.Columns))
			}
		}
	})
}

func TestHTTPDoBatch(t *testing.T) {
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 1024)
		n, _ := r.Body.Read(b)
		mu.Lock()
		got = append(got, r.Method+" "+string(b[:n]))
		mu.Unlock()
	}))
	defer srv.Close()
	tg, err := NewHTTP(HTTPOptions{URL: srv.URL + "/batch", BatchItem: `{"key":"k{{seq}}"}`})
	if err != nil {
		t.Fatal(err)
	}
	out := tg.DoBatch(context.Background(), []uint64{3, 4, 5})
	if !out.OK() || out.BytesOut != int64(len(`[{"key":"k3"},{"key":"k4"},{"key":"k5"}]`)) {
		t.Fatalf("outcome %+v", out)
	}
	if len(got) != 1 || got[0] != `POST [{"key":"k3"},{"key":"k4"},{"key":"k5"}]` {
		t.Fatalf("server saw %q", got)
	}
}

func FuzzLoadDataCSV(f *testing.F) {
	f.Add([]byte("user,token\nalice,t1\n"))
	f.Add([]byte("a,a\n1,2\n"))
	f.Add([]byte("\"unterminated\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := readCSV("fuzz.csv", strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, r := range d.Rows {
			if len(r) != len(d.Columns) {
				t.Fatalf("row of %d for %d columns", len(r), len(d.Columns))
			}
		}
	})
}
