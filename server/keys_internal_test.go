package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

func newECKey(t *testing.T, kid string) (priv, pub jwk.Key) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if priv, err = jwk.Import(k); err != nil {
		t.Fatal(err)
	}
	if pub, err = priv.PublicKey(); err != nil {
		t.Fatal(err)
	}
	pub.Set(jwk.KeyIDKey, kid)
	return priv, pub
}

// TestJWKSRotation: keys come from an https JWKS URL, are cached, and an
// unknown kid triggers one refetch (the issuer rotated its keys).
func TestJWKSRotation(t *testing.T) {
	privA, pubA := newECKey(t, "a")
	privB, pubB := newECKey(t, "b")
	var mu sync.Mutex
	current := []jwk.Key{pubA}
	fetches := 0
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		set := jwk.NewSet()
		for _, k := range current {
			set.AddKey(k)
		}
		json.NewEncoder(w).Encode(set)
	}))
	defer ts.Close()
	f := NewHTTPKeyFetcher(ts.Client(), time.Hour).(*httpKeyFetcher)
	f.minRefresh = 0
	v, err := NewVerifier([]Issuer{{Iss: "https://iss/", JWKSURL: ts.URL + "/jwks"}}, f, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	token := func(priv jwk.Key, kid string) string {
		n++
		h := jws.NewHeaders()
		h.Set("kid", kid)
		now := time.Now().Unix()
		b, _ := json.Marshal(map[string]any{"iss": "https://iss/", "aud": "https://svc/x", "exp": now + 60, "iat": now, "jti": string(rune('a' + n))})
		tok, err := jws.Sign(b, jws.WithKey(jwa.ES384(), priv, jws.WithProtectedHeaders(h)))
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := v.Verify(ctx, token(privA, "a"), "https://svc/x"); err != nil {
			t.Fatalf("key a: %v", err)
		}
	}
	if fetches != 1 {
		t.Errorf("%d fetches for two tokens, want 1 (cached)", fetches)
	}
	mu.Lock()
	current = []jwk.Key{pubB}
	mu.Unlock()
	if _, err := v.Verify(ctx, token(privB, "b"), "https://svc/x"); err != nil {
		t.Fatalf("rotated key b: %v", err)
	}
	if fetches != 2 {
		t.Errorf("%d fetches after rotation, want 2", fetches)
	}
	if _, err := v.Verify(ctx, token(privA, "zzz"), "https://svc/x"); err == nil {
		t.Error("unknown kid accepted")
	}
}
