package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/spinecast/spinecast/server"
)

// The CDS Hooks specification's JWT example (HL7 CI build, "Trusting CDS
// Clients"): ES384, kid "example-kid", jku https://fhir-ehr.example.com/jwk_uri.
const (
	specIss    = "https://fhir-ehr.example.com/"
	specAud    = "https://cds.example.org/cds-services/some-service"
	specJKU    = "https://fhir-ehr.example.com/jwk_uri"
	specExp    = 1422568860
	specIat    = 1311280970
	specPublic = "testdata/cdshooks/hl7-spec__json-web-key-set-public-key__27.json"
)

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func specToken(tb testing.TB) string {
	return strings.TrimSpace(string(mustRead(tb, "testdata/cdshooks/hl7-spec__json-web-token__es384.jwt")))
}

func specPrivateKey(tb testing.TB) jwk.Key {
	tb.Helper()
	k, err := jwk.ParseKey(mustRead(tb, "testdata/cdshooks/hl7-spec__json-web-key-private-key__28.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// mapFetcher serves JWKS documents from memory.
type mapFetcher map[string]jwk.Set

func (m mapFetcher) Fetch(_ context.Context, url string) (jwk.Set, error) {
	if s, ok := m[url]; ok {
		return s, nil
	}
	return nil, errors.New("no such jwks")
}

func mustSet(tb testing.TB, b []byte) jwk.Set {
	tb.Helper()
	s, err := jwk.Parse(b)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// sign makes a compact JWS of claims with the given header fields.
func sign(tb testing.TB, key jwk.Key, alg jwa.SignatureAlgorithm, header map[string]any, claims map[string]any) string {
	tb.Helper()
	// jws.Sign copies the key's own kid into the header: sign with a copy
	// that has none, so the header says exactly what each case wants.
	b, err := json.Marshal(key)
	if err != nil {
		tb.Fatal(err)
	}
	key, err = jwk.ParseKey(b)
	if err != nil {
		tb.Fatal(err)
	}
	if err := key.Remove(jwk.KeyIDKey); err != nil {
		tb.Fatal(err)
	}
	h := jws.NewHeaders()
	for k, v := range header {
		if err := h.Set(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	tok, err := jws.Sign(mustJSON(tb, claims), jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(tok)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// unsigned builds header.payload. with no signature.
func unsigned(tb testing.TB, header, claims map[string]any) string {
	return b64(mustJSON(tb, header)) + "." + b64(mustJSON(tb, claims)) + "."
}

// hmacToken signs with HS256 using secret: the classic key-confusion
// attack passes the issuer's public key as the HMAC secret.
func hmacToken(tb testing.TB, header, claims map[string]any, secret []byte) string {
	in := b64(mustJSON(tb, header)) + "." + b64(mustJSON(tb, claims))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64(m.Sum(nil))
}

func specClaims(jti string) map[string]any {
	return map[string]any{"iss": specIss, "aud": specAud, "exp": specExp, "iat": specIat, "jti": jti,
		"tenant": "2ddd6c3a-8e9a-44c6-a305-52111ad302a2"}
}

func with(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func newSpecVerifier(t *testing.T) *server.Verifier {
	t.Helper()
	// The spec's clock: one minute before the example token expires.
	now := func() time.Time { return time.Unix(specExp-60, 0) }
	v, err := server.NewVerifier([]server.Issuer{{Iss: specIss, JWKSFile: specPublic, JKU: []string{specJKU}}},
		mapFetcher{specJKU: mustSet(t, mustRead(t, specPublic))}, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifierSpecExample(t *testing.T) {
	v := newSpecVerifier(t)
	c, err := v.Verify(context.Background(), specToken(t), specAud)
	if err != nil {
		t.Fatalf("the specification's ES384 example is rejected: %v", err)
	}
	if c.Iss != specIss || c.JTI != "ee22b021-e1b7-4611-ba5b-8eec6a33ac1e" || c.Exp.Unix() != specExp {
		t.Errorf("claims %+v", c)
	}
	// The same token again is a replay.
	_, err = v.Verify(context.Background(), specToken(t), specAud)
	var ae *server.AuthError
	if !errors.As(err, &ae) || ae.Reason != "replayed jti" {
		t.Errorf("second use: %v, want replayed jti", err)
	}
	// With the real clock the example has long expired.
	real, err := server.NewVerifier([]server.Issuer{{Iss: specIss, JWKSFile: specPublic, JKU: []string{specJKU}}},
		mapFetcher{specJKU: mustSet(t, mustRead(t, specPublic))}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := real.Verify(context.Background(), specToken(t), specAud); !errors.As(err, &ae) || ae.Reason != "expired" {
		t.Errorf("today: %v, want expired", err)
	}
}

func TestVerifierRejections(t *testing.T) {
	priv := specPrivateKey(t)
	pubJSON := mustRead(t, specPublic)
	hdr := map[string]any{"kid": "example-kid", "typ": "JWT"}
	hdrJKU := with(hdr, "jku", specJKU)
	es := func(header, claims map[string]any) string { return sign(t, priv, jwa.ES384(), header, claims) }
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK, err := jwk.Import(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, token, aud, reason string
	}{
		{"alg none", unsigned(t, map[string]any{"alg": "none", "kid": "example-kid"}, specClaims("j-none")), specAud, "algorithm not allowed"},
		{"alg none (signature part present)", unsigned(t, map[string]any{"alg": "none", "kid": "example-kid"}, specClaims("j-none2")) + "e30", specAud, "algorithm not allowed"},
		{"HS256 signed with the public key", hmacToken(t, map[string]any{"alg": "HS256", "kid": "example-kid", "typ": "JWT"}, specClaims("j-hs"), pubJSON), specAud, "algorithm not allowed"},
		{"wrong aud", es(hdr, specClaims("j-aud")), "https://cds.example.org/cds-services/other", "wrong audience"},
		{"aud missing", es(hdr, with(specClaims("j-noaud"), "aud", nil)), specAud, "malformed aud"},
		{"expired", es(hdr, with(specClaims("j-exp"), "exp", specExp-3600)), specAud, "expired"},
		{"exp missing", es(hdr, with(specClaims("j-noexp"), "exp", nil)), specAud, "missing or malformed exp"},
		{"iat in the future", es(hdr, with(specClaims("j-iat"), "iat", specExp+3600)), specAud, "issued in the future"},
		{"nbf in the future", es(hdr, with(specClaims("j-nbf"), "nbf", specExp+3600)), specAud, "not yet valid"},
		{"unknown iss", es(hdr, with(specClaims("j-iss"), "iss", "https://evil.example/")), specAud, "unknown issuer"},
		{"jku off the allowlist", es(with(hdr, "jku", "https://evil.example/jwks"), specClaims("j-jku")), specAud, "jku not on the issuer's allowlist"},
		{"missing kid", es(map[string]any{"typ": "JWT"}, specClaims("j-kid")), specAud, "missing kid"},
		{"unknown kid", es(with(hdr, "kid", "other-kid"), specClaims("j-kid2")), specAud, "unknown kid"},
		{"missing jti", es(hdr, with(specClaims(""), "jti", nil)), specAud, "missing jti"},
		{"signed by another key", sign(t, rsaJWK, jwa.RS384(), hdr, specClaims("j-rsa")), specAud, "algorithm does not match the key"},
		{"tampered payload", tamper(es(hdrJKU, specClaims("j-tamper"))), specAud, "bad signature"},
		{"garbage", "not.a.jwt", specAud, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newSpecVerifier(t)
			_, err := v.Verify(context.Background(), c.token, c.aud)
			var ae *server.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want rejection %q", err, c.reason)
			}
			if ae.Reason != c.reason {
				t.Errorf("rejected for %q, want %q", ae.Reason, c.reason)
			}
		})
	}
	// Controls: the same construction with valid claims is accepted, so
	// each rejection above is due to its one defect.
	v := newSpecVerifier(t)
	for _, tok := range []string{es(hdr, specClaims("ok-1")), es(hdrJKU, specClaims("ok-2")),
		es(hdr, with(specClaims("ok-3"), "aud", []string{"https://x.example/", specAud})),
		es(hdr, with(with(specClaims("ok-4"), "sub", "client-1"), "nbf", specIat))} {
		if _, err := v.Verify(context.Background(), tok, specAud); err != nil {
			t.Errorf("valid control token rejected: %v", err)
		}
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	var claims map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(b, &claims)
	claims["tenant"] = "someone-else"
	nb, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(nb)
	return strings.Join(parts, ".")
}

func TestVerifierRS384(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.Import(key)
	if err != nil {
		t.Fatal(err)
	}
	priv.Set(jwk.KeyIDKey, "rsa-1")
	priv.Set(jwk.AlgorithmKey, jwa.RS384())
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	set.AddKey(pub)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, mustJSON(t, set), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := server.NewVerifier([]server.Issuer{{Iss: "https://ehr.example/", JWKSFile: path}}, nil, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	claims := map[string]any{"iss": "https://ehr.example/", "aud": "https://cds.test/cds-services", "exp": now + 300, "iat": now, "jti": "r1"}
	tok := sign(t, priv, jwa.RS384(), map[string]any{"kid": "rsa-1"}, claims)
	if _, err := v.Verify(context.Background(), tok, "https://cds.test/cds-services"); err != nil {
		t.Errorf("RS384 token rejected: %v", err)
	}
}
