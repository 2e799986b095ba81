package features_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
)

// TestHL7Examples runs every official R4 example through the pipeline: each
// either contributes to some feature or is ignored with a reason; none
// crashes. It uses ../shared when present (all 52), else the committed subset.
func TestHL7Examples(t *testing.T) {
	dir := "../../shared/data/fhir/hl7-r4-examples"
	if _, err := os.Stat(dir); err != nil {
		dir = "../testdata/fhir/hl7"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skip("no HL7 examples found")
	}
	outcome := map[string]string{}
	type item struct {
		file string
		raw  []byte
	}
	byPatient := map[string][]item{}
	patients := map[string]item{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		var h struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Subject      *struct {
				Reference string `json:"reference"`
			} `json:"subject"`
			Patient *struct {
				Reference string `json:"reference"`
			} `json:"patient"`
		}
		if err := json.Unmarshal(raw, &h); err != nil || h.ResourceType == "" {
			outcome[name] = "ignored: not a FHIR resource"
			continue
		}
		switch {
		case h.ResourceType == "Bundle":
			rec, err := fhir.Parse(raw, nil)
			var rj *fhir.RejectError
			switch {
			case errors.As(err, &rj):
				outcome[name] = "ignored: bundle rejected: " + rj.Issues[len(rj.Issues)-1].Diagnostics
			case err != nil:
				t.Errorf("%s: %v", name, err)
			default:
				v, err := features.Extract(rec, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				outcome[name] = "contributes: " + strings.Join(contributed(v, ""), ",")
			}
		case h.ResourceType == "Patient":
			patients[h.ID] = item{name, raw}
		case h.Subject == nil && h.Patient != nil:
			h.Subject = h.Patient
			fallthrough
		case h.Subject != nil:
			ref := h.Subject.Reference
			id, ok := strings.CutPrefix(ref, "Patient/")
			if !ok {
				outcome[name] = "ignored: subject " + ref + " is not a Patient reference this record can resolve"
				continue
			}
			byPatient[id] = append(byPatient[id], item{name, raw})
		default:
			outcome[name] = "ignored: " + h.ResourceType + " has no subject (not part of a patient record)"
		}
	}
	for id, items := range byPatient {
		p, ok := patients[id]
		if !ok {
			for _, it := range items {
				outcome[it.file] = "ignored: its patient (Patient/" + id + ") is not among the examples"
			}
			continue
		}
		b := fhir.NewBuilder(nil)
		b.Add(p.raw, p.file, "")
		for _, it := range items {
			b.Add(it.raw, it.file, "")
		}
		rec, err := b.Record()
		if err != nil {
			t.Errorf("Patient/%s: %v", id, err)
			continue
		}
		// Index date: the day of the patient's latest dated resource, so
		// that look-back windows (BMI: 730 days) include the examples.
		asOf := latest(rec)
		v, err := features.Extract(rec, asOf, nil)
		if err != nil {
			t.Errorf("Patient/%s: %v", id, err)
			continue
		}
		dates := dated(rec)
		outcome[p.file] = "contributes: " + strings.Join(contributed(v, "Patient/"+id), ",")
		for _, it := range items {
			var h struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			json.Unmarshal(it.raw, &h)
			if fs := contributed(v, h.ResourceType+"/"+h.ID); len(fs) > 0 {
				outcome[it.file] = "contributes: " + strings.Join(fs, ",")
				continue
			}
			// Look-back windows may exclude it at the patient's latest date:
			// try the resource's own date as the index date.
			if d, ok := ownDate(rec, h.ResourceType+"/"+h.ID); ok {
				v2, err := features.Extract(rec, d, nil)
				if err != nil {
					t.Errorf("%s: %v", it.file, err)
					continue
				}
				if fs := contributed(v2, h.ResourceType+"/"+h.ID); len(fs) > 0 {
					outcome[it.file] = "contributes at its own date " + d.Format(time.DateOnly) + ": " + strings.Join(fs, ",")
					continue
				}
			}
			var why []string
			for _, is := range v.Warnings {
				if strings.HasPrefix(is.Location, it.file) {
					why = append(why, is.String())
				}
			}
			switch {
			case rec.Ignored[h.ResourceType] > 0 && !strings.Contains("Observation Condition Procedure QuestionnaireResponse ImagingStudy", h.ResourceType):
				why = append(why, h.ResourceType+" is not read by Spinecast")
			case len(why) == 0 && !dates[h.ResourceType+"/"+h.ID]:
				why = append(why, "valid but undated: cannot be placed before an index date")
			case len(why) == 0:
				why = append(why, "valid, but at index date "+asOf.Format(time.DateOnly)+" no feature of schema "+features.SchemaVersion+" uses it (its code is in no list, or its status or kind does not count)")
			}
			outcome[it.file] = "ignored: " + strings.Join(why, "; ")
		}
	}
	for id, p := range patients {
		if _, done := outcome[p.file]; !done {
			rec, err := fhir.Parse(p.raw, nil)
			if err != nil {
				t.Errorf("%s: %v", p.file, err)
				continue
			}
			v, _ := features.Extract(rec, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil)
			outcome[p.file] = "contributes: " + strings.Join(contributed(v, "Patient/"+id), ",")
		}
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	sort.Strings(names)
	for _, n := range names {
		o := outcome[n]
		if o == "" || o == "contributes: " || o == "ignored: " {
			t.Errorf("%s: neither contributes nor has a reason (%q)", n, o)
		}
		t.Logf("%-45s %s", n, o)
	}
	// Examples whose contribution is known from their content.
	for file, feat := range map[string]string{"Observation-bmi.json": "bmi", "Patient-example.json": "sex_female", "Patient-f201.json": "age_years", "Bundle-bundle-transaction.json": "5 Patient resources"} {
		if _, ok := outcome[file]; ok && !strings.Contains(outcome[file], feat) {
			t.Errorf("%s: %s, want it to contribute %s", file, outcome[file], feat)
		}
	}
}

// contributed lists the features whose provenance holds ref ("" = any).
func contributed(v *features.Vector, ref string) []string {
	var out []string
	for name, refs := range v.Provenance {
		for _, r := range refs {
			if ref == "" || r == ref {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// latest is the last day of the record's latest dated resource.
func latest(rec *fhir.Record) time.Time {
	var t time.Time
	see := func(o fhir.Origin) {
		if !o.Date.IsZero() && o.Date.LastDay().After(t) {
			t = o.Date.LastDay()
		}
	}
	eachOrigin(rec, see)
	if t.IsZero() {
		return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

func ownDate(rec *fhir.Record, ref string) (time.Time, bool) {
	var t time.Time
	eachOrigin(rec, func(o fhir.Origin) {
		if o.Ref == ref && !o.Date.IsZero() {
			t = o.Date.LastDay()
		}
	})
	return t, !t.IsZero()
}

func dated(rec *fhir.Record) map[string]bool {
	m := map[string]bool{}
	eachOrigin(rec, func(o fhir.Origin) { m[o.Ref] = !o.Date.IsZero() })
	return m
}

func eachOrigin(rec *fhir.Record, fn func(fhir.Origin)) {
	for _, x := range rec.Observations {
		fn(x.Origin)
	}
	for _, x := range rec.QuestionnaireResponses {
		fn(x.Origin)
	}
	for _, x := range rec.Conditions {
		fn(x.Origin)
	}
	for _, x := range rec.Procedures {
		fn(x.Origin)
	}
	for _, x := range rec.MedicationStatements {
		fn(x.Origin)
	}
	for _, x := range rec.MedicationRequests {
		fn(x.Origin)
	}
	for _, x := range rec.ServiceRequests {
		fn(x.Origin)
	}
	for _, x := range rec.ImagingStudies {
		fn(x.Origin)
	}
}
