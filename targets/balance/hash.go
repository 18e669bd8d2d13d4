package balance

import "math/bits"

// XXH64 primes (Yann Collet, xxHash).
const (
	prime1 = 0x9E3779B185EBCA87
	prime2 = 0xC2B2AE3D27D4EB4F
	prime3 = 0x165667B19E3779F9
	prime4 = 0x85EBCA77C2B2AE63
	prime5 = 0x27D4EB2F165667C5

	golden = 0x9E3779B97F4A7C15 // 2^64/φ, the splitmix64 increment
)

// hash64 is XXH64 of the 8 little-endian bytes of v with the given seed:
// one round of the short-input path, then the avalanche. Sequential inputs
// (keys 0, 1, 2, …) come out uniformly spread over the 64-bit range.
func hash64(seed, v uint64) uint64 {
	h := seed + prime5 + 8
	h ^= bits.RotateLeft64(v*prime2, 31) * prime1
	h = bits.RotateLeft64(h, 27)*prime1 + prime4
	return avalanche(h)
}

// avalanche is the XXH64 finaliser.
func avalanche(h uint64) uint64 {
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}

// splitmix64 is the output function of Steele, Lea and Flood's SplitMix64
// (2014); fed with a counter stepped by golden it is a fast, statistically
// good pseudo-random sequence.
func splitmix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// hashString is 64-bit FNV-1a of s, mixed with seed through hash64 so that
// similar addresses ("10.0.0.1:80", "10.0.0.2:80") land far apart.
func hashString(seed uint64, s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return hash64(seed, h)
}

// bound maps a uniform 64-bit r onto [0, n) without a division (Lemire 2019,
// "Fast Random Integer Generation in an Interval"; bias ≤ n/2^64).
func bound(r uint64, n uint64) uint64 {
	hi, _ := bits.Mul64(r, n)
	return hi
}

// jumpHash is Lamping and Veach's jump consistent hash (2014): the bucket in
// [0, n) of key. Growing n to n+1 moves exactly the keys that land in the
// new bucket, 1/(n+1) of them.
func jumpHash(key uint64, n int) int {
	var b, j int64 = -1, 0
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}

// isPrime reports whether n is prime (trial division; n is a table size).
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := 3; d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// nextPrime returns the smallest prime ≥ n.
func nextPrime(n int) int {
	for !isPrime(n) {
		n++
	}
	return n
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
