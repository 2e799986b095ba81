package cohort_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/cohort"
	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/imaging"
)

func mustAddImages(tb testing.TB, co *cohort.Cohort, opts *cohort.ImageOptions) {
	tb.Helper()
	if err := co.AddImages(context.Background(), opts); err != nil {
		tb.Fatal(err)
	}
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

var uid225 = regexp.MustCompile(`^2\.25\.(0|[1-9][0-9]*)$`)

// TestAddImages checks that images are deterministic whatever the worker
// count, leave every non-imaging column and outcome unchanged, fill the
// whole imaging block exactly for the patients with an MRI, and that Only
// selects patients without changing their images.
func TestAddImages(t *testing.T) {
	const n = 6
	plain := mustGenerate(t, n, 21)
	one, three := mustGenerate(t, n, 21), mustGenerate(t, n, 21)
	var calls []int
	mustAddImages(t, one, &cohort.ImageOptions{Workers: 1, Progress: func(done, total int) {
		if total != n {
			t.Errorf("progress total %d, want %d", total, n)
		}
		calls = append(calls, done)
	}})
	mustAddImages(t, three, &cohort.ImageOptions{Workers: 3})
	if len(calls) != n || calls[n-1] != n {
		t.Errorf("progress calls %v", calls)
	}
	schema := features.DefaultSchema()
	missing := schema.Index("imaging_missing")
	imaged := 0
	for i := range one.Patients {
		a, b, p := &one.Patients[i], &three.Patients[i], &plain.Patients[i]
		for j, f := range schema.Features {
			if !sameFloat(a.Features[j], b.Features[j]) {
				t.Errorf("%s %s: %v with 1 worker, %v with 3", a.ID, f.Name, a.Features[j], b.Features[j])
			}
			if f.Block != "imaging" && !sameFloat(a.Features[j], p.Features[j]) {
				t.Errorf("%s %s changed by AddImages: %v, was %v", a.ID, f.Name, a.Features[j], p.Features[j])
			}
		}
		for k := range a.TrueP {
			if a.Observed[k] != p.Observed[k] || !sameFloat(a.TrueP[k], p.TrueP[k]) {
				t.Errorf("%s: outcome %d changed by AddImages", a.ID, k)
			}
		}
		if (a.MRI == nil) != (b.MRI == nil) || a.MRI != nil && *a.MRI != *b.MRI {
			t.Errorf("%s: MRI %+v with 1 worker, %+v with 3", a.ID, a.MRI, b.MRI)
		}
		if a.MRI == nil {
			if a.Features[missing] != 1 {
				t.Errorf("%s: no MRI but imaging_missing = %v", a.ID, a.Features[missing])
			}
			continue
		}
		imaged++
		if a.Features[missing] != 0 {
			t.Errorf("%s: MRI but imaging_missing = %v", a.ID, a.Features[missing])
		}
		for _, name := range imaging.SchemaColumns() {
			if x := a.Features[schema.Index(name)]; math.IsNaN(x) || math.IsInf(x, 0) {
				t.Errorf("%s %s = %v", a.ID, name, x)
			}
		}
		for _, u := range []string{a.MRI.SeriesUID, a.MRI.StudyUID} {
			if !uid225.MatchString(u) || len(u) > 64 {
				t.Errorf("%s: UID %q is not a valid 2.25 UID", a.ID, u)
			}
		}
		if a.MRI.SeriesUID == a.MRI.StudyUID {
			t.Errorf("%s: series UID = study UID", a.ID)
		}
		if days := a.Index.Sub(a.MRI.StudyDate).Hours() / 24; days < 0 || days > 90 {
			t.Errorf("%s: study %v days before the index date", a.ID, days)
		}
	}
	// P(MRI) = 0.8; with this seed some of the 6 patients have none.
	if imaged == 0 || imaged == n {
		t.Errorf("%d of %d patients imaged", imaged, n)
	}
	// Only: the selected patients get the same MRI as without it.
	sel := mustGenerate(t, n, 21)
	mustAddImages(t, sel, &cohort.ImageOptions{Only: func(p *cohort.Patient) bool { return p.ID == one.Patients[0].ID || p.ID == one.Patients[1].ID }})
	for i := range sel.Patients {
		s, a := &sel.Patients[i], &one.Patients[i]
		switch {
		case i >= 2 && s.MRI != nil:
			t.Errorf("%s: not selected but imaged", s.ID)
		case i < 2 && (s.MRI == nil) != (a.MRI == nil):
			t.Errorf("%s: Only changed whether it has an MRI", s.ID)
		case i < 2 && a.MRI != nil && (*s.MRI != *a.MRI || !sameFloat(s.Features[schema.Index("img_emb_07")], a.Features[schema.Index("img_emb_07")])):
			t.Errorf("%s: Only changed the image", s.ID)
		}
	}
}

// TestImageGivesTheFeatures re-renders a patient's image and extracts its
// imaging block again: the registry's values are those of that image.
func TestImageGivesTheFeatures(t *testing.T) {
	co := mustGenerate(t, 3, 4)
	mustAddImages(t, co, nil)
	enc, err := imaging.NewEncoder(imaging.DefaultEncoder)
	if err != nil {
		t.Fatal(err)
	}
	x, err := imaging.NewSchemaExtractor(enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	schema := features.DefaultSchema()
	checked := 0
	for i, p := range co.Patients {
		v, m, err := co.Image(i)
		if p.MRI == nil {
			if err == nil {
				t.Errorf("%s: image without an MRI", p.ID)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.Dims != [3]int{64, 64, 16} || v.Spacing != [3]float64{0.8, 0.8, 4} {
			t.Errorf("%s: grid %v at %v mm", p.ID, v.Dims, v.Spacing)
		}
		// The region of interest is the dural sac on five slices.
		slices := map[int]bool{}
		for idx, in := range m.In {
			if in {
				slices[idx/(64*64)] = true
			}
		}
		if len(slices) != 5 {
			t.Errorf("%s: ROI on %d slices, want 5", p.ID, len(slices))
		}
		sf, err := x.Extract(v, m)
		if err != nil {
			t.Fatal(err)
		}
		for name, val := range sf.Values {
			if got := p.Features[schema.Index(name)]; got != val {
				t.Errorf("%s %s: registry %v, image %v", p.ID, name, got, val)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no patient imaged")
	}
	if _, _, err := co.Image(-1); err == nil {
		t.Error("Image(-1) succeeded")
	}
}

// TestWriteDirImages checks the files written with images: the NIfTI
// volumes and masks read back, the manifest and the ImagingStudy resources.
func TestWriteDirImages(t *testing.T) {
	co := mustGenerate(t, 5, 9)
	mustAddImages(t, co, nil)
	dir := t.TempDir()
	if err := co.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(dir, "images.csv"))
	if err != nil {
		t.Fatal(err)
	}
	header, rows := readCSV(t, man)
	if strings.Join(header, ",") != "patient_id,series_uid,image,mask,study_date,study" {
		t.Fatalf("images.csv header %v", header)
	}
	byID := map[string]int{}
	for i, p := range co.Patients {
		byID[p.ID] = i
	}
	want := 0
	for _, p := range co.Patients {
		if p.MRI != nil {
			want++
		}
	}
	if len(rows) != want || want == 0 {
		t.Fatalf("images.csv has %d rows, %d patients have an MRI", len(rows), want)
	}
	for _, r := range rows {
		i := byID[r[0]]
		p := &co.Patients[i]
		if p.MRI == nil || r[1] != p.MRI.SeriesUID || r[4] != p.MRI.StudyDate.Format("2006-01-02") {
			t.Errorf("manifest row %v does not match patient %s", r, p.ID)
			continue
		}
		v, m, err := co.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		rv, err := imaging.ReadNIfTI(filepath.Join(dir, r[2]))
		if err != nil {
			t.Fatal(err)
		}
		if !rv.SameGrid(v.Geometry) {
			t.Errorf("%s: NIfTI grid %+v, image %+v", p.ID, rv.Geometry, v.Geometry)
		}
		for k := range v.Data {
			if math.Abs(rv.Data[k]-v.Data[k]) > 1e-6*math.Abs(v.Data[k])+1e-9 { // float32 storage
				t.Fatalf("%s voxel %d: NIfTI %v, image %v", p.ID, k, rv.Data[k], v.Data[k])
			}
		}
		rm, err := imaging.ReadNIfTIMask(filepath.Join(dir, r[3]))
		if err != nil {
			t.Fatal(err)
		}
		if !rm.SameGrid(m.Geometry) || imaging.HashMask(&imaging.Mask{Geometry: m.Geometry, In: rm.In}) != imaging.HashMask(m) {
			t.Errorf("%s: mask read back differs", p.ID)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "ImagingStudy.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) != want {
		t.Fatalf("%d ImagingStudy lines, want %d", len(lines), want)
	}
	var st struct {
		ResourceType string `json:"resourceType"`
		Status       string `json:"status"`
		Subject      struct {
			Reference string `json:"reference"`
		} `json:"subject"`
		Started string `json:"started"`
		Series  []struct {
			UID      string `json:"uid"`
			Modality struct {
				System, Code string
			} `json:"modality"`
			BodySite struct {
				System, Code string
			} `json:"bodySite"`
		} `json:"series"`
	}
	if err := json.Unmarshal(lines[0], &st); err != nil {
		t.Fatal(err)
	}
	p := &co.Patients[byID[strings.TrimPrefix(st.Subject.Reference, "Patient/")]]
	if st.ResourceType != "ImagingStudy" || st.Status != "available" || p.MRI == nil || st.Started != p.MRI.StudyDate.Format("2006-01-02") ||
		len(st.Series) != 1 || st.Series[0].UID != p.MRI.SeriesUID || st.Series[0].Modality.Code != "MR" ||
		st.Series[0].Modality.System != "http://dicom.nema.org/resources/ontology/DCM" ||
		st.Series[0].BodySite.Code != "122496007" || st.Series[0].BodySite.System != "http://snomed.info/sct" {
		t.Errorf("ImagingStudy %s", lines[0])
	}
	// Without images: no images.csv, no ImagingStudy.ndjson.
	dir2 := t.TempDir()
	if err := mustGenerate(t, 5, 9).WriteDir(dir2); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"images.csv", "ImagingStudy.ndjson", "images"} {
		if _, err := os.Stat(filepath.Join(dir2, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s written without images (%v)", f, err)
		}
	}
}

func TestAddImagesCancelled(t *testing.T) {
	co := mustGenerate(t, 50, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := co.AddImages(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// BenchmarkAddImages is the time to simulate the MRIs of a cohort and
// extract their imaging blocks (radiomics and the plain-Go encoder) on all
// cores, reported per imaged patient.
func BenchmarkAddImages(b *testing.B) {
	for _, n := range []int{16, 64} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			imaged := 0
			for b.Loop() {
				b.StopTimer()
				co := mustGenerate(b, n, 1)
				b.StartTimer()
				mustAddImages(b, co, nil)
				for _, p := range co.Patients {
					if p.MRI != nil {
						imaged++
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(imaged)/1e6, "ms/imaged")
		})
	}
}
