package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Builder assembles one patient's record from resources added one at a
// time (Bundle entries, bulk NDJSON lines, REST responses). Record checks
// that there is exactly one Patient and that every resource's subject
// resolves to it. The zero Builder is not usable; call NewBuilder.
type Builder struct {
	opts     *Options
	today    time.Time
	issues   Issues
	rec      Record
	patients []Patient
	// patientEntries counts Patient resources seen, valid or not.
	patientEntries int
	full           map[string]string // Bundle fullUrl → relative reference
}

// NewBuilder returns an empty builder; a nil opts means defaults.
func NewBuilder(opts *Options) *Builder {
	now := opts.now()
	y, m, d := now.Date()
	return &Builder{opts: opts, today: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), rec: Record{Ignored: map[string]int{}}}
}

// used are the resource types a record keeps.
var used = map[string]bool{
	"Patient": true, "Observation": true, "QuestionnaireResponse": true, "Condition": true, "Procedure": true,
	"MedicationStatement": true, "MedicationRequest": true, "ServiceRequest": true, "ImagingStudy": true,
}

// Add validates one resource and keeps it if Spinecast reads its type. loc
// names its place in the input (for issues); fullURL is its Bundle fullUrl,
// if any, so that urn:uuid references resolve. Problems become issues on
// the builder; Add never fails.
func (b *Builder) Add(raw []byte, loc, fullURL string) {
	if int64(len(raw)) > b.opts.maxBytes() {
		b.issues.add(Error, CodeTooCostly, loc, "resource larger than the %d-byte limit skipped", b.opts.maxBytes())
		return
	}
	// Fast path: resourceType is nearly always the first member; resources
	// of types Spinecast does not read are then counted without decoding.
	if t, ok := peekType(raw); ok && !used[t] {
		if json.Valid(raw) {
			b.rec.Ignored[t]++
			return
		}
	}
	var h head
	if err := json.Unmarshal(raw, &h); err != nil {
		b.issues.add(Error, CodeStructure, loc, "not a JSON resource: %s", jsonErrText(err))
		return
	}
	if h.ResourceType == "" {
		b.issues.add(Error, CodeRequired, loc+".resourceType", "resourceType is missing")
		return
	}
	if !used[h.ResourceType] {
		b.rec.Ignored[h.ResourceType]++
		return
	}
	if h.ResourceType == "Patient" {
		b.patientEntries++
	}
	o := Origin{Loc: loc}
	if h.ID != nil && *h.ID != "" {
		if !validID(*h.ID) {
			b.issues.add(Error, CodeValue, loc+".id", "malformed id")
			return
		}
		o.Ref = h.ResourceType + "/" + *h.ID
	} else if fullURL != "" {
		o.Ref = fullURL
	} else {
		o.Ref = loc
	}
	if fullURL != "" {
		if b.full == nil {
			b.full = map[string]string{}
		}
		b.full[fullURL] = o.Ref
	}
	if h.Subject != nil && h.Subject.Reference != nil {
		o.SubjectRef = *h.Subject.Reference
	}
	v := validator{loc: loc, is: &b.issues}
	for _, el := range statusRequired[h.ResourceType] {
		if el == "status" && h.Status == nil || el == "intent" && h.Intent == nil {
			v.fail(CodeRequired, el, "%s.%s is required", h.ResourceType, el)
			return
		}
	}
	switch h.ResourceType {
	case "Patient":
		var p struct {
			ResourceType string `json:"resourceType"`
			*fm.Patient
		}
		p.Patient = new(fm.Patient)
		if !v.decode(raw, &p) {
			return
		}
		pt := Patient{Origin: o, Patient: *p.Patient}
		if pt.Patient.BirthDate != nil {
			d, ok := v.date(*pt.Patient.BirthDate, "birthDate", false, Warning)
			if ok {
				if d.FirstDay().After(b.today) {
					v.warn(CodeValue, "birthDate", "birth date in the future ignored")
				} else {
					pt.BirthDate = d
				}
			}
		}
		b.patients = append(b.patients, pt)
	case "Observation":
		var r struct {
			ResourceType string `json:"resourceType"`
			*fm.Observation
		}
		r.Observation = new(fm.Observation)
		if !v.decode(raw, &r) || !v.concept(&r.Code, "code") {
			return
		}
		switch {
		case r.EffectiveDateTime != nil:
			o.Date, _ = v.date(*r.EffectiveDateTime, "effectiveDateTime", true, Error)
		case r.EffectivePeriod != nil:
			o.Date = v.period(r.EffectivePeriod, "effectivePeriod")
		case r.EffectiveInstant != nil:
			o.Date, _ = v.date(*r.EffectiveInstant, "effectiveInstant", true, Error)
		case r.Issued != nil:
			o.Date, _ = v.date(*r.Issued, "issued", true, Error)
		}
		if v.failed || !v.quantity(r.ValueQuantity, "valueQuantity") {
			return
		}
		for i := range r.Component {
			if !v.concept(&r.Component[i].Code, fmt.Sprintf("component[%d].code", i)) ||
				!v.quantity(r.Component[i].ValueQuantity, fmt.Sprintf("component[%d].valueQuantity", i)) {
				return
			}
		}
		b.dateChecks(&o, &v)
		b.rec.Observations = append(b.rec.Observations, Observation{Origin: o, Observation: *r.Observation})
	case "QuestionnaireResponse":
		var r struct {
			ResourceType string `json:"resourceType"`
			*fm.QuestionnaireResponse
		}
		r.QuestionnaireResponse = new(fm.QuestionnaireResponse)
		if !v.decode(raw, &r) {
			return
		}
		if r.Authored != nil {
			o.Date, _ = v.date(*r.Authored, "authored", true, Error)
		}
		if v.failed || !v.items(r.Item, "item") {
			return
		}
		b.dateChecks(&o, &v)
		b.rec.QuestionnaireResponses = append(b.rec.QuestionnaireResponses, QuestionnaireResponse{Origin: o, QuestionnaireResponse: *r.QuestionnaireResponse})
	case "Condition":
		var r struct {
			ResourceType string `json:"resourceType"`
			*fm.Condition
		}
		r.Condition = new(fm.Condition)
		if !v.decode(raw, &r) {
			return
		}
		if r.Code == nil || !v.concept(r.Code, "code") {
			if !v.failed {
				v.fail(CodeRequired, "code", "Condition.code is needed to use the condition")
			}
			return
		}
		switch {
		case r.OnsetDateTime != nil:
			o.Date, _ = v.date(*r.OnsetDateTime, "onsetDateTime", true, Error)
		case r.OnsetPeriod != nil:
			o.Date = v.period(r.OnsetPeriod, "onsetPeriod")
		case r.RecordedDate != nil:
			o.Date, _ = v.date(*r.RecordedDate, "recordedDate", true, Error)
		}
		if v.failed {
			return
		}
		b.dateChecks(&o, &v)
		b.rec.Conditions = append(b.rec.Conditions, Condition{Origin: o, Condition: *r.Condition})
	case "Procedure":
		var r struct {
			ResourceType string `json:"resourceType"`
			*fm.Procedure
		}
		r.Procedure = new(fm.Procedure)
		if !v.decode(raw, &r) {
			return
		}
		if r.Code == nil || !v.concept(r.Code, "code") {
			if !v.failed {
				v.fail(CodeRequired, "code", "Procedure.code is needed to use the procedure")
			}
			return
		}
		switch {
		case r.PerformedDateTime != nil:
			o.Date, _ = v.date(*r.PerformedDateTime, "performedDateTime", true, Error)
		case r.PerformedPeriod != nil:
			o.Date = v.period(r.PerformedPeriod, "performedPeriod")
		}
		if v.failed {
			return
		}
		b.dateChecks(&o, &v)
		b.rec.Procedures = append(b.rec.Procedures, Procedure{Origin: o, Procedure: *r.Procedure})
	case "MedicationStatement":
		var r struct {
			ResourceType string `json:"resourceType"`
			*fm.MedicationStatement
		}
		r.MedicationStatement = new(fm.MedicationStatement)
		if !v.decode(raw, &r) {
			return
		}
		if len(r.MedicationCodeableConcept.Coding) == 0 && r.MedicationCodeableConcept.Text == nil && r.MedicationReference.Reference == nil {
			v.fail(CodeRequired, "medication[x]", "MedicationStatement.medication[x] is required")
			return
		}
		if !medStatementStatus[r.Status] {
			v.fail(CodeValue, "status", "unknown MedicationStatement status code")
			return
		}
		switch {
		case r.EffectiveDateTime != nil:
			o.Date, _ = v.date(*r.EffectiveDateTime, "effectiveDateTime", true, Error)
		case r.EffectivePeriod != nil:
			o.Date = v.period(r.EffectivePeriod, "effectivePeriod")
		case r.DateAsserted != nil:
			o.Date, _ = v.date(*r.DateAsserted, "dateAsserted", true, Error)
		}
		if v.failed {
			return
		}
		b.dateChecks(&o, &v)
		b.rec.MedicationStatements = append(b.rec.MedicationStatements, MedicationStatement{Origin: o, MedicationStatement: *r.MedicationStatement})
	case "MedicationRequest":
		var r struct {
			ResourceType string `json:"resourceType"`
			*fm.MedicationRequest
		}
		r.MedicationRequest = new(fm.MedicationRequest)
		if !v.decode(raw, &r) {
			return
		}
		if len(r.MedicationCodeableConcept.Coding) == 0 && r.MedicationCodeableConcept.Text == nil && r.MedicationReference.Reference == nil {
			v.fail(CodeRequired, "medication[x]", "MedicationRequest.medication[x] is required")
			return
		}
		if !medRequestStatus[r.Status] {
			v.fail(CodeValue, "status", "unknown MedicationRequest status code")
			return
		}
		if r.AuthoredOn != nil {
			o.Date, _ = v.date(*r.AuthoredOn, "authoredOn", true, Error)
		}
		if v.failed {
			return
		}
		b.dateChecks(&o, &v)
		b.rec.MedicationRequests = append(b.rec.MedicationRequests, MedicationRequest{Origin: o, MedicationRequest: *r.MedicationRequest})
	case "ServiceRequest":
		var r struct {
			ResourceType string `json:"resourceType"`
			*fm.ServiceRequest
		}
		r.ServiceRequest = new(fm.ServiceRequest)
		if !v.decode(raw, &r) {
			return
		}
		if r.Code == nil || !v.concept(r.Code, "code") {
			if !v.failed {
				v.fail(CodeRequired, "code", "ServiceRequest.code is needed to use the request")
			}
			return
		}
		switch {
		case r.AuthoredOn != nil:
			o.Date, _ = v.date(*r.AuthoredOn, "authoredOn", true, Error)
		case r.OccurrenceDateTime != nil:
			o.Date, _ = v.date(*r.OccurrenceDateTime, "occurrenceDateTime", true, Error)
		}
		if v.failed {
			return
		}
		// A planned procedure is naturally dated after today: no future check.
		b.rec.ServiceRequests = append(b.rec.ServiceRequests, ServiceRequest{Origin: o, ServiceRequest: *r.ServiceRequest})
	case "ImagingStudy":
		var r struct {
			ResourceType string `json:"resourceType"`
			*fm.ImagingStudy
		}
		r.ImagingStudy = new(fm.ImagingStudy)
		if !v.decode(raw, &r) {
			return
		}
		if r.Started != nil {
			o.Date, _ = v.date(*r.Started, "started", true, Error)
		}
		if v.failed {
			return
		}
		b.dateChecks(&o, &v)
		b.rec.ImagingStudies = append(b.rec.ImagingStudies, ImagingStudy{Origin: o, ImagingStudy: *r.ImagingStudy})
	}
}

// peekType reads the resourceType when it is the object's first member.
func peekType(raw []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	if t, err := dec.Token(); err != nil || t != "resourceType" {
		return "", false
	}
	t, err := dec.Token()
	s, ok := t.(string)
	return s, err == nil && ok && s != ""
}

// dateChecks warns about resources dated in the future: they are kept (an
// index date after them may be legitimate in a replay) but flagged.
func (b *Builder) dateChecks(o *Origin, v *validator) {
	if !o.Date.IsZero() && o.Date.FirstDay().After(b.today) {
		v.warn(CodeValue, "", "dated in the future (after the processing date)")
	}
}

// statusRequired lists the elements the generated types default silently
// when missing (status, intent), per resource type, as required by R4.
var statusRequired = map[string][]string{
	"Observation": {"status"}, "QuestionnaireResponse": {"status"}, "Procedure": {"status"},
	"MedicationStatement": {"status"}, "MedicationRequest": {"status", "intent"},
	"ServiceRequest": {"status", "intent"}, "ImagingStudy": {"status"},
}

// medRequestStatus is R4's medicationrequest-status value set (the
// generated type holds status as a plain string).
var medRequestStatus = map[string]bool{
	"active": true, "on-hold": true, "cancelled": true, "completed": true, "entered-in-error": true,
	"stopped": true, "draft": true, "unknown": true,
}

// medStatementStatus is R4's medication-statement-status value set.
var medStatementStatus = map[string]bool{
	"active": true, "completed": true, "entered-in-error": true, "intended": true, "stopped": true,
	"on-hold": true, "unknown": true, "not-taken": true,
}

// validID checks the R4 id datatype: [A-Za-z0-9\-\.]{1,64}.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Record returns the assembled record: it is rejected (a *RejectError) when
// there is not exactly one Patient; resources whose subject does not
// resolve to that patient are dropped with an error issue. Call it once,
// after the last Add.
func (b *Builder) Record() (*Record, error) {
	if b.patientEntries > 1 {
		b.issues.add(Fatal, CodeInvariant, "", "%d Patient resources: a record holds exactly one patient", b.patientEntries)
		return nil, &RejectError{Issues: b.issues}
	}
	switch len(b.patients) {
	case 0:
		b.issues.add(Fatal, CodeRequired, "", "no valid Patient resource: a record needs exactly one")
		return nil, &RejectError{Issues: b.issues}
	case 1:
	default:
		b.issues.add(Fatal, CodeInvariant, b.patients[1].Loc, "%d Patient resources: a record holds exactly one patient", len(b.patients))
		return nil, &RejectError{Issues: b.issues}
	}
	r := b.rec
	r.Patient = b.patients[0]
	r.Patient.SubjectRef = ""
	self := map[string]bool{r.Patient.Ref: true}
	for full, ref := range b.full {
		if ref == r.Patient.Ref {
			self[full] = true
		}
	}
	id := ""
	if r.Patient.ID() != "" {
		id = "/Patient/" + r.Patient.ID()
	}
	is := &b.issues
	keep := func(o *Origin) bool {
		s := o.SubjectRef
		switch {
		case s == "":
			is.add(Error, CodeRequired, o.Loc+".subject", "no subject reference: cannot attribute the resource to the patient")
			return false
		case self[s], id != "" && strings.HasSuffix(s, id):
			return true
		}
		if to, ok := b.full[s]; ok && to == r.Patient.Ref {
			return true
		}
		is.add(Error, CodeInvariant, o.Loc+".subject", "subject does not resolve to the record's patient")
		return false
	}
	r.Observations = filter(r.Observations, func(x *Observation) bool { return keep(&x.Origin) })
	r.QuestionnaireResponses = filter(r.QuestionnaireResponses, func(x *QuestionnaireResponse) bool { return keep(&x.Origin) })
	r.Conditions = filter(r.Conditions, func(x *Condition) bool { return keep(&x.Origin) })
	r.Procedures = filter(r.Procedures, func(x *Procedure) bool { return keep(&x.Origin) })
	r.MedicationStatements = filter(r.MedicationStatements, func(x *MedicationStatement) bool { return keep(&x.Origin) })
	r.MedicationRequests = filter(r.MedicationRequests, func(x *MedicationRequest) bool { return keep(&x.Origin) })
	r.ServiceRequests = filter(r.ServiceRequests, func(x *ServiceRequest) bool { return keep(&x.Origin) })
	r.ImagingStudies = filter(r.ImagingStudies, func(x *ImagingStudy) bool { return keep(&x.Origin) })
	r.Issues = b.issues
	return &r, nil
}

// ID is the Patient's logical id ("" when it has none).
func (p *Patient) ID() string {
	if p.Id == nil {
		return ""
	}
	return *p.Id
}

func filter[T any](xs []T, ok func(*T) bool) []T {
	out := xs[:0]
	for i := range xs {
		if ok(&xs[i]) {
			out = append(out, xs[i])
		}
	}
	return out
}
