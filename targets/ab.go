package targets

import (
	"context"

	"tailgate/generator"
)

// AB sends each request of one schedule to side A or side B by a seeded
// coin, so both builds see the same moments, the same noise and the same
// generator. Outcome.Endpoint is 1 for A and 2 for B.
type AB struct {
	A, B generator.Target
	Seed uint64
}

var _ generator.Target = (*AB)(nil)

// Side returns 0 (A) or 1 (B) for request seq: a pure function of the
// seed, so a replay or a segment makes the same choice.
func (ab *AB) Side(seq uint64) int {
	z := ab.Seed ^ (seq * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return int((z ^ (z >> 31)) & 1)
}

// Do sends request seq to its side.
func (ab *AB) Do(ctx context.Context, seq uint64) generator.Outcome {
	if ab.Side(seq) == 0 {
		out := ab.A.Do(ctx, seq)
		out.Endpoint = 1
		return out
	}
	out := ab.B.Do(ctx, seq)
	out.Endpoint = 2
	return out
}
