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
// Static data is decoded once. Metadata values are templates too.
//
// Unary calls go through ClientConn.Invoke. Streaming calls open a stream,
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
// Options.Connections client connections (one grpc.ClientConn each, each
// its own HTTP/2 connection) are used round robin, request by request.
// Options.StreamsPerConnection optionally caps the concurrent calls on each.
package grpc
