package h2

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A call's error is a status error (google.golang.org/grpc/status) with
// the code and, as far as it matters for telling failures apart (see
// targets/grpc.Classify), the message grpc-go gives the same failure, so
// that both clients count a run alike.

// rstCodes maps a RST_STREAM's error code to a gRPC code, as grpc-go does.
var rstCodes = map[uint32]codes.Code{
	codeNo:                 codes.Internal,
	codeProtocol:           codes.Internal,
	codeInternal:           codes.Internal,
	codeFlowControl:        codes.ResourceExhausted,
	codeSettingsTimeout:    codes.Internal,
	codeStreamClosed:       codes.Internal,
	codeFrameSize:          codes.Internal,
	codeRefusedStream:      codes.Unavailable,
	codeCancel:             codes.Canceled,
	codeCompression:        codes.Internal,
	codeConnect:            codes.Internal,
	codeEnhanceYourCalm:    codes.ResourceExhausted,
	codeInadequateSecurity: codes.PermissionDenied,
	codeHTTP11Required:     codes.Internal,
}

// httpCodes maps the HTTP status of a response that is not gRPC to a gRPC
// code, as grpc-go does.
var httpCodes = map[int]codes.Code{
	http.StatusBadRequest:         codes.Internal,
	http.StatusUnauthorized:       codes.Unauthenticated,
	http.StatusForbidden:          codes.PermissionDenied,
	http.StatusNotFound:           codes.Unimplemented,
	http.StatusTooManyRequests:    codes.Unavailable,
	http.StatusBadGateway:         codes.Unavailable,
	http.StatusServiceUnavailable: codes.Unavailable,
	http.StatusGatewayTimeout:     codes.Unavailable,
}

// Errors with fixed text.
var (
	errClosing       = status.Error(codes.Canceled, "grpc: the client connection is closing")
	errDeadline      = status.Error(codes.DeadlineExceeded, context.DeadlineExceeded.Error())
	errCanceled      = status.Error(codes.Canceled, context.Canceled.Error())
	errDraining      = status.Error(codes.Unavailable, "the stream is rejected because server is draining the connection")
	errNoMessage     = status.Error(codes.Internal, "cardinality violation: received no response message from non-server-streaming RPC")
	errTwoMessages   = status.Error(codes.Internal, "cardinality violation: expected <EOF> for non server-streaming RPCs, but received another message")
	errNoTrailers    = status.Error(codes.Internal, "server closed the stream without sending trailers")
	errHeadersMiddle = status.Error(codes.Internal, "a HEADERS frame cannot appear in the middle of a stream")
	errUnexpectedEOF = status.Error(codes.Internal, "unexpected EOF")
	errIdentityFlag  = status.Error(codes.Internal, "grpc: compressed flag set with identity or empty encoding")
)

// connErrorStatus is the status of calls on a connection that failed with
// err, in grpc-go's words: "connection error: desc = …".
func connErrorStatus(desc string) error {
	return status.Error(codes.Unavailable, fmt.Sprintf("connection error: desc = %q", desc))
}

// dialStatus is the status of calls that found the connection failing to
// open: Unavailable, and grpc-go's wording for a dial or a handshake.
func dialStatus(err error, handshake bool) error {
	if handshake {
		return connErrorStatus("transport: authentication handshake failed: " + err.Error())
	}
	return connErrorStatus("transport: Error while dialing: " + err.Error())
}

// readErrorStatus is the status of the calls in flight on a connection
// whose reads failed.
func readErrorStatus(err error) error {
	return connErrorStatus("error reading from server: " + err.Error())
}

func rstStatus(code uint32) error {
	c, ok := rstCodes[code]
	if !ok {
		c = codes.Unknown
	}
	return status.Error(c, "stream terminated by RST_STREAM with error code: "+codeName(code))
}

// httpStatus is the status of a response that is not gRPC: the HTTP
// status and a content type that is not application/grpc, with up to
// 1 KiB of its body when there is one.
func httpStatus(httpCode int, contentType string, body []byte, withBody bool) error {
	var errs []string
	code := codes.Internal
	if httpCode == 0 {
		errs = append(errs, "malformed header: missing HTTP status")
	} else {
		errs = append(errs, fmt.Sprintf("unexpected HTTP status code received from server: %d (%s)", httpCode, http.StatusText(httpCode)))
		var ok bool
		if code, ok = httpCodes[httpCode]; !ok {
			code = codes.Unknown
		}
	}
	switch {
	case contentType == "":
		errs = append(errs, "malformed header: missing HTTP content-type")
	case !isGRPCContentType(contentType):
		errs = append(errs, fmt.Sprintf("transport: received unexpected content-type %q", contentType))
	}
	msg := strings.Join(errs, "; ")
	if withBody {
		msg = fmt.Sprintf("%s\ndata: %q", msg, body)
	}
	return status.Error(code, msg)
}

// isGRPCContentType reports whether a response's content type is gRPC's:
// application/grpc, optionally followed by + or ; and a subtype (case
// sensitive, as grpc-go checks it).
func isGRPCContentType(ct string) bool {
	const base = "application/grpc"
	if !strings.HasPrefix(ct, base) {
		return false
	}
	return len(ct) == len(base) || ct[len(base)] == '+' || ct[len(base)] == ';'
}

// decodeMessage percent-decodes grpc-message, as grpc-go does.
func decodeMessage(msg string) string {
	if !strings.Contains(msg, "%") {
		return msg
	}
	var sb strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '%' && i+2 < len(msg) {
			if v, err := strconv.ParseUint(msg[i+1:i+3], 16, 8); err == nil {
				sb.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// ctxStatus is the status of a call its context ended.
func ctxStatus(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errDeadline
	}
	return errCanceled
}

// unmarshalStatus is the status of a call whose response message does not
// decode.
func unmarshalStatus(err error) error {
	return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
}

// b64 encodes a binary metadata value, as grpc-go does.
func b64(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
