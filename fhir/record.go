package fhir

import (
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Origin says where a resource came from: its reference, its place in the
// input and its clinically relevant date.
type Origin struct {
	// Ref is the resource's relative reference, "Observation/123"; for a
	// resource without an id it is its Bundle fullUrl or its location.
	Ref string
	// Loc is the resource's path in the input, e.g. "Bundle.entry[3].resource"
	// or "Observation.ndjson:12".
	Loc string
	// Date is the date the resource is placed at for index-date checks:
	// Observation effective[x] (issued if absent), QuestionnaireResponse
	// authored, Condition onset[x] (recordedDate if absent), Procedure
	// performed[x], MedicationStatement effective[x] (dateAsserted),
	// MedicationRequest authoredOn, ServiceRequest authoredOn (occurrence),
	// ImagingStudy started. Zero when the resource carries none.
	Date Date
	// SubjectRef is the reference the resource makes to its patient, as written.
	SubjectRef string
}

// Patient is a validated Patient resource.
type Patient struct {
	Origin
	fm.Patient
	// BirthDate is Patient.birthDate parsed; zero when absent or invalid.
	BirthDate Date
}

// Observation is a validated Observation.
type Observation struct {
	Origin
	fm.Observation
}

// QuestionnaireResponse is a validated QuestionnaireResponse.
type QuestionnaireResponse struct {
	Origin
	fm.QuestionnaireResponse
}

// Condition is a validated Condition.
type Condition struct {
	Origin
	fm.Condition
}

// Procedure is a validated Procedure.
type Procedure struct {
	Origin
	fm.Procedure
}

// MedicationStatement is a validated MedicationStatement.
type MedicationStatement struct {
	Origin
	fm.MedicationStatement
}

// MedicationRequest is a validated MedicationRequest.
type MedicationRequest struct {
	Origin
	fm.MedicationRequest
}

// ServiceRequest is a validated ServiceRequest.
type ServiceRequest struct {
	Origin
	fm.ServiceRequest
}

// ImagingStudy is a validated ImagingStudy.
type ImagingStudy struct {
	Origin
	fm.ImagingStudy
}

// Record is one patient's record: the resources Spinecast reads, each
// validated and attributed to the patient, plus the issues found on the way.
// Resources of other types are counted in Ignored, not kept.
type Record struct {
	Patient                Patient
	Observations           []Observation
	QuestionnaireResponses []QuestionnaireResponse
	Conditions             []Condition
	Procedures             []Procedure
	MedicationStatements   []MedicationStatement
	MedicationRequests     []MedicationRequest
	ServiceRequests        []ServiceRequest
	ImagingStudies         []ImagingStudy
	// Ignored counts resources by type that Spinecast does not read
	// (Claim, Encounter, …).
	Ignored map[string]int
	// Issues lists what was wrong in the input; entries with an error issue
	// were left out of the record.
	Issues Issues
}

// Len is the number of resources kept in the record, the patient included.
func (r *Record) Len() int {
	return 1 + len(r.Observations) + len(r.QuestionnaireResponses) + len(r.Conditions) + len(r.Procedures) +
		len(r.MedicationStatements) + len(r.MedicationRequests) + len(r.ServiceRequests) + len(r.ImagingStudies)
}
