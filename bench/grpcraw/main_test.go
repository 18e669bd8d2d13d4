package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"

	"tailgate/targets/grpc/h2"
)

// rawCodec passes *[]byte messages through grpc-go.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(nc)
		}
	}()
	return ln.Addr().String()
}

// grpc-go and tailgate's fast client both get the canned reply, many
// calls at once on one connection, past the connection windows.
func TestServe(t *testing.T) {
	addr := listen(t)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	fast, err := h2.New(h2.Config{Addr: addr, Path: "/demo.Store/Get", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			req := []byte("0123456789")
			for range 500 {
				var resp []byte
				if err := cc.Invoke(context.Background(), "/demo.Store/Get", &req, &resp); err != nil || string(resp) != "\x0a\x01k" {
					t.Errorf("grpc-go: %q, %v", resp, err)
					return
				}
				var r h2.Result
				if fast.Call(context.Background(), req, nil, &r); r.Err != nil || r.BytesIn != 3 {
					t.Errorf("fast: %+v", r)
					return
				}
			}
		})
	}
	wg.Wait()
}
