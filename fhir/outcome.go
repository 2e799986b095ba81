package fhir

import (
	"fmt"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Severity of an Issue, as in FHIR's IssueSeverity value set.
type Severity string

// Issue severities. Fatal and Error issues on an entry mean the entry was not
// used; Warning and Information mean it was used (perhaps partly).
const (
	Fatal       Severity = "fatal"
	Error       Severity = "error"
	Warning     Severity = "warning"
	Information Severity = "information"
)

// Issue codes used by this package (a subset of FHIR's IssueType value set).
const (
	CodeStructure  = "structure" // not JSON, wrong shape, unknown element
	CodeRequired   = "required"  // a required element is missing
	CodeValue      = "value"     // an element's value is malformed (dates, units, codes)
	CodeInvariant  = "invariant" // a rule across elements is broken (reference, patient)
	CodeNotSupport = "not-supported"
	CodeTooCostly  = "too-costly" // size or count limits
	CodeBusiness   = "business-rule"
	CodeInformatn  = "informational"
)

// Issue is one problem found in the input, in the shape of an
// OperationOutcome.issue: Location is a FHIRPath-like path such as
// Bundle.entry[3].resource.valueQuantity.unit. Diagnostics never holds
// patient identifiers or observation values.
type Issue struct {
	Severity    Severity `json:"severity"`
	Code        string   `json:"code"`
	Location    string   `json:"location,omitempty"`
	Diagnostics string   `json:"diagnostics"`
}

func (i Issue) String() string {
	if i.Location == "" {
		return fmt.Sprintf("%s %s: %s", i.Severity, i.Code, i.Diagnostics)
	}
	return fmt.Sprintf("%s %s at %s: %s", i.Severity, i.Code, i.Location, i.Diagnostics)
}

// Issues is a list of issues collected while reading input.
type Issues []Issue

func (is *Issues) add(sev Severity, code, loc, format string, args ...any) {
	*is = append(*is, Issue{Severity: sev, Code: code, Location: loc, Diagnostics: fmt.Sprintf(format, args...)})
}

// HasErrors reports whether any issue is fatal or an error.
func (is Issues) HasErrors() bool {
	for _, i := range is {
		if i.Severity == Fatal || i.Severity == Error {
			return true
		}
	}
	return false
}

// OperationOutcome converts the issues to a FHIR R4 OperationOutcome. An empty
// list gives the single informational "all OK" issue the specification asks
// for, since OperationOutcome.issue is required.
func (is Issues) OperationOutcome() fm.OperationOutcome {
	var oo fm.OperationOutcome
	if len(is) == 0 {
		d := "no issues"
		oo.Issue = []fm.OperationOutcomeIssue{{Severity: fm.IssueSeverityInformation, Code: fm.IssueTypeInformational, Diagnostics: &d}}
		return oo
	}
	for _, i := range is {
		d := i.Diagnostics
		oi := fm.OperationOutcomeIssue{Severity: severityCode(i.Severity), Code: issueTypeCode(i.Code), Diagnostics: &d}
		if i.Location != "" {
			oi.Expression = []string{i.Location}
		}
		oo.Issue = append(oo.Issue, oi)
	}
	return oo
}

func severityCode(s Severity) fm.IssueSeverity {
	switch s {
	case Fatal:
		return fm.IssueSeverityFatal
	case Error:
		return fm.IssueSeverityError
	case Warning:
		return fm.IssueSeverityWarning
	}
	return fm.IssueSeverityInformation
}

func issueTypeCode(c string) fm.IssueType {
	var t fm.IssueType
	if err := t.UnmarshalJSON([]byte(`"` + c + `"`)); err != nil {
		return fm.IssueTypeProcessing
	}
	return t
}

// RejectError is returned when the input cannot safely give a patient
// record (not JSON, no or several patients, too large…). Issues holds the
// reasons and everything else found before giving up.
type RejectError struct {
	Issues Issues
}

func (e *RejectError) Error() string {
	var msgs []string
	for _, i := range e.Issues {
		if i.Severity == Fatal || i.Severity == Error {
			msgs = append(msgs, i.String())
			if len(msgs) == 3 {
				break
			}
		}
	}
	if len(msgs) == 0 {
		return "fhir: input rejected"
	}
	return "fhir: input rejected: " + strings.Join(msgs, "; ")
}
