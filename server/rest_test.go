package server_test

import (
	"context"
	"math"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
)

func TestHealthReadyMetrics(t *testing.T) {
	h := newHarness(t, server.Config{InsecureDev: true}, nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, body := h.do(exchange{method: "GET", path: p})
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d, body %s", p, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", p)
		}
	}
	h.do(exchange{method: "POST", path: "/v1/predictions", body: mustJSON(t, map[string]any{"features": features(vertebralRow)})})
	_, body := h.do(exchange{method: "GET", path: "/metrics"})
	for _, want := range []string{
		`spinecast_http_request_duration_seconds_count{method="POST",route="/v1/predictions",status="200"} 1`,
		`spinecast_predictions_total{model="enet",outcome="status"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestRequestIDPropagation(t *testing.T) {
	h := newHarness(t, server.Config{InsecureDev: true}, nil)
	resp, _ := h.do(exchange{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "abc-123"}})
	if got := resp.Header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("well-formed id: got %q, want abc-123", got)
	}
	resp, _ = h.do(exchange{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "bad id\"<script>"}})
	if got := resp.Header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " \"<") {
		t.Errorf("malformed id: got %q, want a fresh safe id", got)
	}
}

func TestPredictFeatures(t *testing.T) {
	h := newHarness(t, server.Config{InsecureDev: true}, nil)
	in := features(vertebralRow)
	in["pelvic_radius"] = nil  // missing → imputed
	in["pelvic_tilt"] = 1000.0 // outside the training range
	in["not_a_feature"] = 1.0  // unused
	resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: mustJSON(t, map[string]any{"features": in})})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got server.PredictionResponse
	mustDecode(t, body, &got)
	if !got.Demonstration || got.Notice == "" {
		t.Errorf("demonstration flag / notice missing: %v %q", got.Demonstration, got.Notice)
	}
	if len(got.Predictions) != 1 {
		t.Fatalf("got %d predictions, want 1 (one outcome)", len(got.Predictions))
	}
	p := got.Predictions[0]
	if p.Model.ID != "enet" || !p.Model.Default {
		t.Errorf("model %+v, want the default enet", p.Model)
	}
	// The served figures are the scorer's, computed here independently.
	reg := mustRegistry(t)
	m, _ := reg.Model("enet")
	raw := make([]float64, len(m.Artifact.Features))
	for j, f := range m.Artifact.Features {
		switch v := in[f.Name].(type) {
		case float64:
			raw[j] = v
		default:
			raw[j] = math.NaN()
		}
	}
	want, err := m.Scorer.Score(raw, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Probability != want.Probability || p.Interval.Lower != want.Lower || p.Interval.Upper != want.Upper {
		t.Errorf("probability %v [%v, %v], scorer says %v [%v, %v]", p.Probability, p.Interval.Lower, p.Interval.Upper,
			want.Probability, want.Lower, want.Upper)
	}
	if !(p.Interval.Lower <= p.Probability && p.Probability <= p.Interval.Upper) {
		t.Errorf("interval [%v, %v] does not contain %v", p.Interval.Lower, p.Interval.Upper, p.Probability)
	}
	if p.Model.Sha256 != m.Artifact.Sha256 || p.Model.Version != m.Artifact.Sha256[:12] {
		t.Errorf("model sha %s version %s, artifact %s", p.Model.Sha256, p.Model.Version, m.Artifact.Sha256)
	}
	if len(p.Contributions) != 5 {
		t.Errorf("got %d contributions, want the top 5", len(p.Contributions))
	}
	for i := 1; i < len(p.Contributions); i++ {
		if math.Abs(p.Contributions[i].Contribution) > math.Abs(p.Contributions[i-1].Contribution) {
			t.Errorf("contributions not sorted by |value|: %+v", p.Contributions)
		}
	}
	codes := map[string]string{}
	for _, w := range p.Warnings {
		codes[w.Feature] = w.Code
	}
	if codes["pelvic_radius"] != "missing-input" || codes["pelvic_tilt"] != "out-of-range" {
		t.Errorf("per-prediction warnings %+v, want missing pelvic_radius and out-of-range pelvic_tilt", p.Warnings)
	}
	if len(got.Warnings) != 1 || got.Warnings[0].Code != "unused-input" || got.Warnings[0].Feature != "not_a_feature" {
		t.Errorf("response warnings %+v, want unused not_a_feature", got.Warnings)
	}
	// Choosing the algorithm.
	_, body = h.do(exchange{method: "POST", path: "/v1/predictions",
		body: mustJSON(t, map[string]any{"features": features(vertebralRow), "algorithm": "random-forest", "outcomes": []string{"status"}})})
	mustDecode(t, body, &got)
	if len(got.Predictions) != 1 || got.Predictions[0].Model.ID != "forest" || got.Predictions[0].Interval.Method != "infinitesimal-jackknife" {
		t.Errorf("algorithm random-forest: got %+v", got.Predictions)
	}
	// The audit trail has both calls with their models.
	recs, err := h.st.Audit(context.Background(), store.AuditQuery{Since: recsSinceEpoch})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Kind != "prediction" || len(recs[0].Models) != 1 || recs[0].Models[0].ModelID != "enet" ||
		recs[0].Models[0].Probability != p.Probability || recs[0].Caller != "insecure-dev" || recs[1].Models[0].ModelID != "forest" {
		t.Errorf("audit records %+v", recs)
	}
}

func TestPredictFHIR(t *testing.T) {
	h := newHarness(t, server.Config{InsecureDev: true}, nil)
	req := mustJSON(t, map[string]any{"features": features(vertebralRow)})
	_, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: req})
	var plain server.PredictionResponse
	mustDecode(t, body, &plain)
	resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: req, header: map[string]string{"Accept": "application/fhir+json"}})
	if resp.StatusCode != 200 || contentType(resp) != "application/fhir+json" {
		t.Fatalf("status %d content type %q: %s", resp.StatusCode, contentType(resp), body)
	}
	var b struct {
		ResourceType string
		Type         string
		Entry        []struct {
			Resource struct {
				ResourceType string
				Status       string
				Method       struct{ Text string }
				Subject      struct{ Display string }
				Prediction   []struct {
					ProbabilityDecimal float64
					Rationale          string
					Extension          []struct {
						URL        string
						ValueRange struct{ Low, High struct{ Value float64 } }
					}
				}
				Note []struct{ Text string }
			}
		}
	}
	mustDecode(t, body, &b)
	if b.ResourceType != "Bundle" || len(b.Entry) != 1 {
		t.Fatalf("got %s with %d entries, want a Bundle of 1 RiskAssessment", b.ResourceType, len(b.Entry))
	}
	ra := b.Entry[0].Resource
	pr := ra.Prediction[0]
	// The documented convention: a fraction equal to the JSON probability.
	if pr.ProbabilityDecimal != plain.Predictions[0].Probability || pr.ProbabilityDecimal < 0 || pr.ProbabilityDecimal > 1 {
		t.Errorf("probabilityDecimal %v, JSON probability %v: want the same fraction in [0, 1]", pr.ProbabilityDecimal, plain.Predictions[0].Probability)
	}
	if len(pr.Extension) != 1 || pr.Extension[0].URL != server.IntervalExtension ||
		pr.Extension[0].ValueRange.Low.Value != plain.Predictions[0].Interval.Lower || pr.Extension[0].ValueRange.High.Value != plain.Predictions[0].Interval.Upper {
		t.Errorf("interval extension %+v", pr.Extension)
	}
	if !strings.Contains(ra.Method.Text, plain.Predictions[0].Model.Sha256) || !strings.HasPrefix(pr.Rationale, "Top factors: ") {
		t.Errorf("method %q / rationale %q", ra.Method.Text, pr.Rationale)
	}
	if len(ra.Note) != 1 || ra.Note[0].Text != server.Notice {
		t.Errorf("note %+v, want the demonstration notice", ra.Note)
	}
}

// TestProbabilityDecimalConvention pins the convention to the FHIR R4
// example it follows: RiskAssessment-cardiac says "2%" in its narrative
// and writes probabilityDecimal 0.02.
func TestProbabilityDecimalConvention(t *testing.T) {
	b, err := os.ReadFile("testdata/fhir/RiskAssessment-cardiac.json")
	if err != nil {
		t.Fatal(err)
	}
	var ra struct {
		Text       struct{ Div string }
		Prediction []struct{ ProbabilityDecimal float64 }
	}
	mustDecode(t, b, &ra)
	m := regexp.MustCompile(`<td>(\d+)%`).FindStringSubmatch(ra.Text.Div)
	if m == nil {
		t.Fatal("narrative has no percentage")
	}
	pct, _ := strconv.ParseFloat(m[1], 64)
	if got := ra.Prediction[0].ProbabilityDecimal; got != pct/100 {
		t.Errorf("example: narrative %v%%, probabilityDecimal %v: the fraction convention does not hold", pct, got)
	}
}

func TestPredictErrors(t *testing.T) {
	h := newHarness(t, server.Config{InsecureDev: true, BodyLimit: 2048}, nil)
	big := `{"features":{"pelvic_incidence":` + strings.Repeat(" ", 4096) + `1}}`
	for _, c := range []struct {
		name, body, ctype, accept string
		status                    int
		code                      string
	}{
		{"malformed JSON", `{"features":`, "", "", 400, "invalid"},
		{"not an object", `[1,2]`, "", "", 400, "invalid"},
		{"string feature", `{"features":{"pelvic_incidence":"high"}}`, "", "", 400, "invalid"},
		{"unknown field", `{"features":{},"colour":"red"}`, "", "", 400, "invalid"},
		{"no features", `{"outcomes":["status"]}`, "", "", 400, "invalid"},
		{"trailing data", `{"features":{}} {}`, "", "", 400, "invalid"},
		{"unknown outcome", `{"features":{},"outcomes":["nope"]}`, "", "", 422, "unprocessable"},
		{"algorithm without model", `{"features":{},"algorithm":"mlp"}`, "", "", 422, "unprocessable"},
		{"FHIR resource not a Bundle", `{"resourceType":"Patient","id":"x"}`, "", "", 422, "unprocessable"},
		{"Bundle without pipeline", `{"resourceType":"Bundle","type":"collection","entry":[]}`, "", "", 501, "not-implemented"},
		{"wrong content type", `{"features":{}}`, "text/plain", "", 415, "unsupported"},
		{"not acceptable", `{"features":{}}`, "", "text/csv", 406, "not-acceptable"},
		{"body too large", big, "", "", 413, "too-large"},
		{"huge number", `{"features":{"pelvic_incidence":1e999}}`, "", "", 400, "invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.ctype != "" {
				hdr["Content-Type"] = c.ctype
			}
			if c.accept != "" {
				hdr["Accept"] = c.accept
			}
			resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: []byte(c.body), header: hdr, skipRequestCheck: true})
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if contentType(resp) != "application/problem+json" {
				t.Errorf("content type %q, want application/problem+json", contentType(resp))
			}
			var p server.Problem
			mustDecode(t, body, &p)
			if string(p.Code) != c.code || p.Status != c.status || p.Type != server.ProblemTypeBase+c.code || p.Detail == "" {
				t.Errorf("problem %+v, want code %s", p, c.code)
			}
		})
	}
	// With Accept: application/fhir+json errors are OperationOutcomes.
	resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: []byte(`{"features":{},"outcomes":["nope"]}`),
		header: map[string]string{"Accept": "application/fhir+json"}})
	if resp.StatusCode != 422 || contentType(resp) != "application/fhir+json" || !strings.Contains(string(body), `"resourceType":"OperationOutcome"`) {
		t.Errorf("FHIR error: %d %s %s", resp.StatusCode, contentType(resp), body)
	}
}

func TestModelRoutes(t *testing.T) {
	h := newHarness(t, server.Config{InsecureDev: true}, nil)
	_, body := h.do(exchange{method: "GET", path: "/v1/models"})
	var list struct{ Models []server.ModelSummary }
	mustDecode(t, body, &list)
	if len(list.Models) != 2 || list.Models[0].ID != "enet" || !list.Models[0].Default || list.Models[1].Default {
		t.Errorf("models %+v", list.Models)
	}
	resp, body := h.do(exchange{method: "GET", path: "/v1/models/forest"})
	var d server.ModelDetail
	mustDecode(t, body, &d)
	if resp.StatusCode != 200 || d.ID != "forest" || len(d.FeatureStats) != 6 || d.Uncertainty != "infinitesimal-jackknife" {
		t.Errorf("model detail %d %+v", resp.StatusCode, d.ModelSummary)
	}
	resp, _ = h.do(exchange{method: "GET", path: "/v1/models/nope"})
	if resp.StatusCode != 404 {
		t.Errorf("unknown model: %d", resp.StatusCode)
	}
	resp, body = h.do(exchange{method: "GET", path: "/v1/models/enet/card", header: map[string]string{"Accept": "text/markdown"}})
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "# Model enet") || !strings.Contains(string(body), server.Notice) {
		t.Errorf("markdown card %d: %.200s", resp.StatusCode, body)
	}
	resp, body = h.do(exchange{method: "GET", path: "/v1/models/enet/card", header: map[string]string{"Accept": "text/html"}})
	if resp.StatusCode != 200 || contentType(resp) != "text/html" || !strings.Contains(string(body), "<h1>Model enet</h1>") {
		t.Errorf("html card %d %s: %.200s", resp.StatusCode, contentType(resp), body)
	}
	resp, _ = h.do(exchange{method: "GET", path: "/v1/models/enet/card", header: map[string]string{"Accept": "image/png"}})
	if resp.StatusCode != 406 {
		t.Errorf("card as png: %d, want 406", resp.StatusCode)
	}
	_, body = h.do(exchange{method: "GET", path: "/v1/outcomes"})
	var oc struct{ Outcomes []server.OutcomeInfo }
	mustDecode(t, body, &oc)
	if len(oc.Outcomes) != 1 || oc.Outcomes[0].ID != "status" || oc.Outcomes[0].DefaultModel != "enet" || len(oc.Outcomes[0].Models) != 2 {
		t.Errorf("outcomes %+v", oc.Outcomes)
	}
	resp, _ = h.do(exchange{method: "GET", path: "/v1/features/schema"})
	if resp.StatusCode != 501 {
		t.Errorf("schema without pipeline: %d, want 501", resp.StatusCode)
	}
	resp, _ = h.do(exchange{method: "GET", path: "/v1/patients/p1/predictions"})
	if resp.StatusCode != 501 {
		t.Errorf("patient predictions without FHIR server: %d, want 501", resp.StatusCode)
	}
}

func TestRESTAPIKeys(t *testing.T) {
	cfg := server.Config{
		APIKeys: []server.APIKey{
			{Name: "predictor", Sha256: server.HashAPIKey("k-predict"), Scopes: []string{server.ScopePredict}},
			{Name: "reader", Sha256: server.HashAPIKey("k-read")},
		},
		TrustedIssuers: []server.Issuer{{Iss: "https://ehr.example/", JWKSFile: "testdata/cdshooks/hl7-spec__json-web-key-set-public-key__27.json"}},
	}
	h := newHarness(t, cfg, nil)
	pred := mustJSON(t, map[string]any{"features": features(vertebralRow)})
	for _, c := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"no credentials", nil, 401},
		{"wrong key", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"key without scope", map[string]string{"Authorization": "Bearer k-read"}, 403},
		{"bearer key", map[string]string{"Authorization": "Bearer k-predict"}, 200},
		{"X-API-Key", map[string]string{"X-API-Key": "k-predict"}, 200},
	} {
		resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: pred, header: c.hdr})
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
		}
	}
	resp, _ := h.do(exchange{method: "GET", path: "/v1/models", header: map[string]string{"X-API-Key": "k-read"}})
	if resp.StatusCode != 200 {
		t.Errorf("reader lists models: %d", resp.StatusCode)
	}
	recs, _ := h.st.Audit(context.Background(), store.AuditQuery{Since: recsSinceEpoch})
	if len(recs) != 2 || recs[0].Caller != "key:predictor" {
		t.Errorf("audit %+v, want 2 records by key:predictor", recs)
	}
}

func TestInsecureDevOnlyOnLoopback(t *testing.T) {
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(server.Config{InsecureDev: true}, server.Deps{Models: mustRegistry(t), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Serve(context.Background(), fakeListener{addr: "192.0.2.1:8080"})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Serve on a non-loopback address with --insecure-dev: %v, want a refusal", err)
	}
	if _, err := server.New(server.Config{}, server.Deps{Models: mustRegistry(t), Store: st}); err == nil {
		t.Error("New without credentials and without InsecureDev: no error")
	}
}

var _ = http.StatusOK

// A model trained for a versioned outcome definition is served under that
// outcome's id, with its version in /v1/models, /v1/outcomes and every
// prediction.
func TestOutcomeDefinitionFromArtifact(t *testing.T) {
	a := *mustArtifacts(t)["enet"] // a shallow copy: only Outcome and the seal change
	a.Outcome = &models.OutcomeRef{ID: "abnormal_spine", Version: "3"}
	if err := a.Seal(); err != nil {
		t.Fatal(err)
	}
	reg, err := server.NewRegistry(map[string]*models.Artifact{"enet": &a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, server.Config{InsecureDev: true}, func(d *server.Deps) { d.Models = reg })
	_, body := h.do(exchange{method: "GET", path: "/v1/models"})
	var list struct{ Models []server.ModelSummary }
	mustDecode(t, body, &list)
	if len(list.Models) != 1 || list.Models[0].Outcome != "abnormal_spine" || list.Models[0].OutcomeVer != "3" {
		t.Errorf("models %+v", list.Models)
	}
	_, body = h.do(exchange{method: "GET", path: "/v1/outcomes"})
	var oc struct{ Outcomes []server.OutcomeInfo }
	mustDecode(t, body, &oc)
	if len(oc.Outcomes) != 1 || oc.Outcomes[0].ID != "abnormal_spine" || oc.Outcomes[0].Version != "3" {
		t.Errorf("outcomes %+v", oc.Outcomes)
	}
	resp, body := h.do(exchange{method: "POST", path: "/v1/predictions", body: mustJSON(t, map[string]any{"features": features(vertebralRow)})})
	var got server.PredictionResponse
	mustDecode(t, body, &got)
	if resp.StatusCode != 200 || len(got.Predictions) != 1 || got.Predictions[0].Outcome.ID != "abnormal_spine" || got.Predictions[0].Outcome.Version != "3" {
		t.Errorf("prediction %d %+v", resp.StatusCode, got.Predictions)
	}
}
