package grpc

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"tailgate/generator"
	"tailgate/targets"
)

// Classify maps the error of a call made under ctx to an Outcome's Status
// and Err.
//
// Status is 1000 + the call's gRPC code (1000 for a nil error) whenever
// the call has one, which is always but for a stream-slot wait cut short
// by ctx. Err is ErrNone when a status came from the server, and
// otherwise says why the client produced it:
//
//	DeadlineExceeded, ctx's deadline passed   ErrTimeout
//	Canceled, ctx cancelled                   ErrCanceled
//	Unavailable: "too many open files"        ErrFDLimit (the generator's)
//	  "cannot assign requested address"       ErrPorts (the generator's)
//	  "connection refused"                    ErrRefused
//	  reset, broken pipe, EOF, closed          ErrReset
//	  tls, x509, handshake                    ErrTLS
//	  no such host, name resolver             ErrDNS
//	  other "connection error"/"transport:"   ErrOther
//	Internal/Unknown with a framing,
//	  decoding or protocol error              ErrProtocol
//
// A transport failure (not a status the server sent) that comes once the
// call's deadline has passed is ErrTimeout, as for HTTP: the call had
// timed out, whichever of the two the client noticed first.
//
// So a DeadlineExceeded or Unavailable status sent by the server (the demo
// sends them for timeout and error faults) counts as a status with no
// transport error, while the same code made up by the client because the
// deadline passed or the connection failed also carries the ErrKind. The
// transport cases are told apart by the message grpc-go writes, so a
// server whose status message quotes such an error (a proxy reporting
// "connection refused" upstream) is counted as a transport failure too.
func Classify(ctx context.Context, err error) (status int, kind generator.ErrKind) {
	dl, _ := ctx.Deadline()
	return classify(ctx.Err(), dl, err)
}

// classify is Classify for a call whose context ended with ctxErr (nil if
// it has not) and whose deadline is dl (zero: none).
func classify(ctxErr error, dl time.Time, err error) (status int, kind generator.ErrKind) {
	if err == nil {
		return 1000, generator.ErrNone
	}
	s, ok := grpcStatus(err)
	if !ok {
		// Not a status: a context error from waiting for a stream slot.
		return 0, targets.Classify(err)
	}
	code := s.Code()
	st := 1000 + int(code)
	passed := !dl.IsZero() && !time.Now().Before(dl)
	switch code {
	case codes.OK:
		return st, generator.ErrNone
	case codes.DeadlineExceeded:
		// The deadline may have passed before ctx's timer noticed, and the
		// server enforces the same (propagated) deadline: either way it is
		// the request's timeout.
		if errors.Is(ctxErr, context.DeadlineExceeded) || passed {
			return st, generator.ErrTimeout
		}
		return st, generator.ErrNone
	case codes.Canceled:
		if ctxErr != nil || passed {
			if errors.Is(ctxErr, context.DeadlineExceeded) || passed {
				return st, generator.ErrTimeout
			}
			return st, generator.ErrCanceled
		}
		if strings.Contains(s.Message(), "client connection is closing") {
			return st, generator.ErrCanceled
		}
		return st, generator.ErrNone
	case codes.Unavailable, codes.Internal, codes.Unknown:
		kind := transportKind(code, s.Message())
		if kind != generator.ErrNone && !kind.Generator() && passed {
			// The call had timed out when its connection failed (a peer
			// closing after its own timeout, say): a timeout, as HTTP
			// counts it, whichever the client noticed first.
			return st, generator.ErrTimeout
		}
		return st, kind
	}
	return st, generator.ErrNone
}

// grpcStatus extracts a status from err (which may wrap one).
func grpcStatus(err error) (*status.Status, bool) {
	if s, ok := status.FromError(err); ok {
		return s, true
	}
	return nil, false
}

// transportKind recognises grpc-go's client-side failures by message.
func transportKind(code codes.Code, msg string) generator.ErrKind {
	m := strings.ToLower(msg)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(m, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("too many open files"):
		return generator.ErrFDLimit
	case has("cannot assign requested address"):
		return generator.ErrPorts
	case has("connection refused"):
		return generator.ErrRefused
	case has("no such host", "name resolver", "produced zero addresses", "server misbehaving"):
		return generator.ErrDNS
	case has("tls:", "x509:", "authentication handshake failed", "handshake failed"):
		return generator.ErrTLS
	case has("connection reset", "broken pipe", "unexpected eof", "error reading from server", "transport is closing", "connection closed", ": eof"):
		return generator.ErrReset
	case code == codes.Unavailable && has("connection error", "transport:", "i/o timeout"):
		if has("i/o timeout") {
			return generator.ErrTimeout
		}
		return generator.ErrOther
	case code != codes.Unavailable && has("grpc: failed to unmarshal", "grpc: error unmarshalling", "malformed", "protocol error", "received message larger", "compressed", "transport: received"):
		return generator.ErrProtocol
	}
	return generator.ErrNone
}

// Message is Outcome.Msg for a call that failed with err (status is
// Classify's): the code's name and the status message, without grpc-go's
// wrapping ("connection error: desc = ", "transport: …"), trimmed as
// targets.TrimMsg does: "Unavailable: tls: failed to verify certificate:
// x509: certificate signed by unknown authority". Empty for a nil error.
func Message(err error) string {
	if err == nil {
		return ""
	}
	s, ok := grpcStatus(err)
	if !ok {
		return targets.ErrorMessage(err)
	}
	if s.Code() == codes.OK {
		return ""
	}
	return targets.TrimMsg(s.Code().String() + ": " + unwrapMessage(s.Message()))
}

// grpcWrappers are the prefixes grpc-go puts before a transport error.
var grpcWrappers = []string{
	`connection error: desc = "`,
	"transport: ",
	"error while dialing: ",
	"authentication handshake failed: ",
}

// unwrapMessage drops grpc-go's wrapping prefixes (and the quote that
// closes the first), so that the cause fits in a short message.
func unwrapMessage(m string) string {
	quoted := false
	for again := true; again; {
		again = false
		for _, p := range grpcWrappers {
			if len(m) >= len(p) && strings.EqualFold(m[:len(p)], p) {
				m = m[len(p):]
				quoted = quoted || strings.HasSuffix(p, `"`)
				again = true
			}
		}
	}
	if quoted {
		m = strings.TrimSuffix(m, `"`)
	}
	return m
}
