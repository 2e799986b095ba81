package imaging

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// gridOf builds a Discretised from rows of grey levels: slices[k][y][x];
// 0 marks voxels outside the ROI.
func gridOf(levels int, slices ...[][]int32) *Discretised {
	nz, ny, nx := len(slices), len(slices[0]), len(slices[0][0])
	d := &Discretised{
		Geometry: Geometry{Dims: [3]int{nx, ny, nz}, Spacing: [3]float64{1, 1, 1}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}},
		Grey:     make([]int32, nx*ny*nz),
		Levels:   levels,
	}
	for k, s := range slices {
		for y, row := range s {
			for x, g := range row {
				d.Grey[d.Index(x, y, k)] = g
			}
		}
	}
	return d
}

// featureMap runs f and indexes its features by "name|aggregation".
func featureMap(t *testing.T, f FamilyFunc, d *Discretised, s *Settings) map[string]float64 {
	t.Helper()
	fs, err := f(d, s)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, x := range fs {
		out[x.Name+"|"+x.Aggregation] = x.Value
	}
	return out
}

func checkFeatures(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		if math.Abs(g-w) > 1e-12*math.Max(1, math.Abs(w)) {
			t.Errorf("%s = %.15g, want %.15g", k, g, w)
		}
	}
}

// A 2×2 checkerboard: the four 2D directions give the co-occurrence
// matrices [[0,2],[2,0]] (x), [[2,0],[0,0]] (x=y), [[0,2],[2,0]] (y) and
// [[0,0],[0,2]] (x=-y), worked out by hand.
func TestGLCMHandComputed2x2(t *testing.T) {
	d := gridOf(2, [][]int32{{1, 2}, {2, 1}})
	got := featureMap(t, GLCMFeatures, d, nil)
	// Merged matrix [[2,4],[4,2]] / 12.
	mergedEntropy := (1.0/3)*math.Log2(6) + (2.0/3)*math.Log2(3)
	want := map[string]float64{
		"Joint maximum|" + Agg2DAveraged:         (0.5 + 1 + 0.5 + 1) / 4,
		"Joint average|" + Agg2DAveraged:         (1.5 + 1 + 1.5 + 2) / 4,
		"Contrast|" + Agg2DAveraged:              (1 + 0 + 1 + 0) / 4.0,
		"Joint maximum|" + Agg25DMerged:          1.0 / 3,
		"Contrast|" + Agg25DMerged:               2.0 / 3,
		"Joint entropy|" + Agg25DMerged:          mergedEntropy,
		"Angular second moment|" + Agg25DMerged:  5.0 / 18,
		"Correlation|" + Agg25DMerged:            -1.0 / 3,
		"Sum average|" + Agg25DMerged:            3,
		"Difference average|" + Agg25DMerged:     2.0 / 3,
		"Dissimilarity|" + Agg25DMerged:          2.0 / 3,
		"Inverse variance|" + Agg25DMerged:       2.0 / 3,
		"Inverse difference|" + Agg25DMerged:     1.0/3 + (2.0/3)/2,
		"Joint maximum|" + Agg2DSliceMerged:      1.0 / 3,
		"Joint maximum|" + Agg25DDirectionMerged: (0.5 + 1 + 0.5 + 1) / 4,
		// One slice: the 3D directions with a z component find no pair
		// and are left out, the other four are the 2D ones.
		"Joint maximum|" + Agg3DAveraged: (0.5 + 1 + 0.5 + 1) / 4,
		"Joint entropy|" + Agg3DMerged:   mergedEntropy,
	}
	checkFeatures(t, got, want)
	// Single-level matrices ([[2,0],[0,0]]) have no correlation: the
	// averaged correlation uses the two defined directions only (−1 each).
	checkFeatures(t, got, map[string]float64{"Correlation|" + Agg2DAveraged: -1})
}

func TestGLRLMHandComputed2x2(t *testing.T) {
	d := gridOf(2, [][]int32{{1, 2}, {2, 1}})
	got := featureMap(t, GLRLMFeatures, d, nil)
	// Directions x and y: four runs of length 1; x=y: runs (1,len 2),
	// (2,1), (2,1); x=-y: (2,len 2), (1,1), (1,1). Nv = 4 each.
	want := map[string]float64{
		"Short runs emphasis|" + Agg2DAveraged:      (1 + 0.75 + 1 + 0.75) / 4,
		"Run percentage|" + Agg2DAveraged:           (1 + 0.75 + 1 + 0.75) / 4,
		"Short runs emphasis|" + Agg25DMerged:       (12 + 2.0/4) / 14,
		"Long runs emphasis|" + Agg25DMerged:        (12 + 2*4.0) / 14,
		"Run percentage|" + Agg25DMerged:            14.0 / 16,
		"Grey level non-uniformity|" + Agg25DMerged: (7*7 + 7*7) / 14.0,
		// 3D: the nine directions with a z component see every voxel as a
		// run of one (9 × 4 runs), and Nv sums over the 13 directions.
		"Run percentage|" + Agg3DMerged: (14 + 9*4.0) / (13 * 4),
	}
	checkFeatures(t, got, want)
}

func TestGLSZMHandComputed(t *testing.T) {
	// 3×3: grey 1 zone of 3, grey 2 zone of 4 (linked through a diagonal),
	// grey 3 zone of 2.
	d := gridOf(3, [][]int32{{1, 1, 2}, {1, 2, 2}, {3, 3, 2}})
	got := featureMap(t, GLSZMFeatures, d, nil)
	for _, agg := range []string{Agg2D, Agg25D, Agg3D} {
		checkFeatures(t, got, map[string]float64{
			"Small zone emphasis|" + agg:       (1.0/9 + 1.0/16 + 1.0/4) / 3,
			"Large zone emphasis|" + agg:       (9 + 16 + 4) / 3.0,
			"Zone percentage|" + agg:           3.0 / 9,
			"Grey level non-uniformity|" + agg: 1,
			"Grey level variance|" + agg:       2.0 / 3,
			"Zone size entropy|" + agg:         math.Log2(3),
		})
	}
	// A 2×2 checkerboard is two zones of two voxels under 8-connectedness
	// (four single voxels under 4-connectedness).
	cb := featureMap(t, GLSZMFeatures, gridOf(2, [][]int32{{1, 2}, {2, 1}}), nil)
	checkFeatures(t, cb, map[string]float64{"Small zone emphasis|" + Agg3D: 0.25, "Zone percentage|" + Agg3D: 0.5})
}

func TestGLSZMSliceLinking(t *testing.T) {
	// Two slices of one grey level: one zone of 8 in 3D, two zones of 4 in
	// 2D (averaged: one zone per slice) and 2.5D (merged).
	s := [][]int32{{1, 1}, {1, 1}}
	got := featureMap(t, GLSZMFeatures, gridOf(1, s, s), nil)
	checkFeatures(t, got, map[string]float64{
		"Large zone emphasis|" + Agg3D:  64,
		"Large zone emphasis|" + Agg2D:  16,
		"Large zone emphasis|" + Agg25D: 16,
		"Zone percentage|" + Agg25D:     2.0 / 8,
		"Zone percentage|" + Agg3D:      1.0 / 8,
	})
}

func TestGLDZMHandComputed(t *testing.T) {
	// 3×3 of grey 1 around a centre of grey 2: zones (1, 8 voxels, distance
	// 1) and (2, 1 voxel, distance 2).
	d := gridOf(2, [][]int32{{1, 1, 1}, {1, 2, 1}, {1, 1, 1}})
	got := featureMap(t, GLDZMFeatures, d, nil)
	for _, agg := range []string{Agg2D, Agg25D} {
		checkFeatures(t, got, map[string]float64{
			"Small distance emphasis|" + agg: (1 + 0.25) / 2,
			"Large distance emphasis|" + agg: (1 + 4) / 2.0,
			"Zone percentage|" + agg:         2.0 / 9,
		})
	}
	// In 3D a single slice is all edge: both zones at distance 1.
	checkFeatures(t, got, map[string]float64{"Small distance emphasis|" + Agg3D: 1})
}

// The distance to the ROI edge is Manhattan (4-connected erosion in 2D),
// not Chebyshev: a voxel missing diagonally from the centre of a 5×5 ROI
// leaves the centre at distance 2 (it would be 1 with 8-connected erosion).
func TestGLDZMManhattanDistance(t *testing.T) {
	rows := [][]int32{
		{1, 1, 1, 1, 1},
		{1, 1, 1, 1, 1},
		{1, 1, 2, 1, 1},
		{1, 1, 1, 0, 1},
		{1, 1, 1, 1, 1},
	}
	got := featureMap(t, GLDZMFeatures, gridOf(2, rows), nil)
	checkFeatures(t, got, map[string]float64{
		"Large distance emphasis|" + Agg2D: (1 + 4) / 2.0, // zones (1, d=1), (2, d=2)
	})
}

// The distance map comes from the morphological mask: a grey-level-0 voxel
// removed from the intensity mask by re-segmentation but kept in the
// morphological mask is no edge.
func TestGLDZMUsesMorphologicalMask(t *testing.T) {
	rows := [][]int32{
		{1, 1, 1, 1, 1},
		{1, 1, 1, 1, 1},
		{1, 1, 2, 1, 1},
		{1, 1, 1, 0, 1},
		{1, 1, 1, 1, 1},
	}
	d := gridOf(2, rows)
	d.Morph = make([]bool, len(d.Grey))
	for i := range d.Morph {
		d.Morph[i] = true
	}
	got := featureMap(t, GLDZMFeatures, d, nil)
	// Centre now at distance 3 from the 5×5 edge.
	checkFeatures(t, got, map[string]float64{"Large distance emphasis|" + Agg2D: (1 + 9) / 2.0})
}

// borderDistance equals the L1 distance to the nearest voxel outside the
// morphological mask, the grid's outside included.
func TestBorderDistanceIsL1ToOutside(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		nx, ny, nz := 3+rng.IntN(6), 3+rng.IntN(6), 1+rng.IntN(5)
		d := randomDiscretised(rng, nx, ny, nz, 3, 0.85)
		tg, err := newTexGrid(d)
		if err != nil {
			continue
		}
		for _, k := range append([]int{-1}, seq(nz)...) {
			dist := borderDistance(tg, k)
			for z := 0; z < nz; z++ {
				for y := 0; y < ny; y++ {
					for x := 0; x < nx; x++ {
						idx := tg.index(x, y, z)
						if k >= 0 && z != k {
							continue // the map is only valid in its slice
						}
						if !tg.morph[idx] {
							if dist[idx] != 0 {
								t.Fatalf("distance %d outside the region", dist[idx])
							}
							continue
						}
						want := bruteL1ToOutside(tg, x, y, z, k >= 0)
						if int(dist[idx]) != want {
							t.Fatalf("trial %d k=%d voxel (%d,%d,%d): distance %d, want %d", trial, k, x, y, z, dist[idx], want)
						}
					}
				}
			}
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func bruteL1ToOutside(t *texGrid, x, y, z int, twoD bool) int {
	best := min(x+1, t.nx-x, y+1, t.ny-y)
	if !twoD {
		best = min(best, z+1, t.nz-z)
	}
	for qz := 0; qz < t.nz; qz++ {
		if twoD && qz != z {
			continue
		}
		for qy := 0; qy < t.ny; qy++ {
			for qx := 0; qx < t.nx; qx++ {
				if t.morph[t.index(qx, qy, qz)] {
					continue
				}
				l1 := abs(float64(qx-x)) + abs(float64(qy-y)) + abs(float64(qz-z))
				best = min(best, int(l1))
			}
		}
	}
	return best
}

func TestNGTDMHandComputed(t *testing.T) {
	// 3×3 of grey 1 around a centre of grey 2 (worked by hand):
	// s_2 = |2-1| = 1 (n_2 = 1); corners |1-4/3| and edges |1-6/5| give
	// s_1 = 4/3 + 4/5 = 32/15 (n_1 = 8); p = (8/9, 1/9).
	d := gridOf(2, [][]int32{{1, 1, 1}, {1, 2, 1}, {1, 1, 1}})
	got := featureMap(t, NGTDMFeatures, d, nil)
	for _, agg := range []string{Agg2D, Agg25D, Agg3D} {
		checkFeatures(t, got, map[string]float64{
			"Coarseness|" + agg: 135.0 / 271,
			"Contrast|" + agg:   376.0 / 10935,
			"Busyness|" + agg:   271.0 / 180,
			"Complexity|" + agg: 542.0 / 1215,
			"Strength|" + agg:   30.0 / 47,
		})
	}
	// A uniform ROI: no grey tone differences, coarseness at IBSI's cap.
	u := featureMap(t, NGTDMFeatures, gridOf(1, [][]int32{{1, 1}, {1, 1}}), nil)
	checkFeatures(t, u, map[string]float64{"Coarseness|" + Agg3D: 1e6, "Contrast|" + Agg3D: 0, "Busyness|" + Agg3D: 0, "Strength|" + Agg3D: 0})
}

func TestNGLDMHandComputed(t *testing.T) {
	// Same 3×3: the centre (grey 2) has no dependent neighbour (j = 1),
	// corners have 2 (j = 3), edges 4 (j = 5).
	d := gridOf(2, [][]int32{{1, 1, 1}, {1, 2, 1}, {1, 1, 1}})
	got := featureMap(t, NGLDMFeatures, d, nil)
	checkFeatures(t, got, map[string]float64{
		"Low dependence emphasis|" + Agg3D:     (1 + 4.0/9 + 4.0/25) / 9,
		"High dependence emphasis|" + Agg3D:    (1 + 4*9.0 + 4*25.0) / 9,
		"Dependence count percentage|" + Agg3D: 1,
		"Grey level non-uniformity|" + Agg2D:   (64 + 1) / 9.0,
		"Dependence count energy|" + Agg25D:    (1 + 16 + 16) / 81.0,
	})
	// α = 1 makes every neighbour dependent: centre 9, corners 4, edges 6.
	a1 := featureMap(t, NGLDMFeatures, d, &Settings{NGLDMAlpha: 1})
	checkFeatures(t, a1, map[string]float64{"High dependence emphasis|" + Agg3D: (81 + 4*16.0 + 4*36.0) / 9})
	// δ = 2 reaches the whole 3×3 from every voxel: j = 8 for grey 1.
	d2 := featureMap(t, NGLDMFeatures, d, &Settings{Distance: 2})
	checkFeatures(t, d2, map[string]float64{"High dependence emphasis|" + Agg3D: (1 + 8*64.0) / 9})
}

func TestGLCMDistanceSetting(t *testing.T) {
	// Along x with δ = 2 only the pairs (x, x+2) count: 1–1 and 2–2.
	d := gridOf(2, [][]int32{{1, 2, 1, 2}})
	got := featureMap(t, GLCMFeatures, d, &Settings{Distance: 2})
	checkFeatures(t, got, map[string]float64{"Contrast|" + Agg2DAveraged: 0, "Contrast|" + Agg3DMerged: 0})
	got1 := featureMap(t, GLCMFeatures, d, nil)
	checkFeatures(t, got1, map[string]float64{"Contrast|" + Agg2DAveraged: 1})
}

// randomDiscretised draws grey levels 1..levels with a random ROI covering
// about fill of the grid.
func randomDiscretised(rng *rand.Rand, nx, ny, nz, levels int, fill float64) *Discretised {
	d := &Discretised{
		Geometry: Geometry{Dims: [3]int{nx, ny, nz}, Spacing: [3]float64{1, 1, 2}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}},
		Grey:     make([]int32, nx*ny*nz),
		Levels:   levels,
	}
	for i := range d.Grey {
		if rng.Float64() < fill {
			d.Grey[i] = int32(1 + rng.IntN(levels))
		}
	}
	return d
}

// rotateInPlane rotates by 90° about the slice normal: (x, y) → (ny-1-y, x).
func rotateInPlane(d *Discretised) *Discretised {
	nx, ny, nz := d.Dims[0], d.Dims[1], d.Dims[2]
	r := &Discretised{Geometry: d.Geometry, Grey: make([]int32, len(d.Grey)), Levels: d.Levels}
	r.Dims = [3]int{ny, nx, nz}
	for z := 0; z < nz; z++ {
		for y := 0; y < ny; y++ {
			for x := 0; x < nx; x++ {
				r.Grey[r.Index(ny-1-y, x, z)] = d.Grey[d.Index(x, y, z)]
			}
		}
	}
	return r
}

// flipZ reverses the slice order.
func flipZ(d *Discretised) *Discretised {
	nx, ny, nz := d.Dims[0], d.Dims[1], d.Dims[2]
	r := &Discretised{Geometry: d.Geometry, Grey: make([]int32, len(d.Grey)), Levels: d.Levels}
	for z := 0; z < nz; z++ {
		for y := 0; y < ny; y++ {
			for x := 0; x < nx; x++ {
				r.Grey[r.Index(x, y, nz-1-z)] = d.Grey[d.Index(x, y, z)]
			}
		}
	}
	return r
}

// Rotating the volume by 90° in-plane maps the 2D and the 3D direction sets
// onto themselves and keeps slices, so every texture feature of every
// aggregation is unchanged; so does reversing the slice order.
func TestTextureRotationInvariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := randomDiscretised(rng, 7, 5, 4, 5, 0.8)
	for name, tr := range map[string]func(*Discretised) *Discretised{"rotate90": rotateInPlane, "flipZ": flipZ} {
		r := tr(d)
		for _, fam := range TextureFamilies() {
			a := featureMap(t, fam.Func, d, nil)
			b := featureMap(t, fam.Func, r, nil)
			if len(a) == 0 || len(a) != len(b) {
				t.Fatalf("%s %s: %d features vs %d", name, fam.Name, len(a), len(b))
			}
			for k, v := range a {
				if w, ok := b[k]; !ok || math.Abs(v-w) > 1e-9*math.Max(1, math.Abs(v)) {
					t.Errorf("%s %s %s: %v before, %v after", name, fam.Name, k, v, w)
				}
			}
		}
	}
}

func TestTextureDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	d := randomDiscretised(rng, 9, 8, 5, 8, 0.9)
	for _, fam := range TextureFamilies() {
		a, err := fam.Func(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := fam.Func(d, nil)
		if len(a) != len(b) {
			t.Fatalf("%s: %d vs %d features", fam.Name, len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: %+v vs %+v", fam.Name, a[i], b[i])
			}
		}
	}
}

func TestTextureFeatureCountsAndCodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	d := randomDiscretised(rng, 6, 6, 3, 4, 0.9)
	want := map[string]int{
		FamilyGLCM: 25 * 6, FamilyGLRLM: 16 * 6, FamilyGLSZM: 16 * 3,
		FamilyGLDZM: 16 * 3, FamilyNGTDM: 5 * 3, FamilyNGLDM: 17 * 3,
	}
	for _, fam := range TextureFamilies() {
		fs, err := fam.Func(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != want[fam.Name] {
			t.Errorf("%s: %d features, want %d", fam.Name, len(fs), want[fam.Name])
		}
		for _, f := range fs {
			if len(f.IBSICode) != 4 || f.Name == "" || math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
				t.Errorf("%s: bad feature %+v", fam.Name, f)
			}
		}
	}
}

func TestTextureErrors(t *testing.T) {
	good := gridOf(2, [][]int32{{1, 2}, {2, 1}})
	cases := map[string]struct {
		d    *Discretised
		s    *Settings
		want string
	}{
		"nil":          {nil, nil, "nil"},
		"empty ROI":    {gridOf(2, [][]int32{{0, 0}}), nil, "empty"},
		"level high":   {gridOf(2, [][]int32{{1, 3}}), nil, "outside 0..2"},
		"level neg":    {gridOf(2, [][]int32{{1, -1}}), nil, "outside 0..2"},
		"levels 0":     {&Discretised{Geometry: good.Geometry, Grey: good.Grey, Levels: 0}, nil, "grey levels"},
		"levels huge":  {&Discretised{Geometry: good.Geometry, Grey: good.Grey, Levels: MaxTextureLevels + 1}, nil, "grey levels"},
		"length":       {&Discretised{Geometry: good.Geometry, Grey: good.Grey[:3], Levels: 2}, nil, "for 4 voxels"},
		"morph length": {&Discretised{Geometry: good.Geometry, Grey: good.Grey, Levels: 2, Morph: []bool{true}}, nil, "morphological"},
		"morph subset": {&Discretised{Geometry: good.Geometry, Grey: good.Grey, Levels: 2, Morph: []bool{true, true, true, false}}, nil, "not in the morphological"},
		"bad dims":     {&Discretised{Geometry: Geometry{Dims: [3]int{2, 2, 0}, Spacing: [3]float64{1, 1, 1}}, Levels: 2}, nil, "dimension"},
		"distance":     {good, &Settings{Distance: -1}, "distance"},
		"distance big": {good, &Settings{Distance: 99}, "distance"},
		"alpha NaN":    {good, &Settings{NGLDMAlpha: math.NaN()}, "alpha"},
		"alpha neg":    {good, &Settings{NGLDMAlpha: -1}, "alpha"},
	}
	for name, c := range cases {
		for _, fam := range TextureFamilies() {
			_, err := fam.Func(c.d, c.s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s/%s: error %v, want one containing %q", name, fam.Name, err, c.want)
			}
		}
	}
	if _, err := GLCMFeatures(gridOf(2, [][]int32{{0}}), nil); !errors.Is(err, ErrEmptyROI) {
		t.Errorf("empty ROI error %v does not wrap ErrEmptyROI", err)
	}
}

// Tiny ROIs (one voxel, one slice) give no error and only defined values.
func TestTextureTinyROI(t *testing.T) {
	for _, d := range []*Discretised{
		gridOf(3, [][]int32{{0, 2, 0}}),
		gridOf(1, [][]int32{{1}}),
		gridOf(3, [][]int32{{1, 0}}, [][]int32{{0, 3}}),
	} {
		for _, fam := range TextureFamilies() {
			fs, err := fam.Func(d, nil)
			if err != nil {
				t.Fatalf("%s: %v", fam.Name, err)
			}
			for _, f := range fs {
				if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
					t.Errorf("%s: %+v", fam.Name, f)
				}
			}
		}
	}
}

func FuzzTextureFamilies(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(2), uint8(4), []byte{1, 2, 3, 4, 0, 1, 2, 3, 4, 4, 4, 1})
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), []byte{1})
	f.Fuzz(func(t *testing.T, nx, ny, nz, levels uint8, data []byte) {
		d := &Discretised{
			Geometry: Geometry{Dims: [3]int{int(nx % 9), int(ny % 9), int(nz % 5)}, Spacing: [3]float64{1, 1, 1}},
			Levels:   int(levels % 12),
		}
		n := d.Len()
		if n < 0 {
			return
		}
		d.Grey = make([]int32, n)
		for i := range d.Grey {
			if i < len(data) {
				d.Grey[i] = int32(data[i]%14) - 1
			}
		}
		for _, fam := range TextureFamilies() {
			fs, err := fam.Func(d, nil)
			if err != nil {
				continue
			}
			for _, x := range fs {
				if math.IsNaN(x.Value) || math.IsInf(x.Value, 0) {
					t.Fatalf("%s: %+v", fam.Name, x)
				}
			}
		}
	})
}

// The families only read their input: Radiomics runs them concurrently on
// one Discretised (run with -race).
func TestTextureConcurrentCalls(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	d := randomDiscretised(rng, 8, 7, 4, 6, 0.9)
	want := map[string][]Feature{}
	for _, fam := range TextureFamilies() {
		fs, err := fam.Func(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[fam.Name] = fs
	}
	errs := make(chan error, 2*len(want))
	for rep := 0; rep < 2; rep++ {
		for _, fam := range TextureFamilies() {
			go func() {
				fs, err := fam.Func(d, nil)
				if err == nil && len(fs) != len(want[fam.Name]) {
					err = fmt.Errorf("%s: %d features, want %d", fam.Name, len(fs), len(want[fam.Name]))
				}
				if err == nil {
					for i := range fs {
						if fs[i] != want[fam.Name][i] {
							err = fmt.Errorf("%s: %+v, want %+v", fam.Name, fs[i], want[fam.Name][i])
							break
						}
					}
				}
				errs <- err
			}()
		}
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A slice without ROI voxels takes no part in the slice-wise averages, and
// the 3D matrices see no neighbours across it.
func TestTextureEmptySliceSkipped(t *testing.T) {
	s := [][]int32{{1, 2, 2}, {1, 1, 2}}
	e := [][]int32{{0, 0, 0}, {0, 0, 0}}
	one := gridOf(2, s)
	gap := gridOf(2, s, e, s)
	for _, fam := range TextureFamilies() {
		a := featureMap(t, fam.Func, one, nil)
		b := featureMap(t, fam.Func, gap, nil)
		for _, agg := range []string{Agg2DAveraged, Agg2DSliceMerged, Agg2D} {
			for k, v := range a {
				if !strings.HasSuffix(k, "|"+agg) {
					continue
				}
				if w, ok := b[k]; !ok || math.Abs(v-w) > 1e-12 {
					t.Errorf("%s %s: one slice %v, two slices around a gap %v", fam.Name, k, v, w)
				}
			}
		}
	}
	// 3D zones: two zones per copy, not linked across the gap.
	z := featureMap(t, GLSZMFeatures, gap, nil)
	checkFeatures(t, z, map[string]float64{"Zone percentage|" + Agg3D: 4.0 / 12})
}
