package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/spinecast/spinecast/server"
)

func TestFHIRExtractor(t *testing.T) {
	bundle := map[string]any{"resourceType": "Bundle", "type": "collection", "entry": []any{
		map[string]any{"resource": map[string]any{"resourceType": "Patient", "id": "p9", "gender": "female", "birthDate": "1960-06-15"}},
		map[string]any{"resource": map[string]any{"resourceType": "Observation", "id": "bmi1", "status": "final",
			"subject":           map[string]any{"reference": "Patient/p9"},
			"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "39156-5"}}},
			"effectiveDateTime": "2026-01-10",
			"valueQuantity":     map[string]any{"value": 31.2, "unit": "kg/m2", "system": "http://unitsofmeasure.org", "code": "kg/m2"}}},
	}}
	b, _ := json.Marshal(bundle)
	x := newExtractor()
	v, err := x.Extract(context.Background(), b, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if v.PatientID != "p9" || v.SchemaVersion == "" {
		t.Errorf("patient %q schema %q", v.PatientID, v.SchemaVersion)
	}
	if got := v.Values["bmi"]; got != 31.2 || v.Units["bmi"] != "kg/m2" || len(v.Provenance["bmi"]) != 1 {
		t.Errorf("bmi %v %q %v", got, v.Units["bmi"], v.Provenance["bmi"])
	}
	if age := v.Values["age_years"]; math.Abs(age-65.7) > 0.1 {
		t.Errorf("age %v, want ≈ 65.7", age)
	}
	if _, ok := v.Values["asa_class"]; !ok {
		t.Error("missing features must be present as NaN, not absent")
	}
	// An index date before the observation leaves BMI missing (no leakage).
	v, err = x.Extract(context.Background(), b, time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(v.Values["bmi"]) {
		t.Errorf("bmi dated after the index date was used: %v", v.Values["bmi"])
	}
	for _, bad := range []string{`{"resourceType":"Bundle","type":"collection","entry":[]}`, `not json`, `{"resourceType":"Observation"}`} {
		if _, err := x.Extract(context.Background(), []byte(bad), time.Now()); !errors.Is(err, server.ErrBadRecord) {
			t.Errorf("%s: %v, want ErrBadRecord", bad, err)
		}
	}
	if u := x.(server.FeatureSchema).Unit("bmi"); u != "kg/m2" {
		t.Errorf("schema unit %q", u)
	}
}
