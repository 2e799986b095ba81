package features_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
)

const tol = 1e-9 // exact arithmetic on a few values: only rounding differs

func mustReadGz(tb testing.TB, path string) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func bundle(resources ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[`)
	for i, r := range resources {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"resource":` + r + `}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

const patient = `{"resourceType":"Patient","id":"p1","gender":"male","birthDate":"1960-03-01"}`

var seq int

// obs makes a score Observation of code system|code, value and unit.
func obs(system, code, date string, value float64, unit string) string {
	seq++
	u := ""
	if unit != "" {
		u = fmt.Sprintf(`,"system":"http://unitsofmeasure.org","code":%q`, unit)
	}
	return fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":%q,"code":%q}]},"effectiveDateTime":%q,"valueQuantity":{"value":%v%s}}`,
		seq, system, code, date, value, u)
}

func odi(date string, v float64) string { return obs("http://loinc.org", "97909-6", date, v, "%") }

func mustExtract(tb testing.TB, data []byte, asOf string) *features.Vector {
	tb.Helper()
	rec, err := fhir.Parse(data, nil)
	if err != nil {
		tb.Fatal(err)
	}
	day, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := features.Extract(rec, day, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func want(t *testing.T, v *features.Vector, name string, w float64) {
	t.Helper()
	got, ok := v.Value(name)
	if math.IsNaN(w) {
		if ok {
			t.Errorf("%s = %v, want missing", name, got)
		}
		return
	}
	if !ok || math.Abs(got-w) > tol {
		t.Errorf("%s = %v (present %v), want %v", name, got, ok, w)
	}
}

func TestPROMHistory(t *testing.T) {
	// ODI 60 on 2023-01-10, 50 on 2023-06-10, 40 on 2023-12-01; index 2023-12-31.
	v := mustExtract(t, bundle(patient, odi("2023-01-10", 60), odi("2023-06-10", 50), odi("2023-12-01T09:00:00+01:00", 40)), "2023-12-31")
	want(t, v, "odi_baseline", 40)
	want(t, v, "odi_n", 3)
	want(t, v, "odi_min", 40)
	want(t, v, "odi_max", 60)
	want(t, v, "odi_change", -20)
	want(t, v, "odi_days_since_last", 30)
	want(t, v, "odi_missing", 0)
	// Least squares by hand: days since 2022-12-31 are 10, 161, 335.
	tt, yy := []float64{10, 161, 335}, []float64{60, 50, 40}
	mt, my := (10+161+335)/3.0, 50.0
	var sxy, sxx float64
	for i := range tt {
		sxy += (tt[i] - mt) * (yy[i] - my)
		sxx += (tt[i] - mt) * (tt[i] - mt)
	}
	want(t, v, "odi_slope_30d", 30*sxy/sxx)
	want(t, v, "odi_slope_30d_missing", 0)
	if got := v.Provenance["odi_baseline"]; len(got) != 1 || got[0] != "Observation/o3" {
		t.Errorf("odi_baseline provenance %v", got)
	}
	// Nothing else is present: other instruments missing, with indicators.
	want(t, v, "ndi_baseline", math.NaN())
	want(t, v, "ndi_missing", 1)
	want(t, v, "ndi_n", 0)
	want(t, v, "age_years", v.AsOf.Sub(time.Date(1960, 3, 1, 0, 0, 0, 0, time.UTC)).Hours()/24/365.25)
	want(t, v, "sex_female", 0)
	want(t, v, "imaging_missing", 1)
	want(t, v, "img_emb_00", math.NaN())
}

func TestLeakage(t *testing.T) {
	before := []string{patient, odi("2023-01-10", 60), odi("2023-06-10", 50),
		obs("http://loinc.org", "39156-5", "2023-05-01", 31.2, "kg/m2"),
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"M48.061"}]},"onsetDateTime":"2022-07-01"}`}
	after := []string{
		odi("2023-06-11", 10), odi("2024-01-01", 90), obs("http://loinc.org", "39156-5", "2023-06-11", 22, "kg/m2"),
		obs("http://loinc.org", "72514-3", "2023-06", 7, "{score}"), // a month that ends after the index date
		`{"resourceType":"Condition","id":"c2","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]},"onsetDateTime":"2023-06-11"}`,
		`{"resourceType":"Condition","id":"c3","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"M51.16"}]},"onsetDateTime":"2023"}`,
		`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"7804"}]},"authoredOn":"2023-06-12"}`,
		`{"resourceType":"ServiceRequest","id":"s1","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"22612"}]},"authoredOn":"2023-07-01"}`,
	}
	const asOf = "2023-06-10"
	v1 := mustExtract(t, bundle(before...), asOf)
	v2 := mustExtract(t, bundle(append(before, after...)...), asOf)
	for i, name := range features.DefaultSchema().Names() {
		a, b := v1.Values[i], v2.Values[i]
		if !(a == b || math.IsNaN(a) && math.IsNaN(b)) {
			t.Errorf("%s changed from %v to %v by records dated after the index date", name, a, b)
		}
		if fmt.Sprint(v1.Provenance[name]) != fmt.Sprint(v2.Provenance[name]) {
			t.Errorf("%s provenance changed: %v → %v", name, v1.Provenance[name], v2.Provenance[name])
		}
	}
	// And the later records do count with a later index date.
	v3 := mustExtract(t, bundle(append(before, after...)...), "2024-06-01")
	want(t, v3, "diabetes", 1)
	want(t, v3, "odi_baseline", 90)
	want(t, v1, "dx_stenosis", 1)
	want(t, v1, "symptom_duration_months", float64(time.Date(2023, 6, 10, 0, 0, 0, 0, time.UTC).Sub(time.Date(2022, 7, 1, 0, 0, 0, 0, time.UTC)).Hours())/24/30.4375)
	want(t, v1, "bmi", 31.2)
}

func hasWarning(v *features.Vector, loc, text string) bool {
	for _, w := range v.Warnings {
		if strings.HasPrefix(w.Location, loc) && strings.Contains(w.Diagnostics, text) {
			return true
		}
	}
	return false
}

func TestBadInputWarnings(t *testing.T) {
	t.Run("BMI in the wrong unit", func(t *testing.T) {
		v := mustExtract(t, bundle(patient, obs("http://loinc.org", "39156-5", "2023-05-01", 220, "[lb_av]/[in_i]2")), "2023-06-10")
		want(t, v, "bmi", math.NaN())
		want(t, v, "bmi_missing", 1)
		if !hasWarning(v, "Bundle.entry[1].resource.valueQuantity.code", "not UCUM kg/m2") {
			t.Errorf("no unit warning: %v", v.Warnings)
		}
	})
	t.Run("BMI out of range", func(t *testing.T) {
		v := mustExtract(t, bundle(patient, obs("http://loinc.org", "39156-5", "2023-05-01", 312, "kg/m2")), "2023-06-10")
		want(t, v, "bmi", math.NaN())
	})
	t.Run("contradictory PROMs on one day", func(t *testing.T) {
		v := mustExtract(t, bundle(patient, odi("2023-05-01", 40), odi("2023-05-01T10:00:00Z", 60), odi("2023-05-01", 40)), "2023-06-10")
		want(t, v, "odi_baseline", (40+60+40)/3.0)
		want(t, v, "odi_n", 1)
		if !hasWarning(v, "Bundle.entry[", "different scores on one day") {
			t.Errorf("no contradiction warning: %v", v.Warnings)
		}
	})
	t.Run("identical PROMs on one day", func(t *testing.T) {
		v := mustExtract(t, bundle(patient, odi("2023-05-01", 40), odi("2023-05-01", 40)), "2023-06-10")
		want(t, v, "odi_baseline", 40)
		if hasWarning(v, "", "different scores") {
			t.Error("identical scores flagged as contradictory")
		}
	})
	t.Run("PROM out of range and wrong unit", func(t *testing.T) {
		v := mustExtract(t, bundle(patient, odi("2023-05-01", 140), obs("http://loinc.org", "97909-6", "2023-05-02", 30, "mm")), "2023-06-10")
		want(t, v, "odi_missing", 1)
		if !hasWarning(v, "Bundle.entry[1].resource.value[x]", "outside 0–100") || !hasWarning(v, "Bundle.entry[2].resource.valueQuantity.code", "unit not accepted") {
			t.Errorf("warnings %v", v.Warnings)
		}
	})
	t.Run("ODI with LOINC's {score} unit", func(t *testing.T) {
		v := mustExtract(t, bundle(patient, obs("http://loinc.org", "97909-6", "2023-05-02", 36, "{score}")), "2023-06-10")
		want(t, v, "odi_baseline", 36)
	})
	t.Run("birth date after index date", func(t *testing.T) {
		v := mustExtract(t, bundle(patient), "1950-01-01")
		want(t, v, "age_years", math.NaN())
		want(t, v, "age_years_missing", 1)
	})
	t.Run("no index date", func(t *testing.T) {
		rec, _ := fhir.Parse(bundle(patient), nil)
		if _, err := features.Extract(rec, time.Time{}, nil); err == nil {
			t.Error("zero index date accepted")
		}
	})
}

func TestODIFromQuestionnaireResponse(t *testing.T) {
	items := ""
	for i, a := range []int{3, 3, 2, 2, 2, 2, 1, 1, 1, -1} {
		if i > 0 {
			items += ","
		}
		if a < 0 {
			items += fmt.Sprintf(`{"linkId":"odi-%d"}`, i+1)
		} else {
			items += fmt.Sprintf(`{"linkId":"odi-%d","answer":[{"valueInteger":%d}]}`, i+1, a)
		}
	}
	qr := `{"resourceType":"QuestionnaireResponse","id":"q1","status":"completed","questionnaire":"http://loinc.org/q/97908-8","subject":{"reference":"Patient/p1"},"authored":"2023-05-01","item":[` + items + `]}`
	v := mustExtract(t, bundle(patient, qr), "2023-06-10")
	want(t, v, "odi_baseline", 17.0/45*100)
	if p := v.Provenance["odi_baseline"]; len(p) != 1 || p[0] != "QuestionnaireResponse/q1" {
		t.Errorf("provenance %v", p)
	}
}

func TestPlannedProcedure(t *testing.T) {
	sr := func(id, code string) string {
		return `{"resourceType":"ServiceRequest","id":"` + id + `","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://www.ama-assn.org/go/cpt","code":"` + code + `"}]},"authoredOn":"2023-06-01"}`
	}
	v := mustExtract(t, bundle(patient, sr("s1", "22612"), sr("s2", "22614"), sr("s3", "63047")), "2023-06-10")
	want(t, v, "proc_fusion", 1)
	want(t, v, "proc_decompression", 1)
	want(t, v, "proc_tfesi", 0)
	want(t, v, "proc_levels", 2)
	want(t, v, "prior_spine_surgery", 0)
}

func TestSyntheaBundle(t *testing.T) {
	data := mustReadGz(t, "../testdata/fhir/synthea_cary_ohara_304.json.gz")
	v := mustExtract(t, data, "2019-01-01")
	rec, _ := fhir.Parse(data, nil)
	// Expected values computed here from the record, independently of the
	// extractor: NRS observations (LOINC 72514-3) dated on or before the
	// index date, and the latest of them.
	n, last, lastVal := 0, time.Time{}, 0.0
	for _, o := range rec.Observations {
		for _, c := range o.Code.Coding {
			if *c.Code == "72514-3" && !o.Date.LastDay().After(v.AsOf) {
				n++
				if o.Date.Time.After(last) {
					last = o.Date.Time
					lastVal, _ = o.ValueQuantity.Value.Float64()
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("test premise: no NRS observations before the index date")
	}
	want(t, v, "nrs_pain_n", float64(n)) // Synthea records one pain score per visit day
	want(t, v, "nrs_pain_baseline", lastVal)
	want(t, v, "nrs_back_missing", 1) // no body site: not attributed to back or leg
	b, _ := time.Parse(time.DateOnly, *rec.Patient.Patient.BirthDate)
	want(t, v, "age_years", v.AsOf.Sub(b).Hours()/24/365.25)
	want(t, v, "imaging_missing", 1)
	if len(v.Provenance["nrs_pain_n"]) != n {
		t.Errorf("nrs_pain_n provenance has %d references, want %d", len(v.Provenance["nrs_pain_n"]), n)
	}
}
