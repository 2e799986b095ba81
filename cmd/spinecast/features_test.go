package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/models"
)

// runFeatures runs the features command on its own (it need not be
// registered in the tree for this test).
func runFeatures(tb testing.TB, args ...string) (string, string, error) {
	tb.Helper()
	var o, e bytes.Buffer
	c := featuresCmd(&env{stdin: strings.NewReader(""), stdout: &o, stderr: &e})
	c.SetArgs(args)
	c.SetOut(&o)
	c.SetErr(&e)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.Execute()
	return o.String(), e.String(), err
}

func gunzipTo(tb testing.TB, src, dst string) {
	tb.Helper()
	f, err := os.Open(src)
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
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func TestFeaturesSchema(t *testing.T) {
	out, _, err := runFeatures(t, "--schema")
	if err != nil {
		t.Fatal(err)
	}
	var s features.Schema
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Version != features.SchemaVersion {
		t.Fatalf("schema JSON: %v, version %q", err, s.Version)
	}
	md, _, err := runFeatures(t, "--schema", "--format", "markdown")
	if err != nil || !strings.HasPrefix(md, "# Spinecast feature schema "+features.SchemaVersion) || !strings.Contains(md, "`odi_baseline`") {
		t.Errorf("markdown: %v\n%.200s", err, md)
	}
	if _, _, err := runFeatures(t, "--schema", "--format", "yaml"); err == nil {
		t.Error("--format yaml accepted")
	}
	if _, _, err := runFeatures(t); err == nil {
		t.Error("no mode accepted")
	}
}

func TestFeaturesBundle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cary.json")
	gunzipTo(t, "../../testdata/fhir/synthea_cary_ohara_304.json.gz", path)
	out, _, err := runFeatures(t, "--bundle", path, "--as-of", "2019-01-01")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		SchemaVersion string              `json:"schema_version"`
		AsOf          string              `json:"as_of"`
		Features      map[string]*float64 `json:"features"`
		Provenance    map[string][]string `json:"provenance"`
		Warnings      []map[string]any    `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if v.SchemaVersion != features.SchemaVersion || v.AsOf != "2019-01-01" || len(v.Features) != len(features.DefaultSchema().Features) {
		t.Errorf("header %q %q, %d features", v.SchemaVersion, v.AsOf, len(v.Features))
	}
	if v.Features["age_years"] == nil || v.Features["img_emb_00"] != nil || *v.Features["imaging_missing"] != 1 {
		t.Errorf("age %v, img_emb_00 %v, imaging_missing %v", v.Features["age_years"], v.Features["img_emb_00"], v.Features["imaging_missing"])
	}
	if len(v.Provenance["age_years"]) != 1 || !strings.HasPrefix(v.Provenance["age_years"][0], "Patient/") {
		t.Errorf("age provenance %v", v.Provenance["age_years"])
	}
	// Not JSON: a clear error, the issues on stdout.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("hello"), 0o600)
	out, _, err = runFeatures(t, "--bundle", bad)
	if err == nil || !strings.Contains(err.Error(), "not a JSON resource") || !strings.Contains(out, `"rejected": true`) {
		t.Errorf("bad bundle: %v\n%s", err, out)
	}
	if _, _, err := runFeatures(t, "--bundle", path, "--as-of", "01/02/2019"); err == nil {
		t.Error("bad --as-of accepted")
	}
}

func TestFeaturesNDJSON(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("Patient.ndjson", `{"resourceType":"Patient","id":"b","gender":"male","birthDate":"1950-01-01"}
{"resourceType":"Patient","id":"a","gender":"female","birthDate":"1970-01-01"}
`)
	write("Observation.ndjson", `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/a"},"code":{"coding":[{"system":"http://loinc.org","code":"97909-6"}]},"effectiveDateTime":"2023-01-01","valueQuantity":{"value":42,"system":"http://unitsofmeasure.org","code":"%"}}
{"resourceType":"Observation","id":"o2","status":"final","subject":{"reference":"Patient/a"},"code":{"coding":[{"system":"http://loinc.org","code":"97909-6"}]},"effectiveDateTime":"2024-01-01","valueQuantity":{"value":10,"system":"http://unitsofmeasure.org","code":"%"}}
`)
	out := filepath.Join(t.TempDir(), "features.csv")
	_, stderr, err := runFeatures(t, "--ndjson", dir, "--as-of", "2023-06-01", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "2 patients written") {
		t.Errorf("stderr: %s", stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := models.NewRowReader(f) // the reader `spinecast train` uses
	if err != nil {
		t.Fatal(err)
	}
	names := features.DefaultSchema().Names()
	if h := rr.Header(); h[0] != "patient_id" || len(h) != 1+len(names) || h[1] != names[0] {
		t.Fatalf("header %v…", h[:3])
	}
	odi := rr.Index("odi_baseline")
	got := map[string]float64{}
	for {
		row, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(row); i++ {
			if _, err := models.ParseValue(row[i]); err != nil {
				t.Fatalf("%s: %v", rr.Header()[i], err)
			}
		}
		v, _ := models.ParseValue(row[odi])
		got[row[0]] = v
	}
	if len(got) != 2 || got["a"] != 42 || !math.IsNaN(got["b"]) {
		t.Errorf("odi_baseline by patient %v (want a=42 from before the index date, b missing)", got)
	}
	if _, _, err := runFeatures(t, "--ndjson", dir); err == nil {
		t.Error("--ndjson without --out accepted")
	}
}

func TestFeaturesCustomCatalogue(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("../../fhir/data/proms.json")
	if err != nil {
		t.Fatal(err)
	}
	// A site that codes its ODI scores locally as http://site.example|odi-total.
	custom := strings.Replace(string(raw), `"code": "odi", "verified": false`, `"code": "odi-total", "verified": false`, 1)
	custom = strings.Replace(custom, `"local_system": "http://spinecast.example/fhir/CodeSystem/prom"`, `"local_system": "http://site.example"`, 1)
	custom = strings.Replace(custom, `{"system": "http://spinecast.example/fhir/CodeSystem/prom", "code": "odi-total"`, `{"system": "http://site.example", "code": "odi-total"`, 1)
	custom = strings.Replace(custom, `"version": "2026.11.2"`, `"version": "site-1"`, 1)
	cat := filepath.Join(dir, "proms.json")
	os.WriteFile(cat, []byte(custom), 0o600)
	b := filepath.Join(dir, "b.json")
	os.WriteFile(b, []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p"}},
	 {"resource":{"resourceType":"Observation","id":"o","status":"final","subject":{"reference":"Patient/p"},"code":{"coding":[{"system":"http://site.example","code":"odi-total"}]},"effectiveDateTime":"2024-01-01","valueQuantity":{"value":30,"system":"http://unitsofmeasure.org","code":"%"}}}]}`), 0o600)
	for _, tc := range []struct {
		args    []string
		odi     string
		version string
	}{
		{nil, "null", "2026.11.2"},
		{[]string{"--prom-catalogue", cat}, "30", "site-1"},
	} {
		out, _, err := runFeatures(t, append([]string{"--bundle", b, "--as-of", "2024-02-01"}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Version  string                     `json:"prom_catalogue_version"`
			Features map[string]json.RawMessage `json:"features"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		if string(v.Features["odi_baseline"]) != tc.odi || v.Version != tc.version {
			t.Errorf("%v: odi_baseline %s, catalogue %s; want %s, %s", tc.args, v.Features["odi_baseline"], v.Version, tc.odi, tc.version)
		}
	}
	os.WriteFile(cat, []byte(`{"version":"x","instruments":[{"id":"odi"}]}`), 0o600)
	if _, _, err := runFeatures(t, "--bundle", b, "--prom-catalogue", cat); err == nil {
		t.Error("invalid catalogue accepted")
	}
}
