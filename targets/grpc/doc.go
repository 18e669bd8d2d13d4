// Package grpc is tailgate's gRPC target: a generator.Target that calls one
// method of any gRPC service without generated code.
//
// # Describing the method
//
// [New] resolves the method's descriptor from, in order of preference:
//
//   - a protoset file (Options.Protoset): a binary FileDescriptorSet, as
//     written by protoc --include_imports -o;
//   - .proto sources (Options.ProtoFiles, Options.ImportPaths), compiled at
//     start-up with github.com/bufbuild/protocompile;
//   - server reflection, grpc.reflection.v1 first and v1alpha for older
//     servers, when neither is given.
//
// A wrong service or method name is an error listing the services and
// methods available; a server without reflection is an error saying so and
// pointing to the other two ways.
//
// # Requests
//
// The request is Options.Data, protojson text rendered per request as a
// targets.Template ({{seq}}, {{key}}, {{data.COLUMN}}) and decoded into a
// dynamicpb message. New renders it for request 0 and rejects it if it does
// not decode, naming the offending field and listing the message's fields.
// Requests travel encoded: static data is encoded once, a rendered template
// is encoded once per distinct rendering (a cache of the last 4,096, so
// requests for a key seen before cost no protobuf work). Metadata values
// are templates too.
//
// Responses are not decoded into messages: they are checked on the wire
// against the method's output descriptor (a malformed one fails the call
// with Internal, as decoding it would), and the cache field, when asked
// for, is read there.
//
// # Engines
//
// Unary calls to a host:port target go through package h2, the
// "grpc-fast" engine: HTTP/2 frames written and read by tailgate itself,
// with no allocation and no goroutine per call, statuses and errors
// counted as grpc-go's (TestEnginesAgree*). Streaming calls, and targets
// grpc-go resolves (unix:, dns:///), use grpc-go, the "grpc" engine, with
// a codec that passes the encoded messages through. Options.Engine forces
// either; [Target.Engine] says which is in use.
//
// Unary calls on grpc-go go through ClientConn.Invoke. Streaming calls open a stream,
// send the request (for client and bidi streaming, Data may be a JSON array:
// one message per element), half-close, and read every response message
// until the server ends the stream, so they are timed to the last message;
// [Target.DoTimed] also reports the time to the first message (see
// [Timing] and the [TimedTarget] interface).
//
// # Outcomes
//
// Outcome.Status is 1000 + the gRPC code (so 1000 is OK, 1014 Unavailable),
// BytesOut and BytesIn are the encoded sizes of the messages, and
// Outcome.Err says whether a failure came from the transport rather than
// the server: see [Classify] for the mapping (connection refused →
// ErrRefused, the request's deadline → ErrTimeout, cancellation →
// ErrCanceled...).
//
// # Connections
//
// Options.Connections client connections (each its own HTTP/2 connection:
// the fast client's, or one grpc.ClientConn each) are used round robin,
// request by request. Options.StreamsPerConnection optionally caps the
// concurrent calls on each.
package grpc
