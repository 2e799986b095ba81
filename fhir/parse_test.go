package fhir_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spinecast/spinecast/fhir"
)

func TestParseSyntheaBundles(t *testing.T) {
	for _, tc := range []struct {
		path                string
		obs, cond, proc, mr int
	}{
		// Counts from the files themselves (jq '.entry[].resource.resourceType').
		{caryPath, 95, 9, 9, 4},
		{clementePath, 48, 1, 1, 0},
	} {
		rec, err := fhir.Parse(mustReadGz(t, tc.path), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if got := len(rec.Observations); got != tc.obs {
			t.Errorf("%s: %d observations, want %d", tc.path, got, tc.obs)
		}
		if got := len(rec.Conditions); got != tc.cond {
			t.Errorf("%s: %d conditions, want %d", tc.path, got, tc.cond)
		}
		if got := len(rec.Procedures); got != tc.proc {
			t.Errorf("%s: %d procedures, want %d", tc.path, got, tc.proc)
		}
		if got := len(rec.MedicationRequests); got != tc.mr {
			t.Errorf("%s: %d medication requests, want %d", tc.path, got, tc.mr)
		}
		if rec.Issues.HasErrors() {
			t.Errorf("%s: unexpected errors: %v", tc.path, rec.Issues)
		}
		if rec.Ignored["Claim"] == 0 {
			t.Errorf("%s: Claims should be counted as ignored", tc.path)
		}
		if !strings.HasPrefix(rec.Patient.Ref, "Patient/") || rec.Patient.BirthDate.IsZero() {
			t.Errorf("%s: patient %q birth date %v", tc.path, rec.Patient.Ref, rec.Patient.BirthDate)
		}
	}
}

func rejected(t *testing.T, data []byte, opts *fhir.Options, want string) {
	t.Helper()
	_, err := fhir.Parse(data, opts)
	var rj *fhir.RejectError
	if !errors.As(err, &rj) {
		t.Fatalf("got %v, want a *RejectError", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
}

func TestParseRejects(t *testing.T) {
	t.Run("not json", func(t *testing.T) { rejected(t, []byte("<Bundle/>"), nil, "not a JSON resource") })
	t.Run("empty", func(t *testing.T) { rejected(t, nil, nil, "not a JSON resource") })
	t.Run("no patient", func(t *testing.T) { rejected(t, bundle(), nil, "no valid Patient") })
	t.Run("two patients", func(t *testing.T) {
		rejected(t, bundle(patientJSON, strings.Replace(patientJSON, `"p1"`, `"p2"`, 1)), nil, "2 Patient resources")
	})
	t.Run("a second, invalid patient", func(t *testing.T) {
		rejected(t, bundle(patientJSON, `{"resourceType":"Patient","id":"p2","gender":"F"}`), nil, "2 Patient resources")
	})
	t.Run("history bundle", func(t *testing.T) {
		rejected(t, []byte(`{"resourceType":"Bundle","type":"history","entry":[]}`), nil, "does not carry")
	})
	t.Run("50 MB", func(t *testing.T) {
		big := append(bundle(patientJSON), bytes.Repeat([]byte(" "), 50<<20)...)
		rejected(t, big, nil, "larger than")
		_, err := fhir.ReadBundle(bytes.NewReader(big), nil)
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("ReadBundle: %v", err)
		}
	})
	t.Run("observation alone", func(t *testing.T) {
		rejected(t, []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"}}`), nil, "no valid Patient")
	})
}

// issueAt returns the issue at loc, or fails.
func issueAt(t *testing.T, is fhir.Issues, loc string) fhir.Issue {
	t.Helper()
	for _, i := range is {
		if i.Location == loc {
			return i
		}
	}
	t.Fatalf("no issue at %s; issues: %v", loc, is)
	return fhir.Issue{}
}

func TestValidationIssues(t *testing.T) {
	obs := func(extra string) string {
		return `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://loinc.org","code":"39156-5"}]},"effectiveDateTime":"2020-01-02"` + extra + `}`
	}
	for _, tc := range []struct {
		name, resource, loc string
		sev                 fhir.Severity
		kept                bool
	}{
		{"missing status", `{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},"code":{"text":"x"}}`, "Bundle.entry[1].resource.status", fhir.Error, false},
		{"bad status", strings.Replace(obs(""), `"final"`, `"finalized"`, 1), "Bundle.entry[1].resource", fhir.Error, false},
		{"bad date", strings.Replace(obs(""), "2020-01-02", "2020-13-02", 1), "Bundle.entry[1].resource.effectiveDateTime", fhir.Error, false},
		{"time without zone", strings.Replace(obs(""), "2020-01-02", "2020-01-02T10:00:00", 1), "Bundle.entry[1].resource.effectiveDateTime", fhir.Error, false},
		{"no code", `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"}}`, "Bundle.entry[1].resource.code", fhir.Error, false},
		{"unknown element", obs(`,"valueQuantiti":{"value":3}`), "Bundle.entry[1].resource.valueQuantiti", fhir.Warning, true},
		{"malformed unit", obs(`,"valueQuantity":{"value":30,"system":"http://unitsofmeasure.org","code":"kg m2"}`), "Bundle.entry[1].resource.valueQuantity.code", fhir.Error, false},
		{"non-UCUM unit", obs(`,"valueQuantity":{"value":30,"system":"http://example.org/units","code":"kgm2"}`), "Bundle.entry[1].resource.valueQuantity.system", fhir.Warning, true},
		{"foreign subject", strings.Replace(obs(""), "Patient/p1", "Patient/p2", 1), "Bundle.entry[1].resource.subject", fhir.Error, false},
		{"no subject", strings.Replace(obs(""), `"subject":{"reference":"Patient/p1"},`, "", 1), "Bundle.entry[1].resource.subject", fhir.Error, false},
		{"value is a string", obs(`,"valueQuantity":{"value":"thirty"}`), "Bundle.entry[1].resource", fhir.Error, false},
		{"wrong type in a field", obs(`,"subject":"Patient/p1"`), "Bundle.entry[1].resource", fhir.Error, false},
		{"future date", strings.Replace(obs(""), "2020-01-02", "2031-01-02", 1), "Bundle.entry[1].resource", fhir.Warning, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }
			rec, err := fhir.Parse(bundle(patientJSON, tc.resource), &fhir.Options{Now: now})
			if err != nil {
				t.Fatalf("a bad entry must not reject the bundle: %v", err)
			}
			is := issueAt(t, rec.Issues, tc.loc)
			if is.Severity != tc.sev {
				t.Errorf("severity %s, want %s (%v)", is.Severity, tc.sev, is)
			}
			if got := len(rec.Observations) == 1; got != tc.kept {
				t.Errorf("kept = %v, want %v", got, tc.kept)
			}
		})
	}
}

func TestUrnUUIDReferencesResolve(t *testing.T) {
	data := []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:aaa","resource":{"resourceType":"Patient","id":"x1"},"request":{"method":"POST","url":"Patient"}},
	 {"fullUrl":"urn:uuid:bbb","resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:aaa"},"code":{"text":"back pain"},"onsetDateTime":"2019"},"request":{"method":"POST","url":"Condition"}},
	 {"fullUrl":"urn:uuid:ccc","resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:zzz"},"code":{"text":"x"}},"request":{"method":"POST","url":"Condition"}}]}`)
	rec, err := fhir.Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Conditions) != 1 || rec.Conditions[0].Ref != "urn:uuid:bbb" {
		t.Fatalf("conditions %+v", rec.Conditions)
	}
	if got := rec.Conditions[0].Date.LastDay(); !got.Equal(time.Date(2019, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("year-precision onset placed at %v, want its last day", got)
	}
	issueAt(t, rec.Issues, "Bundle.entry[2].resource.subject")
}

func TestParseDateTime(t *testing.T) {
	for _, tc := range []struct {
		in      string
		ok      bool
		first   string
		last    string
		precise fhir.Precision
	}{
		{"2020", true, "2020-01-01", "2020-12-31", fhir.Year},
		{"2020-02", true, "2020-02-01", "2020-02-29", fhir.Month},
		{"2021-02-28", true, "2021-02-28", "2021-02-28", fhir.Day},
		{"2019-12-31T23:30:00-05:00", true, "2019-12-31", "2019-12-31", fhir.Second}, // the day as written, not UTC's
		{"2020-01-01T00:00:00.123Z", true, "2020-01-01", "2020-01-01", fhir.Second},
		{"2021-02-29", false, "", "", 0},
		{"2020-1-01", false, "", "", 0},
		{"0000", false, "", "", 0},
		{"2020-01-01T10:00", false, "", "", 0},
		{"2020-01-01T10:00:00", false, "", "", 0},
		{"2020-01-01 10:00:00Z", false, "", "", 0},
		{"", false, "", "", 0},
	} {
		d, err := fhir.ParseDateTime(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, fhir.ErrDate) {
				t.Errorf("%q: error does not wrap ErrDate", tc.in)
			}
			continue
		}
		if got := d.FirstDay().Format(time.DateOnly); got != tc.first {
			t.Errorf("%q: first day %s, want %s", tc.in, got, tc.first)
		}
		if got := d.LastDay().Format(time.DateOnly); got != tc.last {
			t.Errorf("%q: last day %s, want %s", tc.in, got, tc.last)
		}
		if d.Precision != tc.precise {
			t.Errorf("%q: precision %d, want %d", tc.in, d.Precision, tc.precise)
		}
	}
}

func TestOperationOutcome(t *testing.T) {
	oo := fhir.Issues{{Severity: fhir.Error, Code: fhir.CodeValue, Location: "Bundle.entry[3].resource.valueQuantity.unit", Diagnostics: "bad"}}.OperationOutcome()
	if len(oo.Issue) != 1 || oo.Issue[0].Expression[0] != "Bundle.entry[3].resource.valueQuantity.unit" || oo.Issue[0].Code.Code() != "value" || oo.Issue[0].Severity.Code() != "error" {
		t.Errorf("got %+v", oo.Issue)
	}
	if ok := (fhir.Issues{}).OperationOutcome(); len(ok.Issue) != 1 || ok.Issue[0].Severity.Code() != "information" {
		t.Errorf("empty: %+v", ok.Issue)
	}
}

func TestParsePrefetch(t *testing.T) {
	// The CDS Hooks specification's prefetch example, as published: a
	// Patient without id, an Observation with elements "<snipped>", and a
	// non-resource value ("user").
	raw, err := os.ReadFile("../testdata/fhir/cdshooks_prefetch_example.json")
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Prefetch map[string]json.RawMessage `json:"prefetch"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	rec, err := fhir.ParsePrefetch(req.Prefetch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Patient.Gender == nil || rec.Patient.Gender.Code() != "male" || rec.Patient.BirthDate.IsZero() {
		t.Errorf("patient %+v", rec.Patient.Patient)
	}
	issueAt(t, rec.Issues, "hemoglobin-a1c.entry[0].resource.status") // the snipped Observation has no status
	issueAt(t, rec.Issues, "user")
	issueAt(t, rec.Issues, "patient....") // "..." is an unknown element
	if len(rec.Observations) != 0 {
		t.Error("an Observation without status was kept")
	}
	// A prefetch Bundle of a type that cannot carry a record rejects the whole.
	_, err = fhir.ParsePrefetch(map[string]json.RawMessage{"p": json.RawMessage(patientJSON), "h": json.RawMessage(`{"resourceType":"Bundle","type":"history"}`)}, nil)
	var rj *fhir.RejectError
	if !errors.As(err, &rj) {
		t.Errorf("history bundle: %v", err)
	}
}
