package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/imaging"
	"github.com/spinecast/spinecast/store"
)

// The imaging path end to end: `imaging ingest` caches the block of an
// image under its series UID; `features --bundle --database` fills the
// vector's imaging block from the cache for a record whose ImagingStudy
// holds that series, with the study as provenance, and the values equal a
// direct SchemaExtractor run on the same files.
func TestImagingIngestThenFeatures(t *testing.T) {
	image, mask := writeEmbedInputs(t)
	db := filepath.Join(t.TempDir(), "spinecast.db")
	const uid = "2.25.331508891373476540513384187461912876245"
	out := mustRun(t, "imaging", "ingest", "--image", image, "--mask", mask, "--label", "1", "--series-uid", uid,
		"--study", "ImagingStudy/mri-1", "--database", db, "--runtime", "go")
	var sum ingestSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if sum.Ingested != 1 || sum.Runtime != "go" || len(sum.Features) != len(imaging.SchemaColumns()) {
		t.Fatalf("summary %+v", sum)
	}

	// The same numbers straight from the package.
	vol, err := imaging.ReadNIfTI(image)
	if err != nil {
		t.Fatal(err)
	}
	m, err := imaging.ReadNIfTIMask(mask, 1)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := imaging.NewEncoder(imaging.DefaultEncoder)
	if err != nil {
		t.Fatal(err)
	}
	x, err := imaging.NewSchemaExtractor(enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := x.Extract(vol, m)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := st.ImagingFeatures(context.Background(), store.ImagingKey{SeriesUID: uid, MaskSHA256: want.MaskSHA256,
		SettingsSHA256: want.SettingsSHA256, EncoderSHA256: want.EncoderSHA256})
	st.Close()
	if err != nil {
		t.Fatalf("not cached under the expected key: %v", err)
	}
	if cached.Study != "ImagingStudy/mri-1" {
		t.Errorf("study %q", cached.Study)
	}

	// A record with that series (and an unrelated later study, after the
	// index date) → the block is filled from the cache.
	rec := fmt.Sprintf(`{"resourceType":"Bundle","type":"collection","entry":[
		{"resource":{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1970-05-01"}},
		{"resource":{"resourceType":"ImagingStudy","id":"mri-1","status":"available","subject":{"reference":"Patient/p1"},
			"started":"2024-02-01","series":[{"uid":%q,"modality":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"MR"}}]}}]}`, uid)
	bundle := filepath.Join(t.TempDir(), "p1.json")
	if err := os.WriteFile(bundle, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	var vec struct {
		Features   map[string]*float64 `json:"features"`
		Provenance map[string][]string `json:"provenance"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "features", "--bundle", bundle, "--as-of", "2024-03-01", "--database", db)), &vec); err != nil {
		t.Fatal(err)
	}
	if v := vec.Features["imaging_missing"]; v == nil || *v != 0 {
		t.Fatalf("imaging_missing = %v, want 0", v)
	}
	for name, w := range want.Values {
		got := vec.Features[name]
		if got == nil || *got != w {
			t.Errorf("%s = %v, want %v (exactly, through the store and JSON)", name, got, w)
		}
	}
	if p := vec.Provenance["img_emb_00"]; len(p) != 1 || p[0] != "ImagingStudy/mri-1" {
		t.Errorf("provenance %v", p)
	}
	// Before the study was started, the cache must not be used.
	if err := json.Unmarshal([]byte(mustRun(t, "features", "--bundle", bundle, "--as-of", "2024-01-15", "--database", db)), &vec); err != nil {
		t.Fatal(err)
	}
	if v := vec.Features["imaging_missing"]; v == nil || *v != 1 || vec.Features["img_stat_mean"] != nil {
		t.Errorf("index date before the study: imaging_missing %v, img_stat_mean %v", v, vec.Features["img_stat_mean"])
	}
}

func TestImagingIngestManifest(t *testing.T) {
	image, mask := writeEmbedInputs(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "spinecast.db")
	// Relative paths resolve against the manifest's directory.
	for _, p := range []string{image, mask} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := filepath.Join(dir, "images.csv")
	rows := "patient_id,series_uid,image,mask,study\n"
	for i := 1; i <= 5; i++ {
		rows += fmt.Sprintf("p%d,2.25.%d,%s,%s,ImagingStudy/s%d\n", i, i, filepath.Base(image), filepath.Base(mask), i)
	}
	if err := os.WriteFile(manifest, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	var sum ingestSummary
	if err := json.Unmarshal([]byte(mustRun(t, "imaging", "ingest", "--manifest", manifest, "--database", db, "--runtime", "go")), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Ingested != 5 || sum.Features != nil {
		t.Errorf("summary %+v", sum)
	}
	settings, encoder, err := imagingCacheKey()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := 1; i <= 5; i++ {
		f, err := st.LatestImagingFeatures(context.Background(), fmt.Sprintf("2.25.%d", i), settings, encoder)
		if err != nil || f.Study != fmt.Sprintf("ImagingStudy/s%d", i) || math.IsNaN(f.Values["img_morph_volume"]) {
			t.Errorf("series %d: %+v %v", i, f, err)
		}
	}
}

func TestImagingIngestErrors(t *testing.T) {
	image, mask := writeEmbedInputs(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	write := func(name, s string) string { return mustWrite(t, dir, name, s) }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "give either"},
		{"both modes", []string{"--image", image, "--manifest", "m.csv"}, "give either"},
		{"no uid", []string{"--image", image, "--mask", mask}, "all required"},
		{"uid not DICOM", []string{"--image", image, "--mask", mask, "--series-uid", "1.2.abc"}, "not a DICOM UID"},
		{"bad study", []string{"--image", image, "--mask", mask, "--series-uid", "1.2.3", "--study", "Patient/1"}, "not an ImagingStudy"},
		{"missing image", []string{"--image", filepath.Join(dir, "none.nii"), "--mask", mask, "--series-uid", "1.2.3"}, "none.nii"},
		{"bad runtime", []string{"--image", image, "--mask", mask, "--series-uid", "1.2.3", "--runtime", "tpu"}, "--runtime"},
		{"manifest without mask column", []string{"--manifest", write("a.csv", "series_uid,image\n1.2.3,x.nii\n")}, `no "mask" column`},
		{"empty manifest", []string{"--manifest", write("b.csv", "")}, "empty manifest"},
		{"manifest row without image", []string{"--manifest", write("c.csv", "series_uid,image,mask\n1.2.3,,m.nii\n")}, "row 1"},
		{"manifest bad uid row 2", []string{"--manifest", write("d.csv", "series_uid,image,mask\n1.2.3,"+image+","+mask+"\n1.2.x,"+image+","+mask+"\n")}, "manifest row 2"},
		{"manifest missing file row 2", []string{"--manifest", write("e.csv", "series_uid,image,mask\n1.2.3,"+image+","+mask+"\n1.2.4,"+image+",nomask.nii\n")}, "1 images stored before it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"imaging", "ingest", "--database", db, "--runtime", "go"}, tc.args...)
			_, stderr, err := runCLI(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v (stderr %q), want it to contain %q", err, stderr, tc.want)
			}
		})
	}
}

// The whole imaging path on simulated data: `cohort --images` writes MRIs,
// a manifest and ImagingStudy resources; `imaging ingest --manifest`
// caches their imaging blocks; `features --ndjson --database` fills each
// imaged patient's block from the cache through the FHIR ImagingStudy —
// and it equals the block the simulator computed in memory, up to the
// float32 storage of the NIfTI voxels.
func TestCohortImagesIngestFeatures(t *testing.T) {
	dir := t.TempDir()
	sim := filepath.Join(dir, "sim")
	db := filepath.Join(dir, "spinecast.db")
	mustRun(t, "cohort", "--n", "20", "--seed", "5", "--out", sim, "--images")
	var sum ingestSummary
	if err := json.Unmarshal([]byte(mustRun(t, "imaging", "ingest", "--manifest", filepath.Join(sim, "images.csv"),
		"--database", db, "--runtime", "go")), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Ingested == 0 {
		t.Fatal("no simulated MRI in 20 patients")
	}
	out := filepath.Join(dir, "features.csv")
	// An index date after every study: each imaged patient's study counts.
	mustRun(t, "features", "--ndjson", sim, "--as-of", "2030-01-01", "--database", db, "--out", out)

	reg := readCSV(t, filepath.Join(sim, "registry.csv"))
	got := readCSV(t, out)
	col := func(rows [][]string, name string) int {
		for j, h := range rows[0] {
			if h == name {
				return j
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	byID := map[string][]string{}
	for _, r := range got[1:] {
		byID[r[0]] = r
	}
	// float32 voxels: the radiomics and the embedding move in the 7th
	// significant digit; 1e-4 relative (plus 1e-6 absolute for values
	// near 0) bounds that with room and still catches any other source.
	const rel, abs = 1e-4, 1e-6
	imaged, compared := 0, 0
	for _, r := range reg[1:] {
		id := r[0]
		g, ok := byID[id]
		if !ok {
			t.Fatalf("patient %s missing from the features CSV", id)
		}
		if r[col(reg, "imaging_missing")] != g[col(got, "imaging_missing")] {
			t.Errorf("%s: imaging_missing %s in the registry, %s through the cache", id, r[col(reg, "imaging_missing")], g[col(got, "imaging_missing")])
			continue
		}
		if r[col(reg, "imaging_missing")] != "0" {
			continue
		}
		imaged++
		for _, name := range imaging.SchemaColumns() {
			want, err1 := strconv.ParseFloat(r[col(reg, name)], 64)
			have, err2 := strconv.ParseFloat(g[col(got, name)], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s %s: %q vs %q", id, name, r[col(reg, name)], g[col(got, name)])
			}
			if math.Abs(have-want) > abs+rel*math.Abs(want) {
				t.Errorf("%s %s: %v through the cache, %v in the registry", id, name, have, want)
			}
			compared++
		}
	}
	if imaged != sum.Ingested || imaged == len(reg)-1 {
		t.Errorf("%d imaged patients of %d in the registry, %d ingested (want some without an MRI too)", imaged, len(reg)-1, sum.Ingested)
	}
	t.Logf("%d imaged patients, %d imaging values compared", imaged, compared)
}
