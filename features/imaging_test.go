package features_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
)

// imagingStudy returns an ImagingStudy resource with one MR series per uid.
func imagingStudy(id, status, started string, uids ...string) string {
	var series []string
	for _, u := range uids {
		series = append(series, fmt.Sprintf(`{"uid":%q,"modality":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"MR"}}`, u))
	}
	return fmt.Sprintf(`{"resourceType":"ImagingStudy","id":%q,"status":%q,"subject":{"reference":"Patient/p1"},"started":%q,"series":[%s]}`,
		id, status, started, strings.Join(series, ","))
}

// imagingValues is a complete imaging block whose values all equal x.
func imagingValues(x float64) map[string]float64 {
	vals := map[string]float64{}
	for _, f := range features.DefaultSchema().Features {
		if f.Block == "imaging" && f.Type != "indicator" {
			vals[f.Name] = x
		}
	}
	return vals
}

// mapLookup serves cached blocks by series UID and records the calls.
type mapLookup struct {
	cache map[string]map[string]float64
	calls []string
	err   error
}

func (m *mapLookup) lookup(_ context.Context, uid string) (map[string]float64, bool, error) {
	m.calls = append(m.calls, uid)
	if m.err != nil {
		return nil, false, m.err
	}
	v, ok := m.cache[uid]
	return v, ok, nil
}

func fillFrom(t *testing.T, asOf string, m *mapLookup, resources ...string) (*features.Vector, bool, error) {
	t.Helper()
	rec, err := fhir.Parse(bundle(append([]string{patient}, resources...)...), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := mustExtract(t, bundle(append([]string{patient}, resources...)...), asOf)
	ok, err := features.FillImaging(context.Background(), v, rec, m.lookup)
	return v, ok, err
}

func TestFillImagingPicksNewestStudyBeforeTheIndexDate(t *testing.T) {
	m := &mapLookup{cache: map[string]map[string]float64{
		"2.25.1": imagingValues(1), // old study
		"2.25.3": imagingValues(3), // second series of the newest usable study
		"2.25.9": imagingValues(9), // after the index date: must not be used
		"2.25.7": imagingValues(7), // cancelled study
	}}
	v, ok, err := fillFrom(t, "2023-06-10", m,
		imagingStudy("old", "available", "2021-02-01", "2.25.1"),
		imagingStudy("new", "available", "2023-05-20T10:00:00Z", "2.25.2", "2.25.3"),
		imagingStudy("later", "available", "2023-06-11", "2.25.9"),
		imagingStudy("void", "cancelled", "2023-06-01", "2.25.7"))
	if err != nil || !ok {
		t.Fatalf("filled %v, err %v", ok, err)
	}
	want(t, v, "imaging_missing", 0)
	want(t, v, "img_stat_mean", 3)
	want(t, v, "img_emb_15", 3)
	if p := v.Provenance["img_morph_volume"]; len(p) != 1 || p[0] != "ImagingStudy/new" {
		t.Errorf("provenance %v, want [ImagingStudy/new]", p)
	}
	if strings.Join(m.calls, " ") != "2.25.2 2.25.3" {
		t.Errorf("looked up %v, want the newest usable study's series in order", m.calls)
	}
}

func TestFillImagingNothingCached(t *testing.T) {
	m := &mapLookup{}
	v, ok, err := fillFrom(t, "2023-06-10", m, imagingStudy("s", "available", "2023-01-05", "2.25.5"))
	if err != nil || ok {
		t.Fatalf("filled %v, err %v; want not filled, no error", ok, err)
	}
	want(t, v, "imaging_missing", 1)
	want(t, v, "img_stat_mean", math.NaN())
	found := false
	for _, is := range v.Warnings {
		if strings.Contains(is.Diagnostics, "no imaging features have been computed") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning about the uncomputed study: %v", v.Warnings)
	}
	// No study at all: nothing looked up, no warning added.
	m = &mapLookup{}
	v, ok, err = fillFrom(t, "2023-06-10", m)
	if ok || err != nil || len(m.calls) != 0 || len(v.Warnings) != 0 {
		t.Errorf("no study: filled %v err %v calls %v warnings %v", ok, err, m.calls, v.Warnings)
	}
}

func TestFillImagingErrors(t *testing.T) {
	study := imagingStudy("s", "available", "2023-01-05", "2.25.5")
	m := &mapLookup{err: errors.New("database down")}
	if _, _, err := fillFrom(t, "2023-06-10", m, study); err == nil || !strings.Contains(err.Error(), "database down") {
		t.Errorf("lookup failure: %v", err)
	}
	// A cached block from another schema (a name missing) is an error,
	// and the vector is left as it was.
	bad := imagingValues(1)
	delete(bad, "img_emb_07")
	m = &mapLookup{cache: map[string]map[string]float64{"2.25.5": bad}}
	v, ok, err := fillFrom(t, "2023-06-10", m, study)
	if err == nil || ok {
		t.Errorf("incomplete cached block: filled %v err %v", ok, err)
	}
	want(t, v, "imaging_missing", 1)
	if _, err := features.FillImaging(context.Background(), nil, nil, nil); err == nil {
		t.Error("nil arguments accepted")
	}
}
