package features_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
)

// FuzzExtract feeds arbitrary bytes to the bundle parser and, when a record
// comes out, to feature extraction. Neither may panic; a record must have
// its one patient; every present feature must be finite and within its
// schema range; indicators must be 0 or 1 and agree with their features.
// Seeds: testdata/fuzz/FuzzExtract plus the committed HL7 examples.
func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob("../testdata/fhir/hl7/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(bundle(patient, odi("2023-01-10", 60), odi("2023-01-10", 61), obs("http://loinc.org", "39156-5", "2023", 25, "kg/m2")))
	schema := features.DefaultSchema()
	asOf := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := fhir.Parse(data, &fhir.Options{MaxBytes: 1 << 20, Now: func() time.Time { return asOf }})
		if err != nil {
			return
		}
		if rec.Patient.Ref == "" {
			t.Fatal("record without a patient reference")
		}
		v, err := features.Extract(rec, asOf, nil)
		if err != nil {
			t.Fatalf("extract failed on a parsed record: %v", err)
		}
		for i, ft := range schema.Features {
			x := v.Values[i]
			if math.IsNaN(x) {
				if ft.MissingIndicator == "" {
					t.Fatalf("%s missing but has no indicator", ft.Name)
				}
				if v.Values[schema.Index(ft.MissingIndicator)] != 1 {
					t.Fatalf("%s missing but %s is not 1", ft.Name, ft.MissingIndicator)
				}
				continue
			}
			if math.IsInf(x, 0) {
				t.Fatalf("%s infinite", ft.Name)
			}
			if ft.Min != nil && (x < *ft.Min || x > *ft.Max) {
				t.Fatalf("%s = %v outside its schema range %v–%v", ft.Name, x, *ft.Min, *ft.Max)
			}
			if ft.Type == "indicator" && x != 0 && x != 1 {
				t.Fatalf("indicator %s = %v", ft.Name, x)
			}
		}
	})
}
