package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/spinecast/spinecast/predictors"
)

// Notice is shown with every prediction this build serves.
const Notice = "DEMONSTRATION ONLY: Spinecast's models are research models (the bundled ones trained on " +
	"public or simulated data); they are not validated for clinical use and are not a medical device. " +
	"Do not base care decisions on these figures."

// Vector is a patient's feature vector as the feature pipeline builds it.
type Vector struct {
	SchemaVersion string
	// PatientID is the FHIR Patient id the record belongs to, if known.
	PatientID string
	// Values by feature name; a missing feature is absent or NaN.
	Values map[string]float64
	// Units by feature name (UCUM or a short word), where known.
	Units map[string]string
	// Provenance lists, per feature, the FHIR references that produced it.
	Provenance map[string][]string
	// Warnings from extraction, safe to show the caller.
	Warnings []string
}

// Extractor turns a FHIR Bundle (a patient record) into a Vector using
// only data dated on or before asOf. Errors that describe bad input
// should wrap ErrBadRecord; others are treated as internal.
type Extractor interface {
	Extract(ctx context.Context, bundle []byte, asOf time.Time) (*Vector, error)
}

// ErrBadRecord marks an extraction error caused by the record itself.
var ErrBadRecord = errors.New("unusable patient record")

// FeatureSchema answers GET /v1/features/schema: the schema document as
// JSON, and the unit of a feature ("" when unknown).
type FeatureSchema interface {
	JSON() ([]byte, error)
	Unit(feature string) string
}

// PredictionRequest is the JSON body of POST /v1/predictions when it is
// not a FHIR Bundle.
type PredictionRequest struct {
	// Features by name; null means missing.
	Features map[string]*float64 `json:"features"`
	// Outcomes to predict (default: all).
	Outcomes []string `json:"outcomes,omitempty"`
	// Algorithm chooses, per outcome, a model of that algorithm instead of
	// the default model.
	Algorithm string `json:"algorithm,omitempty"`
}

// PredictionResponse is the JSON answer of the prediction routes.
type PredictionResponse struct {
	RequestID     string              `json:"request_id"`
	Demonstration bool                `json:"demonstration"`
	Notice        string              `json:"notice"`
	SchemaVersion string              `json:"feature_schema_version,omitempty"`
	Predictions   []OutcomePrediction `json:"predictions"`
	Warnings      []Warning           `json:"warnings"`
}

// OutcomePrediction is one outcome's prediction.
type OutcomePrediction struct {
	Outcome       OutcomeRef     `json:"outcome"`
	Model         ModelInfo      `json:"model"`
	Probability   float64        `json:"probability"`
	Interval      Interval       `json:"interval"`
	Contributions []Contribution `json:"contributions"`
	Explanation   Explanation    `json:"explanation"`
	Warnings      []Warning      `json:"warnings"`
	Demonstration bool           `json:"demonstration"`
	Notice        string         `json:"notice"`
	// basis holds the FHIR references behind the inputs (FHIR output).
	basis []string
}

// OutcomeRef names the outcome predicted: the versioned outcome definition
// the model was trained for (package outcomes), or, for a model of a plain
// target column, that column with an empty Version.
type OutcomeRef struct {
	ID       string `json:"id"`
	Version  string `json:"version,omitempty"`
	Positive string `json:"positive"`
}

// ModelInfo identifies the model used.
type ModelInfo struct {
	ID        string `json:"id"`
	Version   string `json:"version"`
	Sha256    string `json:"sha256"`
	Algorithm string `json:"algorithm"`
	Default   bool   `json:"default"`
}

// Interval is the 95 % interval of the probability.
type Interval struct {
	Lower  float64 `json:"lower"`
	Upper  float64 `json:"upper"`
	Level  float64 `json:"level"`
	Method string  `json:"method"`
}

// Contribution is one feature's signed share of the model output, on the
// explanation's scale; Value is the input used (the imputed median when
// Imputed).
type Contribution struct {
	Feature      string  `json:"feature"`
	Value        float64 `json:"value"`
	Unit         string  `json:"unit,omitempty"`
	Imputed      bool    `json:"imputed"`
	Contribution float64 `json:"contribution"`
}

// Explanation says how to read the contributions: Base + Σ all
// contributions = Output on Scale ("log-odds" or "probability"), before
// calibration.
type Explanation struct {
	Scale  string  `json:"scale"`
	Base   float64 `json:"base"`
	Output float64 `json:"output"`
}

// Warning is a caveat about the input.
type Warning struct {
	Code    string   `json:"code"` // missing-input, out-of-range, unused-input, extraction
	Feature string   `json:"feature,omitempty"`
	Message string   `json:"message"`
	Value   *float64 `json:"value,omitempty"`
}

// predictInput is a validated request, whatever its form.
type predictInput struct {
	vec       *Vector
	outcomes  []string
	algorithm string
}

func (s *Server) readBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, errorf(CodeInvalid, "read request body: %v", err)
	}
	return b, nil
}

func checkJSONContentType(c echo.Context, allowed ...string) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(strings.ToLower(ct))
	for _, a := range allowed {
		if ct == a {
			return nil
		}
	}
	return errorf(CodeUnsupported, "Content-Type must be one of %s", strings.Join(allowed, ", "))
}

// postPredictions handles POST /v1/predictions.
func (s *Server) postPredictions(c echo.Context) error {
	start := time.Now()
	if err := checkJSONContentType(c, mimeJSON, mimeFHIR); err != nil {
		return err
	}
	fhirOut, err := negotiate(c)
	if err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	in, err := s.parsePredictionRequest(c, body)
	if err != nil {
		return err
	}
	preds, warns, err := s.predict(in)
	if err != nil {
		return err
	}
	if err := s.audit(c, AuditRecord{Kind: "prediction", PatientID: in.vec.PatientID, Status: http.StatusOK,
		Latency: time.Since(start), Models: modelRefs(preds)}); err != nil {
		return err
	}
	return s.writePredictions(c, fhirOut, in.vec, preds, warns)
}

// negotiate reports whether the client wants FHIR output.
func negotiate(c echo.Context) (fhir bool, err error) {
	acc := c.Request().Header.Get(echo.HeaderAccept)
	if acc == "" {
		return false, nil
	}
	fhir = strings.Contains(acc, mimeFHIR)
	if fhir || strings.Contains(acc, mimeJSON) || strings.Contains(acc, "*/*") || strings.Contains(acc, "application/*") {
		return fhir, nil
	}
	return false, errorf(CodeNotAcceptable, "this route returns %s or %s", mimeJSON, mimeFHIR)
}

func (s *Server) parsePredictionRequest(c echo.Context, body []byte) (*predictInput, error) {
	var probe struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, errorf(CodeInvalid, "request body is not a JSON object: %s", jsonProblem(err))
	}
	if probe.ResourceType != "" {
		if probe.ResourceType != "Bundle" {
			return nil, errorf(CodeUnprocessable, "a FHIR body must be a Bundle, not %s", probe.ResourceType)
		}
		if s.extract == nil {
			return nil, errorf(CodeNotImplemented, "FHIR Bundle input needs the feature pipeline, which this build does not include yet; send {\"features\":{…}}")
		}
		q := c.QueryParams()
		asOf := s.now()
		if v := q.Get("as_of"); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				return nil, errorf(CodeInvalid, "as_of must be YYYY-MM-DD")
			}
			asOf = t.Add(24*time.Hour - time.Nanosecond)
		}
		vec, err := s.extractVector(c.Request().Context(), body, asOf)
		if err != nil {
			return nil, err
		}
		var outcomes []string
		for _, o := range q["outcome"] {
			outcomes = append(outcomes, strings.Split(o, ",")...)
		}
		return &predictInput{vec: vec, outcomes: outcomes, algorithm: q.Get("algorithm")}, nil
	}
	var req PredictionRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, errorf(CodeInvalid, "request body: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, errorf(CodeInvalid, "request body: trailing data after the JSON object")
	}
	if req.Features == nil {
		return nil, errorf(CodeInvalid, `request body needs "features" (an object of numbers) or a FHIR Bundle`)
	}
	vec := &Vector{Values: map[string]float64{}}
	for k, v := range req.Features {
		if v == nil {
			vec.Values[k] = math.NaN()
		} else {
			vec.Values[k] = *v
		}
	}
	return &predictInput{vec: vec, outcomes: req.Outcomes, algorithm: req.Algorithm}, nil
}

func (s *Server) extractVector(ctx context.Context, bundle []byte, asOf time.Time) (*Vector, error) {
	vec, err := s.extract.Extract(ctx, bundle, asOf)
	if err != nil {
		if errors.Is(err, ErrBadRecord) {
			return nil, errorf(CodeUnprocessable, "%v", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &Error{Code: CodeTimeout, Message: "feature extraction timed out", Err: err}
		}
		return nil, internal(fmt.Errorf("extract features: %w", err))
	}
	return vec, nil
}

// predict scores the input for each requested outcome.
func (s *Server) predict(in *predictInput) ([]OutcomePrediction, []Warning, error) {
	outcomes := in.outcomes
	if len(outcomes) == 0 {
		outcomes = s.models.Outcomes()
	}
	seen := map[string]bool{}
	var chosen []*Model
	for _, o := range outcomes {
		o = strings.TrimSpace(o)
		if seen[o] {
			continue
		}
		seen[o] = true
		m, err := s.models.pick(o, in.algorithm)
		if err != nil {
			return nil, nil, err
		}
		chosen = append(chosen, m)
	}
	used := map[string]bool{}
	var preds []OutcomePrediction
	for _, m := range chosen {
		p, err := s.scoreModel(m, in.vec)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range m.Artifact.Features {
			used[f.Name] = true
		}
		preds = append(preds, *p)
	}
	var warns []Warning
	for _, w := range in.vec.Warnings {
		warns = append(warns, Warning{Code: "extraction", Message: w})
	}
	var unused []string
	for k := range in.vec.Values {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	for _, k := range unused {
		warns = append(warns, Warning{Code: "unused-input", Feature: k, Message: "no selected model uses this feature; it was ignored"})
	}
	if warns == nil {
		warns = []Warning{}
	}
	return preds, warns, nil
}

func (s *Server) unit(vec *Vector, feature string) string {
	if u := vec.Units[feature]; u != "" {
		return u
	}
	if s.schema != nil {
		return s.schema.Unit(feature)
	}
	return ""
}

func (s *Server) scoreModel(m *Model, vec *Vector) (*OutcomePrediction, error) {
	a := m.Artifact
	raw := make([]float64, len(a.Features))
	for j, f := range a.Features {
		v, ok := vec.Values[f.Name]
		if !ok {
			v = math.NaN()
		}
		if math.IsInf(v, 0) {
			return nil, errorf(CodeInvalid, "feature %q is not finite", f.Name)
		}
		raw[j] = v
	}
	p, err := m.Scorer.Score(raw, true)
	if err != nil {
		if errors.Is(err, predictors.ErrNotFinite) {
			return nil, errorf(CodeInvalid, "%v", err)
		}
		return nil, internal(fmt.Errorf("score model %s: %w", m.ID, err))
	}
	s.met.predictions.WithLabelValues(m.ID, m.Outcome).Inc()
	out := &OutcomePrediction{
		Outcome:       OutcomeRef{ID: m.Outcome, Version: m.OutcomeVersion, Positive: a.Positive},
		Model:         ModelInfo{ID: m.ID, Version: m.Version, Sha256: a.Sha256, Algorithm: a.Algorithm, Default: m.Default},
		Probability:   p.Probability,
		Interval:      Interval{Lower: p.Lower, Upper: p.Upper, Level: 0.95, Method: a.Uncertainty.Method},
		Explanation:   Explanation{Scale: string(p.Scale), Base: p.Base, Output: p.Output},
		Demonstration: true,
		Notice:        Notice,
		Warnings:      []Warning{},
	}
	imputed := map[int]bool{}
	for _, j := range p.Imputed {
		imputed[j] = true
		f := a.Features[j]
		out.Warnings = append(out.Warnings, Warning{Code: "missing-input", Feature: f.Name,
			Message: fmt.Sprintf("missing; replaced by the training median %s", fmtNum(f.Median))})
	}
	for _, j := range p.OutOfRange {
		f := a.Features[j]
		v := raw[j]
		out.Warnings = append(out.Warnings, Warning{Code: "out-of-range", Feature: f.Name, Value: &v,
			Message: fmt.Sprintf("%s lies outside the training range [%s, %s]; the prediction extrapolates", fmtNum(v), fmtNum(f.Min), fmtNum(f.Max))})
	}
	cs := make([]Contribution, len(a.Features))
	for j, f := range a.Features {
		v := raw[j]
		if imputed[j] {
			v = f.Median
		}
		cs[j] = Contribution{Feature: f.Name, Value: v, Unit: s.unit(vec, f.Name), Imputed: imputed[j], Contribution: p.Contributions[j]}
		out.basis = append(out.basis, vec.Provenance[f.Name]...)
	}
	sort.SliceStable(cs, func(i, k int) bool { return math.Abs(cs[i].Contribution) > math.Abs(cs[k].Contribution) })
	if len(cs) > s.cfg.TopContributions {
		cs = cs[:s.cfg.TopContributions]
	}
	out.Contributions = cs
	out.basis = dedupe(out.basis)
	return out, nil
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func fmtNum(v float64) string { return fmt.Sprintf("%.4g", v) }

func modelRefs(preds []OutcomePrediction) []ModelRef {
	var out []ModelRef
	for _, p := range preds {
		out = append(out, ModelRef{Outcome: p.Outcome.ID, ModelID: p.Model.ID, Version: p.Model.Version, Sha256: p.Model.Sha256,
			Probability: p.Probability, Lower: p.Interval.Lower, Upper: p.Interval.Upper})
	}
	return out
}

// audit records r, filling the request's id, route and caller. It fails
// closed: no prediction leaves the server unaudited.
func (s *Server) audit(c echo.Context, r AuditRecord) error {
	r.Time = s.now()
	r.RequestID = requestID(c)
	r.Route = c.Path()
	r.Caller = caller(c)
	if err := s.store.RecordAudit(c.Request().Context(), r); err != nil {
		return &Error{Code: CodeUnavailable, Message: "the audit trail is unavailable; no prediction was released", Err: err}
	}
	return nil
}

func (s *Server) writePredictions(c echo.Context, fhirOut bool, vec *Vector, preds []OutcomePrediction, warns []Warning) error {
	if fhirOut {
		return writeJSON(c, http.StatusOK, mimeFHIR, s.riskBundle(vec, preds))
	}
	return writeJSON(c, http.StatusOK, mimeJSON, PredictionResponse{
		RequestID: requestID(c), Demonstration: true, Notice: Notice, SchemaVersion: vec.SchemaVersion,
		Predictions: preds, Warnings: warns,
	})
}
