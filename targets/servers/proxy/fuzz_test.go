package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// FuzzDecodeToxic checks toxic request parsing differentially against
// toxiproxy v2.5.0's own ToxicCollection: for any body, creating a toxic and
// updating an existing latency toxic must give the same status, and on
// success the same JSON, as toxiproxy (except that toxic types toxiproxy has
// and we lack must be refused with 400). Seeds are below and in
// testdata/fuzz/FuzzDecodeToxic.
func FuzzDecodeToxic(f *testing.F) {
	for _, seed := range []string{
		`{"type":"latency","attributes":{"latency":100,"jitter":10}}`,
		`{"name":"bw","type":"bandwidth","stream":"upstream","toxicity":0.5,"attributes":{"rate":100}}`,
		`{"type":"timeout","stream":"Downstream","attributes":{"timeout":0}}`,
		`{"type":"reset_peer","attributes":{"timeout":-5}}`,
		`{"type":"noop","attributes":null}`,
		`{"type":"slicer","attributes":{"average_size":1}}`,
		`{"type":"latency","stream":"sideways"}`,
		`{"type":"latency","attributes":[1]}`,
		`{"type":"latency","attributes":{"latency":1.5}}`,
		`{"TYPE":"latency","Attributes":{"LATENCY":3}}`,
		`{"attributes":{"jitter":7},"toxicity":0.25}`,
		`{"toxicity":"x"}`,
		`{"type":"latency"} trailing garbage`,
		`[]`,
		`null`,
		``,
	} {
		f.Add([]byte(seed))
	}
	theirs := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	f.Fuzz(func(t *testing.T, body []byte) {
		// Create.
		tp := toxiproxy.NewProxy(theirs, "fuzz", "127.0.0.1:0", "127.0.0.1:1")
		tw, terr := tp.Toxics.AddToxicJson(bytes.NewReader(body))
		ot, headErr, attrErr := decodeToxic(body)
		oerr := headErr
		if oerr == nil {
			oerr = attrErr
		}
		if oerr == nil {
			// Everything we accept must marshal and re-parse to itself.
			data, err := json.Marshal(ot.toJSON())
			if err != nil {
				t.Fatal(err)
			}
			again, h2, a2 := decodeToxic(data)
			if h2 != nil || a2 != nil {
				t.Fatalf("re-parsing %s: %v %v", data, h2, a2)
			}
			if data2, _ := json.Marshal(again.toJSON()); !bytes.Equal(data, data2) {
				t.Fatalf("round trip: %s != %s", data, data2)
			}
		}
		switch {
		case terr == nil && oerr == nil:
			want, _ := json.Marshal(tw)
			got, _ := json.Marshal(ot.toJSON())
			if !bytes.Equal(want, got) {
				t.Fatalf("body %q:\n toxiproxy %s\n ours      %s", body, want, got)
			}
		case terr == nil:
			if _, ok := toxicFactories[tw.Type]; ok || oerr.Status != 400 {
				t.Fatalf("body %q: toxiproxy accepted %+v, we said %v", body, tw, oerr)
			}
		default:
			var tae *toxiproxy.ApiError
			if !errors.As(terr, &tae) {
				t.Fatalf("toxiproxy error %T %v", terr, terr)
			}
			if oerr == nil || oerr.Status != tae.StatusCode {
				t.Fatalf("body %q: toxiproxy %d %q, ours %v", body, tae.StatusCode, tae.Message, oerr)
			}
		}

		// Update an existing latency toxic.
		tp = toxiproxy.NewProxy(theirs, "fuzz", "127.0.0.1:0", "127.0.0.1:1")
		const base = `{"name":"l","type":"latency","toxicity":0.75,"attributes":{"latency":10,"jitter":2}}`
		if _, err := tp.Toxics.AddToxicJson(bytes.NewReader([]byte(base))); err != nil {
			t.Fatal(err)
		}
		cur, _, _ := decodeToxic([]byte(base))
		tw, terr = tp.Toxics.UpdateToxicJson("l", bytes.NewReader(body))
		ot, uerr := decodeToxicUpdate(cur, body)
		switch {
		case terr == nil && uerr == nil:
			want, _ := json.Marshal(tw)
			got, _ := json.Marshal(ot.toJSON())
			if !bytes.Equal(want, got) {
				t.Fatalf("update %q:\n toxiproxy %s\n ours      %s", body, want, got)
			}
		case terr == nil || uerr == nil:
			t.Fatalf("update %q: toxiproxy err %v, ours %v", body, terr, uerr)
		default:
			var tae *toxiproxy.ApiError
			if !errors.As(terr, &tae) || tae.StatusCode != uerr.Status {
				t.Fatalf("update %q: toxiproxy %v, ours %v", body, terr, uerr)
			}
		}
		if ot != nil && ot.attrs == cur.attrs {
			t.Fatal("update must not share attributes with the current toxic")
		}
	})
}
