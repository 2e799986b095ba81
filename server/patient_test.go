package server_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
)

func TestPatientPredictions(t *testing.T) {
	f := newFakeFHIR(t, "ok")
	cfg := server.Config{InsecureDev: true, FHIRServer: f.srv.URL, FHIRToken: "fhir-token"}
	h := newHarness(t, cfg, func(d *server.Deps) { d.Extractor = obsExtractor{} })
	resp, body := h.do(exchange{method: "GET", path: "/v1/patients/" + testPatient + "/predictions"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got server.PredictionResponse
	mustDecode(t, body, &got)
	if len(got.Predictions) != 1 || len(got.Predictions[0].Warnings) != 0 || got.SchemaVersion != "test-1" {
		t.Errorf("prediction %+v", got)
	}
	if u := got.Predictions[0].Contributions[0].Unit; u != "deg" {
		t.Errorf("contribution unit %q, want the observation's deg", u)
	}
	// FHIR output references the observations behind the features.
	resp, body = h.do(exchange{method: "GET", path: "/v1/patients/" + testPatient + "/predictions",
		header: map[string]string{"Accept": "application/fhir+json"}})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"subject":{"reference":"Patient/`+testPatient+`"}`) ||
		!strings.Contains(string(body), `"basis":[{"reference":"Observation/obs-`) {
		t.Errorf("FHIR output %d: %.400s", resp.StatusCode, body)
	}
	recs, _ := h.st.Audit(context.Background(), store.AuditQuery{PatientID: testPatient})
	if len(recs) != 2 {
		t.Errorf("audit has %d records for the patient, want 2", len(recs))
	}
	resp, _ = h.do(exchange{method: "GET", path: "/v1/patients/bad%20id/predictions", skipRequestCheck: true})
	if resp.StatusCode != 400 {
		t.Errorf("malformed id: %d, want 400", resp.StatusCode)
	}
	f.mode.Store("error")
	resp, _ = h.do(exchange{method: "GET", path: "/v1/patients/" + testPatient + "/predictions"})
	if resp.StatusCode != 503 {
		t.Errorf("FHIR server failing: %d, want 503", resp.StatusCode)
	}
}

// fixedTokens is a TokenSource handing out one token and counting
// invalidations.
type fixedTokens struct {
	token       atomic.Value // string
	invalidated atomic.Int64
}

func (f *fixedTokens) Token(context.Context) (string, error) { return f.token.Load().(string), nil }
func (f *fixedTokens) Invalidate()                           { f.invalidated.Add(1) }

// With a token source (SMART Backend Services) configured, the patient
// route authorises with its token instead of the static one.
func TestPatientPredictionsTokenSource(t *testing.T) {
	f := newFakeFHIR(t, "ok") // accepts only "Bearer fhir-token"
	src := &fixedTokens{}
	src.token.Store("fhir-token")
	cfg := server.Config{InsecureDev: true, FHIRServer: f.srv.URL, FHIRToken: "stale-static-token", FHIRTokens: src}
	h := newHarness(t, cfg, func(d *server.Deps) { d.Extractor = obsExtractor{} })
	resp, body := h.do(exchange{method: "GET", path: "/v1/patients/" + testPatient + "/predictions"})
	if resp.StatusCode != 200 || src.invalidated.Load() != 0 {
		t.Fatalf("status %d (invalidated %d): %s", resp.StatusCode, src.invalidated.Load(), body)
	}
	// A token the FHIR server refuses: invalidated once per fetch, retried
	// once, then the route answers 503 (the server is unusable for us).
	src.token.Store("revoked")
	resp, _ = h.do(exchange{method: "GET", path: "/v1/patients/" + testPatient + "/predictions"})
	if resp.StatusCode != 503 || src.invalidated.Load() == 0 {
		t.Errorf("refused token: %d, invalidated %d", resp.StatusCode, src.invalidated.Load())
	}
}

func TestRESTOAuth2Scopes(t *testing.T) {
	cfg := server.Config{
		TrustedIssuers: []server.Issuer{{Iss: testEHR, JWKSFile: specPublic}},
		RESTIssuers:    []server.Issuer{{Iss: "https://auth.test/", JWKSFile: specPublic}},
		RESTAudience:   "spinecast-api",
	}
	h := newHarness(t, cfg, nil)
	tok := func(scope, aud string) string {
		now := time.Now().Unix()
		return "Bearer " + sign(t, specPrivateKey(t), jwa.ES384(), map[string]any{"kid": "example-kid"},
			map[string]any{"iss": "https://auth.test/", "aud": aud, "exp": now + 300, "iat": now, "scope": scope})
	}
	pred := mustJSON(t, map[string]any{"features": features(vertebralRow)})
	good := tok("openid spinecast/predict", "spinecast-api")
	for _, c := range []struct {
		name, auth string
		status     int
	}{
		{"predict scope", good, 200},
		{"same token again (access tokens are reusable)", good, 200},
		{"admin scope", tok("spinecast/admin", "spinecast-api"), 200},
		{"no scope", tok("openid", "spinecast-api"), 403},
		{"wrong audience", tok("spinecast/predict", "other-api"), 401},
	} {
		resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: pred, header: map[string]string{"Authorization": c.auth}})
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
		}
	}
	// A CDS Hooks JWT from the EHR is not a REST credential.
	now := time.Now().Unix()
	ehr := "Bearer " + sign(t, specPrivateKey(t), jwa.ES384(), map[string]any{"kid": "example-kid"},
		map[string]any{"iss": testEHR, "aud": "spinecast-api", "exp": now + 300, "iat": now, "jti": "x", "scope": "spinecast/predict"})
	resp, _ := h.do(exchange{method: "POST", path: "/v1/predictions", body: pred, header: map[string]string{"Authorization": ehr}})
	if resp.StatusCode != 401 {
		t.Errorf("EHR token on REST: %d, want 401", resp.StatusCode)
	}
}
