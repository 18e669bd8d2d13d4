package h2

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"
)

// decodeAll decodes header blocks in turn with one decoder (a server's
// connection) and returns each block's fields as "name: value" lines.
func decodeAll(t *testing.T, tableSize uint32, blocks ...[]byte) []string {
	t.Helper()
	d := hpack.NewDecoder(tableSize, nil)
	var out []string
	for _, b := range blocks {
		fs, err := d.DecodeFull(b)
		if err != nil {
			t.Fatalf("block % x: %v", b, err)
		}
		var lines []string
		for _, f := range fs {
			lines = append(lines, f.Name+": "+f.Value)
		}
		out = append(out, strings.Join(lines, "\n"))
	}
	return out
}

func testPlan() *blockPlan {
	return newBlockPlan(false, []hfield{
		{name: ":path", value: "/demo.Store/Get", static: staticPath},
		{name: ":authority", value: "127.0.0.1:50051", static: staticAuthority},
		{name: "content-type", value: "application/grpc", static: staticContentType},
		{name: "user-agent", value: "tailgate", static: staticUserAgent},
		{name: "te", value: "trailers"},
		{name: "x-static", value: "s"},
	}, []string{"x-seq", "x-id-bin"})
}

// The first block on a connection adds its fields to the table, the next
// ones send the same fields by index, and every block decodes to the
// same request, the per-call values included.
func TestBlocks(t *testing.T) {
	p := testPlan()
	want := func(timeout, seq, id string) string {
		return strings.Join([]string{":method: POST", ":scheme: http", ":path: /demo.Store/Get", ":authority: 127.0.0.1:50051",
			"content-type: application/grpc", "user-agent: tailgate", "te: trailers", "x-static: s",
			"grpc-timeout: " + timeout, "x-seq: " + seq, "x-id-bin: " + id}, "\n")
	}
	first := p.appendBlock(nil, modePrime, []byte("30S"), [][]byte{[]byte("1"), {0, 0xff}})
	second := p.appendBlock(nil, modeIndexed, []byte("29999m"), [][]byte{[]byte("2"), {1}})
	third := p.appendBlock(nil, modeIndexed, []byte("1n"), [][]byte{[]byte("300"), nil})
	got := decodeAll(t, defaultTableSize, first, second, third)
	for i, w := range []string{want("30S", "1", "AP8"), want("29999m", "2", "AQ"), want("1n", "300", "")} {
		if got[i] != w {
			t.Errorf("block %d:\n%s\nwant\n%s", i, got[i], w)
		}
	}
	if len(second) >= len(first)/2 {
		t.Errorf("indexed block %d bytes, priming block %d: want it much shorter", len(second), len(first))
	}
	// Literal blocks need no table.
	lit := p.appendBlock(nil, modeLiteral, []byte("5S"), [][]byte{[]byte("9"), []byte("x")})
	if got := decodeAll(t, 0, lit, lit); got[0] != want("5S", "9", "eA") || got[1] != got[0] {
		t.Errorf("literal blocks: %q", got)
	}
	// A table size update to 0, then literals: what a client does when
	// the server shrinks its table.
	shrink := p.appendBlock(appendTableSizeUpdate(nil, 0), modeLiteral, []byte("5S"), [][]byte{[]byte("9"), []byte("x")})
	if got := decodeAll(t, defaultTableSize, first, shrink); got[1] != want("5S", "9", "eA") {
		t.Errorf("after a table size update: %q", got[1])
	}
	if n := p.tableSize([]byte("30S"), [][]byte{[]byte("1"), {0, 0xff}}); n > defaultTableSize || n < 11*entryOverhead {
		t.Errorf("table size %d", n)
	}
}

// RFC 7541 C.1: integer representation.
func TestAppendInt(t *testing.T) {
	for _, c := range []struct {
		n      uint64
		prefix uint8
		want   []byte
	}{
		{10, 5, []byte{0x0a}},
		{1337, 5, []byte{0x1f, 0x9a, 0x0a}},
		{42, 8, []byte{0x2a}},
		{31, 5, []byte{0x1f, 0x00}},
	} {
		if got := appendInt(nil, 0, c.prefix, c.n); string(got) != string(c.want) {
			t.Errorf("appendInt(%d, %d) = % x, want % x", c.n, c.prefix, got, c.want)
		}
	}
}

// grpc-timeout as grpc-go writes it (internal/grpcutil's test cases).
func TestAppendTimeout(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0n"},
		{-1, "0n"},
		{time.Nanosecond, "1n"},
		{10 * time.Nanosecond, "10n"},
		{time.Second, "1000000u"},
		{30 * time.Second, "30000000u"},
		{100 * time.Second, "100000m"},
		{(1e8 - 1) * time.Nanosecond, "99999999n"},
		{1e8 * time.Nanosecond, "100000u"},
		{time.Hour, "3600000m"},
		{1e8 * time.Second, "1666667M"},
		{1e8 * time.Minute, "1666667H"},
		{1e8*time.Nanosecond + 1, "100001u"},
	} {
		if got := string(appendTimeout(nil, c.d)); got != c.want {
			t.Errorf("appendTimeout(%v) = %s, want %s", c.d, got, c.want)
		}
	}
}
