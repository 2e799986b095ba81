package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// REST scopes.
const (
	ScopePredict = "spinecast/predict"
	ScopeAdmin   = "spinecast/admin"
)

// Issuer is one trusted JWT issuer: its keys come from JWKSURL or
// JWKSFile; a token's "jku" header is honoured only when it is listed in
// JKU, and its keys are then fetched from there.
type Issuer struct {
	Iss      string   `json:"iss"`
	JWKSURL  string   `json:"jwks_url,omitempty"`
	JWKSFile string   `json:"jwks_file,omitempty"`
	JKU      []string `json:"jku_allowlist,omitempty"`
}

// KeyFetcher returns the JSON Web Key Set at a URL.
type KeyFetcher interface {
	Fetch(ctx context.Context, url string) (jwk.Set, error)
}

// allowedAlgs are the signature algorithms accepted: asymmetric only, so
// "none" and every HMAC algorithm (HS256 signed with a public key, the
// classic confusion attack) are rejected before any key is looked at.
var allowedAlgs = map[string]bool{
	"ES256": true, "ES384": true, "ES512": true,
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
}

// Claims are the verified claims Spinecast uses; Scope is the OAuth2
// space-separated scope string.
type Claims struct {
	Iss   string
	Sub   string
	Aud   []string
	Exp   time.Time
	Iat   time.Time
	JTI   string
	Scope string
}

// AuthError says why a token was rejected; Reason is a short stable label
// for metrics and logs (never the token).
type AuthError struct{ Reason string }

func (e *AuthError) Error() string { return "token rejected: " + e.Reason }

func reject(reason string) error { return &AuthError{Reason: reason} }

// Verifier checks JWTs as CDS Hooks 2.0 requires: an asymmetric signature
// by a key of a trusted issuer, aud equal to the endpoint called, exp and
// iat within the clock skew, nbf if present, and a jti never seen before
// (kept until the token expires). It is safe for concurrent use.
type Verifier struct {
	issuers map[string]*issuerKeys
	fetch   KeyFetcher
	skew    time.Duration
	now     func() time.Time
	// reusable turns off the jti requirement and replay cache: OAuth2
	// access tokens are meant to be presented many times.
	reusable bool

	mu        sync.Mutex
	seen      map[string]time.Time // iss + " " + jti → exp
	nextSweep int                  // sweep expired entries when seen grows past this
}

type issuerKeys struct {
	Issuer
	file jwk.Set // parsed JWKSFile
	jku  map[string]bool
}

// NewVerifier builds a verifier for the issuers; fetch resolves JWKS URLs,
// now is the clock (nil: time.Now).
func NewVerifier(issuers []Issuer, fetch KeyFetcher, skew time.Duration, now func() time.Time) (*Verifier, error) {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{issuers: map[string]*issuerKeys{}, fetch: fetch, skew: skew, now: now, seen: map[string]time.Time{}}
	for _, is := range issuers {
		if is.Iss == "" {
			return nil, errors.New("trusted issuer without iss")
		}
		if (is.JWKSURL == "") == (is.JWKSFile == "") && len(is.JKU) == 0 {
			return nil, fmt.Errorf("issuer %s: give exactly one of jwks_url and jwks_file", is.Iss)
		}
		if is.JWKSURL != "" && !strings.HasPrefix(is.JWKSURL, "https://") {
			return nil, fmt.Errorf("issuer %s: jwks_url must be https", is.Iss)
		}
		ik := &issuerKeys{Issuer: is, jku: map[string]bool{}}
		for _, u := range is.JKU {
			ik.jku[u] = true
		}
		if is.JWKSFile != "" {
			b, err := os.ReadFile(is.JWKSFile)
			if err != nil {
				return nil, fmt.Errorf("issuer %s: %w", is.Iss, err)
			}
			if ik.file, err = jwk.Parse(b); err != nil {
				return nil, fmt.Errorf("issuer %s: parse %s: %w", is.Iss, is.JWKSFile, err)
			}
		}
		v.issuers[is.Iss] = ik
	}
	return v, nil
}

// LoadIssuers reads a trust list: a JSON array of Issuer.
func LoadIssuers(path string) ([]Issuer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted issuers: %w", err)
	}
	var is []Issuer
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&is); err != nil {
		return nil, fmt.Errorf("parse trusted issuers %s: %w", path, err)
	}
	return is, nil
}

type rawClaims struct {
	Iss   string          `json:"iss"`
	Sub   string          `json:"sub"`
	Aud   json.RawMessage `json:"aud"`
	Exp   *json.Number    `json:"exp"`
	Iat   *json.Number    `json:"iat"`
	Nbf   *json.Number    `json:"nbf"`
	JTI   string          `json:"jti"`
	Scope string          `json:"scope"`
}

// Verify checks token for the audience aud (the full URL of the endpoint
// called) and returns its claims. Every failure is an *AuthError.
func (v *Verifier) Verify(ctx context.Context, token, aud string) (*Claims, error) {
	if len(token) > 16<<10 {
		return nil, reject("token too long")
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		return nil, reject("malformed")
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, reject("not exactly one signature")
	}
	h := sigs[0].ProtectedHeaders()
	alg, ok := h.Algorithm()
	if !ok || !allowedAlgs[alg.String()] {
		return nil, reject("algorithm not allowed")
	}
	kid, ok := h.KeyID()
	if !ok || kid == "" {
		return nil, reject("missing kid")
	}
	// The issuer is read before verification only to choose the keys.
	var rc rawClaims
	dec := json.NewDecoder(strings.NewReader(string(msg.Payload())))
	dec.UseNumber()
	if err := dec.Decode(&rc); err != nil {
		return nil, reject("malformed claims")
	}
	is, ok := v.issuers[rc.Iss]
	if !ok {
		return nil, reject("unknown issuer")
	}
	keys := is.file
	source := is.JWKSURL
	if jku, ok := h.JWKSetURL(); ok && jku != "" {
		if !is.jku[jku] {
			return nil, reject("jku not on the issuer's allowlist")
		}
		keys, source = nil, jku
	}
	if keys == nil {
		if source == "" {
			return nil, reject("issuer has no key source")
		}
		if v.fetch == nil {
			return nil, reject("no key fetcher")
		}
		if keys, err = v.fetch.Fetch(ctx, source); err != nil {
			return nil, reject("issuer keys unavailable")
		}
	}
	key, ok := keys.LookupKeyID(kid)
	if !ok && source != "" && keys != is.file {
		// The issuer may have rotated its keys: refetch once, bypassing
		// the cache (the fetcher rate-limits refreshes).
		if r, isR := v.fetch.(interface {
			Refresh(ctx context.Context, url string) (jwk.Set, error)
		}); isR {
			if fresh, err := r.Refresh(ctx, source); err == nil {
				key, ok = fresh.LookupKeyID(kid)
			}
		}
	}
	if !ok {
		return nil, reject("unknown kid")
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return nil, reject("algorithm does not match the key")
	}
	sa, ok := jwa.LookupSignatureAlgorithm(alg.String())
	if !ok {
		return nil, reject("algorithm not allowed")
	}
	if _, err := jws.Verify([]byte(token), jws.WithKey(sa, key)); err != nil {
		return nil, reject("bad signature")
	}
	c := &Claims{Iss: rc.Iss, Sub: rc.Sub, JTI: rc.JTI, Scope: rc.Scope}
	if c.Aud, err = audiences(rc.Aud); err != nil {
		return nil, reject("malformed aud")
	}
	found := false
	for _, a := range c.Aud {
		if a == aud {
			found = true
		}
	}
	if !found {
		return nil, reject("wrong audience")
	}
	now := v.now()
	exp, err := numericDate(rc.Exp)
	if err != nil {
		return nil, reject("missing or malformed exp")
	}
	iat, err := numericDate(rc.Iat)
	if err != nil {
		return nil, reject("missing or malformed iat")
	}
	c.Exp, c.Iat = exp, iat
	if now.After(exp.Add(v.skew)) {
		return nil, reject("expired")
	}
	if iat.After(now.Add(v.skew)) {
		return nil, reject("issued in the future")
	}
	if rc.Nbf != nil {
		nbf, err := numericDate(rc.Nbf)
		if err != nil {
			return nil, reject("malformed nbf")
		}
		if nbf.After(now.Add(v.skew)) {
			return nil, reject("not yet valid")
		}
	}
	if v.reusable {
		return c, nil
	}
	if c.JTI == "" {
		return nil, reject("missing jti")
	}
	if !v.remember(c.Iss+" "+c.JTI, exp.Add(v.skew), now) {
		return nil, reject("replayed jti")
	}
	return c, nil
}

// remember records a jti until its expiry; false if already present.
func (v *Verifier) remember(key string, until, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if exp, ok := v.seen[key]; ok && now.Before(exp) {
		return false
	}
	if len(v.seen) >= max(v.nextSweep, 1024) {
		for k, exp := range v.seen {
			if !now.Before(exp) {
				delete(v.seen, k)
			}
		}
		// Amortised: the next sweep waits until the cache has doubled.
		v.nextSweep = 2 * len(v.seen)
	}
	v.seen[key] = until
	return true
}

func audiences(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, errors.New("no aud")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

func numericDate(n *json.Number) (time.Time, error) {
	if n == nil {
		return time.Time{}, errors.New("absent")
	}
	f, err := n.Float64()
	if err != nil || !(f >= 0 && f <= 1e11) {
		return time.Time{}, errors.New("malformed")
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// httpKeyFetcher fetches JWKS over HTTPS with a TTL cache.
type httpKeyFetcher struct {
	client     *http.Client
	ttl        time.Duration
	minRefresh time.Duration
	mu         sync.Mutex
	cache      map[string]cachedSet
}

type cachedSet struct {
	set jwk.Set
	at  time.Time
}

// NewHTTPKeyFetcher returns a KeyFetcher that GETs JWKS documents (https
// only) and caches each for ttl.
func NewHTTPKeyFetcher(client *http.Client, ttl time.Duration) KeyFetcher {
	return &httpKeyFetcher{client: client, ttl: ttl, minRefresh: minRefresh, cache: map[string]cachedSet{}}
}

func (f *httpKeyFetcher) Fetch(ctx context.Context, url string) (jwk.Set, error) {
	f.mu.Lock()
	c, ok := f.cache[url]
	f.mu.Unlock()
	if ok && time.Since(c.at) < f.ttl {
		return c.set, nil
	}
	return f.get(ctx, url)
}

// minRefresh is the least time between two fetches of one JWKS forced by
// an unknown kid, so forged kids cannot make us hammer an issuer.
const minRefresh = 30 * time.Second

// Refresh refetches url unless it was fetched less than minRefresh ago.
func (f *httpKeyFetcher) Refresh(ctx context.Context, url string) (jwk.Set, error) {
	f.mu.Lock()
	c, ok := f.cache[url]
	f.mu.Unlock()
	if ok && time.Since(c.at) < f.minRefresh {
		return c.set, nil
	}
	return f.get(ctx, url)
}

func (f *httpKeyFetcher) get(ctx context.Context, url string) (jwk.Set, error) {
	if !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("jwks %s: not https", url)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	set, err := jwk.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	f.mu.Lock()
	f.cache[url] = cachedSet{set: set, at: time.Now()}
	f.mu.Unlock()
	return set, nil
}

// APIKey is a static REST credential stored as the hex sha256 of the key.
type APIKey struct {
	Name   string   `json:"name"`
	Sha256 string   `json:"sha256"`
	Scopes []string `json:"scopes"`
}

// HashAPIKey returns the hex sha256 to store for a key.
func HashAPIKey(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

func bearer(c echo.Context) (string, bool) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// cdsAuth requires a valid CDS Hooks JWT whose aud is the URL called;
// failures are a bare 401.
func (s *Server) cdsAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.InsecureDev {
			c.Set(ctxCaller, "insecure-dev")
			return next(c)
		}
		tok, ok := bearer(c)
		if !ok {
			s.met.authFailures.WithLabelValues("cds", "no bearer token").Inc()
			return c.NoContent(http.StatusUnauthorized)
		}
		claims, err := s.cds.Verify(c.Request().Context(), tok, s.cfg.PublicURL+c.Request().URL.Path)
		if err != nil {
			reason := "error"
			var ae *AuthError
			if errors.As(err, &ae) {
				reason = ae.Reason
			}
			s.met.authFailures.WithLabelValues("cds", reason).Inc()
			s.log.WarnContext(c.Request().Context(), "cds token rejected", "request_id", requestID(c), "reason", reason)
			return c.NoContent(http.StatusUnauthorized)
		}
		c.Set(ctxCaller, claims.Iss)
		return next(c)
	}
}

// restAuth requires an API key or an OAuth2 access token carrying scope
// (any authenticated caller when scope is "").
func (s *Server) restAuth(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if s.cfg.InsecureDev {
				c.Set(ctxCaller, "insecure-dev")
				return next(c)
			}
			fail := func(reason string, code Code, msg string) error {
				s.met.authFailures.WithLabelValues("rest", reason).Inc()
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="spinecast"`)
				return errorf(code, "%s", msg)
			}
			tok, ok := bearer(c)
			if !ok {
				if k := c.Request().Header.Get("X-API-Key"); k != "" {
					tok, ok = k, true
				}
			}
			if !ok {
				return fail("no credentials", CodeUnauthorized, "send an API key or a Bearer access token")
			}
			if name, scopes, ok := s.matchKey(tok); ok {
				if scope != "" && !contains(scopes, scope) && !contains(scopes, ScopeAdmin) {
					return fail("missing scope", CodeForbidden, "this key lacks scope "+scope)
				}
				c.Set(ctxCaller, "key:"+name)
				return next(c)
			}
			if s.rest == nil || strings.Count(tok, ".") != 2 {
				return fail("bad credentials", CodeUnauthorized, "invalid credentials")
			}
			claims, err := s.rest.Verify(c.Request().Context(), tok, s.cfg.RESTAudience)
			if err != nil {
				return fail("bad token", CodeUnauthorized, "invalid credentials")
			}
			scopes := strings.Fields(claims.Scope)
			if scope != "" && !contains(scopes, scope) && !contains(scopes, ScopeAdmin) {
				return fail("missing scope", CodeForbidden, "the token lacks scope "+scope)
			}
			who := claims.Iss
			if claims.Sub != "" {
				who += "#" + claims.Sub
			}
			c.Set(ctxCaller, who)
			return next(c)
		}
	}
}

func (s *Server) matchKey(tok string) (string, []string, bool) {
	h := []byte(HashAPIKey(tok))
	for _, k := range s.keys {
		if subtle.ConstantTimeCompare(h, []byte(strings.ToLower(k.Sha256))) == 1 {
			return k.Name, k.Scopes, true
		}
	}
	return "", nil, false
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
