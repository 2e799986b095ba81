package fhir_test

import (
	"testing"

	"github.com/spinecast/spinecast/fhir"
)

// FuzzParse: arbitrary bytes never panic the parser; a record holds one
// patient and only resources attributed to it; every issue has a severity
// and a message. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + patientJSON + `},{"search":{"mode":"outcome"},"resource":{"resourceType":"OperationOutcome"}}]}`))
	f.Add([]byte(patientJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := fhir.Parse(data, &fhir.Options{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		for _, is := range rec.Issues {
			if is.Severity == "" || is.Diagnostics == "" {
				t.Fatalf("malformed issue %+v", is)
			}
		}
		for _, o := range rec.Observations {
			if o.SubjectRef == "" {
				t.Fatalf("observation %s kept without a subject", o.Loc)
			}
		}
	})
}
