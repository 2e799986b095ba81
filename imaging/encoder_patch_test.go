package imaging_test

import (
	"math"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

// rampVolume has intensity 2·x_mm + 3·y_mm − z_mm in voxel-index
// millimetres, which trilinear interpolation reproduces exactly.
func rampVolume(dims [3]int, spacing [3]float64) *imaging.Volume {
	g := imaging.Geometry{Dims: dims, Spacing: spacing, Origin: [3]float64{10, -20, 5}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				v.Data[g.Index(i, j, k)] = ramp(float64(i)*spacing[0], float64(j)*spacing[1], float64(k)*spacing[2])
			}
		}
	}
	return v
}

func ramp(x, y, z float64) float64 { return 2*x + 3*y - z }

func TestExtractPatchResamplesAndNormalises(t *testing.T) {
	spec, err := imaging.LookupEncoder(imaging.DefaultEncoder)
	if err != nil {
		t.Fatal(err)
	}
	// A volume larger than the patch's field of view (64×64×48 mm) at a
	// finer, anisotropic spacing.
	v := rampVolume([3]int{150, 140, 30}, [3]float64{0.6, 0.55, 2.5})
	m := &imaging.Mask{Geometry: v.Geometry, In: make([]bool, v.Len())}
	// ROI: the box i 40..80, j 50..90, k 8..20.
	var sum, sumSq float64
	n := 0
	for k := 8; k <= 20; k++ {
		for j := 50; j <= 90; j++ {
			for i := 40; i <= 80; i++ {
				idx := v.Index(i, j, k)
				m.In[idx] = true
				sum += v.Data[idx]
				sumSq += v.Data[idx] * v.Data[idx]
				n++
			}
		}
	}
	mu := sum / float64(n)
	sd := math.Sqrt(sumSq/float64(n) - mu*mu)
	p, err := imaging.ExtractPatch(v, m, spec)
	if err != nil {
		t.Fatal(err)
	}
	if p.ROIVoxels != n {
		t.Errorf("ROI voxels %d, want %d", p.ROIVoxels, n)
	}
	wantCentre := [3]float64{60, 70, 14}
	if p.Centre != wantCentre {
		t.Errorf("centre %v, want %v (bounding-box centre)", p.Centre, wantCentre)
	}
	wantMM := [3]float64{10 + 60*0.6, -20 + 70*0.55, 5 + 14*2.5}
	for a := 0; a < 3; a++ {
		if math.Abs(p.CentreMM[a]-wantMM[a]) > 1e-9 {
			t.Errorf("centre mm %v, want %v", p.CentreMM, wantMM)
			break
		}
	}
	if p.InsideFraction != 1 {
		t.Errorf("inside fraction %v, want 1", p.InsideFraction)
	}
	size := spec.PatchSize
	worst := 0.0
	clipped := 0
	for k := 0; k < size[2]; k++ {
		for j := 0; j < size[1]; j++ {
			for i := 0; i < size[0]; i++ {
				// Physical position of the patch voxel, in the volume's index-mm frame.
				x := wantCentre[0]*0.6 + (float64(i)-float64(size[0]-1)/2)*spec.Spacing[0]
				y := wantCentre[1]*0.55 + (float64(j)-float64(size[1]-1)/2)*spec.Spacing[1]
				z := wantCentre[2]*2.5 + (float64(k)-float64(size[2]-1)/2)*spec.Spacing[2]
				zs := (ramp(x, y, z) - mu) / sd
				if math.Abs(zs) > spec.Clip {
					clipped++
				}
				want := math.Max(-spec.Clip, math.Min(spec.Clip, zs))
				got := float64(p.Data[i+size[0]*(j+size[1]*k)])
				worst = math.Max(worst, math.Abs(got-want))
			}
		}
	}
	if want := float64(clipped) / float64(len(p.Data)); math.Abs(p.ClippedFraction-want) > 1e-3 || clipped == 0 {
		t.Errorf("clipped fraction %v, want %v (%d voxels)", p.ClippedFraction, want, clipped)
	}
	// float32 storage of values up to Clip.
	if worst > 1e-5 {
		t.Errorf("largest |patch − analytic z-scored ramp| = %.3g", worst)
	}
}

func TestExtractPatchPadsOutsideTheVolume(t *testing.T) {
	spec, err := imaging.LookupEncoder(imaging.DefaultEncoder)
	if err != nil {
		t.Fatal(err)
	}
	// 8×8×4 voxels at the encoder's spacing: the 64×64×16 patch centred on
	// it holds exactly 8·8·4 voxels of image, the rest is padding.
	v := rampVolume([3]int{8, 8, 4}, spec.Spacing)
	p, err := imaging.ExtractPatch(v, nil, spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := 256.0 / 65536; p.InsideFraction != want {
		t.Errorf("inside fraction %v, want %v", p.InsideFraction, want)
	}
	nonzero := 0
	for _, x := range p.Data {
		if x != 0 {
			nonzero++
		}
	}
	if nonzero > 256 {
		t.Errorf("%d non-zero patch voxels, at most 256 lie in the image", nonzero)
	}
	// Voxel (0,0,0) of the image is patch voxel (28, 28, 6).
	got := float64(p.Data[28+64*(28+64*6)])
	var mu, sq float64
	for _, x := range v.Data {
		mu += x
	}
	mu /= float64(len(v.Data))
	for _, x := range v.Data {
		sq += (x - mu) * (x - mu)
	}
	want := (v.Data[0] - mu) / math.Sqrt(sq/float64(len(v.Data)))
	if math.Abs(got-want) > 1e-5 {
		t.Errorf("patch at image voxel 0 = %v, want %v", got, want)
	}
}

func TestExtractPatchErrors(t *testing.T) {
	spec, err := imaging.LookupEncoder(imaging.DefaultEncoder)
	if err != nil {
		t.Fatal(err)
	}
	v := rampVolume([3]int{10, 10, 5}, [3]float64{1, 1, 1})
	empty := &imaging.Mask{Geometry: v.Geometry, In: make([]bool, v.Len())}
	other := rampVolume([3]int{10, 10, 6}, [3]float64{1, 1, 1})
	otherMask := &imaging.Mask{Geometry: other.Geometry, In: make([]bool, other.Len())}
	nan := rampVolume([3]int{10, 10, 5}, [3]float64{1, 1, 1})
	nan.Data[7] = math.NaN()
	short := rampVolume([3]int{10, 10, 5}, [3]float64{1, 1, 1})
	short.Data = short.Data[:10]
	zeroSpacing := rampVolume([3]int{10, 10, 5}, [3]float64{1, 1, 1})
	zeroSpacing.Spacing[2] = 0
	badNorm := spec
	badNorm.Normalisation = "minmax"
	for _, tc := range []struct {
		name string
		v    *imaging.Volume
		m    *imaging.Mask
		spec imaging.EncoderSpec
		want string
	}{
		{"nil volume", nil, nil, spec, "nil volume"},
		{"empty mask", v, empty, spec, "no voxel"},
		{"mask on another grid", v, otherMask, spec, "grid"},
		{"NaN", nan, nil, spec, "non-finite"},
		{"short data", short, nil, spec, "values"},
		{"zero spacing", zeroSpacing, nil, spec, "spacing"},
		{"unknown normalisation", v, nil, badNorm, "minmax"},
	} {
		_, err := imaging.ExtractPatch(tc.v, tc.m, tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestExtractPatchConstantROI(t *testing.T) {
	spec, err := imaging.LookupEncoder(imaging.DefaultEncoder)
	if err != nil {
		t.Fatal(err)
	}
	g := imaging.Geometry{Dims: [3]int{20, 20, 6}, Spacing: [3]float64{1, 1, 3}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	for i := range v.Data {
		v.Data[i] = 77
	}
	p, err := imaging.ExtractPatch(v, nil, spec)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range p.Data {
		if x != 0 {
			t.Fatalf("constant volume: patch[%d] = %v, want 0", i, x)
		}
	}
}

func FuzzExtractPatch(f *testing.F) {
	spec, err := imaging.LookupEncoder(imaging.DefaultEncoder)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(4), uint8(5), uint8(3), 0.5, 1.0, 3.0, uint16(7), 1e6)
	f.Add(uint8(1), uint8(1), uint8(1), 1e-3, 1e3, 0.0, uint16(0), -1.0)
	f.Fuzz(func(t *testing.T, nx, ny, nz uint8, sx, sy, sz float64, maskAt uint16, val float64) {
		dims := [3]int{int(nx%12) + 1, int(ny%12) + 1, int(nz%6) + 1}
		g := imaging.Geometry{Dims: dims, Spacing: [3]float64{sx, sy, sz}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
		v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
		m := &imaging.Mask{Geometry: g, In: make([]bool, g.Len())}
		for i := range v.Data {
			v.Data[i] = val * float64(i%5)
		}
		m.In[int(maskAt)%g.Len()] = true
		p, err := imaging.ExtractPatch(v, m, spec)
		if err != nil {
			return
		}
		for i, x := range p.Data {
			if math.IsNaN(float64(x)) || math.Abs(float64(x)) > spec.Clip {
				t.Fatalf("patch[%d] = %v outside [-%g, %g]", i, x, spec.Clip, spec.Clip)
			}
		}
	})
}
