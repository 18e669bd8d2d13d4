// Package demotest serves the demo target on loopback for a test's
// lifetime, over HTTP or gRPC, for the tests of packages that drive it.
package demotest

import (
	"context"
	"net"
	"testing"

	"tailgate/targets/servers/demo"
	"tailgate/targets/servers/grpcdemo"
)

// HTTP serves a demo (the default configuration, changed by mutate when
// not nil) over HTTP on 127.0.0.1 until the test ends, and returns it
// with its base URL, http://127.0.0.1:PORT.
func HTTP(t testing.TB, mutate func(*demo.Config)) (*demo.Server, string) {
	t.Helper()
	d := newDemo(t, mutate)
	return d, "http://" + serve(t, d.Serve)
}

// GRPC is HTTP for the demo's gRPC server: the URL is grpc://127.0.0.1:PORT.
func GRPC(t testing.TB, mutate func(*demo.Config)) (*demo.Server, string) {
	t.Helper()
	d := newDemo(t, mutate)
	return d, "grpc://" + serve(t, grpcdemo.NewServer(d).Serve)
}

func newDemo(t testing.TB, mutate func(*demo.Config)) *demo.Server {
	t.Helper()
	cfg := demo.DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	d, err := demo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// serve runs fn on a new loopback listener until the test ends and
// returns the listener's address.
func serve(t testing.TB, fn func(context.Context, net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); fn(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}
