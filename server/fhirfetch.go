package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/spinecast/spinecast/fhir"
)

// maxFHIRResponse caps one FHIR response (one page) read while gathering
// a record; maxFHIRPages caps the pages followed per search (a longer
// search is refused, never cut short).
const (
	maxFHIRResponse = 8 << 20
	maxFHIRPages    = 10
)

func contextWithDeadline(c echo.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), d)
}

// allowedFHIR reports whether base is on the allowlist: equal to an entry,
// or under an entry that ends in "/".
func (s *Server) allowedFHIR(base string) bool {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Host == "" {
		return false
	}
	b := strings.TrimRight(base, "/")
	for _, a := range s.cfg.FHIRAllowlist {
		if b == strings.TrimRight(a, "/") || strings.HasSuffix(a, "/") && strings.HasPrefix(b+"/", a) {
			return true
		}
	}
	return false
}

// renderTemplate fills a prefetch template's context tokens.
func renderTemplate(t string, hc *hookContext) string {
	r := strings.NewReplacer(
		"{{context.patientId}}", url.PathEscape(hc.PatientID),
		"{{context.userId}}", url.QueryEscape(hc.UserID),
		"{{context.encounterId}}", url.PathEscape(hc.EncounterID))
	return r.Replace(t)
}

// gather returns the patient record as a collection Bundle: prefetched
// resources, plus what is missing fetched from fhirServer. A required key
// that can be neither prefetched nor fetched is a CodePrecondition error;
// an optional one (optionalPrefetch) is left out and the prediction goes on
// without it, reporting those inputs missing.
func (s *Server) gather(ctx context.Context, req *CDSRequest, hc *hookContext) ([]byte, error) {
	got := map[string]json.RawMessage{}
	var missing, required []string
	for key := range prefetchTemplates {
		raw, ok := req.Prefetch[key]
		if !ok || isNull(raw) {
			missing = append(missing, key)
			if !optionalPrefetch[key] {
				required = append(required, key)
			}
			continue
		}
		if err := checkResource(raw, key); err != nil {
			return nil, errorf(CodeInvalid, "prefetch.%s: %v", key, err)
		}
		got[key] = raw
	}
	sort.Strings(missing)
	sort.Strings(required)
	if len(missing) == 0 {
		return collect(got)
	}
	canFetch := req.FHIRServer != "" && req.FHIRAuthorization != nil
	if !canFetch || !s.allowedFHIR(req.FHIRServer) {
		switch {
		case len(required) == 0:
			return collect(got) // only optional inputs are missing
		case !canFetch:
			return nil, errorf(CodePrecondition, "prefetch lacks %s and the request gives no fhirServer with fhirAuthorization to fetch it",
				strings.Join(required, ", "))
		default:
			return nil, errorf(CodePrecondition, "prefetch lacks %s and fhirServer is not on this service's allowlist", strings.Join(required, ", "))
		}
	}
	fetched, err := s.fetchAll(ctx, s.fhirClient(req.FHIRServer, req.FHIRAuthorization.AccessToken), missing, hc)
	if err != nil {
		return nil, err
	}
	for k, v := range fetched {
		got[k] = v
	}
	return collect(got)
}

func isNull(raw json.RawMessage) bool {
	return len(strings.TrimSpace(string(raw))) == 0 || strings.TrimSpace(string(raw)) == "null"
}

// checkResource requires a JSON object with a resourceType; a read key
// ("patient") must hold a Patient, a search key a Bundle.
func checkResource(raw json.RawMessage, key string) error {
	var probe struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return errors.New("not a FHIR resource")
	}
	want := "Bundle"
	if key == "patient" {
		want = "Patient"
	}
	if probe.ResourceType != want {
		return fmt.Errorf("resourceType %q, want %s", probe.ResourceType, want)
	}
	return nil
}

// fetchAll GETs the missing prefetch keys concurrently from base. A key
// that fails is a CodePrecondition error unless it is optional; then it is
// left out.
func (s *Server) fetchAll(ctx context.Context, c *fhir.Client, keys []string, hc *hookContext) (map[string]json.RawMessage, error) {
	type result struct {
		key string
		raw json.RawMessage
		err error
	}
	res := make(chan result, len(keys))
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fctx := ctx
			if optionalPrefetch[k] {
				// An optional input may not hold up the call: half of the
				// time left, so a slow server cannot push the required
				// part past the deadline.
				if dl, ok := ctx.Deadline(); ok {
					var cancel context.CancelFunc
					fctx, cancel = context.WithTimeout(ctx, time.Until(dl)/2)
					defer cancel()
				}
			}
			raw, err := c.Fetch(fctx, renderTemplate(prefetchTemplates[k], hc))
			if err == nil {
				if cerr := checkResource(raw, k); cerr != nil {
					err = cerr
				}
			}
			res <- result{k, raw, err}
		}()
	}
	wg.Wait()
	close(res)
	out := map[string]json.RawMessage{}
	var failed []string
	for r := range res {
		if r.err != nil {
			if !optionalPrefetch[r.key] {
				failed = append(failed, r.key)
			}
			continue
		}
		out[r.key] = r.raw
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		msg := "the FHIR server did not return usable data for " + strings.Join(failed, ", ")
		if ctx.Err() != nil {
			msg += " within the deadline"
		}
		return nil, errorf(CodePrecondition, "%s", msg)
	}
	return out, nil
}

// fhirClient is the FHIR client for one fetch: paging (at most
// maxFHIRPages pages per search, next links only on the same server),
// 429/503 retries (Retry-After honoured, else 50 ms doubling; a wait
// longer than the deadline fails at once, and no wait outlives the
// request's context), and a per-response size cap. The token goes only to
// base's host and is never logged.
func (s *Server) fhirClient(base, token string) *fhir.Client {
	return &fhir.Client{BaseURL: base, Token: token, HTTP: s.http, MaxPages: maxFHIRPages,
		MaxBytes: maxFHIRResponse, MaxWait: s.cfg.CDSDeadline, Backoff: 50 * time.Millisecond}
}

// collect flattens prefetch values into one collection Bundle: resources
// as they are, search Bundles by their entries (OperationOutcome entries
// of search.mode "outcome" dropped).
func collect(got map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var entries []map[string]json.RawMessage
	for _, k := range keys {
		raw := got[k]
		var b struct {
			ResourceType string `json:"resourceType"`
			Entry        []struct {
				Resource json.RawMessage `json:"resource"`
				Search   *struct {
					Mode string `json:"mode"`
				} `json:"search"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, errorf(CodeInvalid, "prefetch.%s: %v", k, err)
		}
		if b.ResourceType != "Bundle" {
			entries = append(entries, map[string]json.RawMessage{"resource": raw})
			continue
		}
		for _, e := range b.Entry {
			if e.Search != nil && e.Search.Mode == "outcome" || len(e.Resource) == 0 {
				continue
			}
			entries = append(entries, map[string]json.RawMessage{"resource": e.Resource})
		}
	}
	if entries == nil {
		entries = []map[string]json.RawMessage{}
	}
	out, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
	if err != nil {
		return nil, internal(fmt.Errorf("assemble record: %w", err))
	}
	return out, nil
}

// patientPredictions handles GET /v1/patients/{id}/predictions: the record
// is read from the configured FHIR server (Config.FHIRServer).
func (s *Server) patientPredictions(c echo.Context) error {
	start := time.Now()
	id := c.Param("id")
	if !safeToken(id, 64) {
		return errorf(CodeInvalid, "patient id is not a FHIR id")
	}
	fhirOut, err := negotiate(c)
	if err != nil {
		return err
	}
	if s.cfg.FHIRServer == "" {
		return errorf(CodeNotImplemented, "no FHIR server is configured (--fhir-server)")
	}
	if s.extract == nil {
		return errorf(CodeNotImplemented, "patient predictions need the feature pipeline, which this build does not include yet")
	}
	ctx, cancel := contextWithDeadline(c, s.cfg.CDSDeadline)
	defer cancel()
	keys := make([]string, 0, len(prefetchTemplates))
	for k := range prefetchTemplates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fc := s.fhirClient(s.cfg.FHIRServer, s.cfg.FHIRToken)
	fc.Tokens = s.cfg.FHIRTokens // SMART Backend Services when configured
	got, err := s.fetchAll(ctx, fc, keys, &hookContext{PatientID: id})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == CodePrecondition {
			return &Error{Code: CodeUnavailable, Message: e.Message}
		}
		return err
	}
	bundle, err := collect(got)
	if err != nil {
		return err
	}
	vec, err := s.extractVector(ctx, bundle, s.now())
	if err != nil {
		return err
	}
	vec.PatientID = id
	var outcomes []string
	for _, o := range c.QueryParams()["outcome"] {
		outcomes = append(outcomes, strings.Split(o, ",")...)
	}
	preds, warns, err := s.predict(&predictInput{vec: vec, outcomes: outcomes, algorithm: c.QueryParam("algorithm")})
	if err != nil {
		return err
	}
	if err := s.audit(c, AuditRecord{Kind: "prediction", PatientID: id, Status: http.StatusOK,
		Latency: time.Since(start), Models: modelRefs(preds)}); err != nil {
		return err
	}
	return s.writePredictions(c, fhirOut, vec, preds, warns)
}
