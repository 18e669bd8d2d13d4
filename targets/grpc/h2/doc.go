// Package h2 is a unary gRPC client on HTTP/2 frames of its own, for load
// generation: tailgate's "grpc-fast" engine.
//
// grpc-go spends, per call, a stream object with its goroutine hand-offs
// (the caller, the loopy writer, the reader), a codec, and encoders with
// their own state. Here a call writes its HEADERS and DATA itself, in one
// write; calls that come together on a connection share writes (see
// write.go); one reader per connection decodes the responses and wakes
// the caller. Request header blocks are precomputed (see hpack.go),
// responses are decoded with golang.org/x/net/http2/hpack, frames are
// read and written without golang.org/x/net/http2's Framer (which
// allocates a frame per HEADERS), and a call allocates nothing once its
// stream object is pooled.
//
// What the client does as grpc-go does, so that the two engines count a
// run alike: the request's headers (grpc-timeout from the call's
// deadline, metadata, -bin values in base64), flow control both ways,
// MAX_CONCURRENT_STREAMS, GOAWAY (calls the server never saw are retried
// once, transparently) and RST_STREAM, a deadline enforced locally (the
// stream is then reset with CANCEL), a response message limit of 4 MiB,
// connection attempts with grpc-go's backoff (calls fail at once with the
// last attempt's error until it has passed), and the status of every
// failure: its code and, where a message tells failures apart, grpc-go's
// wording (see status.go).
//
// What it does not do: streaming calls, compression, load balancing or
// name resolution (one host:port), keepalive pings, retries beyond the
// transparent one.
package h2
