package proxy

import (
	"bytes"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// APIError is the error body of the toxiproxy HTTP API,
// {"error": "...", "status": N}. The server writes it for every failed
// request and Client returns it (wrapped) for every unexpected status.
type APIError struct {
	// Message is the human-readable error text.
	Message string `json:"error"`
	// Status is the HTTP status code of the response.
	Status int `json:"status"`
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// wrap mirrors toxiproxy's joinError: "<message>: <err>" with e's status.
func (e *APIError) wrap(err error) *APIError {
	return &APIError{Message: e.Message + ": " + err.Error(), Status: e.Status}
}

// The errors of toxiproxy v2.5.0's api.go, same messages and statuses.
var (
	errBadRequestBody     = &APIError{"bad request body", http.StatusBadRequest}
	errMissingField       = &APIError{"missing required field", http.StatusBadRequest}
	errProxyNotFound      = &APIError{"proxy not found", http.StatusNotFound}
	errProxyAlreadyExists = &APIError{"proxy already exists", http.StatusConflict}
	errInvalidStream      = &APIError{"stream was invalid, can be either upstream or downstream", http.StatusBadRequest}
	errInvalidToxicType   = &APIError{"invalid toxic type", http.StatusBadRequest}
	errToxicAlreadyExists = &APIError{"toxic already exists", http.StatusConflict}
	errToxicNotFound      = &APIError{"toxic not found", http.StatusNotFound}
)

// maxBodyBytes caps request bodies (toxiproxy has no cap; its bodies are a
// few hundred bytes).
const maxBodyBytes = 8 << 20

// proxyInput is a proxy create/update request body. Its fields are those
// toxiproxy decodes into its Proxy struct, including the "Logger" quirk below,
// so the same bodies are accepted and rejected.
type proxyInput struct {
	Name     string    `json:"name"`
	Listen   string    `json:"listen"`
	Upstream string    `json:"upstream"`
	Enabled  bool      `json:"enabled"`
	Logger   *struct{} `json:"Logger"`
}

// proxyJSON is the wire form of a proxy, field order as toxiproxy marshals
// it. toxiproxy v2.5.0 leaks its exported Proxy.Logger field as an empty
// object, "Logger":{}; it is kept so responses have the same keys.
type proxyJSON struct {
	Name     string      `json:"name"`
	Listen   string      `json:"listen"`
	Upstream string      `json:"upstream"`
	Enabled  bool        `json:"enabled"`
	Logger   struct{}    `json:"Logger"`
	Toxics   []toxicJSON `json:"toxics"`
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, proxyName, toxicName string)

// Handler returns the toxiproxy-compatible HTTP control API. Routing follows
// toxiproxy's gorilla/mux setup: unclean paths are redirected (301), unknown
// paths get 404 "404 page not found", a known path with the wrong method gets
// an empty 405, and requests from browsers (User-Agent "Mozilla/...") are
// refused with 403.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if clean := cleanPath(p); clean != p {
		u := *r.URL
		u.Path = clean
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	h, proxyName, toxicName, pathKnown := s.route(r.Method, p)
	if h == nil {
		if pathKnown {
			w.WriteHeader(http.StatusMethodNotAllowed)
		} else {
			http.NotFound(w, r)
		}
		return
	}
	w.Header().Set("X-Toxiproxy-Request-Id", newRequestID())
	if strings.HasPrefix(r.UserAgent(), "Mozilla/") {
		http.Error(w, "User agent not allowed", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		save := r.Method == http.MethodPost && proxyName != "" && strings.Count(p, "/") == 2 // POST /proxies/{proxy}
		if msg := refuseWrite(r, save); msg != "" {
			apiError(w, &APIError{Message: msg, Status: http.StatusForbidden})
			return
		}
	}
	if s.leased.Load() {
		s.expireToxics()
	}
	h(w, r, proxyName, toxicName)
}

// route maps a clean path and method to a handler. pathKnown reports whether
// the path exists for some method.
func (s *Server) route(method, p string) (h handlerFunc, proxyName, toxicName string, pathKnown bool) {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	var byMethod map[string]handlerFunc
	switch {
	case len(segs) == 1 && segs[0] == "reset":
		byMethod = map[string]handlerFunc{http.MethodPost: s.resetState}
	case len(segs) == 1 && segs[0] == "proxies":
		byMethod = map[string]handlerFunc{http.MethodGet: s.proxyIndex, http.MethodPost: s.proxyCreate}
	case len(segs) == 1 && segs[0] == "populate":
		byMethod = map[string]handlerFunc{http.MethodPost: s.populate}
	case len(segs) == 1 && segs[0] == "version":
		byMethod = map[string]handlerFunc{http.MethodGet: s.version}
	case len(segs) >= 2 && segs[0] == "proxies" && segs[1] != "":
		proxyName = segs[1]
		switch {
		case len(segs) == 2:
			byMethod = map[string]handlerFunc{
				http.MethodGet: s.proxyShow, http.MethodPost: s.proxyUpdate, http.MethodDelete: s.proxyDelete,
			}
		case len(segs) == 3 && segs[2] == "toxics":
			byMethod = map[string]handlerFunc{http.MethodGet: s.toxicIndex, http.MethodPost: s.toxicCreate}
		case len(segs) == 4 && segs[2] == "toxics" && segs[3] != "":
			toxicName = segs[3]
			byMethod = map[string]handlerFunc{
				http.MethodGet: s.toxicShow, http.MethodPost: s.toxicUpdate, http.MethodDelete: s.toxicDelete,
			}
		}
	}
	if byMethod == nil {
		return nil, "", "", false
	}
	return byMethod[method], proxyName, toxicName, true
}

// cleanPath is gorilla/mux's cleanPath: path.Clean, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

var requestIDEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newRequestID returns a 20-character id shaped like the xid toxiproxy puts in
// X-Toxiproxy-Request-Id.
func newRequestID() string {
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
	return requestIDEncoding.EncodeToString(b[:])
}

// apiError writes err exactly as toxiproxy's apiError does: the JSON body via
// http.Error (which sets text/plain and appends a newline). Errors that are
// not *APIError become 500s.
func apiError(w http.ResponseWriter, err error) {
	var e *APIError
	if !errors.As(err, &e) {
		e = &APIError{Message: err.Error(), Status: http.StatusInternalServerError}
	}
	data, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	http.Error(w, string(data), e.Status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		apiError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
}

// decodeBody decodes the first JSON value of body into v, like toxiproxy's
// json.NewDecoder(request.Body).Decode (trailing data is ignored).
func decodeBody(body []byte, v any) error {
	return json.NewDecoder(bytes.NewReader(body)).Decode(v)
}

func (s *Server) proxyIndex(w http.ResponseWriter, _ *http.Request, _, _ string) {
	out := make(map[string]proxyJSON)
	for _, p := range s.proxyList() {
		out[p.name] = p.toJSON()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) proxyCreate(w http.ResponseWriter, r *http.Request, _, _ string) {
	body, err := readBody(w, r)
	if err != nil {
		apiError(w, errBadRequestBody.wrap(err))
		return
	}
	in := proxyInput{Enabled: true}
	if err := decodeBody(body, &in); err != nil {
		apiError(w, errBadRequestBody.wrap(err))
		return
	}
	if in.Name == "" {
		apiError(w, errMissingField.wrap(errors.New("name")))
		return
	}
	if in.Upstream == "" {
		apiError(w, errMissingField.wrap(errors.New("upstream")))
		return
	}
	p, err := s.addProxy(in.Name, in.Listen, in.Upstream, in.Enabled)
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, p.toJSON())
}

func (s *Server) populate(w http.ResponseWriter, r *http.Request, _, _ string) {
	var created []*managedProxy
	var apiErr *APIError
	body, err := readBody(w, r)
	if err != nil {
		apiErr = errBadRequestBody.wrap(err)
	} else {
		created, err = s.populateJSON(body)
		if err != nil && !errors.As(err, &apiErr) {
			apiErr = &APIError{Message: err.Error(), Status: http.StatusInternalServerError}
		}
	}
	// Shape as toxiproxy's Populate: error fields inline (omitted on
	// success) and "proxies" null when empty.
	var list []proxyJSON
	for _, p := range created {
		list = append(list, p.toJSON())
	}
	status := http.StatusCreated
	if apiErr != nil {
		status = apiErr.Status
	}
	writeJSON(w, status, struct {
		*APIError `json:",omitempty"`
		Proxies   []proxyJSON `json:"proxies"`
	}{apiErr, list})
}

func (s *Server) proxyShow(w http.ResponseWriter, _ *http.Request, name, _ string) {
	p, err := s.getProxy(name)
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p.toJSON())
}

func (s *Server) proxyUpdate(w http.ResponseWriter, r *http.Request, name, _ string) {
	p, err := s.getProxy(name)
	if err != nil {
		apiError(w, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		apiError(w, errBadRequestBody.wrap(err))
		return
	}
	// Absent fields keep the proxy's current values.
	in := p.currentInput()
	if err := decodeBody(body, &in); err != nil {
		apiError(w, errBadRequestBody.wrap(err))
		return
	}
	if err := p.update(in.Listen, in.Upstream, in.Enabled); err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p.toJSON())
}

func (s *Server) proxyDelete(w http.ResponseWriter, _ *http.Request, name, _ string) {
	if err := s.removeProxy(name); err != nil {
		apiError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) toxicIndex(w http.ResponseWriter, _ *http.Request, name, _ string) {
	p, err := s.getProxy(name)
	if err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p.toxicsJSON())
}

func (s *Server) toxicCreate(w http.ResponseWriter, r *http.Request, name, _ string) {
	p, err := s.getProxy(name)
	if err != nil {
		apiError(w, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		apiError(w, errBadRequestBody.wrap(err))
		return
	}
	t, headErr, attrErr := decodeToxic(body)
	if headErr != nil {
		apiError(w, headErr)
		return
	}
	ttl, ttlErr := parseTTL(r)
	if ttlErr != nil {
		apiError(w, ttlErr)
		return
	}
	if ttl > 0 {
		t.expires = time.Now().Add(ttl)
	}
	if err := p.addToxic(t, attrErr); err != nil {
		apiError(w, err)
		return
	}
	s.armLease(t.expires)
	writeJSON(w, http.StatusOK, t.toJSON())
}

func (s *Server) toxicShow(w http.ResponseWriter, _ *http.Request, name, toxicName string) {
	p, err := s.getProxy(name)
	if err != nil {
		apiError(w, err)
		return
	}
	t := p.findToxic(toxicName)
	if t == nil {
		apiError(w, errToxicNotFound)
		return
	}
	writeJSON(w, http.StatusOK, t.toJSON())
}

func (s *Server) toxicUpdate(w http.ResponseWriter, r *http.Request, name, toxicName string) {
	p, err := s.getProxy(name)
	if err != nil {
		apiError(w, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		apiError(w, errBadRequestBody.wrap(err))
		return
	}
	ttl, ttlErr := parseTTL(r)
	if ttlErr != nil {
		apiError(w, ttlErr)
		return
	}
	var expires time.Time
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	t, err := p.updateToxic(toxicName, body, expires)
	if err != nil {
		apiError(w, err)
		return
	}
	s.armLease(t.expires)
	writeJSON(w, http.StatusOK, t.toJSON())
}

func (s *Server) toxicDelete(w http.ResponseWriter, _ *http.Request, name, toxicName string) {
	p, err := s.getProxy(name)
	if err != nil {
		apiError(w, err)
		return
	}
	if err := p.removeToxic(toxicName); err != nil {
		apiError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resetState enables every proxy and removes every toxic. Like toxiproxy it
// stops at the first proxy that fails to start, with a 500.
func (s *Server) resetState(w http.ResponseWriter, _ *http.Request, _, _ string) {
	list := s.proxyList()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	for _, p := range list {
		if err := p.reset(); err != nil {
			apiError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request, _, _ string) {
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	_, _ = io.WriteString(w, s.versionString)
}
