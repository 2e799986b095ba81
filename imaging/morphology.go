package imaging

import (
	"math"
	"runtime"
	"sync"
)

// MorphologyFeatures computes the IBSI morphological features (§3.1): mesh
// volume and area from the marching-cubes surface of the morphological
// mask (see marchingCubes), voxel-counting volume, compactness and
// sphericity measures, centre-of-mass shift, maximum 3D diameter (over the
// convex hull of the mesh vertices), PCA axis lengths of the voxel centres,
// densities against the axis-aligned bounding box, the approximate
// enclosing ellipsoid and the convex hull, integrated intensity, and
// Moran's I and Geary's C over the intensity mask (exact, all voxel pairs,
// weights 1/distance: summed pair by pair for small ROIs, through FFT
// correlations over the bounding box for large ones; workers goroutines,
// ≤ 0 meaning GOMAXPROCS). Lengths are in mm. Features that are undefined (a flat ROI
// has no convex hull volume, a constant one no Moran's I) are NaN.
func MorphologyFeatures(v *Volume, morph, intensity *Mask, workers int) ([]Feature, error) {
	if err := CheckGrid(v, morph); err != nil {
		return nil, err
	}
	if err := CheckGrid(v, intensity); err != nil {
		return nil, err
	}
	nm := morph.Count()
	if nm == 0 || intensity.Count() == 0 {
		return nil, ErrEmptyROI
	}
	g := v.Geometry
	ms := marchingCubes(morph)
	vol, area := ms.volumeArea(g)
	approx := float64(nm) * g.VoxelVolume()

	// Voxel centre point sets (mm, index axes scaled by spacing).
	nx, ny := g.Dims[0], g.Dims[1]
	pos := func(idx int) [3]float64 {
		return [3]float64{float64(idx%nx) * g.Spacing[0], float64((idx/nx)%ny) * g.Spacing[1], float64(idx/(nx*ny)) * g.Spacing[2]}
	}
	var comGeom, comGL [3]float64
	var sumGL float64
	var pts [][3]float64
	for idx, in := range morph.In {
		if in {
			p := pos(idx)
			pts = append(pts, p)
			for a := 0; a < 3; a++ {
				comGeom[a] += p[a]
			}
		}
	}
	nGL := 0
	for idx, in := range intensity.In {
		if in {
			p := pos(idx)
			x := v.Data[idx]
			nGL++
			sumGL += x
			for a := 0; a < 3; a++ {
				comGL[a] += x * p[a]
			}
		}
	}
	for a := 0; a < 3; a++ {
		comGeom[a] /= float64(nm)
		comGL[a] /= sumGL
	}
	comShift := norm3(sub3(comGeom, comGL))
	meanGL := sumGL / float64(nGL)

	// PCA of the voxel centres.
	var cov [3][3]float64
	for _, p := range pts {
		d := sub3(p, comGeom)
		for r := 0; r < 3; r++ {
			for c := 0; c < 3; c++ {
				cov[r][c] += d[r] * d[c]
			}
		}
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			cov[r][c] /= float64(len(pts) - 1)
		}
	}
	ev := symEigen3(cov) // descending
	lMaj, lMin, lLeast := math.Max(ev[0], 0), math.Max(ev[1], 0), math.Max(ev[2], 0)
	major, minor, least := 4*math.Sqrt(lMaj), 4*math.Sqrt(lMin), 4*math.Sqrt(lLeast)
	a, b, c := 2*math.Sqrt(lMaj), 2*math.Sqrt(lMin), 2*math.Sqrt(lLeast)

	// Axis-aligned bounding box of the mesh vertices.
	var lo, hi [3]float64
	for t, vx := range ms.verts {
		p := g.halfToMM(vx)
		for ax := 0; ax < 3; ax++ {
			if t == 0 || p[ax] < lo[ax] {
				lo[ax] = p[ax]
			}
			if t == 0 || p[ax] > hi[ax] {
				hi[ax] = p[ax]
			}
		}
	}
	ext := sub3(hi, lo)
	vAABB := ext[0] * ext[1] * ext[2]
	aAABB := 2 * (ext[0]*ext[1] + ext[1]*ext[2] + ext[0]*ext[2])

	// Convex hull of the mesh vertices; maximum diameter over its vertices.
	h, hullOK := convexHull(hullCandidates(ms.verts))
	vHull, aHull := math.NaN(), math.NaN()
	if hullOK {
		vHull, aHull = h.volumeArea(g)
	}
	diam := maxDiameter(g, h)

	moran, geary := spatialAutocorrelationGrid(v, intensity, workers)

	sph := math.Cbrt(36 * math.Pi * vol * vol)
	f := func(name, code string, val float64) Feature {
		return Feature{Family: FamilyMorphology, Name: name, IBSICode: code, Aggregation: "3D", Value: val}
	}
	return []Feature{
		f("Volume (mesh)", "RNU0", vol),
		f("Volume (voxel counting)", "YEKZ", approx),
		f("Surface area (mesh)", "C0JK", area),
		f("Surface to volume ratio", "2PR5", area/vol),
		f("Compactness 1", "SKGS", vol/(math.Sqrt(math.Pi)*math.Pow(area, 1.5))),
		f("Compactness 2", "BQWJ", 36*math.Pi*vol*vol/(area*area*area)),
		f("Spherical disproportion", "KRCK", area/sph),
		f("Sphericity", "QCFX", sph/area),
		f("Asphericity", "25C7", area/sph-1),
		f("Centre of mass shift", "KLMA", comShift),
		f("Maximum 3D diameter", "L0JK", diam),
		f("Major axis length", "TDIC", major),
		f("Minor axis length", "P9VJ", minor),
		f("Least axis length", "7J51", least),
		f("Elongation", "Q3CK", math.Sqrt(lMin/lMaj)),
		f("Flatness", "N17B", math.Sqrt(lLeast/lMaj)),
		f("Volume density (axis-aligned bounding box)", "PBX1", vol/vAABB),
		f("Area density (axis-aligned bounding box)", "R59B", area/aAABB),
		f("Volume density (approximate enclosing ellipsoid)", "6BDE", 3*vol/(4*math.Pi*a*b*c)),
		f("Area density (approximate enclosing ellipsoid)", "RDD2", area/ellipsoidArea(a, b, c)),
		f("Volume density (convex hull)", "R3ER", vol/vHull),
		f("Area density (convex hull)", "7T7F", area/aHull),
		f("Integrated intensity", "99N0", vol*meanGL),
		f("Moran's I index", "N365", moran),
		f("Geary's C measure", "NPT7", geary),
	}, nil
}

// maxDiameter is the largest distance between two hull vertices (all mesh
// extreme points when the hull is flat).
func maxDiameter(g Geometry, h hull) float64 {
	var ids []int
	if len(h.tris) > 0 {
		seen := map[int]bool{}
		for _, t := range h.tris {
			for _, i := range t {
				if !seen[i] {
					seen[i] = true
					ids = append(ids, i)
				}
			}
		}
	} else {
		for i := range h.pts {
			ids = append(ids, i)
		}
	}
	best := 0.0
	for x := 0; x < len(ids); x++ {
		p := g.halfToMM(h.pts[ids[x]])
		for y := x + 1; y < len(ids); y++ {
			q := g.halfToMM(h.pts[ids[y]])
			best = math.Max(best, norm3(sub3(p, q)))
		}
	}
	return best
}

// ellipsoidArea approximates the surface area of an ellipsoid with
// semi-axes a ≥ b ≥ c by the IBSI Legendre series to degree 20:
// 4πab Σ (αβ)^ν P_ν((α²+β²)/(2αβ)) / (1 − 4ν²), α = √(1 − b²/a²),
// β = √(1 − c²/a²). The terms q_ν = (αβ)^ν P_ν(·) follow from the Legendre
// recurrence, so that α or β = 0 needs no special case. This is the IBSI
// definition of the feature, exact for a sphere but not for other
// ellipsoids (for semi-axes 2, 1, 1 it gives 17.3 where the spheroid's area
// is 21.5); the reference values use it.
func ellipsoidArea(a, b, c float64) float64 {
	if !(a > 0) {
		return math.NaN()
	}
	al := math.Sqrt(math.Max(0, 1-b*b/(a*a)))
	be := math.Sqrt(math.Max(0, 1-c*c/(a*a)))
	s := (al*al + be*be) / 2 // αβ · x
	p := al * be * al * be   // (αβ)²
	qPrev, q := 1.0, s
	sum := qPrev + q/(1-4)
	for n := 1; n < 20; n++ {
		qNext := (float64(2*n+1)*s*q - float64(n)*p*qPrev) / float64(n+1)
		qPrev, q = q, qNext
		nu := float64(n + 1)
		sum += q / (1 - 4*nu*nu)
	}
	return 4 * math.Pi * a * b * sum
}

// spatialAutocorrelation returns Moran's I and Geary's C of intensities x
// at positions p with weights 1/distance over all pairs.
func spatialAutocorrelation(x []float64, p [][3]float64, workers int) (moran, geary float64) {
	n := len(x)
	if n < 2 {
		return math.NaN(), math.NaN()
	}
	var mu float64
	for _, v := range x {
		mu += v
	}
	mu /= float64(n)
	var den float64
	for _, v := range x {
		den += (v - mu) * (v - mu)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	type acc struct{ w, si, sc float64 }
	parts := make([]acc, workers)
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		wg.Add(1)
		go func(wk int) {
			defer wg.Done()
			var a acc
			for i := wk; i < n; i += workers {
				pi, di := p[i], x[i]-mu
				for j := i + 1; j < n; j++ {
					dx, dy, dz := pi[0]-p[j][0], pi[1]-p[j][1], pi[2]-p[j][2]
					w := 1 / math.Sqrt(dx*dx+dy*dy+dz*dz)
					a.w += w
					a.si += w * di * (x[j] - mu)
					d := x[i] - x[j]
					a.sc += w * d * d
				}
			}
			parts[wk] = a
		}(wk)
	}
	wg.Wait()
	var t acc
	for _, a := range parts {
		t.w += a.w
		t.si += a.si
		t.sc += a.sc
	}
	// Pairs were counted once; the definitions sum over ordered pairs.
	t.w, t.si, t.sc = 2*t.w, 2*t.si, 2*t.sc
	if den == 0 {
		return math.NaN(), math.NaN()
	}
	moran = float64(n) / t.w * t.si / den
	geary = float64(n-1) / (2 * t.w) * t.sc / den
	return moran, geary
}

// symEigen3 returns the eigenvalues of a symmetric 3×3 matrix in
// descending order (cyclic Jacobi rotations).
func symEigen3(m [3][3]float64) [3]float64 {
	a := m
	for sweep := 0; sweep < 50; sweep++ {
		off := a[0][1]*a[0][1] + a[0][2]*a[0][2] + a[1][2]*a[1][2]
		if off < 1e-30*(a[0][0]*a[0][0]+a[1][1]*a[1][1]+a[2][2]*a[2][2]+1e-300) {
			break
		}
		for p := 0; p < 2; p++ {
			for q := p + 1; q < 3; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				// A' = Jᵀ A J with rotation in plane (p, q).
				for k := 0; k < 3; k++ {
					akp, akq := a[k][p], a[k][q]
					a[k][p] = c*akp - s*akq
					a[k][q] = s*akp + c*akq
				}
				for k := 0; k < 3; k++ {
					apk, aqk := a[p][k], a[q][k]
					a[p][k] = c*apk - s*aqk
					a[q][k] = s*apk + c*aqk
				}
			}
		}
	}
	e := [3]float64{a[0][0], a[1][1], a[2][2]}
	if e[0] < e[1] {
		e[0], e[1] = e[1], e[0]
	}
	if e[1] < e[2] {
		e[1], e[2] = e[2], e[1]
	}
	if e[0] < e[1] {
		e[0], e[1] = e[1], e[0]
	}
	return e
}
