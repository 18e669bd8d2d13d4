package h1

import (
	"bytes"
	"testing"
)

func parseOne(in []byte, head bool) (response, error) {
	t := &Target{cacheHeader: "X-Cache", cacheHit: "HIT", head: head}
	rd := reader{nc: &fakeConn{r: bytes.NewReader(in)}, buf: make([]byte, 64)}
	rd.start()
	return t.readResponse(&rd)
}

func TestParseSmallBuffer(t *testing.T) {
	// A head longer than the read buffer grows it; the body streams through.
	long := "HTTP/1.1 200 OK\r\nX-Long: " + string(bytes.Repeat([]byte("v"), 300)) + "\r\nX-Cache: hit\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"100\r\n" + string(bytes.Repeat([]byte("b"), 256)) + "\r\n0\r\n\r\n"
	resp, err := parseOne([]byte(long), false)
	if err != nil || resp.status != 200 || resp.bytesIn != 256 || !resp.cacheHit || resp.close {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestParseStatusLine(t *testing.T) {
	for l, want := range map[string]int{
		"HTTP/1.1 200 OK": 200, "HTTP/1.0 404 Not Found": 404, "HTTP/1.1 599": 599,
		// Any three digits: readResponse rejects a code outside 100–599
		// with the code, as net/http reports it.
		"HTTP/1.1 099 x": 99, "HTTP/1.1 999 x": 999,
		"HTTP/1.1 20 OK": -1, "HTTP/1.1 2000 OK": -1, "HTTP/2 200 OK": -1, "HTTP/1.1 2x0 OK": -1,
		"http/1.1 200 OK": -1, "HTTP/1.1  200 OK": 200, "HTTP/1.x 200 OK": -1, "HTTP/1.1 ": -1, "": -1,
	} {
		_, got, ok := parseStatusLine([]byte(l))
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("%q: %d, want %d", l, got, want)
		}
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nrest"), false)
	f.Add([]byte("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nX-Cache: HIT\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		resp, err := parseOne(in, head)
		if resp.bytesIn < 0 || resp.bytesIn > int64(len(in)) {
			t.Fatalf("%d body bytes from %d bytes of input", resp.bytesIn, len(in))
		}
		if err == nil && (resp.status < 100 || resp.status > 599) {
			t.Fatalf("status %d accepted", resp.status)
		}
	})
}
