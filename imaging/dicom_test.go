package imaging_test

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/imaging"
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// slice describes one synthetic DICOM image.
type slice struct {
	series       string
	ipp          [3]float64
	iop          [6]float64
	spacing      [2]float64 // row, column spacing
	slope, inter string
	signed       bool
	rows, cols   int
	pixels       []int
	ts           string
}

func ds(vals ...float64) []string {
	var s []string
	for _, v := range vals {
		s = append(s, fmt.Sprint(v))
	}
	return s
}

func writeSlice(t *testing.T, path string, s slice) {
	t.Helper()
	if s.ts == "" {
		s.ts = uid.ExplicitVRLittleEndian
	}
	pr := 0
	if s.signed {
		pr = 1
	}
	px := make([][]int, len(s.pixels))
	for i, p := range s.pixels {
		px[i] = []int{p}
	}
	pd := dicom.PixelDataInfo{Frames: []*frame.Frame{{NativeData: frame.NativeFrame{Data: px, Rows: s.rows, Cols: s.cols, BitsPerSample: 16}}}}
	var elems []*dicom.Element
	add := func(tg tag.Tag, v any) {
		e, err := dicom.NewElement(tg, v)
		if err != nil {
			t.Fatalf("element %v: %v", tg, err)
		}
		elems = append(elems, e)
	}
	add(tag.MediaStorageSOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.2"})
	add(tag.MediaStorageSOPInstanceUID, []string{"1.2.3.4"})
	add(tag.TransferSyntaxUID, []string{s.ts})
	add(tag.Modality, []string{"CT"})
	add(tag.SeriesDescription, []string{"synthetic"})
	add(tag.SeriesInstanceUID, []string{s.series})
	add(tag.SeriesNumber, []string{"1"})
	add(tag.ImagePositionPatient, ds(s.ipp[:]...))
	add(tag.ImageOrientationPatient, ds(s.iop[:]...))
	add(tag.SamplesPerPixel, []int{1})
	add(tag.Rows, []int{s.rows})
	add(tag.Columns, []int{s.cols})
	add(tag.PixelSpacing, ds(s.spacing[:]...))
	add(tag.BitsAllocated, []int{16})
	add(tag.BitsStored, []int{16})
	add(tag.HighBit, []int{15})
	add(tag.PixelRepresentation, []int{pr})
	if s.inter != "" {
		add(tag.RescaleIntercept, []string{s.inter})
	}
	if s.slope != "" {
		add(tag.RescaleSlope, []string{s.slope})
	}
	add(tag.PixelData, pd)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := dicom.Write(f, dicom.Dataset{Elements: elems}); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// series writes n slices of 3×2 pixels along direction normal, in shuffled
// file order, pixel value = 100·k + index − 50 (stored signed).
func series(t *testing.T, dir, uid string, n int, iop [6]float64, step func(k int) [3]float64) {
	t.Helper()
	order := []int{}
	for k := n - 1; k >= 0; k-- {
		order = append(order, k)
	}
	for _, k := range order {
		px := make([]int, 6)
		for i := range px {
			px[i] = 100*k + i - 50
		}
		writeSlice(t, filepath.Join(dir, fmt.Sprintf("%s-%d.dcm", uid, (k*7)%n)), slice{
			series: uid, ipp: step(k), iop: iop, spacing: [2]float64{0.8, 0.6},
			slope: "2", inter: "-1000", signed: true, rows: 2, cols: 3, pixels: px,
		})
	}
}

func TestReadDICOMSeriesSynthetic(t *testing.T) {
	dir := t.TempDir()
	axial := [6]float64{1, 0, 0, 0, 1, 0}
	series(t, dir, "1.2.3", 4, axial, func(k int) [3]float64 { return [3]float64{-10, 20, 50 - 2.5*float64(k)} })
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not dicom"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := imaging.ReadDICOMSeries(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Dims != [3]int{3, 2, 4} {
		t.Fatalf("dims %v, want [3 2 4]", v.Dims)
	}
	if v.Spacing != [3]float64{0.6, 0.8, 2.5} {
		t.Errorf("spacing %v, want [0.6 0.8 2.5]", v.Spacing)
	}
	// Sorted along +z: the first slice is k = 3 (z = 42.5).
	if v.Origin != [3]float64{-10, 20, 42.5} {
		t.Errorf("origin %v", v.Origin)
	}
	if v.Direction != [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1} {
		t.Errorf("direction %v", v.Direction)
	}
	for z := 0; z < 4; z++ {
		k := 3 - z
		for i := 0; i < 6; i++ {
			want := 2*float64(100*k+i-50) - 1000
			if got := v.Data[z*6+i]; got != want {
				t.Fatalf("slice %d pixel %d = %v, want %v", z, i, got, want)
			}
		}
	}
}

func TestReadDICOMSeriesErrors(t *testing.T) {
	axial := [6]float64{1, 0, 0, 0, 1, 0}
	t.Run("two series", func(t *testing.T) {
		dir := t.TempDir()
		series(t, dir, "1.2.3", 2, axial, func(k int) [3]float64 { return [3]float64{0, 0, float64(k)} })
		series(t, dir, "1.2.4", 2, axial, func(k int) [3]float64 { return [3]float64{0, 0, float64(k)} })
		list, err := imaging.ListDICOMSeries(dir)
		if err != nil || len(list) != 2 || list[0].UID != "1.2.3" || len(list[1].Files) != 2 {
			t.Fatalf("list %+v, %v", list, err)
		}
		if _, err := imaging.ReadDICOMSeries(dir, ""); err == nil || !strings.Contains(err.Error(), "2 series") {
			t.Errorf("got %v, want a choose-one error", err)
		}
		v, err := imaging.ReadDICOMSeries(dir, "1.2.4")
		if err != nil || v.Dims[2] != 2 {
			t.Errorf("chosen series: %v", err)
		}
	})
	t.Run("non-uniform spacing", func(t *testing.T) {
		dir := t.TempDir()
		series(t, dir, "1.2.3", 4, axial, func(k int) [3]float64 {
			z := float64(k) * 2
			if k == 3 {
				z = 10
			}
			return [3]float64{0, 0, z}
		})
		if _, err := imaging.ReadDICOMSeries(dir, ""); err == nil || !strings.Contains(err.Error(), "non-uniform") {
			t.Errorf("got %v, want a non-uniform spacing error", err)
		}
	})
	t.Run("tilted", func(t *testing.T) {
		dir := t.TempDir()
		series(t, dir, "1.2.3", 3, axial, func(k int) [3]float64 { return [3]float64{0, float64(k), 2 * float64(k)} })
		if _, err := imaging.ReadDICOMSeries(dir, ""); err == nil || !strings.Contains(err.Error(), "gantry tilt") {
			t.Errorf("got %v, want a gantry tilt error", err)
		}
	})
	t.Run("duplicate positions", func(t *testing.T) {
		dir := t.TempDir()
		series(t, dir, "1.2.3", 3, axial, func(k int) [3]float64 { return [3]float64{0, 0, 5} })
		if _, err := imaging.ReadDICOMSeries(dir, ""); err == nil || !strings.Contains(err.Error(), "share one position") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("empty directory", func(t *testing.T) {
		if _, err := imaging.ReadDICOMSeries(t.TempDir(), ""); err == nil {
			t.Error("no error")
		}
	})
	t.Run("garbage file", func(t *testing.T) {
		dir := t.TempDir()
		b := append(make([]byte, 128), []byte("DICM\x02\x00\x00\x00UL\x04\x00\xff\xff\xff\x7f")...)
		if err := os.WriteFile(filepath.Join(dir, "x.dcm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := imaging.ReadDICOMSeries(dir, ""); err == nil {
			t.Error("no error")
		}
	})
}

// TestReadDICOMSeriesSagittal checks ordering along a normal that is not z
// and a direction matrix from ImageOrientationPatient.
func TestReadDICOMSeriesSagittal(t *testing.T) {
	dir := t.TempDir()
	sag := [6]float64{0, 1, 0, 0, 0, -1} // rows along +y, columns along −z: normal y × (−z) = −x
	series(t, dir, "9.9", 3, sag, func(k int) [3]float64 { return [3]float64{-3 * float64(k), 0, 0} })
	v, err := imaging.ReadDICOMSeries(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	want := [9]float64{0, 0, -1, 1, 0, 0, 0, -1, 0}
	if v.Direction != want {
		t.Errorf("direction %v, want %v", v.Direction, want)
	}
	// normal −x: positions ascend along −x, so the first slice is x = 0.
	if v.Origin != [3]float64{0, 0, 0} || v.Spacing[2] != 3 {
		t.Errorf("origin %v spacing %v", v.Origin, v.Spacing)
	}
	if got := v.Data[0]; got != 2*float64(-50)-1000 {
		t.Errorf("first voxel %v", got)
	}
}

// sharedCT is the TotalSegmentator example CT in ../shared (skipped when
// absent: a clone of the project alone does not have it).
func sharedCT(t testing.TB) string {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "data", "dicom", "totalsegmentator_ct")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("../shared data absent (%v): skipping the real CT series", err)
	}
	return d
}

func TestReadDICOMSharedCT(t *testing.T) {
	d := sharedCT(t)
	_, err := imaging.ReadDICOMSeries(filepath.Join(d, "example_ct_dicom"), "")
	if !errors.Is(err, imaging.ErrUnsupportedTransferSyntax) {
		t.Fatalf("JPEG 2000 series: got %v, want ErrUnsupportedTransferSyntax", err)
	}
	for _, s := range []string{"1.2.840.10008.1.2.4.90", "JPEG 2000"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	v, err := imaging.ReadDICOMSeries(filepath.Join(d, "example_ct_dicom_uncompressed_DERIVED"), "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Dims != [3]int{512, 512, 20} {
		t.Errorf("dims %v", v.Dims)
	}
	if math.Abs(v.Spacing[0]-0.9765625) > 1e-9 || math.Abs(v.Spacing[2]-2) > 1e-6 {
		t.Errorf("spacing %v, want 0.977 × 0.977 × 2 mm", v.Spacing)
	}
	lo, hi := v.Data[0], v.Data[0]
	for _, x := range v.Data {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	// Hounsfield units: air (outside the body and the field of view) at
	// −1024, dense bone below 3071.
	if lo != -1024 || hi < 1000 || hi > 3071 {
		t.Errorf("HU range %v..%v, want −1024..(1000, 3071]", lo, hi)
	}
}

func fullCT(t testing.TB) (*imaging.Volume, *imaging.Mask) {
	t.Helper()
	d := sharedCT(t)
	v, err := imaging.ReadDICOMSeries(filepath.Join(d, "example_ct_dicom_uncompressed_DERIVED"), "")
	if err != nil {
		t.Fatal(err)
	}
	// example_seg_dicom.nii.gz is the segmentation of this series, stored
	// with the row axis reversed: same voxel lattice, so AlignMask maps it
	// exactly. (example_seg.nii.gz belongs to example_ct.nii.gz, 3 mm.)
	m, err := imaging.ReadNIfTIMask(filepath.Join(d, "nifti", "example_seg_dicom.nii.gz"), 32)
	if err != nil {
		t.Fatal(err)
	}
	am, err := imaging.AlignMask(m, v.Geometry)
	if err != nil {
		t.Fatal(err)
	}
	if am.Count() != m.Count() {
		t.Fatalf("aligned T12 mask has %d voxels, the label map %d", am.Count(), m.Count())
	}
	return v, am
}

// TestRegenerateCrops rewrites the committed crops from ../shared (run
// with -imaging.regen).
func TestRegenerateCrops(t *testing.T) {
	if !*regen {
		t.Skip("run with -imaging.regen to rewrite the cropped copies from ../shared")
	}
	v, m := fullMRI(t)
	writeCrop(t, v, m, mriImage, mriMask)
	v, m = fullCT(t)
	writeCrop(t, v, m, ctImage, ctMask)
}

func TestCropMatchesFullCT(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector on: skipping the full 512×512 CT run")
	}
	v, m := fullCT(t)
	cropMatchesFull(t, v, m, ctImage, ctMask)
}

var regen = flag.Bool("imaging.regen", false, "rewrite the cropped real-scan copies in testdata from ../shared")

// Cropped copies of real scans (see testdata/README lines in the report):
// the ROI's bounding box grown by cropMargin voxels, which covers the 1 cm³
// local-intensity sphere, so features equal those of the full image.
const cropMargin = 8

func writeCrop(t *testing.T, v *imaging.Volume, m *imaging.Mask, img, mask string) {
	t.Helper()
	cv, cm, err := imaging.CropToMask(v, m, [3]int{cropMargin, cropMargin, cropMargin})
	if err != nil {
		t.Fatal(err)
	}
	mv := &imaging.Volume{Geometry: cm.Geometry, Data: make([]float64, cm.Len())}
	for i, in := range cm.In {
		if in {
			mv.Data[i] = 1
		}
	}
	for _, w := range []struct {
		path string
		v    *imaging.Volume
	}{{img, cv}, {mask, mv}} {
		f, err := os.Create(w.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := imaging.WriteNIfTI(f, w.v, true); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
