package fhir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// TokenSource hands out bearer tokens for a FHIR server. Client calls it
// before each request; Invalidate is called when the server answers 401,
// so that the next Token fetches a fresh one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate()
}

// BackendServices obtains access tokens with the SMART App Launch
// "Backend Services" profile (client_credentials grant with a signed JWT
// client assertion, RFC 7523 / SMART v2 §Backend Services): the client
// signs {iss = sub = ClientID, aud = TokenURL, exp ≤ 5 minutes, jti} with
// its private key (RS384 or ES384, the algorithms the profile requires
// servers to support) and posts it to the token endpoint; the access token
// is cached until a minute before it expires. Safe for concurrent use.
type BackendServices struct {
	// TokenURL is the authorization server's token endpoint (see
	// DiscoverTokenURL).
	TokenURL string
	// ClientID is the id the EHR registered this service under.
	ClientID string
	// Key is the private key whose public half the EHR holds (by kid); its
	// "alg" must be RS384 or ES384.
	Key jwk.Key
	// Scope is the requested scope, e.g. "system/Patient.rs system/Observation.rs".
	Scope string
	// HTTP is the client for the token endpoint; nil: a client with a 10 s timeout.
	HTTP *http.Client
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   float64 `json:"expires_in"`
	Scope       string  `json:"scope"`
}

// maxTokenResponse caps the token endpoint's answer.
const maxTokenResponse = 64 << 10

// Token returns a cached access token or obtains a new one. Errors never
// contain the assertion, the token or the key.
func (b *BackendServices) Token(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.token != "" && now.Before(b.expires) {
		return b.token, nil
	}
	assertion, err := b.assertion(now)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {b.Scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("smart backend services: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	hc := b.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("smart backend services: token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		return "", fmt.Errorf("smart backend services: token endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// RFC 6749 §5.2 error codes are safe to show; descriptions may
		// echo input, so they are left out.
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Error != "" && len(e.Error) <= 64 && !strings.ContainsAny(e.Error, " \n\"") {
			return "", fmt.Errorf("smart backend services: token endpoint answered %d (%s)", resp.StatusCode, e.Error)
		}
		return "", fmt.Errorf("smart backend services: token endpoint answered %d", resp.StatusCode)
	}
	if len(body) > maxTokenResponse {
		return "", errors.New("smart backend services: token response too large")
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", errors.New("smart backend services: token response is not JSON")
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") {
		return "", errors.New("smart backend services: token response lacks a bearer access_token")
	}
	life := time.Duration(tr.ExpiresIn * float64(time.Second))
	if life <= 0 {
		life = 5 * time.Minute // the profile's recommended lifetime when none is stated
	}
	// Renew a minute early (or halfway, for very short tokens).
	b.token, b.expires = tr.AccessToken, now.Add(life-min(time.Minute, life/2))
	return b.token, nil
}

// Check validates the settings and signs one client assertion without
// contacting the token endpoint, so that a misconfigured key fails when a
// server starts rather than at its first request.
func (b *BackendServices) Check() error {
	_, err := b.assertion(b.now())
	return err
}

// Invalidate drops the cached token.
func (b *BackendServices) Invalidate() {
	b.mu.Lock()
	b.token = ""
	b.mu.Unlock()
}

func (b *BackendServices) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// assertion signs the client assertion JWT.
func (b *BackendServices) assertion(now time.Time) (string, error) {
	if b.TokenURL == "" || b.ClientID == "" || b.Key == nil {
		return "", errors.New("smart backend services: token URL, client id and key are required")
	}
	alg, ok := b.Key.Algorithm()
	if !ok {
		return "", errors.New("smart backend services: the key names no alg (want RS384 or ES384)")
	}
	var sig jwa.SignatureAlgorithm
	switch alg.String() {
	case jwa.RS384().String():
		sig = jwa.RS384()
	case jwa.ES384().String():
		sig = jwa.ES384()
	default:
		return "", fmt.Errorf("smart backend services: key alg %s: want RS384 or ES384", alg)
	}
	if _, ok := b.Key.KeyID(); !ok {
		return "", errors.New("smart backend services: the key has no kid (the EHR finds the public key by it)")
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("smart backend services: %w", err)
	}
	claims, err := json.Marshal(map[string]any{
		"iss": b.ClientID, "sub": b.ClientID, "aud": b.TokenURL,
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": hex.EncodeToString(jti),
	})
	if err != nil {
		return "", fmt.Errorf("smart backend services: %w", err)
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("smart backend services: %w", err)
	}
	tok, err := jws.Sign(claims, jws.WithKey(sig, b.Key, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("smart backend services: sign the client assertion: %w", err)
	}
	return string(tok), nil
}

// DiscoverTokenURL reads the token endpoint from the FHIR server's
// .well-known/smart-configuration (SMART App Launch v2 §Discovery).
func DiscoverTokenURL(ctx context.Context, hc *http.Client, fhirBase string) (string, error) {
	base, err := url.Parse(strings.TrimRight(fhirBase, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return "", errors.New("smart discovery: FHIR base must be an http(s) URL")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+"/.well-known/smart-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("smart discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("smart discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("smart discovery: %s answered %d", req.URL.Redacted(), resp.StatusCode)
	}
	var cfg struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTokenResponse)).Decode(&cfg); err != nil {
		return "", errors.New("smart discovery: smart-configuration is not JSON")
	}
	u, err := url.Parse(cfg.TokenEndpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return "", errors.New("smart discovery: token_endpoint must be an https URL (http only on loopback)")
	}
	return u.String(), nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
