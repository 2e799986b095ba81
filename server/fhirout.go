package server

import (
	"fmt"
	"strings"
	"time"
)

// The FHIR output convention, documented in openapi.yaml and tested:
// RiskAssessment.prediction.probabilityDecimal is the calibrated
// probability as a FRACTION in [0, 1] (0.02 means 2 %), as in the FHIR R4
// examples (RiskAssessment-cardiac writes "2%" in its narrative and 0.02
// in probabilityDecimal), not a percentage. The 95 % interval travels in
// the extension IntervalExtension as a Range of fractions.
const (
	IntervalExtension = "urn:spinecast:fhir:StructureDefinition/probability-interval-95"
	ModelSystem       = "urn:spinecast:model"
)

type fhirRef struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type fhirCoding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type fhirConcept struct {
	Coding []fhirCoding `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

type fhirQuantity struct {
	Value float64 `json:"value"`
}

type fhirRange struct {
	Low  fhirQuantity `json:"low"`
	High fhirQuantity `json:"high"`
}

type fhirExtension struct {
	URL        string     `json:"url"`
	ValueRange *fhirRange `json:"valueRange,omitempty"`
}

type riskPrediction struct {
	Extension          []fhirExtension `json:"extension,omitempty"`
	Outcome            fhirConcept     `json:"outcome"`
	ProbabilityDecimal float64         `json:"probabilityDecimal"`
	Rationale          string          `json:"rationale,omitempty"`
}

type fhirAnnotation struct {
	Text string `json:"text"`
}

// RiskAssessment is the subset of the FHIR R4 resource Spinecast writes.
type RiskAssessment struct {
	ResourceType       string           `json:"resourceType"`
	ID                 string           `json:"id"`
	Status             string           `json:"status"`
	Method             fhirConcept      `json:"method"`
	Subject            fhirRef          `json:"subject"`
	OccurrenceDateTime string           `json:"occurrenceDateTime"`
	Basis              []fhirRef        `json:"basis,omitempty"`
	Prediction         []riskPrediction `json:"prediction"`
	Note               []fhirAnnotation `json:"note"`
}

type bundleEntry struct {
	FullURL  string `json:"fullUrl"`
	Resource any    `json:"resource"`
}

type fhirBundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp"`
	Entry        []bundleEntry `json:"entry"`
}

// riskBundle renders predictions as a collection Bundle of RiskAssessment,
// one per outcome.
func (s *Server) riskBundle(vec *Vector, preds []OutcomePrediction) fhirBundle {
	now := s.now().UTC().Format(time.RFC3339)
	subject := fhirRef{Display: "patient not identified (features supplied directly)"}
	if vec.PatientID != "" {
		subject = fhirRef{Reference: "Patient/" + vec.PatientID}
	}
	b := fhirBundle{ResourceType: "Bundle", ID: newID(), Type: "collection", Timestamp: now}
	for _, p := range preds {
		ra := RiskAssessment{
			ResourceType: "RiskAssessment", ID: newID(), Status: "final",
			Method: fhirConcept{
				Coding: []fhirCoding{{System: ModelSystem, Code: p.Model.ID + "@" + p.Model.Version,
					Display: fmt.Sprintf("Spinecast %s model %s", p.Model.Algorithm, p.Model.ID)}},
				Text: fmt.Sprintf("Spinecast %s model %s version %s (sha256 %s)", p.Model.Algorithm, p.Model.ID, p.Model.Version, p.Model.Sha256),
			},
			Subject: subject, OccurrenceDateTime: now,
			Prediction: []riskPrediction{{
				Extension: []fhirExtension{{URL: IntervalExtension, ValueRange: &fhirRange{
					Low: fhirQuantity{p.Interval.Lower}, High: fhirQuantity{p.Interval.Upper}}}},
				Outcome:            fhirConcept{Text: outcomeText(p.Outcome)},
				ProbabilityDecimal: p.Probability,
				Rationale:          rationale(p),
			}},
			Note: []fhirAnnotation{{Text: Notice}},
		}
		for _, ref := range p.basis {
			ra.Basis = append(ra.Basis, fhirRef{Reference: ref})
		}
		b.Entry = append(b.Entry, bundleEntry{FullURL: "urn:uuid:" + ra.ID, Resource: ra})
	}
	return b
}

// outcomeText names the outcome: "id = positive", with the definition's
// version as "id@version" when the model names one.
func outcomeText(o OutcomeRef) string {
	id := o.ID
	if o.Version != "" {
		id += "@" + o.Version
	}
	if o.Positive == "" {
		return id
	}
	return id + " = " + o.Positive
}

// rationale summarises the top contributions in words.
func rationale(p OutcomePrediction) string {
	var parts []string
	for _, c := range p.Contributions {
		dir := "raises"
		if c.Contribution < 0 {
			dir = "lowers"
		}
		v := fmtNum(c.Value)
		if c.Unit != "" {
			v += " " + c.Unit
		}
		if c.Imputed {
			v += " (imputed)"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s the probability (%+.3g on the %s scale)", c.Feature, v, dir, c.Contribution, p.Explanation.Scale))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Top factors: " + strings.Join(parts, "; ") + "."
}
