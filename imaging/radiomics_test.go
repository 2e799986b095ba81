package imaging_test

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

var (
	mriImage = filepath.Join("testdata", "sct_t2_cord_crop.nii.gz")
	mriMask  = filepath.Join("testdata", "sct_t2_cord_crop_mask.nii.gz")
	ctImage  = filepath.Join("testdata", "ct_t12_crop.nii.gz")
	ctMask   = filepath.Join("testdata", "ct_t12_crop_mask.nii.gz")
)

// fullMRI and fullCT load the originals from ../shared (skipping when
// absent).
func fullMRI(t testing.TB) (*imaging.Volume, *imaging.Mask) {
	t.Helper()
	d := filepath.Join("..", "..", "shared", "data", "images", "sct_spine_mri", "t2")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("../shared data absent (%v)", err)
	}
	v, err := imaging.ReadNIfTI(filepath.Join(d, "t2.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := imaging.ReadNIfTIMask(filepath.Join(d, "t2_seg-manual.nii.gz"), 1)
	if err != nil {
		t.Fatal(err)
	}
	return v, m
}

func loadCrop(t testing.TB, img, mask string) (*imaging.Volume, *imaging.Mask) {
	t.Helper()
	v, err := imaging.ReadNIfTI(img)
	if err != nil {
		t.Fatal(err)
	}
	m, err := imaging.ReadNIfTIMask(mask)
	if err != nil {
		t.Fatal(err)
	}
	return v, m
}

func byCode(fs []imaging.Feature) map[string]float64 {
	out := map[string]float64{}
	for _, f := range fs {
		out[f.IBSICode+"|"+f.Name+"|"+f.Aggregation] = f.Value
	}
	return out
}

func value(t *testing.T, fs []imaging.Feature, name string) float64 {
	t.Helper()
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	t.Fatalf("no feature %q", name)
	return 0
}

// ctSettings: IBSI-style CT settings: 1 mm isotropic resampling, bone
// window re-segmentation, fixed bin size 25 HU.
func ctSettings() *imaging.Settings {
	lo, hi := -1000.0, 3000.0
	return &imaging.Settings{Spacing: [3]float64{1, 1, 1}, RoundIntensities: true, ResegMin: &lo, ResegMax: &hi, Discretisation: imaging.FixedBinSize, BinWidth: 25}
}

func TestRadiomicsCTT12(t *testing.T) {
	v, m := loadCrop(t, ctImage, ctMask)
	n := m.Count()
	// No resampling: volumes relate directly to voxel counts.
	fs, err := imaging.Radiomics(v, m, &imaging.Settings{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !raceEnabled {
		again, err := imaging.Radiomics(v, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameFeatures(t, fs, again)
	}
	vox := float64(n) * v.VoxelVolume()
	if got := value(t, fs, "Volume (voxel counting)"); math.Abs(got-vox) > 1e-9*vox {
		t.Errorf("voxel-counting volume %v mm³, want %d voxels × %v mm³ = %v", got, n, v.VoxelVolume(), vox)
	}
	// T12 vertebra: a few tens of cm³ in the 20 slices (4 cm) covered.
	if vox < 10e3 || vox > 80e3 {
		t.Errorf("T12 volume %v mm³ outside 10–80 cm³", vox)
	}
	mesh := value(t, fs, "Volume (mesh)")
	if mesh > vox || mesh < 0.9*vox {
		t.Errorf("mesh volume %v mm³, want just below the voxel volume %v", mesh, vox)
	}
	// Bone: cancellous ~150–400 HU, cortical up to ~1900; the mean of a
	// vertebra lies between soft tissue and cortical bone.
	mean := value(t, fs, "Mean intensity")
	if mean < 100 || mean > 700 {
		t.Errorf("mean %v HU, not bone", mean)
	}
	if mx := value(t, fs, "Maximum intensity"); mx < 700 || mx > 3071 {
		t.Errorf("maximum %v HU", mx)
	}
	if mn := value(t, fs, "Minimum intensity"); mn < -1024 || mn > 100 {
		t.Errorf("minimum %v HU", mn)
	}
	for _, f := range fs {
		if math.IsInf(f.Value, 0) {
			t.Errorf("%s %s is infinite", f.Family, f.Name)
		}
	}
	if raceEnabled {
		t.Log("race detector on: skipping the resampled run")
		return
	}
	// With IBSI CT settings (1 mm resampling, range re-segmentation).
	fs2, err := imaging.Radiomics(v, m, ctSettings())
	if err != nil {
		t.Fatal(err)
	}
	if r := value(t, fs2, "Volume (voxel counting)") / vox; r < 0.95 || r > 1.05 {
		t.Errorf("volume after 1 mm resampling changed by factor %v", r)
	}
	if d := value(t, fs2, "Mean intensity") - mean; math.Abs(d) > 20 {
		t.Errorf("mean HU moved by %v after resampling", d)
	}
	t.Logf("T12: %d voxels, %.0f mm³ (mesh %.0f), mean %.0f HU", n, vox, mesh, mean)
}

func TestRadiomicsMRICord(t *testing.T) {
	v, m := loadCrop(t, mriImage, mriMask)
	fs, err := imaging.Radiomics(v, m, &imaging.Settings{IVHBins: 1000})
	if err != nil {
		t.Fatal(err)
	}
	vox := float64(m.Count()) * v.VoxelVolume()
	if got := value(t, fs, "Volume (voxel counting)"); got != vox {
		t.Errorf("voxel volume %v, want %v", got, vox)
	}
	mesh := value(t, fs, "Volume (mesh)")
	// A thin tube (cord ~ 7 mm across at 1 mm voxels): the mesh, cutting
	// voxel corners, encloses clearly less than the voxels, but not half.
	if mesh >= vox || mesh < 0.6*vox {
		t.Errorf("mesh volume %v, voxel volume %v", mesh, vox)
	}
	// Elongated along the cord: the major axis spans most of the 52 mm
	// field of view; the least axis is the cord's thickness.
	major, least := value(t, fs, "Major axis length"), value(t, fs, "Least axis length")
	if major < 40 || least > 15 || value(t, fs, "Elongation") > 0.4 {
		t.Errorf("major %v mm, least %v mm: not a cord", major, least)
	}
	if mean := value(t, fs, "Mean intensity"); !(mean > 0) {
		t.Errorf("mean T2 intensity %v", mean)
	}
}

// sameFeatures reports differences between two runs: values must be
// identical, except Moran's I and Geary's C, whose sums are split among
// workers (to 1e-12 relative).
func sameFeatures(t *testing.T, a, b []imaging.Feature) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d vs %d features", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x == y || (x.Name == y.Name && math.IsNaN(x.Value) && math.IsNaN(y.Value)) {
			continue
		}
		if x.Name == y.Name && x.Family == imaging.FamilyMorphology && math.Abs(x.Value-y.Value) <= 1e-12*math.Abs(x.Value) {
			continue
		}
		t.Errorf("feature %d: %+v vs %+v", i, x, y)
	}
}

// TestRadiomicsDeterministic runs the full set on the MRI cord twice, with
// one and with more workers than cores.
func TestRadiomicsDeterministic(t *testing.T) {
	v, m := loadCrop(t, mriImage, mriMask)
	a, err := imaging.Radiomics(v, m, &imaging.Settings{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := imaging.Radiomics(v, m, &imaging.Settings{Workers: runtime.GOMAXPROCS(0) + 3})
	if err != nil {
		t.Fatal(err)
	}
	sameFeatures(t, a, b)
}

// cropMatchesFull checks a committed crop against the original in
// ../shared: same features as the full image.
func cropMatchesFull(t *testing.T, fv *imaging.Volume, fm *imaging.Mask, img, mask string) {
	t.Helper()
	cv, cm := loadCrop(t, img, mask)
	if fm.Count() != cm.Count() {
		t.Fatalf("crop has %d ROI voxels, original %d", cm.Count(), fm.Count())
	}
	a, err := imaging.Radiomics(fv, fm, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := imaging.Radiomics(cv, cm, nil)
	if err != nil {
		t.Fatal(err)
	}
	ba := byCode(b)
	for k, x := range byCode(a) {
		y := ba[k]
		if math.Abs(x-y) > 1e-4*math.Max(1, math.Abs(x)) && !(math.IsNaN(x) && math.IsNaN(y)) {
			t.Errorf("%s: full %v, crop %v", k, x, y)
		}
	}
}

func TestCropMatchesFullMRI(t *testing.T) {
	v, m := fullMRI(t)
	cropMatchesFull(t, v, m, mriImage, mriMask)
}

// BenchmarkRadiomicsCTT12 is the full radiomics set on the 20-slice CT
// with the T12 mask (the committed crop holds every voxel the features
// read), using every core.
func BenchmarkRadiomicsCTT12(b *testing.B) {
	v, m := loadCrop(b, ctImage, ctMask)
	for _, c := range []struct {
		name string
		s    *imaging.Settings
	}{{"native", &imaging.Settings{Discretisation: imaging.FixedBinSize, BinWidth: 25}}, {"resampled1mm", ctSettings()}} {
		b.Run(c.name, func(b *testing.B) {
			c.s.Workers = runtime.GOMAXPROCS(0)
			for b.Loop() {
				if _, err := imaging.Radiomics(v, m, c.s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m.Count()), "roi-voxels")
		})
	}
}
