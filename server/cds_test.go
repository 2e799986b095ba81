package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
)

const testEHR = "https://ehr.test/"

var jtiSeq atomic.Int64

// cdsHarness is a server that trusts the spec's example key for issuer
// testEHR, with the observation extractor and a fake FHIR server.
type cdsHarness struct {
	*harness
	fhir *fakeFHIR
}

func newCDSHarness(t *testing.T, mode string) *cdsHarness {
	t.Helper()
	f := newFakeFHIR(t, mode)
	cfg := server.Config{
		TrustedIssuers: []server.Issuer{{Iss: testEHR, JWKSFile: specPublic}},
		APIKeys:        []server.APIKey{{Name: "k", Sha256: server.HashAPIKey("k"), Scopes: []string{server.ScopePredict}}},
		FHIRAllowlist:  []string{f.srv.URL},
		CDSDeadline:    400 * time.Millisecond,
		Thresholds:     map[string]server.Threshold{"status": {Warning: 0.5, Critical: 0.9}},
	}
	h := newHarness(t, cfg, func(d *server.Deps) { d.Extractor = obsExtractor{} })
	return &cdsHarness{harness: h, fhir: f}
}

// jwt returns an Authorization header for a call to path.
func (h *cdsHarness) jwt(path string) string {
	now := time.Now().Unix()
	return "Bearer " + sign(h.t, specPrivateKey(h.t), jwa.ES384(), map[string]any{"kid": "example-kid", "typ": "JWT"},
		map[string]any{"iss": testEHR, "aud": h.base + path, "exp": now + 300, "iat": now, "jti": fmt.Sprintf("jti-%d", jtiSeq.Add(1))})
}

func (h *cdsHarness) call(path string, body []byte) (*http.Response, []byte) {
	h.t.Helper()
	return h.do(exchange{method: "POST", path: path, body: body, header: map[string]string{"Authorization": h.jwt(path)}})
}

// fakeFHIR serves one patient's record; mode changes its behaviour.
type fakeFHIR struct {
	srv       *httptest.Server
	mode      atomic.Value // string
	calls     atomic.Int64
	throttled sync.Map // path → true once answered 429
}

const testPatient = "pat-1"

func patientResource() map[string]any {
	return map[string]any{"resourceType": "Patient", "id": testPatient, "gender": "female", "birthDate": "1960-01-01"}
}

func observationsBundle(values map[string]float64) map[string]any {
	var entries []any
	i := 0
	for _, k := range slices.Sorted(maps.Keys(values)) {
		v := values[k]
		i++
		entries = append(entries, map[string]any{"resource": map[string]any{
			"resourceType": "Observation", "id": fmt.Sprintf("obs-%d", i), "status": "final",
			"code": map[string]any{"text": k}, "subject": map[string]any{"reference": "Patient/" + testPatient},
			"valueQuantity": map[string]any{"value": v, "unit": "deg"}}, "search": map[string]any{"mode": "match"}})
	}
	return map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": entries}
}

func emptySearch() map[string]any {
	return map[string]any{"resourceType": "Bundle", "type": "searchset", "total": 0}
}

func newFakeFHIR(t *testing.T, mode string) *fakeFHIR {
	f := &fakeFHIR{}
	f.mode.Store(mode)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer fhir-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch f.mode.Load().(string) {
		case "slow":
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
		case "garbage":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>oops</html>"))
			return
		case "wrong-type":
			json.NewEncoder(w).Encode(map[string]any{"resourceType": "OperationOutcome", "issue": []any{}})
			return
		case "error":
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		case "throttled": // each path's first request: 429 without Retry-After
			if _, seen := f.throttled.LoadOrStore(r.URL.Path, true); !seen {
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
		case "throttled-long": // asks for a wait far past the CDS deadline
			w.Header().Set("Retry-After", "120")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		case "no-imaging": // everything but ImagingStudy searches works
			if r.URL.Path == "/ImagingStudy" {
				http.Error(w, "not supported", http.StatusBadRequest)
				return
			}
		case "slow-imaging": // ImagingStudy searches hang past the deadline
			if r.URL.Path == "/ImagingStudy" {
				select {
				case <-time.After(3 * time.Second):
				case <-r.Context().Done():
				}
				return
			}
		case "paged": // observations over two pages
			if r.URL.Path == "/Observation" {
				obs := observationsBundle(vertebralRow)
				entries := obs["entry"].([]any)
				if r.URL.Query().Get("page") == "2" {
					obs["entry"] = entries[3:]
				} else {
					obs["entry"] = entries[:3]
					obs["link"] = []any{map[string]any{"relation": "next", "url": f.srv.URL + "/Observation?patient=" + testPatient + "&page=2"}}
				}
				json.NewEncoder(w).Encode(obs)
				return
			}
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case r.URL.Path == "/Patient/"+testPatient:
			json.NewEncoder(w).Encode(patientResource())
		case r.URL.Path == "/Observation" && r.URL.Query().Get("patient") == testPatient:
			json.NewEncoder(w).Encode(observationsBundle(vertebralRow))
		case strings.Count(r.URL.Path, "/") == 1:
			json.NewEncoder(w).Encode(emptySearch())
		default:
			http.NotFound(w, r)
		}
	}))
	if mode == "down" {
		f.srv.Close()
	} else {
		t.Cleanup(f.srv.Close)
	}
	return f
}

func fullPrefetch() map[string]any {
	return map[string]any{
		"patient": patientResource(), "observations": observationsBundle(vertebralRow),
		"conditions": emptySearch(), "questionnaireResponses": emptySearch(), "procedures": emptySearch(),
		"medicationStatements": emptySearch(), "imagingStudies": emptySearch(),
	}
}

func hookRequest(hook string, prefetch map[string]any, fhirServer string) map[string]any {
	r := map[string]any{
		"hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
		"context": map[string]any{"userId": "Practitioner/example", "patientId": testPatient},
	}
	if prefetch != nil {
		r["prefetch"] = prefetch
	}
	if fhirServer != "" {
		r["fhirServer"] = fhirServer
		r["fhirAuthorization"] = map[string]any{"access_token": "fhir-token", "token_type": "Bearer", "expires_in": 300,
			"scope": "user/Patient.read user/Observation.read", "subject": "spinecast"}
	}
	return r
}

// checkCard applies the CDS Hooks 2.0 rules on cards.
func checkCard(t *testing.T, raw json.RawMessage) { checkCardExcept(t, raw, "") }

// checkCardExcept skips one named rule (for the spec's own examples that
// break it; see TestSpecExamples).
func checkCardExcept(t *testing.T, raw json.RawMessage, skip string) {
	t.Helper()
	var c map[string]json.RawMessage
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("card: %v", err)
	}
	var summary, indicator string
	json.Unmarshal(c["summary"], &summary)
	json.Unmarshal(c["indicator"], &indicator)
	if summary == "" || utf8.RuneCountInString(summary) >= 140 {
		t.Errorf("summary %q: must be present and under 140 characters", summary)
	}
	switch indicator {
	case "info", "warning", "critical":
	case "":
		if skip != "indicator" {
			t.Errorf("indicator missing (REQUIRED)")
		}
	default:
		t.Errorf("indicator %q not info/warning/critical", indicator)
	}
	var src struct{ Label string }
	if err := json.Unmarshal(c["source"], &src); err != nil || src.Label == "" {
		t.Errorf("source.label missing: %s", c["source"])
	}
	if sugg, ok := c["suggestions"]; ok && string(sugg) != "[]" {
		var sb string
		if json.Unmarshal(c["selectionBehavior"], &sb); sb != "at-most-one" && sb != "any" {
			t.Errorf("card with suggestions has selectionBehavior %q", sb)
		}
	}
	if links, ok := c["links"]; ok {
		var ls []struct{ Label, URL, Type string }
		json.Unmarshal(links, &ls)
		for _, l := range ls {
			if l.Label == "" || l.URL == "" || (l.Type != "absolute" && l.Type != "smart") {
				t.Errorf("link %+v", l)
			}
		}
	}
}

func cardsOf(t *testing.T, body []byte) []json.RawMessage {
	t.Helper()
	var r struct{ Cards []json.RawMessage }
	mustDecode(t, body, &r)
	if r.Cards == nil {
		t.Fatalf("no cards array in %s", body)
	}
	return r.Cards
}

func TestCDSDiscovery(t *testing.T) {
	h := newCDSHarness(t, "ok")
	resp, body := h.do(exchange{method: "GET", path: "/cds-services"})
	if resp.StatusCode != 401 || len(body) != 0 {
		t.Errorf("discovery without JWT: %d %q, want a bare 401", resp.StatusCode, body)
	}
	resp, body = h.do(exchange{method: "GET", path: "/cds-services", header: map[string]string{"Authorization": h.jwt("/cds-services")}})
	if resp.StatusCode != 200 {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	var d struct {
		Services []struct {
			Hook, ID, Description string
			Prefetch              map[string]string
		}
	}
	mustDecode(t, body, &d)
	got := map[string]bool{}
	for _, s := range d.Services {
		got[s.ID+" "+s.Hook] = true
		if s.Description == "" || len(s.Prefetch) == 0 {
			t.Errorf("service %s/%s lacks description or prefetch", s.ID, s.Hook)
		}
		for k, tpl := range s.Prefetch {
			if !strings.Contains(tpl, "{{context.patientId}}") {
				t.Errorf("prefetch %s = %q is not patient-scoped", k, tpl)
			}
		}
	}
	for _, want := range []string{"spine-surgery-outcomes patient-view", "spine-surgery-outcomes order-select",
		"spine-surgery-outcomes order-sign", "tfesi-response order-select", "tfesi-response order-sign"} {
		if !got[want] {
			t.Errorf("discovery lacks %s", want)
		}
	}
	// A token minted for another endpoint is refused.
	resp, _ = h.do(exchange{method: "GET", path: "/cds-services", header: map[string]string{"Authorization": h.jwt("/cds-services/spine-surgery-outcomes")}})
	if resp.StatusCode != 401 {
		t.Errorf("token for another aud: %d, want 401", resp.StatusCode)
	}
	// A REST API key is not a CDS credential.
	resp, _ = h.do(exchange{method: "GET", path: "/cds-services", header: map[string]string{"Authorization": "Bearer k"}})
	if resp.StatusCode != 401 {
		t.Errorf("API key on CDS: %d, want 401", resp.StatusCode)
	}
}

func TestCDSFullPrefetch(t *testing.T) {
	h := newCDSHarness(t, "ok")
	path := "/cds-services/spine-surgery-outcomes"
	resp, body := h.call(path, mustJSON(t, hookRequest("patient-view", fullPrefetch(), "")))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	cards := cardsOf(t, body)
	if len(cards) != 1 {
		t.Fatalf("got %d cards, want 1 (one outcome)", len(cards))
	}
	checkCard(t, cards[0])
	var c server.Card
	mustDecode(t, cards[0], &c)
	if !strings.Contains(c.Source.Label, "enet") || !strings.Contains(c.Detail, server.Notice) || !strings.Contains(c.Summary, "%") {
		t.Errorf("card %+v", c)
	}
	if h.fhir.calls.Load() != 0 {
		t.Errorf("full prefetch made %d FHIR calls, want 0", h.fhir.calls.Load())
	}
	// The indicator follows the thresholds: this patient is Abnormal with a
	// high predicted probability.
	var rest server.PredictionResponse
	_, rb := h.do(exchange{method: "POST", path: "/v1/predictions", body: mustJSON(t, map[string]any{"features": features(vertebralRow)}),
		header: map[string]string{"X-API-Key": "k"}})
	mustDecode(t, rb, &rest)
	p := rest.Predictions[0].Probability
	want := "info"
	if p >= 0.9 {
		want = "critical"
	} else if p >= 0.5 {
		want = "warning"
	}
	if c.Indicator != want {
		t.Errorf("indicator %s for p=%v, want %s", c.Indicator, p, want)
	}
	recs, err := h.st.Audit(context.Background(), store.AuditQuery{PatientID: testPatient})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Kind != "cds" || recs[0].Hook != "patient-view" || recs[0].Caller != testEHR ||
		recs[0].HookInstance != "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea" || len(recs[0].Models) != 1 {
		t.Errorf("audit %+v", recs)
	}
}

func TestCDSPartialPrefetchFetches(t *testing.T) {
	h := newCDSHarness(t, "ok")
	pre := fullPrefetch()
	delete(pre, "observations")
	pre["procedures"] = nil // the EHR could not prefetch it
	resp, body := h.call("/cds-services/spine-surgery-outcomes", mustJSON(t, hookRequest("patient-view", pre, h.fhir.srv.URL)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if n := h.fhir.calls.Load(); n != 2 {
		t.Errorf("made %d FHIR calls, want 2 (observations, procedures)", n)
	}
	cards := cardsOf(t, body)
	if len(cards) != 1 {
		t.Fatalf("got %d cards", len(cards))
	}
	var c server.Card
	mustDecode(t, cards[0], &c)
	if strings.Contains(c.Detail, "imputed") {
		t.Errorf("fetched observations were not used: %s", c.Detail)
	}
}

// What the FHIR server sends back may be paged or throttled: every page is
// read (the fetched observations all reach the features) and a 429 is
// retried within the deadline.
func TestCDSFetchPagesAndRetries(t *testing.T) {
	for _, tc := range []struct {
		mode  string
		calls int64
	}{{"paged", 3}, {"throttled", 4}} {
		t.Run(tc.mode, func(t *testing.T) {
			h := newCDSHarness(t, tc.mode)
			pre := fullPrefetch()
			delete(pre, "observations")
			pre["procedures"] = nil
			resp, body := h.call("/cds-services/spine-surgery-outcomes", mustJSON(t, hookRequest("patient-view", pre, h.fhir.srv.URL)))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if n := h.fhir.calls.Load(); n != tc.calls {
				t.Errorf("made %d FHIR calls, want %d", n, tc.calls)
			}
			var c server.Card
			mustDecode(t, cardsOf(t, body)[0], &c)
			if strings.Contains(c.Detail, "imputed") {
				t.Errorf("some fetched observations were not used: %s", c.Detail)
			}
		})
	}
}

// Imaging studies are an optional input: a missing imagingStudies prefetch
// that cannot be fetched (no fhirServer, or the server fails on it) leaves
// the imaging inputs missing and the service answers.
func TestCDSImagingPrefetchIsOptional(t *testing.T) {
	pre := fullPrefetch()
	delete(pre, "imagingStudies")
	h := newCDSHarness(t, "ok")
	resp, body := h.call("/cds-services/spine-surgery-outcomes", mustJSON(t, hookRequest("patient-view", pre, "")))
	if resp.StatusCode != 200 || len(cardsOf(t, body)) != 1 {
		t.Errorf("no imaging prefetch, no fhirServer: %d %s", resp.StatusCode, body)
	}
	h = newCDSHarness(t, "no-imaging")
	delete(pre, "procedures")
	resp, body = h.call("/cds-services/spine-surgery-outcomes", mustJSON(t, hookRequest("patient-view", pre, h.fhir.srv.URL)))
	if resp.StatusCode != 200 || h.fhir.calls.Load() != 2 {
		t.Errorf("ImagingStudy search failing: %d after %d calls: %s", resp.StatusCode, h.fhir.calls.Load(), body)
	}
	// A hanging ImagingStudy search gets half the deadline: the call still
	// answers in time, without imaging.
	h = newCDSHarness(t, "slow-imaging")
	start := time.Now()
	resp, body = h.call("/cds-services/spine-surgery-outcomes", mustJSON(t, hookRequest("patient-view", pre, h.fhir.srv.URL)))
	if resp.StatusCode != 200 || time.Since(start) > 2*time.Second {
		t.Errorf("ImagingStudy search hanging: %d after %v: %s", resp.StatusCode, time.Since(start), body)
	}
	// A required key still cannot be skipped.
	delete(pre, "observations")
	resp, _ = h.call("/cds-services/spine-surgery-outcomes", mustJSON(t, hookRequest("patient-view", pre, "")))
	if resp.StatusCode != 412 {
		t.Errorf("observations missing: %d, want 412", resp.StatusCode)
	}
}

func TestCDSPreconditionFailed(t *testing.T) {
	noObs := fullPrefetch()
	delete(noObs, "observations")
	for _, c := range []struct {
		name, mode string
		withServer bool
		allowlist  bool
	}{
		{"no prefetch, no fhirServer", "ok", false, true},
		{"fhirServer not on the allowlist", "ok", true, false},
		{"FHIR server down", "down", true, true},
		{"FHIR server slow", "slow", true, true},
		{"FHIR server returns garbage", "garbage", true, true},
		{"FHIR server returns the wrong resource", "wrong-type", true, true},
		{"FHIR server errors", "error", true, true},
		{"FHIR server asks to retry after 2 minutes", "throttled-long", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newCDSHarness(t, c.mode)
			srvURL := ""
			if c.withServer {
				srvURL = h.fhir.srv.URL
				if !c.allowlist {
					srvURL = "https://other-ehr.example/fhir"
				}
			}
			start := time.Now()
			resp, body := h.call("/cds-services/spine-surgery-outcomes", mustJSON(t, hookRequest("patient-view", noObs, srvURL)))
			elapsed := time.Since(start)
			if resp.StatusCode != 412 {
				t.Fatalf("status %d, want 412: %s", resp.StatusCode, body)
			}
			var oo server.OperationOutcome
			mustDecode(t, body, &oo)
			if oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || !strings.Contains(oo.Issue[0].Diagnostics, "observations") {
				t.Errorf("body %s", body)
			}
			if strings.Contains(string(body), "fhir-token") {
				t.Error("the FHIR access token leaked into the response")
			}
			// The slow server answers after 3 s; the deadline is 400 ms.
			if elapsed > 2*time.Second {
				t.Errorf("answered after %v: the CDS deadline was not enforced", elapsed)
			}
			recs, _ := h.st.Audit(context.Background(), store.AuditQuery{PatientID: testPatient})
			if len(recs) != 1 || recs[0].Status != 412 {
				t.Errorf("audit %+v, want one 412 record", recs)
			}
		})
	}
}

func TestCDSOrderHooks(t *testing.T) {
	h := newCDSHarness(t, "ok")
	draft := func(system, code string) map[string]any {
		return map[string]any{"resourceType": "Bundle", "entry": []any{map[string]any{"resource": map[string]any{
			"resourceType": "ServiceRequest", "id": "sr-1", "status": "draft", "intent": "order",
			"code":    map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}},
			"subject": map[string]any{"reference": "Patient/" + testPatient}}}}}
	}
	req := func(hook string, d map[string]any, selections []string) []byte {
		r := hookRequest(hook, fullPrefetch(), "")
		ctx := r["context"].(map[string]any)
		ctx["draftOrders"] = d
		if selections != nil {
			ctx["selections"] = selections
		}
		return mustJSON(t, r)
	}
	const cpt = "http://www.ama-assn.org/go/cpt"
	for _, c := range []struct {
		name, service string
		body          []byte
		cards         int
	}{
		{"order-sign lumbar fusion", "spine-surgery-outcomes", req("order-sign", draft(cpt, "22630"), nil), 1},
		{"order-select selected fusion", "spine-surgery-outcomes", req("order-select", draft(cpt, "22630"), []string{"ServiceRequest/sr-1"}), 1},
		{"order-select fusion not selected", "spine-surgery-outcomes", req("order-select", draft(cpt, "22630"), []string{"ServiceRequest/other"}), 0},
		{"order-sign unrelated order", "spine-surgery-outcomes", req("order-sign", draft(cpt, "99213"), nil), 0},
		{"tfesi order, no TFESI model", "tfesi-response", req("order-sign", draft(cpt, "64483"), nil), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.call("/cds-services/"+c.service, c.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := len(cardsOf(t, body)); got != c.cards {
				t.Errorf("got %d cards, want %d", got, c.cards)
			}
		})
	}
	resp, _ := h.call("/cds-services/tfesi-response", mustJSON(t, hookRequest("patient-view", fullPrefetch(), "")))
	if resp.StatusCode != 400 {
		t.Errorf("tfesi-response on patient-view: %d, want 400", resp.StatusCode)
	}
}

func TestCDSBadRequests(t *testing.T) {
	h := newCDSHarness(t, "ok")
	path := "/cds-services/spine-surgery-outcomes"
	good := hookRequest("patient-view", fullPrefetch(), "")
	mod := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(mustJSON(t, good), &m)
		f(m)
		return mustJSON(t, m)
	}
	for _, c := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"not JSON", []byte("{"), 400},
		{"no hook", mod(func(m map[string]any) { delete(m, "hook") }), 400},
		{"no context", mod(func(m map[string]any) { delete(m, "context") }), 400},
		{"no patientId", mod(func(m map[string]any) { delete(m["context"].(map[string]any), "patientId") }), 400},
		{"patientId not an id", mod(func(m map[string]any) { m["context"].(map[string]any)["patientId"] = "../../etc" }), 400},
		{"order-sign without draftOrders", mod(func(m map[string]any) { m["hook"] = "order-sign" }), 400},
		{"prefetch patient is a Bundle", mod(func(m map[string]any) { m["prefetch"].(map[string]any)["patient"] = emptySearch() }), 400},
		{"fhirAuthorization without fhirServer", mod(func(m map[string]any) {
			m["fhirAuthorization"] = map[string]any{"access_token": "x", "token_type": "Bearer", "expires_in": 1, "scope": "s", "subject": "s"}
		}), 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": h.jwt(path)}
			resp, body := h.do(exchange{method: "POST", path: path, body: c.body, header: hdr, skipRequestCheck: true})
			if resp.StatusCode != c.status || contentType(resp) != "application/fhir+json" {
				t.Errorf("status %d %s, want %d OperationOutcome: %s", resp.StatusCode, contentType(resp), c.status, body)
			}
		})
	}
	resp, _ := h.do(exchange{method: "POST", path: "/cds-services/nope", body: mustJSON(t, good),
		header: map[string]string{"Authorization": h.jwt("/cds-services/nope")}, skipRequestCheck: true})
	if resp.StatusCode != 404 {
		t.Errorf("unknown service: %d", resp.StatusCode)
	}
}

func TestCDSFeedback(t *testing.T) {
	h := newCDSHarness(t, "ok")
	path := "/cds-services/spine-surgery-outcomes/feedback"
	for _, f := range []string{"hl7-spec__example-suggestion-accepted__22.json",
		"hl7-spec__example-overridden-guidance-without-overridereason__23.json",
		"hl7-spec__example-overridden-guidance-with-overridereason__24.json"} {
		resp, body := h.call(path, mustRead(t, filepath.Join("testdata/cdshooks", f)))
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", f, resp.StatusCode, body)
		}
	}
	fb, err := h.st.Feedback(context.Background(), "spine-surgery-outcomes", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(fb) != 3 || fb[0].Outcome != "accepted" || len(fb[0].AcceptedSuggestions) != 1 ||
		fb[2].ReasonCode != "d7ecf885" || fb[2].UserComment != "A comment entered by the clinician." || fb[2].Caller != testEHR {
		t.Errorf("stored feedback %+v", fb)
	}
	for _, bad := range []string{`{}`, `{"feedback":[{"card":"c","outcome":"maybe","outcomeTimestamp":"2020-12-11T00:00:00Z"}]}`,
		`{"feedback":[{"card":"c","outcome":"accepted","outcomeTimestamp":"2020-12-11T00:00:00Z"}]}`,
		`{"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"yesterday"}]}`} {
		resp, body := h.do(exchange{method: "POST", path: path, body: []byte(bad), header: map[string]string{"Authorization": h.jwt(path)}, skipRequestCheck: true})
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
}

var specCardDeviations = map[string]string{
	"cdshooks-org-spec__example__18.json": "indicator",
	"hl7-spec__example__21.json":          "indicator",
}

// TestSpecExamples parses the CDS Hooks examples: requests validate against
// the hook definitions, feedback is accepted, the spec's own cards and
// discovery documents pass the same checks ours must pass.
func TestSpecExamples(t *testing.T) {
	dir := "testdata/cdshooks"
	if _, err := os.Stat("../../shared/data/cdshooks/examples"); err == nil {
		dir = "../../shared/data/cdshooks/examples" // the full set, when present
	} else {
		t.Log("../shared absent: checking the copies in testdata/cdshooks only")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) < 10 {
		t.Fatalf("found %d examples in %s", len(files), dir)
	}
	var requests, cards, discoveries int
	for _, f := range files {
		b := mustRead(t, f)
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil {
			t.Errorf("%s: not strict JSON: %v", f, err)
			continue
		}
		switch {
		case top["hook"] != nil:
			var r server.CDSRequest
			if err := json.Unmarshal(b, &r); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			if r.Hook == "" || r.HookInstance == "" || r.Context == nil {
				t.Errorf("%s: hook, hookInstance or context missing", f)
			}
			requests++
		case top["cards"] != nil:
			for _, c := range cardsOf(t, b) {
				// Two of the specification's own card examples omit the
				// REQUIRED indicator; every other rule still applies.
				checkCardExcept(t, c, specCardDeviations[filepath.Base(f)])
			}
			cards++
		case top["services"] != nil:
			var d struct {
				Services []struct{ Hook, ID, Description string }
			}
			mustDecode(t, b, &d)
			for _, s := range d.Services {
				if s.Hook == "" || s.ID == "" || s.Description == "" {
					t.Errorf("%s: service %+v lacks a required field", f, s)
				}
			}
			discoveries++
		case top["feedback"] != nil:
			var fr server.FeedbackRequest
			if err := json.Unmarshal(b, &fr); err != nil || len(fr.Feedback) == 0 {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
	if requests == 0 || cards == 0 || discoveries == 0 {
		t.Errorf("requests %d, card responses %d, discovery documents %d: each should be > 0", requests, cards, discoveries)
	}
	// The spec's patient-view request, sent to our service: its prefetch
	// is not ours and its fhirServer is not on the allowlist → 412.
	h := newCDSHarness(t, "ok")
	path := "/cds-services/spine-surgery-outcomes"
	resp, body := h.call(path, mustRead(t, "testdata/cdshooks/hl7-spec__example__02.json"))
	if resp.StatusCode != 412 {
		t.Errorf("spec example request: %d %s, want 412", resp.StatusCode, body)
	}
	// The spec's order-sign context (a MedicationRequest draft) is not a
	// spine surgery order: no cards.
	var ctx struct{ Context map[string]any }
	mustDecode(t, mustRead(t, "testdata/cdshooks/hook-order-sign__example-r4__01.json"), &ctx)
	ctx.Context["patientId"] = testPatient
	r := hookRequest("order-sign", fullPrefetch(), "")
	r["context"] = ctx.Context
	resp, body = h.call(path, mustJSON(t, r))
	if resp.StatusCode != 200 || len(cardsOf(t, body)) != 0 {
		t.Errorf("spec order-sign example: %d %s, want 200 with no cards", resp.StatusCode, body)
	}
}
