package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// writeJWK writes a fresh P-384 private key as a JWK file (kid and alg set
// unless told otherwise).
func writeJWK(t *testing.T, kid bool, alg jwa.SignatureAlgorithm) string {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid {
		_ = k.Set(jwk.KeyIDKey, "k1")
	}
	_ = k.Set(jwk.AlgorithmKey, alg)
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.jwk")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeBackendServicesConfig(t *testing.T) {
	disc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fhir/.well-known/smart-configuration" {
			fmt.Fprint(w, `{"token_endpoint":"https://auth.example/token"}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer disc.Close()
	good := writeJWK(t, true, jwa.ES384())
	ctx := context.Background()
	if src, err := backendServices(ctx, serveConfig{}); err != nil || src != nil {
		t.Errorf("nothing configured: %v %v", src, err)
	}
	cfg := serveConfig{FHIRClientID: "spinecast", FHIRPrivateKey: good}
	cfg.FHIRServer = disc.URL + "/fhir"
	src, err := backendServices(ctx, cfg)
	if err != nil || src == nil {
		t.Fatalf("discovered token endpoint: %v", err)
	}
	for name, tc := range map[string]struct {
		mod  func(c *serveConfig)
		want string
	}{
		"key without client id": {func(c *serveConfig) { c.FHIRClientID = "" }, "need --fhir-client-id"},
		"no key":                {func(c *serveConfig) { c.FHIRPrivateKey = "" }, "needs --fhir-server and --fhir-private-key"},
		"no fhir server":        {func(c *serveConfig) { c.FHIRServer = "" }, "needs --fhir-server"},
		"key file missing":      {func(c *serveConfig) { c.FHIRPrivateKey = filepath.Join(t.TempDir(), "none") }, "read --fhir-private-key"},
		"not a JWK":             {func(c *serveConfig) { c.FHIRPrivateKey = mustWrite(t, t.TempDir(), "k.jwk", "-----BEGIN NONSENSE") }, "not a JWK"},
		"key without kid":       {func(c *serveConfig) { c.FHIRPrivateKey = writeJWK(t, false, jwa.ES384()) }, "no kid"},
		"key alg ES256":         {func(c *serveConfig) { c.FHIRPrivateKey = writeJWK(t, true, jwa.ES256()) }, "want RS384 or ES384"},
		"no discovery":          {func(c *serveConfig) { c.FHIRServer = disc.URL + "/other" }, "--fhir-token-url not given"},
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg
			tc.mod(&c)
			_, err := backendServices(ctx, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
