// Package smstest is a real HTTPS SMS gateway for tests: an
// httptest.Server that records each request it is sent (body and
// headers) and answers 2xx, or fails as a test tells it to (an error
// status, or not listening at all).
package smstest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// maxRequests bounds the requests a Server keeps.
const maxRequests = 1000

// Request is one request the gateway received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   string
}

// Server is a running test gateway; it stops when the test ends.
type Server struct {
	srv *httptest.Server

	mu     sync.Mutex // guards the fields below
	status int        // the reply; 0 means 202
	reqs   []Request
	got    chan struct{} // closed and replaced on each request
}

// Start starts a gateway listening on 127.0.0.1 with TLS.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{got: make(chan struct{})}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	s.mu.Lock()
	status := s.status
	if status == 0 {
		status = http.StatusAccepted
	}
	if len(s.reqs) < maxRequests {
		s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
	}
	close(s.got)
	s.got = make(chan struct{})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status/100 == 2 {
		_, _ = io.WriteString(w, `{"status":"accepted"}`)
	} else {
		_, _ = io.WriteString(w, `{"error":"the test gateway is failing"}`)
	}
}

// URL is the gateway's base URL (https://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Client trusts the gateway's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Fail makes the gateway answer status (e.g. 503) until Accept.
func (s *Server) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

// Accept makes the gateway accept messages again (202).
func (s *Server) Accept() { s.Fail(0) }

// Requests returns a copy of the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Wait waits until at least n requests have arrived, or timeout passes
// (real time), and returns them.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Request {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		reqs, got := append([]Request(nil), s.reqs...), s.got
		s.mu.Unlock()
		if len(reqs) >= n {
			return reqs
		}
		select {
		case <-got:
		case <-deadline:
			t.Fatalf("the SMS gateway received %d requests, want %d", len(reqs), n)
			return nil
		}
	}
}
