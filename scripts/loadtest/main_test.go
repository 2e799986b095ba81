package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestLoopbackOnly(t *testing.T) {
	for u, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:8080": true, "http://[::1]:8080": true,
		"http://192.0.2.1:8080": false, "http://8.8.8.8": false, "not a url": false,
	} {
		if err := loopbackOnly(u); (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok=%v", u, err, ok)
		}
	}
}

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := quantile(d, q); got != want {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
}

func TestBodies(t *testing.T) {
	for _, f := range []func(string) ([]byte, error){cdsBody, predictionsBody} {
		b, err := f("")
		if err != nil || !json.Valid(b) {
			t.Errorf("body %s: %v", b, err)
		}
	}
	if err := run([]string{"--url", "http://192.0.2.1:1"}, nil); err == nil {
		t.Error("non-loopback target accepted")
	}
	if err := run([]string{"--rate", "5000"}, nil); err == nil {
		t.Error("rate above the bound accepted")
	}
}
