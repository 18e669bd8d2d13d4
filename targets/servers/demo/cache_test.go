package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestCacheHitMissAndTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := DefaultConfig()
		c.DepSigma, c.TailProb = 0, 0 // every miss takes exactly 2ms
		s := newServer(t, c)
		h := s.Handler()

		get := func(target, wantCache string) {
			t.Helper()
			rec := do(h, "GET", target, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: status %d: %s", target, rec.Code, rec.Body)
			}
			if got := rec.Header().Get("X-Cache"); got != wantCache {
				t.Fatalf("GET %s: X-Cache %q, want %q", target, got, wantCache)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body struct{ Key, Value, Cache string }
			decode(t, rec, &body)
			if body.Cache != wantCache || body.Value != valueOf(body.Key) || body.Value == "" {
				t.Fatalf("GET %s: body %+v", target, body)
			}
		}

		get("/item?key=a", "MISS")
		get("/item?key=a", "HIT")
		get("/item?key=b", "MISS")
		get("/", "MISS") // key "default"
		get("/item?key=default", "HIT")
		get("/item", "HIT")

		// a was stored at 2ms and expires at 2.002s; now is 6ms.
		time.Sleep(c.CacheTTL - 10*time.Millisecond)
		get("/item?key=a", "HIT")
		time.Sleep(20 * time.Millisecond)
		get("/item?key=a", "MISS")
		get("/item?key=a", "HIT")

		s.FlushCache()
		get("/item?key=a", "MISS")
		if rec := do(h, "POST", "/cache/flush", ""); rec.Code != http.StatusNoContent {
			t.Fatalf("POST /cache/flush: %d", rec.Code)
		}
		get("/item?key=a", "MISS")

		st := s.Stats()
		if st.Hits != 5 || st.Misses != 6 || st.Requests != 11 || st.DependencyCalls != 6 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestCacheDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.CacheTTL = 0
		h := newServer(t, c).Handler()
		for range 3 {
			if got := do(h, "GET", "/item?key=x", "").Header().Get("X-Cache"); got != "MISS" {
				t.Fatalf("X-Cache %q with the cache disabled", got)
			}
		}
	})
}

func TestCacheSizeBound(t *testing.T) {
	for _, size := range []int{1, 3, 16, 100} {
		c := newCache(int64(time.Minute), size)
		for i := range 10 * size {
			c.put(fmt.Sprint("k", i), "v", int64(i))
		}
		if n := c.len(); n != size {
			t.Errorf("size %d: %d entries after %d puts", size, n, 10*size)
		}
		// Expired entries are evicted first: all present keys are fresh.
		c.put("fresh", "v", int64(2*time.Minute))
		if _, ok := c.get("fresh", int64(2*time.Minute)); !ok {
			t.Errorf("size %d: just-stored key missing", size)
		}
	}
}

func TestItemKeyHandling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newServer(t, noDelay()).Handler()
		var body struct{ Key string }
		rec := do(h, "GET", "/item?x=1&key=a%20b%22%3C&key=ignored", "")
		decode(t, rec, &body)
		if body.Key != `a b"<` {
			t.Errorf("key %q", body.Key)
		}
		if !strings.Contains(rec.Body.String(), `\u003c`) {
			t.Errorf("< not escaped: %s", rec.Body)
		}
		if rec := do(h, "GET", "/item?key=%zz", ""); rec.Code != http.StatusBadRequest {
			t.Errorf("bad escape: %d", rec.Code)
		}
		if rec := do(h, "GET", "/item?key="+strings.Repeat("x", MaxKeyLen+1), ""); rec.Code != http.StatusBadRequest {
			t.Errorf("long key: %d", rec.Code)
		}
		if rec := do(h, "GET", "/nope", ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET /nope: %d", rec.Code)
		}
		if rec := do(h, "GET", "/healthz", ""); rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
			t.Errorf("healthz: %d %q", rec.Code, rec.Body)
		}
	})
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s", "ctl\x00\x1f\n\t\r", "<&>", "é✓", "bad\xff\xfe", "\u2028\u2029"} {
		got := string(appendJSONString(nil, s))
		var back, want string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%q: invalid JSON %s: %v", s, got, err)
			continue
		}
		ref, _ := json.Marshal(s) // encoding/json's replacement of invalid UTF-8
		json.Unmarshal(ref, &want)
		if back != want {
			t.Errorf("%q: round trip %q, want %q", s, back, want)
		}
	}
}
