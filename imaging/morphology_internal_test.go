package imaging

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAutocorrelationFFT checks the FFT path of Moran's I and Geary's C
// against the pair-by-pair sums on a random ROI with anisotropic spacing.
func TestAutocorrelationFFT(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := Geometry{Dims: [3]int{13, 9, 6}, Spacing: [3]float64{0.7, 1.1, 2.5}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	v := &Volume{Geometry: g, Data: make([]float64, g.Len())}
	m := &Mask{Geometry: g, In: make([]bool, g.Len())}
	var xs []float64
	var ps [][3]float64
	for k := 0; k < 6; k++ {
		for j := 0; j < 9; j++ {
			for i := 0; i < 13; i++ {
				idx := g.Index(i, j, k)
				// Smooth trend plus noise: positive autocorrelation.
				v.Data[idx] = float64(i+j) + r.NormFloat64()
				if i > 0 && r.Float64() < 0.7 {
					m.In[idx] = true
					xs = append(xs, v.Data[idx])
					ps = append(ps, [3]float64{float64(i) * 0.7, float64(j) * 1.1, float64(k) * 2.5})
				}
			}
		}
	}
	lo, hi, _ := bbox(m)
	mi, gc := spatialAutocorrelation(xs, ps, 3)
	fi, fc := autocorrelationFFT(v, m, lo, hi, len(xs), 3)
	if math.Abs(mi-fi) > 1e-9*math.Abs(mi) || math.Abs(gc-fc) > 1e-9*math.Abs(gc) {
		t.Errorf("direct I=%v C=%v, FFT I=%v C=%v", mi, gc, fi, fc)
	}
	if !(mi > 0.1) || !(gc < 0.9) {
		t.Errorf("trend not detected: I=%v C=%v", mi, gc)
	}
}

// TestMarchingCubesClosed checks that the mesh of random masks is closed
// and consistently oriented,
// and that the mesh volume of a single voxel is the octahedron's, 1/6 of
// the voxel.
func TestMarchingCubesClosed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		g := Geometry{Dims: [3]int{6, 5, 4}, Spacing: [3]float64{1, 2, 3}}
		m := &Mask{Geometry: g, In: make([]bool, g.Len())}
		for i := range m.In {
			m.In[i] = r.Float64() < 0.5
		}
		ms := marchingCubes(m)
		// Closed and consistently oriented: every edge is walked as often in
		// one direction as in the other (a pinch, where two sheets touch along
		// an edge, walks it twice each way).
		edges := map[[2]int32]int{}
		for _, tr := range ms.tris {
			for e := 0; e < 3; e++ {
				edges[[2]int32{tr[e], tr[(e+1)%3]}]++
			}
		}
		for e, c := range edges {
			if c != edges[[2]int32{e[1], e[0]}] {
				t.Fatalf("trial %d: edge %v walked %d times, reverse %d", trial, e, c, edges[[2]int32{e[1], e[0]}])
			}
		}
		if vol, _ := ms.volumeArea(g); !(vol > 0) || vol > float64(m.Count())*g.VoxelVolume() {
			t.Errorf("trial %d: mesh volume %v for %d voxels", trial, vol, m.Count())
		}
	}
	g := Geometry{Dims: [3]int{1, 1, 1}, Spacing: [3]float64{2, 2, 2}}
	vol, area := marchingCubes(&Mask{Geometry: g, In: []bool{true}}).volumeArea(g)
	if math.Abs(vol-8.0/6) > 1e-12 || math.Abs(area-8*math.Sqrt(3)/2) > 1e-12 {
		t.Errorf("single voxel: volume %v (want 4/3), area %v (want 4√3)", vol, area)
	}
}

// TestConvexHull checks the hull of a cube's corners plus interior and
// coplanar points.
func TestConvexHull(t *testing.T) {
	var pts [][3]int64
	for x := int64(0); x <= 4; x += 2 {
		for y := int64(0); y <= 4; y += 2 {
			for z := int64(0); z <= 4; z += 2 {
				pts = append(pts, [3]int64{x, y, z})
			}
		}
	}
	h, ok := convexHull(pts)
	if !ok {
		t.Fatal("no hull")
	}
	g := Geometry{Spacing: [3]float64{1, 1, 1}}
	vol, area := h.volumeArea(g) // half units: side 2 mm
	if math.Abs(vol-8) > 1e-12 || math.Abs(area-24) > 1e-12 {
		t.Errorf("cube hull volume %v area %v, want 8 and 24", vol, area)
	}
	if _, ok := convexHull([][3]int64{{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1, 1, 0}}); ok {
		t.Error("flat point set gave a hull")
	}
}

func TestEllipsoidArea(t *testing.T) {
	if got := ellipsoidArea(3, 3, 3); math.Abs(got-4*math.Pi*9) > 1e-9 {
		t.Errorf("sphere area %v, want 36π", got)
	}
	// The IBSI series evaluated with explicit Legendre polynomials.
	a, b, c := 5.0, 3.0, 2.0
	al, be := math.Sqrt(1-b*b/(a*a)), math.Sqrt(1-c*c/(a*a))
	x := (al*al + be*be) / (2 * al * be)
	p0, p1 := 1.0, x
	sum := p0 + al*be*p1/(1-4)
	for n := 1; n < 20; n++ {
		p2 := (float64(2*n+1)*x*p1 - float64(n)*p0) / float64(n+1)
		p0, p1 = p1, p2
		nu := float64(n + 1)
		sum += math.Pow(al*be, nu) * p1 / (1 - 4*nu*nu)
	}
	want := 4 * math.Pi * a * b * sum
	if got := ellipsoidArea(a, b, c); math.Abs(got-want) > 1e-9*want {
		t.Errorf("IBSI series: %v, want %v", got, want)
	}
}
