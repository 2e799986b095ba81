package fhir_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"github.com/spinecast/spinecast/fhir"
)

func TestCatalogueContents(t *testing.T) {
	c := fhir.DefaultCatalogue()
	for _, id := range []string{"odi", "ndi", "nrs_back", "nrs_leg", "vas_pain", "eq5d_index", "eq5d_vas", "promis_pf", "mjoa", "comi"} {
		if c.Instrument(id) == nil {
			t.Errorf("instrument %s missing", id)
		}
	}
	// The codes checked against a retrieved source (docs/clinical-constants.md).
	verified := map[string]bool{"97909-6": true, "72514-3": true, "736534008": true, "736535009": true}
	seen := map[string]bool{}
	for _, in := range c.Instruments {
		for _, cd := range in.Codes {
			if cd.Verified && !verified[cd.Code] {
				t.Errorf("%s: code %s marked verified but not among the codes checked for this catalogue", in.ID, cd.Code)
			}
			seen[cd.Code] = seen[cd.Code] || cd.Verified
			if cd.Source == "" {
				t.Errorf("%s: code %s has no source", in.ID, cd.Code)
			}
		}
	}
	for code := range verified {
		if !seen[code] {
			t.Errorf("code %s was checked but is not marked verified in the catalogue", code)
		}
	}
	odi := c.Instrument("odi")
	if odi.Scoring == nil || odi.Scoring.MaxMissing != 1 || odi.Direction != "higher_worse" {
		t.Errorf("odi scoring %+v", odi.Scoring)
	}
	if _, err := fhir.ParseCatalogue([]byte(`{"version":"1","instruments":[{"id":"x","min":5,"max":1,"direction":"higher_worse","codes":[{"system":"s","code":"c"}]}]}`)); err == nil {
		t.Error("min > max accepted")
	}
	if _, err := fhir.ParseCatalogue([]byte(`{"version":"1","instrumentz":[]}`)); err == nil {
		t.Error("unknown field accepted")
	}
}

func odiItems(answers ...int) []fm.QuestionnaireResponseItem {
	var items []fm.QuestionnaireResponseItem
	for i, a := range answers {
		it := fm.QuestionnaireResponseItem{LinkId: fmt.Sprintf("odi-%d", i+1)}
		if a >= 0 {
			v := a
			it.Answer = []fm.QuestionnaireResponseItemAnswer{{ValueInteger: &v}}
		}
		items = append(items, it)
	}
	return items
}

func TestODIScoring(t *testing.T) {
	s := fhir.DefaultCatalogue().Instrument("odi").Scoring
	for _, tc := range []struct {
		name    string
		answers []int // -1 = unanswered
		want    float64
		err     string
	}{
		// Fairbank & Pynsent's worked example: 16 of 50 = 32 %.
		{"complete", []int{2, 2, 2, 2, 2, 2, 1, 1, 1, 1}, 32, ""},
		{"all zero", []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, ""},
		{"all five", []int{5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, 100, ""},
		// one section missed: 15 / 45 × 100.
		{"one missing", []int{2, 2, 2, 2, 2, 2, 1, 1, 1, -1}, 15.0 / 45 * 100, ""},
		{"two missing", []int{2, 2, 2, 2, 2, 2, 1, 1, -1, -1}, 0, "2 of 10 items unanswered"},
		{"out of range", []int{6, 2, 2, 2, 2, 2, 1, 1, 1, 1}, 0, "out of the 0–5"},
	} {
		got, err := s.Score(odiItems(tc.answers...))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	// Coded answers: a numeric code, or an ordinalValue extension.
	code, ord := "3", "ignored"
	d := fmt.Sprint(4)
	items := odiItems(0, 0, 0, 0, 0, 0, 0, 0, -1, -1)
	items[8].Answer = []fm.QuestionnaireResponseItemAnswer{{ValueCoding: &fm.Coding{Code: &code}}}
	num := jsonNumber(d)
	items[9].Answer = []fm.QuestionnaireResponseItemAnswer{{ValueCoding: &fm.Coding{Code: &ord, Extension: []fm.Extension{{Url: "http://hl7.org/fhir/StructureDefinition/ordinalValue", ValueDecimal: &num}}}}}
	if got, err := s.Score(items); err != nil || math.Abs(got-14) > 1e-9 {
		t.Errorf("coded answers: %v, %v; want 14", got, err)
	}
}

func TestCodeLists(t *testing.T) {
	cl := fhir.DefaultCodeLists()
	sys, icd := "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"
	for _, tc := range []struct {
		list, system, code string
		want               bool
	}{
		{"osteoporosis", sys, "64859006", true},
		{"diabetes", sys, "15777000", false}, // prediabetes
		{"diabetes", icd, "E11.9", true},
		{"dx_stenosis", icd, "M48.061", true},
		{"dx_stenosis", icd, "M4806", true},
		{"dx_spondylolisthesis", icd, "M48.0", false},
		{"opioid", "http://www.nlm.nih.gov/research/umls/rxnorm", "857005", true},
		// 76107001 is "Spinal stenosis (disorder)" in the VSAC expansion cited
		// in codelists.json; it was once listed as a disc herniation code.
		{"dx_stenosis", sys, "76107001", true},
		{"dx_disc_herniation", sys, "76107001", false},
		{"dx_disc_herniation", sys, "20021007", true},
	} {
		s, c := tc.system, tc.code
		_, got := cl.Match(tc.list, &fm.CodeableConcept{Coding: []fm.Coding{{System: &s, Code: &c}}})
		if got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.list, tc.code, got, tc.want)
		}
	}
}
