package server

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// CDS Hooks service ids.
const (
	ServiceSurgery = "spine-surgery-outcomes"
	ServiceTFESI   = "tfesi-response"
)

//go:embed cdscodes.json
var cdsCodesJSON []byte

// CodeList is the versioned list of order codes per CDS service.
type CodeList struct {
	Version  string `json:"version"`
	Note     string `json:"note"`
	Services map[string]struct {
		Source string       `json:"source"`
		Codes  []fhirCoding `json:"codes"`
	} `json:"services"`
}

var cdsCodes = func() CodeList {
	var cl CodeList
	if err := json.Unmarshal(cdsCodesJSON, &cl); err != nil {
		panic("server: embedded cdscodes.json: " + err.Error())
	}
	return cl
}()

// prefetchTemplates are what the feature pipeline reads from a record.
var prefetchTemplates = map[string]string{
	"patient":                "Patient/{{context.patientId}}",
	"conditions":             "Condition?patient={{context.patientId}}",
	"observations":           "Observation?patient={{context.patientId}}",
	"questionnaireResponses": "QuestionnaireResponse?patient={{context.patientId}}",
	"procedures":             "Procedure?patient={{context.patientId}}",
	"medicationStatements":   "MedicationStatement?patient={{context.patientId}}",
	"imagingStudies":         "ImagingStudy?patient={{context.patientId}}",
}

// optionalPrefetch are the prefetch keys a prediction can do without: when
// the EHR neither prefetches them nor lets us fetch them, the service
// answers anyway and the inputs they feed are reported missing. Imaging is
// optional because most consultations happen before (or without) an MRI
// whose features have been computed.
var optionalPrefetch = map[string]bool{"imagingStudies": true}

type cdsService struct {
	Hook        string            `json:"hook"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	ID          string            `json:"id"`
	Prefetch    map[string]string `json:"prefetch"`
	// UsageRequirements is part of CDS Hooks 2.0's Service.
	UsageRequirements string `json:"usageRequirements,omitempty"`
}

// serviceHooks lists, per service id, the hooks it answers.
var serviceHooks = map[string][]string{
	ServiceSurgery: {"patient-view", "order-select", "order-sign"},
	ServiceTFESI:   {"order-select", "order-sign"},
}

// serviceOutcomes returns the outcomes a service predicts: outcome ids
// starting with "tfesi" belong to tfesi-response, all others to
// spine-surgery-outcomes.
func (s *Server) serviceOutcomes(id string) []string {
	var out []string
	for _, o := range s.models.Outcomes() {
		if strings.HasPrefix(o, "tfesi") == (id == ServiceTFESI) {
			out = append(out, o)
		}
	}
	return out
}

func (s *Server) discovery(c echo.Context) error {
	var svcs []cdsService
	desc := map[string]string{
		ServiceSurgery: "Predicted outcomes of spine surgery (MCID on patient-reported outcomes, complications) with 95 % intervals and the factors behind them. Demonstration models only.",
		ServiceTFESI:   "Predicted response to a transforaminal epidural steroid injection when one is being ordered. Demonstration models only.",
	}
	title := map[string]string{ServiceSurgery: "Spinecast spine surgery outcomes", ServiceTFESI: "Spinecast TFESI response"}
	for _, id := range []string{ServiceSurgery, ServiceTFESI} {
		for _, h := range serviceHooks[id] {
			d := desc[id]
			if h != "patient-view" {
				d += " Answers only when a drafted ServiceRequest carries one of the service's codes (" + cdsCodes.Version + ")."
			}
			svcs = append(svcs, cdsService{Hook: h, Title: title[id], Description: d, ID: id, Prefetch: prefetchTemplates,
				UsageRequirements: "Grant read access to Patient, Condition, Observation, QuestionnaireResponse, Procedure and MedicationStatement, or prefetch them."})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"services": svcs})
}

// CDSRequest is a CDS Hooks 2.0 service request.
type CDSRequest struct {
	Hook              string                     `json:"hook"`
	HookInstance      string                     `json:"hookInstance"`
	FHIRServer        string                     `json:"fhirServer,omitempty"`
	FHIRAuthorization *FHIRAuthorization         `json:"fhirAuthorization,omitempty"`
	Context           map[string]json.RawMessage `json:"context"`
	Prefetch          map[string]json.RawMessage `json:"prefetch,omitempty"`
}

// FHIRAuthorization is the access token a CDS client lends the service.
type FHIRAuthorization struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	Subject     string `json:"subject"`
	Patient     string `json:"patient,omitempty"`
}

// Card is a CDS Hooks 2.0 card (the fields Spinecast sets).
type Card struct {
	UUID      string     `json:"uuid"`
	Summary   string     `json:"summary"`
	Detail    string     `json:"detail,omitempty"`
	Indicator string     `json:"indicator"`
	Source    CardSource `json:"source"`
	Links     []CardLink `json:"links,omitempty"`
}

// CardSource names where a card comes from.
type CardSource struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
}

// CardLink is a card's link.
type CardLink struct {
	Label string `json:"label"`
	URL   string `json:"url"`
	Type  string `json:"type"`
}

// CDSResponse is a service's answer.
type CDSResponse struct {
	Cards []Card `json:"cards"`
}

type hookContext struct {
	UserID      string `json:"userId"`
	PatientID   string `json:"patientId"`
	EncounterID string `json:"encounterId"`
}

func (r *CDSRequest) str(key string) (string, error) {
	raw, ok := r.Context[key]
	if !ok {
		return "", nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", errorf(CodeInvalid, "context.%s must be a string", key)
	}
	return v, nil
}

// validate checks the request against the hook's context definition.
func (r *CDSRequest) validate(service string) (*hookContext, error) {
	if r.Hook == "" || r.HookInstance == "" {
		return nil, errorf(CodeInvalid, "hook and hookInstance are required")
	}
	if !contains(serviceHooks[service], r.Hook) {
		return nil, errorf(CodeInvalid, "service %s does not answer hook %q", service, r.Hook)
	}
	if r.Context == nil {
		return nil, errorf(CodeInvalid, "context is required")
	}
	if a := r.FHIRAuthorization; a != nil {
		if r.FHIRServer == "" {
			return nil, errorf(CodeInvalid, "fhirAuthorization without fhirServer")
		}
		if a.AccessToken == "" || !strings.EqualFold(a.TokenType, "Bearer") || a.Scope == "" || a.Subject == "" || a.ExpiresIn <= 0 {
			return nil, errorf(CodeInvalid, "fhirAuthorization needs access_token, token_type Bearer, expires_in, scope and subject")
		}
	}
	hc := &hookContext{}
	var err error
	for key, dst := range map[string]*string{"userId": &hc.UserID, "patientId": &hc.PatientID, "encounterId": &hc.EncounterID} {
		if *dst, err = r.str(key); err != nil {
			return nil, err
		}
	}
	if hc.UserID == "" || hc.PatientID == "" {
		return nil, errorf(CodeInvalid, "context.userId and context.patientId are required for %s", r.Hook)
	}
	if !safeToken(hc.PatientID, 64) {
		return nil, errorf(CodeInvalid, "context.patientId is not a FHIR id")
	}
	if r.Hook == "order-select" || r.Hook == "order-sign" {
		if _, ok := r.Context["draftOrders"]; !ok {
			return nil, errorf(CodeInvalid, "context.draftOrders is required for %s", r.Hook)
		}
		if r.Hook == "order-select" {
			if _, ok := r.Context["selections"]; !ok {
				return nil, errorf(CodeInvalid, "context.selections is required for order-select")
			}
		}
	}
	return hc, nil
}

type draftResource struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id"`
	Code         fhirConcept `json:"code"`
}

// relevantOrder reports whether a drafted (and, for order-select,
// selected) ServiceRequest carries one of the service's codes.
func relevantOrder(r *CDSRequest, service string) (bool, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource draftResource `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(r.Context["draftOrders"], &b); err != nil || b.ResourceType != "Bundle" {
		return false, errorf(CodeInvalid, "context.draftOrders must be a FHIR Bundle")
	}
	var selections []string
	if raw, ok := r.Context["selections"]; ok {
		if err := json.Unmarshal(raw, &selections); err != nil {
			return false, errorf(CodeInvalid, "context.selections must be an array of strings")
		}
	}
	codes := cdsCodes.Services[service].Codes
	for _, e := range b.Entry {
		res := e.Resource
		if res.ResourceType != "ServiceRequest" {
			continue
		}
		if r.Hook == "order-select" && !contains(selections, "ServiceRequest/"+res.ID) {
			continue
		}
		for _, cd := range res.Code.Coding {
			for _, want := range codes {
				if cd.System == want.System && cd.Code == want.Code {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// cdsCall answers a CDS service call. Every call that names a patient is
// audited, whatever its outcome.
func (s *Server) cdsCall(c echo.Context) (err error) {
	start := time.Now()
	service := c.Param("id")
	if _, ok := serviceHooks[service]; !ok {
		return errorf(CodeNotFound, "no CDS service %q", service)
	}
	if err := checkJSONContentType(c, mimeJSON); err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	var req CDSRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return errorf(CodeInvalid, "request body: %s", jsonProblem(err))
	}
	hc, err := req.validate(service)
	if err != nil {
		return err
	}
	defer func() {
		s.met.hookDuration.WithLabelValues(service, req.Hook).Observe(time.Since(start).Seconds())
	}()
	rec := AuditRecord{Kind: "cds", PatientID: hc.PatientID, Hook: req.Hook, HookInstance: req.HookInstance}
	audited := false
	defer func() {
		if err != nil && !audited {
			rec.Status, rec.Latency = codeTable[asError(err).Code].status, time.Since(start)
			if aerr := s.audit(c, rec); aerr != nil {
				s.log.ErrorContext(c.Request().Context(), "audit write failed", "request_id", requestID(c), "error", aerr.Error())
			}
		}
	}()
	abstain := func(reason string) error {
		audited = true
		s.met.abstentions.WithLabelValues(c.Path(), reason).Inc()
		rec.Status, rec.Latency = http.StatusOK, time.Since(start)
		if err := s.audit(c, rec); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, CDSResponse{Cards: []Card{}})
	}
	if req.Hook != "patient-view" {
		ok, err := relevantOrder(&req, service)
		if err != nil {
			return err
		}
		if !ok {
			return abstain("no relevant order")
		}
	}
	outcomes := s.serviceOutcomes(service)
	if len(outcomes) == 0 {
		return abstain("no model")
	}
	if s.extract == nil {
		s.met.abstentions.WithLabelValues(c.Path(), "no feature pipeline").Inc()
		return errorf(CodeNotImplemented, "CDS services need the feature pipeline, which this build does not include yet")
	}
	ctx, cancel := contextWithDeadline(c, s.cfg.CDSDeadline)
	defer cancel()
	bundle, err := s.gather(ctx, &req, hc)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Code == CodePrecondition {
			s.met.abstentions.WithLabelValues(c.Path(), "data unavailable").Inc()
		}
		return err
	}
	vec, err := s.extractVector(ctx, bundle, s.now())
	if err != nil {
		return err
	}
	vec.PatientID = hc.PatientID
	preds, _, err := s.predict(&predictInput{vec: vec, outcomes: outcomes})
	if err != nil {
		return err
	}
	cards := make([]Card, 0, len(preds))
	for _, p := range preds {
		cards = append(cards, s.card(p))
	}
	rec.Status, rec.Latency, rec.Models = http.StatusOK, time.Since(start), modelRefs(preds)
	audited = true
	if err := s.audit(c, rec); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, CDSResponse{Cards: cards})
}

// MaxSummary is the CDS Hooks limit on card.summary, in characters.
const MaxSummary = 140

func pct(p float64) string { return fmt.Sprintf("%.0f%%", math.Round(p*100)) }

// card renders one outcome's prediction.
func (s *Server) card(p OutcomePrediction) Card {
	label := outcomeText(p.Outcome)
	summary := fmt.Sprintf("%s: %s (95%% CI %s–%s), demonstration model", label, pct(p.Probability), pct(p.Interval.Lower), pct(p.Interval.Upper))
	var d strings.Builder
	fmt.Fprintf(&d, "**%s**: probability **%s** (95 %% interval %s–%s; %s).\n\n", label, pct(p.Probability),
		pct(p.Interval.Lower), pct(p.Interval.Upper), p.Interval.Method)
	if len(p.Contributions) > 0 {
		d.WriteString("Top factors:\n\n")
		for _, ct := range p.Contributions {
			dir := "raises"
			if ct.Contribution < 0 {
				dir = "lowers"
			}
			v := fmtNum(ct.Value)
			if ct.Unit != "" {
				v += " " + ct.Unit
			}
			if ct.Imputed {
				v += " (missing, imputed)"
			}
			fmt.Fprintf(&d, "- %s = %s %s it\n", ct.Feature, v, dir)
		}
		d.WriteString("\n")
	}
	if w := warningSummary(p.Warnings); w != "" {
		d.WriteString(w)
	}
	fmt.Fprintf(&d, "Model %s (%s) version %s.\n\n> %s\n", p.Model.ID, p.Model.Algorithm, p.Model.Version, Notice)
	cardURL := s.cfg.PublicURL + "/v1/models/" + p.Model.ID + "/card"
	return Card{
		UUID: newID(), Summary: truncateRunes(summary, MaxSummary-1), Detail: d.String(),
		Indicator: s.indicator(p.Outcome.ID, p.Probability),
		Source:    CardSource{Label: truncateRunes(fmt.Sprintf("Spinecast %s %s (demonstration)", p.Model.ID, p.Model.Version), 120), URL: cardURL},
		Links:     []CardLink{{Label: "Model card and performance", URL: cardURL, Type: "absolute"}},
	}
}

func (s *Server) indicator(outcome string, p float64) string {
	t, ok := s.cfg.Thresholds[outcome]
	switch {
	case ok && t.Critical > 0 && p >= t.Critical:
		return "critical"
	case ok && t.Warning > 0 && p >= t.Warning:
		return "warning"
	}
	return "info"
}

// truncateRunes cuts s to at most n characters, marking a cut with "…".
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// FeedbackRequest is a CDS Hooks feedback document.
type FeedbackRequest struct {
	Feedback []struct {
		Card                string `json:"card"`
		Outcome             string `json:"outcome"`
		AcceptedSuggestions []struct {
			ID string `json:"id"`
		} `json:"acceptedSuggestions"`
		OverrideReason *struct {
			Reason *struct {
				Code    string `json:"code"`
				System  string `json:"system"`
				Display string `json:"display"`
			} `json:"reason"`
			UserComment string `json:"userComment"`
		} `json:"overrideReason"`
		OutcomeTimestamp string `json:"outcomeTimestamp"`
	} `json:"feedback"`
}

func (s *Server) cdsFeedback(c echo.Context) error {
	start := time.Now()
	service := c.Param("id")
	if _, ok := serviceHooks[service]; !ok {
		return errorf(CodeNotFound, "no CDS service %q", service)
	}
	if err := checkJSONContentType(c, mimeJSON); err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	var req FeedbackRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return errorf(CodeInvalid, "request body: %s", jsonProblem(err))
	}
	if req.Feedback == nil {
		return errorf(CodeInvalid, "feedback (an array) is required")
	}
	var fbs []Feedback
	for i, f := range req.Feedback {
		if f.Card == "" {
			return errorf(CodeInvalid, "feedback[%d].card is required", i)
		}
		ts, err := time.Parse(time.RFC3339, f.OutcomeTimestamp)
		if err != nil {
			return errorf(CodeInvalid, "feedback[%d].outcomeTimestamp must be an RFC 3339 date-time", i)
		}
		fb := Feedback{Time: s.now(), Service: service, Caller: caller(c), Card: f.Card, Outcome: f.Outcome, OutcomeTime: ts}
		switch f.Outcome {
		case "accepted":
			if len(f.AcceptedSuggestions) == 0 {
				return errorf(CodeInvalid, "feedback[%d]: acceptedSuggestions is required when outcome is accepted", i)
			}
			for _, a := range f.AcceptedSuggestions {
				if a.ID == "" {
					return errorf(CodeInvalid, "feedback[%d]: acceptedSuggestions[].id is required", i)
				}
				fb.AcceptedSuggestions = append(fb.AcceptedSuggestions, a.ID)
			}
		case "overridden":
			if o := f.OverrideReason; o != nil {
				fb.UserComment = o.UserComment
				if o.Reason != nil {
					fb.ReasonCode, fb.ReasonSystem, fb.ReasonDisplay = o.Reason.Code, o.Reason.System, o.Reason.Display
				}
			}
		default:
			return errorf(CodeInvalid, "feedback[%d].outcome must be accepted or overridden", i)
		}
		fbs = append(fbs, fb)
	}
	if err := s.store.RecordFeedback(c.Request().Context(), fbs); err != nil {
		return &Error{Code: CodeUnavailable, Message: "feedback could not be stored", Err: err}
	}
	if err := s.audit(c, AuditRecord{Kind: "cds-feedback", Status: http.StatusOK, Latency: time.Since(start)}); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// warningSummary tells the clinician, in a few lines, which inputs were
// missing (and imputed) or out of the training range: features by name
// (at most maxNamed per kind), the imaging block as one item. Never
// values.
func warningSummary(ws []Warning) string {
	const maxNamed = 6
	var missing, outOfRange []string
	imaging := 0
	for _, w := range ws {
		switch w.Code {
		case "missing-input":
			if strings.HasPrefix(w.Feature, "img_") {
				imaging++
				continue
			}
			missing = append(missing, w.Feature)
		case "out-of-range":
			outOfRange = append(outOfRange, w.Feature)
		}
	}
	list := func(names []string) string {
		if len(names) > maxNamed {
			return strings.Join(names[:maxNamed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxNamed)
		}
		return strings.Join(names, ", ")
	}
	var b strings.Builder
	if imaging > 0 {
		missing = append([]string{fmt.Sprintf("imaging (no computed MRI features: %d inputs)", imaging)}, missing...)
	}
	if len(missing) > 0 {
		fmt.Fprintf(&b, "Missing inputs, replaced by training medians: %s.\n\n", list(missing))
	}
	if len(outOfRange) > 0 {
		fmt.Fprintf(&b, "Outside the training range: %s.\n\n", list(outOfRange))
	}
	if b.Len() > 0 {
		b.WriteString("The model card describes the training data.\n\n")
	}
	return b.String()
}
