package faultserver

import (
	"crypto/tls"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// startH2 serves the net/http-based HTTP/2 modes.
func (s *Server) startH2() {
	s.httpSrv = &http.Server{
		Handler:           http.HandlerFunc(s.handleH2),
		TLSConfig:         s.tlsCfg, // ServeTLS adds h2 and http/1.1 to NextProtos
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // handshake failures are the point
	}
	s.wg.Go(func() { _ = s.httpSrv.ServeTLS(s.ln, "", "") })
}

func (s *Server) handleH2(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		http.Error(w, "faultserver: "+string(s.mode)+" needs HTTP/2", http.StatusHTTPVersionNotSupported)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	s.requests.Add(1)
	switch s.mode {
	case H2OK:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	case H2Hang:
		select {
		case <-r.Context().Done():
		case <-s.closed:
			panic(http.ErrAbortHandler) // no answer, even now
		}
	case H2Huge:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(s.opt.HugeSize, 10))
		_, _ = io.CopyN(w, zeros{}, s.opt.HugeSize)
	case H2ResetStream:
		panic(http.ErrAbortHandler) // RST_STREAM, not logged
	case H2ResetMidResponse:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "1024")
		_, _ = io.WriteString(w, strings.Repeat("x", 512))
		http.NewResponseController(w).Flush()
		s.sleep(resetMidPause)
		panic(http.ErrAbortHandler)
	}
}

// serveH2Raw speaks just enough HTTP/2 on c (a *tls.Conn) to misbehave:
// the preface and SETTINGS exchange, then the fault at the first HEADERS.
func (s *Server) serveH2Raw(c net.Conn) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return
	}
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return
	}
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		return
	}
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(tc, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	_ = tc.SetDeadline(time.Time{})
	fr := http2.NewFramer(tc, tc)
	if err := fr.WriteSettings(); err != nil {
		return
	}
	goneAway := false // H2GoAway: GOAWAY and close_notify sent; only reading now
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() && !goneAway {
				if err := fr.WriteSettingsAck(); err != nil {
					return
				}
			}
		case *http2.PingFrame:
			if !f.IsAck() && !goneAway {
				if err := fr.WritePing(true, f.Data); err != nil {
					return
				}
			}
		case *http2.HeadersFrame:
			s.requests.Add(1)
			switch {
			case s.mode == H2GoAway && !goneAway:
				// Last stream 2^31-1: every stream the client has opened
				// or is opening counts as possibly processed, so it must
				// not retry any; then the connection ends (close_notify,
				// then close once the client has closed, or after a
				// second) with none of them answered.
				if err := fr.WriteGoAway(math.MaxInt32, http2.ErrCodeNo, []byte("faultserver: going away")); err != nil {
					return
				}
				goneAway = true
				_ = tc.CloseWrite()
				_ = tc.SetReadDeadline(time.Now().Add(time.Second))
			case s.mode == H2ProtocolError:
				// DATA on stream 0 is a connection error (RFC 9113 §6.1).
				if err := fr.WriteRawFrame(http2.FrameData, 0, 0, []byte("faultserver")); err != nil {
					return
				}
			}
		}
	}
}
