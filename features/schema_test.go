package features_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
)

func TestSchema(t *testing.T) {
	s := features.DefaultSchema()
	if s.Version != features.SchemaVersion {
		t.Fatalf("schema file version %s, constant %s", s.Version, features.SchemaVersion)
	}
	if s.PROMCatalogueVersion != fhir.DefaultCatalogue().Version {
		t.Errorf("schema built from PROM catalogue %s, embedded catalogue is %s: regenerate the schema and bump its version", s.PROMCatalogueVersion, fhir.DefaultCatalogue().Version)
	}
	// Every catalogue instrument has its PROM block.
	for _, in := range fhir.DefaultCatalogue().Instruments {
		for _, suf := range []string{"_baseline", "_n", "_slope_30d", "_min", "_max", "_change", "_days_since_last", "_missing", "_slope_30d_missing"} {
			if s.Index(in.ID+suf) < 0 {
				t.Errorf("no feature %s%s", in.ID, suf)
			}
		}
	}
	// Names other teams rely on (the registry simulator, the server).
	for _, n := range []string{"age_years", "sex_female", "bmi", "smoking_current", "diabetes", "opioid_preop", "asa_class",
		"symptom_duration_months", "dx_stenosis", "proc_fusion", "proc_levels", "odi_baseline", "imaging_missing", "img_emb_15"} {
		if s.Index(n) < 0 {
			t.Errorf("stable feature %s missing", n)
		}
	}
	var js bytes.Buffer
	if err := s.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back features.Schema
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Features) != len(s.Features) {
		t.Fatalf("JSON round trip: %v, %d features", err, len(back.Features))
	}
	var md bytes.Buffer
	if err := s.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Features {
		if !strings.Contains(md.String(), "`"+f.Name+"`") {
			t.Errorf("markdown lacks %s", f.Name)
		}
		if f.Description == "" || f.Source == "" {
			t.Errorf("%s: description or source empty", f.Name)
		}
	}
}

func TestImagingBlock(t *testing.T) {
	v := mustExtract(t, bundle(patient), "2023-06-10")
	want(t, v, "imaging_missing", 1)
	vals := map[string]float64{}
	for _, f := range features.DefaultSchema().Features {
		if f.Block == "imaging" && f.Type != "indicator" {
			vals[f.Name] = 0.5
		}
	}
	delete(vals, "img_emb_03")
	if err := v.SetImaging(vals, []string{"ImagingStudy/1"}); err == nil {
		t.Error("incomplete imaging block accepted")
	}
	want(t, v, "imaging_missing", 1)
	vals["img_emb_03"] = math.NaN()
	if err := v.SetImaging(vals, nil); err == nil {
		t.Error("NaN imaging feature accepted")
	}
	vals["img_emb_03"] = 0.25
	if err := v.SetImaging(vals, []string{"ImagingStudy/1"}); err != nil {
		t.Fatal(err)
	}
	want(t, v, "imaging_missing", 0)
	want(t, v, "img_emb_03", 0.25)
}

func TestCheckVersion(t *testing.T) {
	if err := features.CheckVersion(features.SchemaVersion); err != nil {
		t.Error(err)
	}
	if err := features.CheckVersion("0.9.0"); err == nil {
		t.Error("another schema version accepted")
	}
}
