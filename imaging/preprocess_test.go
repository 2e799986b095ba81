package imaging_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

func grid(nx, ny, nz int, sp [3]float64) imaging.Geometry {
	return imaging.Geometry{Dims: [3]int{nx, ny, nz}, Spacing: sp, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
}

func TestResampleGridAlignment(t *testing.T) {
	// 5 voxels of 2 mm along x → 1 mm: ⌈5·2/1⌉ = 10 voxels, grid centres
	// aligned: the new origin lies (2·4 − 1·9)/2 = −0.5 mm from the old.
	g := grid(5, 1, 1, [3]float64{2, 3, 4})
	g.Origin = [3]float64{10, 20, 30}
	v := &imaging.Volume{Geometry: g, Data: []float64{1, 4, 7, 10, 13}} // 3 per voxel: 1.5 per mm
	m := &imaging.Mask{Geometry: g, In: []bool{false, true, true, false, false}}
	rv, rm, err := imaging.Resample(v, m, [3]float64{1, 0, 0}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Dims != [3]int{10, 1, 1} || rv.Spacing != [3]float64{1, 3, 4} || rv.Origin != [3]float64{9.5, 20, 30} {
		t.Fatalf("grid %+v", rv.Geometry)
	}
	for i, x := range rv.Data {
		pos := 9.5 + float64(i) // mm
		want := 1 + 1.5*(pos-10)
		want = math.Max(1, math.Min(13, want)) // nearest value beyond the grid
		if math.Abs(x-want) > 1e-12 {
			t.Errorf("voxel %d at %v mm: %v, want %v", i, pos, x, want)
		}
	}
	// Mask: ROI voxels at 12 and 14 mm (edges 11–15 mm); partial volume ≥ 0.5
	// keeps the new voxels whose interpolated value reaches 0.5: 11.5–14.5 mm.
	var got []int
	for i, in := range rm.In {
		if in {
			got = append(got, i)
		}
	}
	if want := []int{2, 3, 4, 5}; len(got) != len(want) || got[0] != 2 || got[3] != 5 {
		t.Errorf("mask voxels %v, want %v", got, want)
	}
	// A margin crop samples the same positions as the full grid.
	cv, cm, err := imaging.Resample(v, m, [3]float64{1, 0, 0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	off := int(math.Round(cv.Origin[0] - rv.Origin[0]))
	for i := range cv.Data {
		if cv.Data[i] != rv.Data[i+off] || cm.In[i] != rm.In[i+off] {
			t.Fatalf("cropped voxel %d differs from full-grid voxel %d", i, i+off)
		}
	}
	if _, _, err := imaging.Resample(v, m, [3]float64{-1, 0, 0}, 0); err == nil {
		t.Error("negative spacing: no error")
	}
}

func TestResampleTrilinear(t *testing.T) {
	// A linear function is reproduced exactly inside the grid.
	g := grid(4, 5, 3, [3]float64{1.5, 1, 2.5})
	v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	m := &imaging.Mask{Geometry: g, In: make([]bool, g.Len())}
	f := func(x, y, z float64) float64 { return 2*x - 3*y + 0.5*z + 7 }
	for k := 0; k < 3; k++ {
		for j := 0; j < 5; j++ {
			for i := 0; i < 4; i++ {
				v.Data[g.Index(i, j, k)] = f(float64(i)*1.5, float64(j), float64(k)*2.5)
				m.In[g.Index(i, j, k)] = true
			}
		}
	}
	rv, rm, err := imaging.Resample(v, m, [3]float64{1, 1, 1}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if rm.Count() == 0 {
		t.Fatal("empty mask")
	}
	for k := 0; k < rv.Dims[2]; k++ {
		for j := 0; j < rv.Dims[1]; j++ {
			for i := 0; i < rv.Dims[0]; i++ {
				x := rv.Origin[0] + float64(i)
				y := rv.Origin[1] + float64(j)
				z := rv.Origin[2] + float64(k)
				if x < 0 || y < 0 || z < 0 || x > 4.5 || y > 4 || z > 5 {
					continue // beyond the original centres: edge values
				}
				if got := rv.At(i, j, k); math.Abs(got-f(x, y, z)) > 1e-9 {
					t.Fatalf("(%v, %v, %v): %v, want %v", x, y, z, got, f(x, y, z))
				}
			}
		}
	}
}

func TestAlignMask(t *testing.T) {
	g := grid(3, 4, 2, [3]float64{1, 2, 3})
	g.Origin = [3]float64{5, 6, 7}
	// The same lattice with j reversed: origin at the last row.
	f := g
	f.Origin[1] = 6 + 3*2
	f.Direction = [9]float64{1, 0, 0, 0, -1, 0, 0, 0, 1}
	src := &imaging.Mask{Geometry: f, In: make([]bool, f.Len())}
	src.In[f.Index(2, 0, 1)] = true // world y = 12 → j = 3 in g
	got, err := imaging.AlignMask(src, g)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count() != 1 || !got.In[g.Index(2, 3, 1)] {
		t.Errorf("aligned mask %v", got.In)
	}
	shifted := f
	shifted.Origin[0] += 0.5
	if _, err := imaging.AlignMask(&imaging.Mask{Geometry: shifted, In: src.In}, g); err == nil || !strings.Contains(err.Error(), "shifted") {
		t.Errorf("shifted grid: %v", err)
	}
	coarse := f
	coarse.Spacing[0] = 2
	if _, err := imaging.AlignMask(&imaging.Mask{Geometry: coarse, In: src.In}, g); err == nil {
		t.Error("different spacing: no error")
	}
}

func TestResegment(t *testing.T) {
	g := grid(22, 1, 1, [3]float64{1, 1, 1})
	v := &imaging.Volume{Geometry: g, Data: make([]float64, 22)}
	m := &imaging.Mask{Geometry: g, In: make([]bool, 22)}
	for i := 0; i < 20; i++ {
		v.Data[i] = float64(i + 1)
		m.In[i] = true
	}
	v.Data[20], m.In[20] = 1000, true // outlier: > mean + 3 SD
	v.Data[21] = 5                    // outside the ROI
	lo, hi := 3.0, 1000.0
	r, err := imaging.Resegment(v, m, &lo, &hi, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count() != 19 || r.In[0] || r.In[1] || !r.In[20] || r.In[21] {
		t.Errorf("range [3, 1000]: %v", r.In)
	}
	r, _ = imaging.Resegment(v, m, nil, nil, true)
	if r.Count() != 20 || r.In[20] {
		t.Errorf("outliers: %d voxels, outlier kept %v", r.Count(), r.In[20])
	}
}

func TestDiscretise(t *testing.T) {
	g := grid(4, 1, 1, [3]float64{1, 1, 1})
	v := &imaging.Volume{Geometry: g, Data: []float64{0, 5, 10, 99}}
	m := &imaging.Mask{Geometry: g, In: []bool{true, true, true, false}}
	for _, c := range []struct {
		name string
		s    *imaging.Settings
		want []int32
		ng   int
	}{
		{"fbn 2", &imaging.Settings{Bins: 2}, []int32{1, 2, 2, 0}, 2},
		{"fbn 3", &imaging.Settings{Discretisation: imaging.FixedBinNumber, Bins: 3}, []int32{1, 2, 3, 0}, 3},
		{"fbs 4", &imaging.Settings{Discretisation: imaging.FixedBinSize, BinWidth: 4}, []int32{1, 2, 3, 0}, 3},
		{"fbs 4 from −2", &imaging.Settings{Discretisation: imaging.FixedBinSize, BinWidth: 4, BinMin: ptr(-2)}, []int32{1, 2, 4, 0}, 4},
		{"fbs 4 from reseg −6", &imaging.Settings{Discretisation: imaging.FixedBinSize, BinWidth: 4, ResegMin: ptr(-6)}, []int32{2, 3, 5, 0}, 5},
	} {
		d, err := imaging.Discretise(v, m, m, c.s)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i := range c.want {
			if d.Grey[i] != c.want[i] {
				t.Errorf("%s: grey %v, want %v", c.name, d.Grey, c.want)
				break
			}
		}
		if d.Levels != c.ng {
			t.Errorf("%s: %d levels, want %d", c.name, d.Levels, c.ng)
		}
	}
	if _, err := imaging.Discretise(v, m, nil, &imaging.Settings{Discretisation: "kmeans"}); err == nil {
		t.Error("unknown method: no error")
	}
	if _, err := imaging.Discretise(v, m, nil, &imaging.Settings{Discretisation: imaging.FixedBinSize, BinMin: ptr(1)}); err == nil {
		t.Error("bin minimum above the ROI minimum: no error")
	}
	empty := &imaging.Mask{Geometry: g, In: make([]bool, 4)}
	if _, err := imaging.Discretise(v, empty, nil, nil); !errors.Is(err, imaging.ErrEmptyROI) {
		t.Errorf("empty ROI: %v", err)
	}
}

func ptr(x float64) *float64 { return &x }

func TestRadiomicsErrors(t *testing.T) {
	v, m, err := imaging.IBSIPhantom()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imaging.Radiomics(v, m, &imaging.Settings{ResegMin: ptr(100)}); !errors.Is(err, imaging.ErrEmptyROI) {
		t.Errorf("everything re-segmented away: %v", err)
	}
	if _, err := imaging.Radiomics(v, m, &imaging.Settings{Bins: -1}); err == nil {
		t.Error("negative bins: no error")
	}
	other := *m
	other.Spacing[0] = 3
	if _, err := imaging.Radiomics(v, &other, nil); err == nil {
		t.Error("mask on another grid: no error")
	}
}

func TestFeatureJSON(t *testing.T) {
	fs := []imaging.Feature{{Family: "f", Name: "a", IBSICode: "X", Aggregation: "3D", Value: math.NaN()}, {Name: "b", Value: 2.5}}
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value":null`) || !strings.Contains(string(b), `"value":2.5`) {
		t.Errorf("json %s", b)
	}
	var back []imaging.Feature
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back[0].Value) || back[1].Value != 2.5 || back[0].IBSICode != "X" {
		t.Errorf("round trip %+v", back)
	}
}
