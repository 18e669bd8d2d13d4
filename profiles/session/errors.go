package session

import (
	"errors"
	"fmt"
)

// Kind is what an Error is: the command line maps each to its exit code.
type Kind uint8

const (
	// Internal: anything else went wrong (a file could not be written,
	// the send loop failed).
	Internal Kind = iota
	// Input: bad options or input files; no load was sent.
	Input
	// Fail: the target failed what was asked of it (an objective, a
	// search that found no good rate).
	Fail
	// Invalid: the measurement cannot be trusted.
	Invalid
	// Interrupted: cancelled; the partial results were written.
	Interrupted
)

// Error is an error of a given Kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// KindOf is err's Kind: Internal unless err is (or wraps) an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

func inputErrorf(format string, a ...any) error {
	return &Error{Kind: Input, Err: fmt.Errorf(format, a...)}
}

func errorOf(k Kind, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: k, Err: err}
}
