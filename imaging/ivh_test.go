package imaging_test

import (
	"math"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

func TestIntensityVolumeModes(t *testing.T) {
	g := grid(4, 1, 1, [3]float64{1, 1, 1})
	v := &imaging.Volume{Geometry: g, Data: []float64{0, 1, 2, 3}}
	m := &imaging.Mask{Geometry: g, In: []bool{true, true, true, true}}
	for _, c := range []struct {
		name string
		s    *imaging.Settings
		want [6]float64 // V10, V90, I10, I90, V10−V90, I10−I90
	}{
		// Bins of 2 from 0: centres 1 and 3, ν = 1, 0.5; no intensity holds
		// ≤ 10 % of the volume, so I10 is one interval past the range.
		{"fixed bin size", &imaging.Settings{IVHBinWidth: 2}, [6]float64{0.5, 0.5, 5, 3, 0, 2}},
		// 4 bins: levels 1..4, ν = 1, .75, .5, .25, γ = 0, 1/3, 2/3, 1.
		{"fixed bin number", &imaging.Settings{IVHBins: 4}, [6]float64{0.75, 0.25, 5, 2, 0.5, 3}},
		// Discrete, range 0..3 extended by re-segmentation bounds to −1..4:
		// γ = (i + 1)/5, ν(i ≥ 1) = .75, ν(3) = .25, ν(4) = 0.
		{"discrete with range", &imaging.Settings{ResegMin: ptr(-1), ResegMax: ptr(4)}, [6]float64{1, 0, 4, 1, 1, 3}},
	} {
		fs, err := imaging.IntensityVolumeFeatures(v, m, c.s)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, f := range fs {
			if math.Abs(f.Value-c.want[i]) > 1e-12 {
				t.Errorf("%s: %s = %v, want %v", c.name, f.Name, f.Value, c.want[i])
			}
		}
	}
}

func TestHistogramModeTies(t *testing.T) {
	// Levels 1, 1, 3, 3, 4: counts tie at 1 and 3; the mean 2.4 is closer
	// to 3.
	g := grid(5, 1, 1, [3]float64{1, 1, 1})
	d := &imaging.Discretised{Geometry: g, Grey: []int32{1, 1, 3, 3, 4}, Levels: 4}
	fs, err := imaging.HistogramFeatures(d)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fs {
		got[f.Name] = f.Value
	}
	if got["Intensity histogram mode"] != 3 {
		t.Errorf("mode %v, want 3", got["Intensity histogram mode"])
	}
	// Gradient: H = 2, 0, 2, 1 → H' = −2, 0, 0.5, −1.
	if got["Maximum histogram gradient"] != 0.5 || got["Maximum histogram gradient intensity"] != 3 ||
		got["Minimum histogram gradient"] != -2 || got["Minimum histogram gradient intensity"] != 1 {
		t.Errorf("gradients %v", got)
	}
	if e := got["Discretised intensity entropy"]; math.Abs(e-(-2*0.4*math.Log2(0.4)-0.2*math.Log2(0.2))) > 1e-12 {
		t.Errorf("entropy %v", e)
	}
	bad := &imaging.Discretised{Geometry: g, Grey: []int32{1, 9, 0, 0, 0}, Levels: 4}
	if _, err := imaging.HistogramFeatures(bad); err == nil {
		t.Error("grey level above Levels: no error")
	}
}
