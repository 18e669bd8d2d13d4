package grpc

import (
	"context"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// wireMessages compiles the fuzz test's messages.
func wireMessages(t testing.TB) []protoreflect.MessageDescriptor {
	t.Helper()
	src, err := compileProtos(context.Background(), []string{
		filepath.Join("testdata", "wire", "wire3.proto"), filepath.Join("testdata", "wire", "wire2.proto")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []protoreflect.MessageDescriptor
	for _, name := range []protoreflect.FullName{"wiretest.All", "wiretest2.Old", "wiretest2.Req"} {
		d, err := src.files.FindDescriptorByName(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.(protoreflect.MessageDescriptor))
	}
	return out
}

// checkAgrees fails t when the response checker and proto.Unmarshal into
// a dynamicpb message disagree on whether b decodes.
func checkAgrees(t *testing.T, md protoreflect.MessageDescriptor, b []byte) {
	want := proto.Unmarshal(b, dynamicpb.NewMessage(md))
	_, got := newResponseChecker(md, nil, "").check(b)
	if (want == nil) != (got == nil) {
		t.Fatalf("%s, % x: proto.Unmarshal says %v, the checker %v", md.FullName(), b, want, got)
	}
}

// FuzzCheckMessage: the response checker accepts exactly what
// proto.Unmarshal into a dynamicpb message accepts (what grpc-go's codec
// did with responses before the pass-through codec).
func FuzzCheckMessage(f *testing.F) {
	mds := wireMessages(f)
	all := dynamicpb.NewMessage(mds[0])
	seed := func(m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		for i := range mds {
			f.Add(uint8(i), b)
		}
	}
	seed(all)
	fs := mds[0].Fields()
	all.Set(fs.ByName("s"), protoreflect.ValueOfString("hello"))
	all.Set(fs.ByName("i64"), protoreflect.ValueOfInt64(-3))
	all.Set(fs.ByName("db"), protoreflect.ValueOfFloat64(2.5))
	child := dynamicpb.NewMessage(mds[0])
	child.Set(fs.ByName("by"), protoreflect.ValueOfBytes([]byte{0xff}))
	all.Set(fs.ByName("child"), protoreflect.ValueOfMessage(child))
	all.Mutable(fs.ByName("ri32")).List().Append(protoreflect.ValueOfInt32(7))
	all.Mutable(fs.ByName("rs")).List().Append(protoreflect.ValueOfString("x"))
	all.Mutable(fs.ByName("mchild")).Map().Set(protoreflect.ValueOfString("k").MapKey(), protoreflect.ValueOfMessage(child))
	all.Mutable(fs.ByName("ms")).Map().Set(protoreflect.ValueOfInt64(1).MapKey(), protoreflect.ValueOfString("v"))
	seed(all)
	// Groups, a required field, invalid UTF-8, a stray end group.
	f.Add(uint8(1), protowire.AppendTag(protowire.AppendTag(nil, 2, protowire.StartGroupType), 2, protowire.EndGroupType))
	f.Add(uint8(2), []byte{0x08, 0x01, 0x12, 0x00})
	f.Add(uint8(0), []byte{0x72, 0x01, 0xff})
	f.Add(uint8(0), []byte{0x0c})
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		checkAgrees(t, mds[int(which)%len(mds)], b)
	})
}

func TestCacheFieldHit(t *testing.T) {
	md := wireMessages(t)[0]
	fs := md.Fields()
	m := dynamicpb.NewMessage(md)
	m.Set(fs.ByName("s"), protoreflect.ValueOfString("hit"))
	b, _ := proto.Marshal(m)
	if !cacheFieldHit(b, fs.ByName("s"), "HIT") || cacheFieldHit(b, fs.ByName("s"), "MISS") {
		t.Error("string field")
	}
	m.Set(fs.ByName("b"), protoreflect.ValueOfBool(true))
	b, _ = proto.Marshal(m)
	if !cacheFieldHit(b, fs.ByName("b"), "") {
		t.Error("bool field")
	}
	// The last occurrence wins.
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 0)
	if cacheFieldHit(b, fs.ByName("b"), "") {
		t.Error("bool field set twice")
	}
}
