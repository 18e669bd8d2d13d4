package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"tailgate/internal/expose"
	"time"

	"github.com/spf13/cobra"

	"tailgate/targets/servers/proxy"
)

// NewCmdProxy builds `tailgate proxy`: a TCP fault proxy with a
// toxiproxy-compatible control API.
func NewCmdProxy(io *IOStreams) *cobra.Command {
	var listen, upstream, api, name string
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream ADDR [--api ADDR] [--name NAME]",
		Short: "Run a TCP fault proxy with a toxiproxy-compatible API",
		Long: `Forward TCP connections from --listen to --upstream, and serve toxiproxy's HTTP
API on --api (default 127.0.0.1:8474) so a profile's faults (latency with jitter,
bandwidth, timeout/black hole, reset_peer, disable) can be applied to it, or to a
real toxiproxy, with the same fault target (kind: toxiproxy). A toxic added with
?ttl=10m is removed after 10 minutes. Writes must be application/json, from no other
origin (403 otherwise).`,
		Example: `  tailgate proxy --listen 127.0.0.1:7001 --upstream 127.0.0.1:5432 --api 127.0.0.1:8474
  curl -X POST '127.0.0.1:8474/proxies/tailgate/toxics?ttl=10m' -H 'Content-Type: application/json' -d '{"type":"latency","attributes":{"latency":200}}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			for flag, v := range map[string]string{"--listen": listen, "--upstream": upstream, "--api": api} {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return usageErrorf("%s %q: want host:port", flag, v)
				}
			}
			if planned != nil {
				return planned(c.CommandPath(), []string{listen, upstream, api, name})
			}
			srv := proxy.NewServer(proxy.Options{})
			defer srv.Close()
			ln, err := net.Listen("tcp", api)
			if err != nil {
				return usageErrorf("--api %q: %v", api, err)
			}
			ctx, cancel := context.WithCancel(c.Context())
			defer cancel()
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx, ln) }()
			body := fmt.Sprintf(`{"name":%q,"listen":%q,"upstream":%q,"enabled":true}`, name, listen, upstream)
			if err := post(ctx, "http://"+ln.Addr().String()+"/proxies", body); err != nil {
				return usageErrorf("create proxy: %v", err)
			}
			expose.Warn(io.ErrOut, "--api (the toxiproxy API, which injects faults)", ln.Addr().String())
			if h, _, _ := net.SplitHostPort(listen); h != "" { // no host: the proxy binds 127.0.0.1
				expose.Warn(io.ErrOut, fmt.Sprintf("--listen (the proxy to %s)", upstream), listen)
			}
			fmt.Fprintf(io.ErrOut, "proxy %q: %s → %s; API on http://%s (Ctrl-C to stop)\n", name, listen, upstream, ln.Addr())
			<-c.Context().Done()
			cancel()
			if err := <-served; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, http.ErrServerClosed) {
				return withCode(ExitError, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:7001", "address the proxy listens on")
	f.StringVar(&upstream, "upstream", "", "address connections are forwarded to")
	f.StringVar(&api, "api", proxy.DefaultAPIAddr, "address of the toxiproxy-compatible control API")
	f.StringVar(&name, "name", "tailgate", "the proxy's name in the API")
	_ = cmd.MarkFlagRequired("upstream")
	return cmd
}

func post(ctx context.Context, url, body string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}
