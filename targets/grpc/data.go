package grpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// decoder turns rendered JSON into request messages of one type.
type decoder struct {
	md    protoreflect.MessageDescriptor
	opts  protojson.UnmarshalOptions
	multi bool // client or bidi streaming: a JSON array is a sequence of messages
}

// decode parses data: one JSON object (empty means {}), or, when d.multi,
// a JSON array of objects, one message each. It returns the messages and
// their total encoded size.
func (d *decoder) decode(data []byte) ([]proto.Message, int64, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return []proto.Message{dynamicpb.NewMessage(d.md)}, 0, nil
	}
	if data[0] == '[' {
		if !d.multi {
			return nil, 0, fmt.Errorf("%w: a JSON array is a sequence of messages, only for client or bidi streaming methods; send one JSON object", ErrInvalidData)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(data, &elems); err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrInvalidData, err)
		}
		if len(elems) == 0 {
			return nil, 0, fmt.Errorf("%w: empty array: send at least one message", ErrInvalidData)
		}
		msgs := make([]proto.Message, len(elems))
		var size int64
		for i, e := range elems {
			m, err := d.one(e)
			if err != nil {
				return nil, 0, fmt.Errorf("message %d: %w", i, err)
			}
			msgs[i] = m
			size += int64(proto.Size(m))
		}
		return msgs, size, nil
	}
	m, err := d.one(data)
	if err != nil {
		return nil, 0, err
	}
	return []proto.Message{m}, int64(proto.Size(m)), nil
}

func (d *decoder) one(data []byte) (proto.Message, error) {
	m := dynamicpb.NewMessage(d.md)
	if err := d.opts.Unmarshal(data, m); err != nil {
		// protobuf-go writes "proto:" and a space or a no-break space.
		msg := strings.TrimLeft(strings.TrimPrefix(err.Error(), "proto:"), " \u00a0")
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			if path, owner, name, ok := findUnknown(d.md, v, ""); ok {
				return nil, fmt.Errorf("%w: field %q: %s has no field %q; its fields: %s",
					ErrInvalidData, path, owner.FullName(), name, describeFields(owner))
			}
		}
		return nil, fmt.Errorf("%w: %s; %s fields: %s", ErrInvalidData, msg, d.md.FullName(), describeFields(d.md))
	}
	return m, nil
}

// findUnknown walks JSON value v as a message md and returns the first
// object key that names no field (by proto or JSON name): its path
// ("items[2].kye"), the message it was looked up in, and the key.
// Well-known types, which have their own JSON forms, are not walked.
func findUnknown(md protoreflect.MessageDescriptor, v any, path string) (string, protoreflect.MessageDescriptor, string, bool) {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return "", nil, "", false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", nil, "", false
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		p := k
		if path != "" {
			p = path + "." + k
		}
		fs := md.Fields()
		f := fs.ByJSONName(k)
		if f == nil {
			f = fs.ByTextName(k)
		}
		if f == nil {
			if strings.HasPrefix(k, "[") { // an extension
				continue
			}
			return p, md, k, true
		}
		switch {
		case f.IsMap():
			if f.MapValue().Kind() != protoreflect.MessageKind {
				continue
			}
			m, _ := obj[k].(map[string]any)
			for _, mk := range slices.Sorted(maps.Keys(m)) {
				if q, o, n, ok := findUnknown(f.MapValue().Message(), m[mk], p+"["+strconv.Quote(mk)+"]"); ok {
					return q, o, n, true
				}
			}
		case f.Kind() != protoreflect.MessageKind && f.Kind() != protoreflect.GroupKind:
		case f.IsList():
			l, _ := obj[k].([]any)
			for i, e := range l {
				if q, o, n, ok := findUnknown(f.Message(), e, p+"["+strconv.Itoa(i)+"]"); ok {
					return q, o, n, true
				}
			}
		default:
			if q, o, n, ok := findUnknown(f.Message(), obj[k], p); ok {
				return q, o, n, true
			}
		}
	}
	return "", nil, "", false
}

// describeFields lists a message's fields with their types:
// "key string, count int32, tags repeated string".
func describeFields(md protoreflect.MessageDescriptor) string {
	fs := md.Fields()
	if fs.Len() == 0 {
		return "none (send {})"
	}
	parts := make([]string, fs.Len())
	for i := range fs.Len() {
		parts[i] = string(fs.Get(i).Name()) + " " + fieldType(fs.Get(i))
	}
	return strings.Join(parts, ", ")
}

func fieldType(f protoreflect.FieldDescriptor) string {
	if f.IsMap() {
		return fmt.Sprintf("map<%s, %s>", fieldType(f.MapKey()), fieldType(f.MapValue()))
	}
	var t string
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		t = string(f.Message().FullName())
	case protoreflect.EnumKind:
		t = string(f.Enum().FullName())
	default:
		t = f.Kind().String()
	}
	if f.IsList() {
		return "repeated " + t
	}
	return t
}
