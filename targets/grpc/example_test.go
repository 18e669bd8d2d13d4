package grpc_test

import (
	"context"
	"fmt"
	"log"
	"net"

	tgrpc "tailgate/targets/grpc"
	"tailgate/targets/servers/demo"
	"tailgate/targets/servers/grpcdemo"
)

// Call the demo service's Get, described by server reflection, with a key
// per request.
func Example() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	d, err := demo.New(demo.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go grpcdemo.NewServer(d).Serve(ctx, ln)

	opt, err := tgrpc.ParseURL("grpc://" + ln.Addr().String() + "/demo.Store/Get")
	if err != nil {
		log.Fatal(err)
	}
	opt.Data = `{"key":"user-{{seq}}"}`
	opt.CacheField = "cache"
	t, err := tgrpc.New(ctx, opt)
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	for seq := range uint64(3) {
		out := t.Do(ctx, seq%2)
		fmt.Println(out.Status, out.OK(), out.CacheHit)
	}
	// Output:
	// 1000 true false
	// 1000 true false
	// 1000 true true
}
