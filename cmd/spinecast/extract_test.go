package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spinecast/spinecast/imaging"
	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
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
	x := newExtractor(nil)
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

// The server's extractor fills the imaging block from the store's cache
// (what `imaging ingest` wrote), and a failing cache is an error, not a
// silently missing block.
func TestFHIRExtractorImaging(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	settings, encoder, err := imagingCacheKey()
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]float64{}
	for i, name := range imaging.SchemaColumns() {
		vals[name] = float64(i) + 0.5
	}
	if err := st.PutImagingFeatures(ctx, &store.ImagingFeatures{ImagingKey: store.ImagingKey{SeriesUID: "1.2.840.1",
		MaskSHA256: strings.Repeat("a", 64), SettingsSHA256: settings, EncoderSHA256: encoder}, Values: vals}); err != nil {
		t.Fatal(err)
	}
	lookup, err := imagingLookup(st)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(`{"resourceType":"Bundle","type":"collection","entry":[
		{"resource":{"resourceType":"Patient","id":"p9","gender":"female","birthDate":"1960-06-15"}},
		{"resource":{"resourceType":"ImagingStudy","id":"st1","status":"available","subject":{"reference":"Patient/p9"},
			"started":"2026-01-02","series":[{"uid":"1.2.840.1","modality":{"code":"MR"}}]}}]}`)
	v, err := newExtractor(lookup).Extract(ctx, b, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if v.Values["imaging_missing"] != 0 || v.Values["img_stat_mean"] != vals["img_stat_mean"] || v.Provenance["img_stat_mean"][0] != "ImagingStudy/st1" {
		t.Errorf("imaging_missing %v img_stat_mean %v provenance %v", v.Values["imaging_missing"], v.Values["img_stat_mean"], v.Provenance["img_stat_mean"])
	}
	st.Close() // the cache is now unreadable
	if _, err := newExtractor(lookup).Extract(ctx, b, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("a closed store gave no error")
	}
}
