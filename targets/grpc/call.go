package grpc

import (
	"context"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"tailgate/generator"
	"tailgate/targets"
)

// Do calls the method once; see DoTimed.
func (t *Target) Do(ctx context.Context, seq uint64) generator.Outcome {
	out, tm := t.DoTimed(ctx, seq)
	out.TTFB = tm.FirstMessage // the breakdown's time to first byte, for gRPC
	return out
}

// DoTimed calls the method once, under the per-request deadline, and
// reads the whole response: a unary call returns with its reply, a
// streaming one when the server ends the stream, so the call is timed to
// its last message. Outcome.Status is 1000 + the gRPC code; BytesOut and
// BytesIn are the encoded sizes of the messages sent and received (without
// gRPC framing and headers); see [Classify] for Err.
func (t *Target) DoTimed(ctx context.Context, seq uint64) (generator.Outcome, Timing) {
	start := time.Now()
	var out generator.Outcome
	var tm Timing
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	req, err := t.request(seq, sc)
	if err != nil {
		t.invalid.Add(1)
		out.Err = generator.ErrOther
		out.Msg = targets.TrimMsg("invalid request data: " + err.Error())
		return out, tm
	}
	out.BytesOut = req.size
	if t.fast != nil {
		t.doFast(ctx, seq, req, sc, start, &out, &tm)
	} else {
		t.doGRPC(ctx, seq, req, sc, start, &out, &tm)
	}
	return out, tm
}

// request returns request seq, encoded: the static one, or the template
// rendered (into sc) and encoded, or found encoded in the cache.
func (t *Target) request(seq uint64, sc *scratch) (*encoded, error) {
	if t.dataT == nil {
		return t.static, nil
	}
	sc.json = t.dataT.Append(sc.json[:0], seq, t.opt.Vars)
	if e := t.reqs.get(sc.json); e != nil {
		return e, nil
	}
	msgs, n, err := t.dec.decode(sc.json)
	if err != nil {
		return nil, err
	}
	enc, err := encodeAll(msgs)
	if err != nil {
		return nil, err
	}
	return t.reqs.put(sc.json, enc, n), nil
}

// doFast makes the call with the fast client.
func (t *Target) doFast(ctx context.Context, seq uint64, req *encoded, sc *scratch, start time.Time, out *generator.Outcome, tm *Timing) {
	var dyn [][]byte
	if t.mdT != nil {
		sc.md, sc.ends, sc.dyn = sc.md[:0], sc.ends[:0], sc.dyn[:0]
		for _, k := range t.mdKeys {
			sc.md = t.mdT[k].Append(sc.md, seq, t.opt.Vars)
			sc.ends = append(sc.ends, len(sc.md))
		}
		// Sliced once all are rendered: appending may move sc.md.
		off := 0
		for _, end := range sc.ends {
			sc.dyn = append(sc.dyn, sc.md[off:end])
			off = end
		}
		dyn = sc.dyn
	}
	r := &sc.res
	t.fast.Call(ctx, req.msgs[0], dyn, r)
	if r.Err == nil {
		tm.FirstMessage = time.Since(start)
		tm.LastMessage, tm.Messages = tm.FirstMessage, 1
		out.BytesIn = int64(r.BytesIn)
		out.CacheHit = r.CacheHit
	}
	out.Status, out.Err = classify(ctx.Err(), r.Deadline, r.Err)
	if r.Err != nil {
		out.Msg = Message(r.Err)
	}
}

// doGRPC makes the call with grpc-go.
func (t *Target) doGRPC(ctx context.Context, seq uint64, req *encoded, sc *scratch, start time.Time, out *generator.Outcome, tm *Timing) {
	ctx, cancel := context.WithTimeout(ctx, t.opt.Timeout)
	defer cancel()
	if md := t.metadata(seq); md != nil {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	c, release, err := t.pick(ctx)
	if err != nil {
		out.Status, out.Err = Classify(ctx, err)
		out.Msg = Message(err)
		return
	}
	defer release()

	var hdr, trl metadata.MD
	var last *rawMsg
	sc.resp.check = t.check
	if t.stream == nil {
		sc.req.b = req.msgs[0]
		if t.opt.CacheHeader != "" {
			err = c.cc.Invoke(ctx, t.method, &sc.req, &sc.resp, grpc.Header(&hdr), grpc.Trailer(&trl))
		} else {
			err = c.cc.Invoke(ctx, t.method, &sc.req, &sc.resp)
		}
		if err == nil {
			tm.FirstMessage = time.Since(start)
			tm.LastMessage, tm.Messages = tm.FirstMessage, 1
			out.BytesIn = int64(len(sc.resp.b))
			last = &sc.resp
		}
	} else {
		last, err = t.callStream(ctx, c.cc, req.msgs, sc, start, tm, out, &hdr, &trl)
	}
	out.Status, out.Err = Classify(ctx, err)
	if err != nil {
		out.Msg = Message(err)
	}
	if err == nil && t.opt.CacheHeader != "" {
		out.CacheHit = t.hitIn(hdr) || t.hitIn(trl)
	}
	if err == nil && last != nil && t.cacheF != nil {
		out.CacheHit = last.hit
	}
}

// callStream runs a streaming call: it sends reqs (concurrently with
// receiving, for bidi calls), half-closes, and receives until the server
// ends the stream. It returns the last message received and the call's
// error (nil for status OK).
func (t *Target) callStream(ctx context.Context, cc *grpc.ClientConn, reqs [][]byte, sc *scratch, start time.Time, tm *Timing, out *generator.Outcome, hdr, trl *metadata.MD) (*rawMsg, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := cc.NewStream(ctx, t.stream, t.method)
	if err != nil {
		return nil, err
	}
	sc.reqs = sc.reqs[:0]
	for _, r := range reqs {
		sc.reqs = append(sc.reqs, rawMsg{b: r})
	}
	send := func() error {
		for i := range sc.reqs {
			if err := st.SendMsg(&sc.reqs[i]); err != nil {
				return err // io.EOF: the server ended the call; RecvMsg has its status
			}
		}
		return st.CloseSend()
	}
	var wg sync.WaitGroup
	if t.stream.ClientStreams && t.stream.ServerStreams && len(reqs) > 1 {
		wg.Go(func() { _ = send() })
	} else if err := send(); err != nil && err != io.EOF {
		return nil, err
	}
	// Runs before the deferred cancel: every early return below cancels
	// first, and after io.EOF the stream is over, so SendMsg has returned.
	defer wg.Wait()
	m := &sc.resp
	var got bool
	for {
		err := st.RecvMsg(m)
		if err == io.EOF {
			if t.opt.CacheHeader != "" {
				*hdr, _ = st.Header()
				*trl = st.Trailer()
			}
			return lastOf(m, got), nil
		}
		if err != nil {
			cancel()
			return nil, err
		}
		got = true
		tm.Messages++
		tm.LastMessage = time.Since(start)
		if tm.Messages == 1 {
			tm.FirstMessage = tm.LastMessage
		}
		out.BytesIn += int64(len(m.b))
		if !t.stream.ServerStreams {
			if t.opt.CacheHeader != "" {
				*hdr, _ = st.Header()
			}
			return m, nil // client streaming: one reply, then the status
		}
	}
}

// lastOf is m, the last message received, or nil if none was.
func lastOf(m *rawMsg, got bool) *rawMsg {
	if !got {
		return nil
	}
	return m
}

// hitIn reports whether md's CacheHeader says the response was a hit.
func (t *Target) hitIn(md metadata.MD) bool {
	want := t.opt.CacheHit
	if want == "" {
		want = DefaultCacheHit
	}
	for _, v := range md.Get(t.opt.CacheHeader) {
		if strings.EqualFold(v, want) {
			return true
		}
	}
	return false
}

// metadata returns request seq's metadata, or nil.
func (t *Target) metadata(seq uint64) metadata.MD {
	if t.mdT == nil {
		return t.mdStat
	}
	md := make(metadata.MD, len(t.mdT))
	for k, tm := range t.mdT {
		md[k] = []string{string(tm.Append(nil, seq, t.opt.Vars))}
	}
	return md
}

// sortedKeys returns md's keys in order.
func sortedKeys(md metadata.MD) []string { return slices.Sorted(maps.Keys(md)) }
