package fhir_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/spinecast/spinecast/fhir"
)

// testKey returns a fresh private key as a JWK with kid and alg.
func testKey(t *testing.T, alg jwa.SignatureAlgorithm) jwk.Key {
	t.Helper()
	var raw any
	var err error
	switch alg.String() {
	case "ES384":
		raw, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.KeyIDKey, "spinecast-1"); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(jwk.AlgorithmKey, alg); err != nil {
		t.Fatal(err)
	}
	return k
}

// tokenServer is an authorization server that checks each client
// assertion the way the SMART Backend Services profile requires.
type tokenServer struct {
	t        *testing.T
	pub      jwk.Key
	alg      jwa.SignatureAlgorithm
	srv      *httptest.Server
	mu       sync.Mutex
	issued   int
	jtis     map[string]bool
	expires  int
	problems []string
}

func newTokenServer(t *testing.T, key jwk.Key, alg jwa.SignatureAlgorithm) *tokenServer {
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	ts := &tokenServer{t: t, pub: pub, alg: alg, jtis: map[string]bool{}, expires: 300}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) fail(format string, args ...any) {
	ts.problems = append(ts.problems, fmt.Sprintf(format, args...))
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		ts.fail("not a form POST")
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" || f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
		f.Get("scope") != "system/Patient.rs system/Observation.rs" {
		ts.fail("form %v", f)
	}
	payload, err := jws.Verify([]byte(f.Get("client_assertion")), jws.WithKey(ts.alg, ts.pub))
	if err != nil {
		ts.fail("signature: %v", err)
		http.Error(w, `{"error":"invalid_client"}`, http.StatusBadRequest)
		return
	}
	msg, _ := jws.Parse([]byte(f.Get("client_assertion")))
	if kid, _ := msg.Signatures()[0].ProtectedHeaders().KeyID(); kid != "spinecast-1" {
		ts.fail("kid %q", kid)
	}
	var c struct {
		Iss, Sub, Aud, Jti string
		Exp, Iat           int64
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		ts.fail("claims: %v", err)
	}
	if c.Iss != "spinecast-client" || c.Sub != c.Iss || c.Aud != ts.srv.URL+"/token" || c.Exp-c.Iat <= 0 || c.Exp-c.Iat > 300 || c.Jti == "" || ts.jtis[c.Jti] {
		ts.fail("claims %+v", c)
	}
	ts.jtis[c.Jti] = true
	ts.issued++
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":%d,"scope":"system/Patient.rs"}`, ts.issued, ts.expires)
}

func TestBackendServicesToken(t *testing.T) {
	for _, alg := range []jwa.SignatureAlgorithm{jwa.ES384(), jwa.RS384()} {
		t.Run(alg.String(), func(t *testing.T) {
			key := testKey(t, alg)
			ts := newTokenServer(t, key, alg)
			now := time.Unix(1_800_000_000, 0)
			b := &fhir.BackendServices{TokenURL: ts.srv.URL + "/token", ClientID: "spinecast-client", Key: key,
				Scope: "system/Patient.rs system/Observation.rs", Now: func() time.Time { return now }}
			ctx := context.Background()
			tok, err := b.Token(ctx)
			if err != nil || tok != "tok-1" {
				t.Fatalf("token %q, %v", tok, err)
			}
			// Cached while valid; renewed a minute before expiry.
			now = now.Add(3 * time.Minute)
			if tok, _ := b.Token(ctx); tok != "tok-1" {
				t.Errorf("cached token %q, want tok-1", tok)
			}
			now = now.Add(90 * time.Second) // 4.5 min: inside the last minute
			if tok, _ := b.Token(ctx); tok != "tok-2" {
				t.Errorf("renewed token %q, want tok-2", tok)
			}
			b.Invalidate()
			if tok, _ := b.Token(ctx); tok != "tok-3" {
				t.Errorf("after Invalidate %q, want tok-3", tok)
			}
			if len(ts.problems) > 0 {
				t.Errorf("the token server found: %v", ts.problems)
			}
		})
	}
}

func TestBackendServicesErrors(t *testing.T) {
	key := testKey(t, jwa.ES384())
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	noKid := testKey(t, jwa.ES384())
	_ = noKid.Remove(jwk.KeyIDKey)
	hs := testKey(t, jwa.ES384())
	_ = hs.Set(jwk.AlgorithmKey, jwa.ES256())
	for _, tc := range []struct {
		name string
		b    *fhir.BackendServices
		want string
	}{
		{"invalid_client", &fhir.BackendServices{TokenURL: answer(400, `{"error":"invalid_client","error_description":"secret-ish <echo>"}`), ClientID: "c", Key: key}, "answered 400 (invalid_client)"},
		{"500 html", &fhir.BackendServices{TokenURL: answer(500, `<html>`), ClientID: "c", Key: key}, "answered 500"},
		{"garbage", &fhir.BackendServices{TokenURL: answer(200, `{{`), ClientID: "c", Key: key}, "not JSON"},
		{"no token", &fhir.BackendServices{TokenURL: answer(200, `{"token_type":"bearer"}`), ClientID: "c", Key: key}, "lacks a bearer access_token"},
		{"not bearer", &fhir.BackendServices{TokenURL: answer(200, `{"access_token":"x","token_type":"mac"}`), ClientID: "c", Key: key}, "lacks a bearer"},
		{"no kid", &fhir.BackendServices{TokenURL: "https://as.example/token", ClientID: "c", Key: noKid}, "no kid"},
		{"wrong alg", &fhir.BackendServices{TokenURL: "https://as.example/token", ClientID: "c", Key: hs}, "want RS384 or ES384"},
		{"no client id", &fhir.BackendServices{TokenURL: "https://as.example/token", Key: key}, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.b.Token(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "echo") {
				t.Errorf("error_description leaked into %v", err)
			}
		})
	}
}

// The FHIR client uses the token source, and after a 401 fetches a fresh
// token and retries once.
func TestClientWithBackendServices(t *testing.T) {
	key := testKey(t, jwa.ES384())
	ts := newTokenServer(t, key, jwa.ES384())
	var seen []string
	fhirSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		seen = append(seen, auth)
		if auth != "Bearer tok-2" { // the first token has been revoked
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, patientJSON)
	}))
	defer fhirSrv.Close()
	b := &fhir.BackendServices{TokenURL: ts.srv.URL + "/token", ClientID: "spinecast-client", Key: key, Scope: "system/Patient.rs system/Observation.rs"}
	c := &fhir.Client{BaseURL: fhirSrv.URL, Tokens: b, Sleep: noSleep}
	if _, err := c.Fetch(context.Background(), "Patient/p1"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "Bearer tok-1,Bearer tok-2" {
		t.Errorf("authorizations %v", seen)
	}
	// A second 401 is not retried again: the error says 401.
	seen = nil
	b.Invalidate()
	ts.mu.Lock()
	ts.issued = 5 // the next tokens are tok-6, tok-7: all refused
	ts.mu.Unlock()
	_, err := c.Fetch(context.Background(), "Patient/p1")
	if err == nil || !strings.Contains(err.Error(), "401") || len(seen) != 2 {
		t.Errorf("persistent 401: %v after %d requests", err, len(seen))
	}
}

func TestDiscoverTokenURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fhir/.well-known/smart-configuration":
			fmt.Fprint(w, `{"token_endpoint":"https://auth.example/token","grant_types_supported":["client_credentials"]}`)
		case "/bad/.well-known/smart-configuration":
			fmt.Fprint(w, `{"token_endpoint":"http://auth.example/token"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	u, err := fhir.DiscoverTokenURL(context.Background(), nil, srv.URL+"/fhir/")
	if err != nil || u != "https://auth.example/token" {
		t.Errorf("discovered %q, %v", u, err)
	}
	if _, err := fhir.DiscoverTokenURL(context.Background(), nil, srv.URL+"/bad"); err == nil {
		t.Error("plain-http token endpoint off loopback accepted")
	}
	if _, err := fhir.DiscoverTokenURL(context.Background(), nil, srv.URL+"/none"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("no smart-configuration: %v", err)
	}
}
