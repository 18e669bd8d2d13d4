package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Attributes are a toxic's parameters, e.g. {"latency": 200, "jitter": 20}.
// Every toxic type of toxiproxy 2.5.0 has integer attributes.
type Attributes map[string]int64

// Toxic describes a toxic to add through Client.AddToxic. Its JSON form is
// toxiproxy's.
type Toxic struct {
	// Name identifies the toxic within its proxy. Empty means the server's
	// default, "<type>_<stream>".
	Name string `json:"name,omitempty"`
	// Type is the toxic type, e.g. ToxicLatency.
	Type string `json:"type"`
	// Stream is StreamUpstream or StreamDownstream. Empty means downstream.
	Stream string `json:"stream,omitempty"`
	// Toxicity is the probability, per connection, that the toxic applies.
	// Zero means the server's default of 1 (always).
	Toxicity float32 `json:"toxicity,omitempty"`
	// Attributes are the type's parameters; missing ones are zero.
	Attributes Attributes `json:"attributes,omitempty"`
	// TTL, if > 0, asks for a lease: this package's server removes the
	// toxic TTL after it is added (sent as ?ttl=; toxiproxy ignores it).
	TTL time.Duration `json:"-"`
	// Expires is the end of the toxic's lease, as Client.Toxics reads it
	// from this package's server; zero if it has none. AddToxic ignores it.
	Expires time.Time `json:"expires_at,omitzero"`
}

// Client applies faults through the toxiproxy HTTP API, so it drives this
// package's Server and a real toxiproxy server alike. Its methods are safe for
// concurrent use. Failed calls return an error wrapping *APIError when the
// server answered with an unexpected status.
type Client struct {
	endpoint string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// NewClient returns a Client for the API at endpoint, either a URL
// ("http://127.0.0.1:8474") or "host:port".
func NewClient(endpoint string) *Client {
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		endpoint = "http://" + endpoint
	}
	return &Client{endpoint: strings.TrimRight(endpoint, "/")}
}

// AddToxic adds t to the named proxy; it applies to the proxy's open
// connections as well as new ones.
func (c *Client) AddToxic(ctx context.Context, proxyName string, t Toxic) error {
	path := c.proxyPath(proxyName) + "/toxics"
	if t.TTL > 0 {
		path += "?ttl=" + url.QueryEscape(t.TTL.String())
	}
	t.Expires = time.Time{}
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodPost, path, body, http.StatusOK, nil); err != nil {
		return fmt.Errorf("add toxic %q to proxy %q: %w", t.Name, proxyName, err)
	}
	return nil
}

// RemoveToxic removes the named toxic from the named proxy.
func (c *Client) RemoveToxic(ctx context.Context, proxyName, toxicName string) error {
	p := c.proxyPath(proxyName) + "/toxics/" + url.PathEscape(toxicName)
	if err := c.do(ctx, http.MethodDelete, p, nil, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("remove toxic %q from proxy %q: %w", toxicName, proxyName, err)
	}
	return nil
}

// Toxics lists the named proxy's toxics.
func (c *Client) Toxics(ctx context.Context, proxyName string) ([]Toxic, error) {
	var out []Toxic
	if err := c.do(ctx, http.MethodGet, c.proxyPath(proxyName)+"/toxics", nil, http.StatusOK, &out); err != nil {
		return nil, fmt.Errorf("list toxics of proxy %q: %w", proxyName, err)
	}
	return out, nil
}

// SetEnabled enables or disables the named proxy. Disabling stops its
// listener, so new connections are refused, and closes its open connections.
func (c *Client) SetEnabled(ctx context.Context, proxyName string, enabled bool) error {
	body, err := json.Marshal(struct {
		Enabled bool `json:"enabled"`
	}{enabled})
	if err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodPost, c.proxyPath(proxyName), body, http.StatusOK, nil); err != nil {
		return fmt.Errorf("set proxy %q enabled=%t: %w", proxyName, enabled, err)
	}
	return nil
}

// Reset enables every proxy and removes every toxic.
func (c *Client) Reset(ctx context.Context) error {
	if err := c.do(ctx, http.MethodPost, "/reset", nil, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}

func (c *Client) proxyPath(name string) string {
	return "/proxies/" + url.PathEscape(name)
}

// do sends one request and, if out is not nil, decodes the JSON answer
// into it.
func (c *Client) do(ctx context.Context, method, path string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == want {
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("decoding the answer: %w", err)
			}
		}
		return nil
	}
	apiErr := &APIError{}
	if json.Unmarshal(data, apiErr) != nil || apiErr.Message == "" {
		apiErr.Message = fmt.Sprintf("unexpected response (want %d): %q", want, bytes.TrimSpace(data))
	}
	apiErr.Status = resp.StatusCode
	return apiErr
}
