package demo

import (
	"hash/maphash"
	"sync"
)

// cache is a sharded TTL cache with a size bound and random eviction.
// Times are nanoseconds on the server's monotonic clock (see Server.now).
type cache struct {
	ttl    int64
	seed   maphash.Seed
	shards []cacheShard
}

type cacheShard struct {
	mu  sync.Mutex
	m   map[string]cacheEntry
	max int
	_   [40]byte // keep shards on separate cache lines
}

type cacheEntry struct {
	value   string
	expires int64
}

// maxShards bounds the number of cache shards.
const maxShards = 16

// newCache returns a cache of at most size entries, split over shards whose
// bounds add up to size exactly. It returns nil if ttl <= 0 or size <= 0.
func newCache(ttl int64, size int) *cache {
	if ttl <= 0 || size <= 0 {
		return nil
	}
	n := min(maxShards, size)
	c := &cache{ttl: ttl, seed: maphash.MakeSeed(), shards: make([]cacheShard, n)}
	for i := range c.shards {
		c.shards[i].max = size / n
		if i < size%n {
			c.shards[i].max++
		}
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

func (c *cache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

// get returns the fresh value of key at time now.
func (c *cache) get(key string, now int64) (string, bool) {
	s := c.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	if ok && now >= e.expires {
		delete(s.m, key)
		ok = false
	}
	s.mu.Unlock()
	return e.value, ok
}

// put stores value for key at time now, evicting an entry if the shard is
// full: the first expired one among a few probed, else a random one.
func (c *cache) put(key, value string, now int64) {
	s := c.shard(key)
	s.mu.Lock()
	if _, ok := s.m[key]; !ok && len(s.m) >= s.max {
		victim, probed := "", 0
		for k, e := range s.m { // map iteration starts at a random entry
			if probed == 0 {
				victim = k
			}
			if now >= e.expires {
				victim = k
				break
			}
			if probed++; probed == 8 {
				break
			}
		}
		delete(s.m, victim)
	}
	s.m[key] = cacheEntry{value: value, expires: now + c.ttl}
	s.mu.Unlock()
}

func (c *cache) flush() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.m = make(map[string]cacheEntry)
		s.mu.Unlock()
	}
}

func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
