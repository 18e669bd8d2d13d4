package demo

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestBatchCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := DefaultConfig() // dependency latency must not matter for batches
		s := newServer(t, c)
		h := s.Handler()
		for _, n := range []int{0, 1, 10, 100, 1000} {
			items := make([]string, n)
			for i := range items {
				items[i] = fmt.Sprintf(`{"key":"k%d"}`, i)
			}
			rec, d := timed(h, "POST", "/batch", "["+strings.Join(items, ",")+"]")
			if rec.Code != http.StatusOK {
				t.Fatalf("n=%d: status %d: %s", n, rec.Code, rec.Body)
			}
			if want := c.BatchFixed + time.Duration(n)*c.BatchPerItem; d != want {
				t.Errorf("n=%d: took %v, want %v", n, d, want)
			}
			var res []struct{ Key, Value string }
			decode(t, rec, &res)
			if len(res) != n {
				t.Fatalf("n=%d: %d results", n, len(res))
			}
			for i, r := range res {
				if r.Key != fmt.Sprint("k", i) || r.Value != valueOf(r.Key) {
					t.Fatalf("n=%d: result %d = %+v", n, i, r)
				}
			}
		}
		if st := s.Stats(); st.Batches != 5 || st.BatchItems != 1111 || st.Hits+st.Misses != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestBatchAnyArray(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newServer(t, noDelay()).Handler()
		rec := do(h, "POST", "/batch", ` [ "s", {"key":"o"}, {"x":1}, 3, null, [1] , {"key":7}] `)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var res []struct{ Key string }
		decode(t, rec, &res)
		want := []string{"s", "o", "item-2", "item-3", "item-4", "item-5", "item-6"}
		if len(res) != len(want) {
			t.Fatalf("results %+v", res)
		}
		for i, r := range res {
			if r.Key != want[i] {
				t.Errorf("item %d key %q, want %q", i, r.Key, want[i])
			}
		}
		for _, bad := range []string{"", "{}", "null", "[1,", `"a"`} {
			if rec := do(h, "POST", "/batch", bad); rec.Code != http.StatusBadRequest {
				t.Errorf("body %q: status %d, want 400", bad, rec.Code)
			}
		}
		big := "[" + strings.Repeat("1,", 1000) + "1]"
		if rec := do(h, "POST", "/batch", big); rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("1001 items: status %d, want 413", rec.Code)
		}
		if rec := do(h, "GET", "/batch", ""); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET /batch: %d", rec.Code)
		}
	})
}

// TestBatchThroughput: under a worker pool, batching serves more items per
// second at the cost of latency.
func TestBatchThroughput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.Workers = 1
		h := newServer(t, c).Handler()
		// 10 single-item batches vs one 10-item batch.
		start := time.Now()
		for range 10 {
			do(h, "POST", "/batch", `["a"]`)
		}
		singles := time.Since(start)
		_, batched := timed(h, "POST", "/batch", `["a","b","c","d","e","f","g","h","i","j"]`)
		if singles != 10*(c.BatchFixed+c.BatchPerItem) || batched != c.BatchFixed+10*c.BatchPerItem {
			t.Errorf("singles %v, batched %v", singles, batched)
		}
	})
}
