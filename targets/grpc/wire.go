package grpc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Response messages are not decoded into messages: checkMessage walks the
// wire format with the descriptor and fails where proto.Unmarshal into a
// dynamicpb message would (what grpc-go's codec did for this target), so
// a malformed response still fails the call with Internal, and reads the
// cache field in passing. No allocation, no message per call.

// recursionLimit is proto.UnmarshalOptions' default.
const recursionLimit = 10000

var (
	errWire      = errors.New("proto: cannot parse invalid wire-format data")
	errRecursion = errors.New("proto: exceeded maximum recursion depth")
)

// checkMessage reports whether b decodes as a message md, as
// proto.Unmarshal into a dynamicpb message would, but for required fields
// (see responseChecker).
func checkMessage(b []byte, md protoreflect.MessageDescriptor) error {
	return checkLevel(b, md, recursionLimit-1)
}

func checkLevel(b []byte, md protoreflect.MessageDescriptor, depth int) error {
	if depth < 0 {
		return errRecursion
	}
	fields := md.Fields()
	for len(b) > 0 {
		num, wtyp, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errWire
		}
		b = b[n:]
		known := false
		if fd := fields.ByNumber(num); fd != nil {
			var err error
			switch {
			case fd.IsMap():
				n, known, err = checkMapEntry(b, wtyp, fd, depth-1)
			case fd.IsList():
				n, known, err = checkList(b, wtyp, fd, depth)
			default:
				n, known, err = checkValue(b, wtyp, fd, depth)
			}
			if err != nil {
				return err
			}
		}
		if !known {
			if n = protowire.ConsumeFieldValue(num, wtyp, b); n < 0 {
				return errWire
			}
		}
		b = b[n:]
	}
	return nil
}

// responseChecker checks response messages of one type and reads their
// cache field.
type responseChecker struct {
	md protoreflect.MessageDescriptor
	// slow: md reaches a message with required fields, which proto2
	// checks on the merged message; such responses are decoded for real.
	slow   bool
	cacheF protoreflect.FieldDescriptor // nil: none
	cacheV string
}

func newResponseChecker(md protoreflect.MessageDescriptor, cacheF protoreflect.FieldDescriptor, cacheV string) *responseChecker {
	return &responseChecker{md: md, slow: hasRequired(md, map[protoreflect.FullName]bool{}), cacheF: cacheF, cacheV: cacheV}
}

// check returns whether message b says it is a cache hit, and an error
// when it does not decode.
func (c *responseChecker) check(b []byte) (bool, error) {
	var err error
	if c.slow {
		err = proto.Unmarshal(b, dynamicpb.NewMessage(c.md))
	} else {
		err = checkMessage(b, c.md)
	}
	if err != nil || c.cacheF == nil {
		return false, err
	}
	return cacheFieldHit(b, c.cacheF, c.cacheV), nil
}

// hasRequired reports whether md, or a message it holds, has required
// fields.
func hasRequired(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	if md.RequiredNumbers().Len() > 0 {
		return true
	}
	fs := md.Fields()
	for i := range fs.Len() {
		if m := fs.Get(i).Message(); m != nil && hasRequired(m, seen) {
			return true
		}
	}
	return false
}

// checkValue checks one value of field fd, of wire type wtyp, at the
// start of b: its length, and whether fd takes it (a value of another
// wire type is an unknown field, as protobuf-go has it).
func checkValue(b []byte, wtyp protowire.Type, fd protoreflect.FieldDescriptor, depth int) (n int, known bool, err error) {
	switch fd.Kind() {
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
		protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
		if wtyp != protowire.VarintType {
			return 0, false, nil
		}
		_, n = protowire.ConsumeVarint(b)
	case protoreflect.Sfixed32Kind, protoreflect.Fixed32Kind, protoreflect.FloatKind:
		if wtyp != protowire.Fixed32Type {
			return 0, false, nil
		}
		_, n = protowire.ConsumeFixed32(b)
	case protoreflect.Sfixed64Kind, protoreflect.Fixed64Kind, protoreflect.DoubleKind:
		if wtyp != protowire.Fixed64Type {
			return 0, false, nil
		}
		_, n = protowire.ConsumeFixed64(b)
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		if wtyp != protowire.BytesType {
			return 0, false, nil
		}
		var v []byte
		if v, n = protowire.ConsumeBytes(b); n < 0 {
			return 0, true, errWire
		}
		switch fd.Kind() {
		case protoreflect.StringKind:
			if enforceUTF8(fd) && !utf8.Valid(v) {
				return 0, true, fmt.Errorf("proto: field %v contains invalid UTF-8", fd.FullName())
			}
		case protoreflect.MessageKind:
			if err := checkLevel(v, fd.Message(), depth-1); err != nil {
				return 0, true, err
			}
		}
	case protoreflect.GroupKind:
		if wtyp != protowire.StartGroupType {
			return 0, false, nil
		}
		var v []byte
		if v, n = protowire.ConsumeGroup(fd.Number(), b); n < 0 {
			return 0, true, errWire
		}
		if err := checkLevel(v, fd.Message(), depth-1); err != nil {
			return 0, true, err
		}
	default:
		return 0, false, nil
	}
	if n < 0 {
		return 0, true, errWire
	}
	return n, true, nil
}

// checkList checks an element of a repeated field: one value, or a packed
// run of numbers.
func checkList(b []byte, wtyp protowire.Type, fd protoreflect.FieldDescriptor, depth int) (int, bool, error) {
	k := fd.Kind()
	if wtyp != protowire.BytesType || k == protoreflect.StringKind || k == protoreflect.BytesKind ||
		k == protoreflect.MessageKind || k == protoreflect.GroupKind {
		return checkValue(b, wtyp, fd, depth)
	}
	run, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, true, errWire
	}
	for len(run) > 0 {
		var m int
		switch k {
		case protoreflect.Sfixed32Kind, protoreflect.Fixed32Kind, protoreflect.FloatKind:
			_, m = protowire.ConsumeFixed32(run)
		case protoreflect.Sfixed64Kind, protoreflect.Fixed64Kind, protoreflect.DoubleKind:
			_, m = protowire.ConsumeFixed64(run)
		default:
			_, m = protowire.ConsumeVarint(run)
		}
		if m < 0 {
			return 0, true, errWire
		}
		run = run[m:]
	}
	return n, true, nil
}

// checkMapEntry checks one entry of a map field: fields 1 (key) and 2
// (value), others skipped.
func checkMapEntry(b []byte, wtyp protowire.Type, fd protoreflect.FieldDescriptor, depth int) (int, bool, error) {
	if depth < 0 {
		return 0, true, errRecursion
	}
	if wtyp != protowire.BytesType {
		return 0, false, nil
	}
	entry, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return 0, true, errWire
	}
	for len(entry) > 0 {
		num, wt, m := protowire.ConsumeTag(entry)
		if m < 0 || num > protowire.MaxValidNumber {
			return 0, true, errWire
		}
		entry = entry[m:]
		known := false
		var err error
		switch num {
		case 1:
			m, known, err = checkValue(entry, wt, fd.MapKey(), depth)
		case 2:
			m, known, err = checkValue(entry, wt, fd.MapValue(), depth)
		}
		if err != nil {
			return 0, true, err
		}
		if !known {
			if m = protowire.ConsumeFieldValue(num, wt, entry); m < 0 {
				return 0, true, errWire
			}
		}
		entry = entry[m:]
	}
	return n, true, nil
}

// enforceUTF8 is protobuf-go's rule (internal/strs.EnforceUTF8): proto3
// strings, and in editions what the field's features say.
func enforceUTF8(fd protoreflect.FieldDescriptor) bool {
	if fd.Syntax() == protoreflect.Editions {
		if f, ok := fd.(interface{ EnforceUTF8() bool }); ok {
			return f.EnforceUTF8()
		}
	}
	return fd.Syntax() == protoreflect.Proto3
}

// cacheFieldHit reads a top-level bool or string field of a valid message
// b (the last occurrence wins) and says whether it marks a cache hit:
// true, or a string equal to hit (case-insensitively).
func cacheFieldHit(b []byte, fd protoreflect.FieldDescriptor, hit string) bool {
	var v bool
	for len(b) > 0 {
		num, wtyp, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case num == fd.Number() && fd.Kind() == protoreflect.BoolKind && wtyp == protowire.VarintType:
			var x uint64
			x, n = protowire.ConsumeVarint(b)
			v = x != 0
		case num == fd.Number() && fd.Kind() == protoreflect.StringKind && wtyp == protowire.BytesType:
			var s []byte
			s, n = protowire.ConsumeBytes(b)
			v = len(s) == len(hit) && strings.EqualFold(string(s), hit)
		default:
			n = protowire.ConsumeFieldValue(num, wtyp, b)
		}
		if n < 0 {
			return false
		}
		b = b[n:]
	}
	return v
}
