// A module of its own so that measuring valyala/fasthttp does not add it to
// tailgate's go.mod: see docs/performance-h1.md.
module tailgate/targets/h1/internal/loadcmp/fasthttpcmp

go 1.26.8

require (
	github.com/valyala/fasthttp v1.78.0
	tailgate v0.0.0
)

require (
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/matttproud/golang_protobuf_extensions v1.0.1 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/prometheus/client_model v0.2.0 // indirect
	github.com/prometheus/common v0.37.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace tailgate => ../../../../..
