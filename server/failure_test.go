package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spinecast/spinecast/server"
)

type panicExtractor struct{}

func (panicExtractor) Extract(context.Context, []byte, time.Time) (*server.Vector, error) {
	panic("secret internal detail")
}

type slowExtractor struct{}

func (slowExtractor) Extract(ctx context.Context, _ []byte, _ time.Time) (*server.Vector, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

const emptyBundle = `{"resourceType":"Bundle","type":"collection","entry":[]}`

// A panic in a handler becomes a 500 problem that leaks nothing, and the
// server keeps serving.
func TestRecoverFromPanic(t *testing.T) {
	h := newHarness(t, server.Config{InsecureDev: true}, func(d *server.Deps) { d.Extractor = panicExtractor{} })
	resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: []byte(emptyBundle)})
	if resp.StatusCode != 500 || contentType(resp) != "application/problem+json" || strings.Contains(string(body), "secret") {
		t.Errorf("panic: %d %s %s", resp.StatusCode, contentType(resp), body)
	}
	resp, _ = h.do(exchange{method: "GET", path: "/healthz"})
	if resp.StatusCode != 200 {
		t.Errorf("after a panic: healthz %d", resp.StatusCode)
	}
}

// The request deadline stops a stuck extraction with a 504.
func TestRequestTimeout(t *testing.T) {
	h := newHarness(t, server.Config{InsecureDev: true, RequestTimeout: 200 * time.Millisecond},
		func(d *server.Deps) { d.Extractor = slowExtractor{} })
	start := time.Now()
	resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: []byte(emptyBundle)})
	if resp.StatusCode != 504 {
		t.Errorf("stuck extraction: %d %s, want 504", resp.StatusCode, body)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("answered after %v", el)
	}
}
