package imaging

import "math"

// ngtdmSpecs lists the NGTDM features (IBSI-1 section "Neighbourhood grey
// tone difference based features", IPET) in ngtdmValues order.
var ngtdmSpecs = []featureSpec{
	{"Coarseness", "QCDE", "ngt.coarseness"},
	{"Contrast", "65HE", "ngt.contrast"},
	{"Busyness", "NQ30", "ngt.busyness"},
	{"Complexity", "HDEZ", "ntg.complexity"}, // sic: IBSI spells it "ntg"
	{"Strength", "1X9X", "ngt.strength"},
}

// ngldmSpecs lists the NGLDM features (IBSI-1 section "Neighbouring grey
// level dependence based features", REK0) in runLikeValues order.
var ngldmSpecs = []featureSpec{
	{"Low dependence emphasis", "SODN", "ngl.lde"},
	{"High dependence emphasis", "IMOQ", "ngl.hde"},
	{"Low grey level count emphasis", "TL9H", "ngl.lgce"},
	{"High grey level count emphasis", "OAE7", "ngl.hgce"},
	{"Low dependence low grey level emphasis", "EQ3F", "ngl.ldlge"},
	{"Low dependence high grey level emphasis", "JA6D", "ngl.ldhge"},
	{"High dependence low grey level emphasis", "NBZI", "ngl.hdlge"},
	{"High dependence high grey level emphasis", "9QMG", "ngl.hdhge"},
	{"Grey level non-uniformity", "FP8K", "ngl.glnu"},
	{"Normalised grey level non-uniformity", "5SPA", "ngl.glnu.norm"},
	{"Dependence count non-uniformity", "Z87G", "ngl.dcnu"},
	{"Normalised dependence count non-uniformity", "OKJI", "ngl.dcnu.norm"},
	{"Dependence count percentage", "6XV8", "ngl.dc.perc"},
	{"Grey level variance", "1PFV", "ngl.gl.var"},
	{"Dependence count variance", "DNX2", "ngl.dc.var"},
	{"Dependence count entropy", "FCBV", "ngl.dc.entr"},
	{"Dependence count energy", "CAS9", "ngl.dc.energy"},
}

// ngtdmMaxCoarseness is IBSI's cap on coarseness when Σ p_i s_i = 0.
const ngtdmMaxCoarseness = 1e6

// neighbourOffsets returns the offsets m ≠ 0 with Chebyshev norm ≤ delta,
// in-plane only when twoD.
func neighbourOffsets(delta int, twoD bool) [][3]int {
	zr := delta
	if twoD {
		zr = 0
	}
	var off [][3]int
	for dz := -zr; dz <= zr; dz++ {
		for dy := -delta; dy <= delta; dy++ {
			for dx := -delta; dx <= delta; dx++ {
				if dx != 0 || dy != 0 || dz != 0 {
					off = append(off, [3]int{dx, dy, dz})
				}
			}
		}
	}
	return off
}

// ngtdm holds, per grey level i (index i, 1..Ng), the neighbourhood grey
// tone difference s_i and the number n_i of voxels with a valid (non-empty)
// neighbourhood.
type ngtdm struct {
	s, n []float64
}

func newNGTDM(ng int) *ngtdm { return &ngtdm{s: make([]float64, ng+1), n: make([]float64, ng+1)} }

func (m *ngtdm) merge(o *ngtdm) {
	for i := range m.s {
		m.s[i] += o.s[i]
		m.n[i] += o.n[i]
	}
}

// ngtdmMatrix builds the NGTDM of slice k (in-plane neighbourhoods, k ≥ 0)
// or of the volume (k < 0). Following IBSI, a neighbourhood holds the
// intensity-mask voxels within Chebyshev distance delta (the centre
// excluded) and is valid when not empty.
func ngtdmMatrix(t *texGrid, k, delta int) *ngtdm {
	m := newNGTDM(t.ng)
	off := neighbourOffsets(delta, k >= 0)
	k0, k1 := 0, t.nz
	if k >= 0 {
		k0, k1 = k, k+1
	}
	for z := k0; z < k1; z++ {
		for y := 0; y < t.ny; y++ {
			for x := 0; x < t.nx; x++ {
				g := t.g[t.index(x, y, z)]
				if g == 0 {
					continue
				}
				var sum, w float64
				for _, o := range off {
					qx, qy, qz := x+o[0], y+o[1], z+o[2]
					if !t.inside(qx, qy, qz) {
						continue
					}
					if h := t.g[t.index(qx, qy, qz)]; h > 0 {
						sum += float64(h)
						w++
					}
				}
				if w == 0 {
					continue
				}
				m.s[g] += math.Abs(float64(g) - sum/w)
				m.n[g]++
			}
		}
	}
	return m
}

// ngtdmValues computes coarseness, contrast, busyness, complexity and
// strength; an NGTDM without valid neighbourhoods gives NaN.
func ngtdmValues(m *ngtdm) []float64 {
	out := nanVector(len(ngtdmSpecs))
	var nvc float64
	for _, n := range m.n {
		nvc += n
	}
	if nvc == 0 {
		return out
	}
	var lev []int
	p := make([]float64, len(m.n))
	var sumPS, sumS float64
	for i, n := range m.n {
		if n > 0 {
			p[i] = n / nvc
			lev = append(lev, i)
			sumPS += p[i] * m.s[i]
			sumS += m.s[i]
		}
	}
	ngp := float64(len(lev))
	// Coarseness.
	if sumPS == 0 {
		out[0] = ngtdmMaxCoarseness
	} else {
		out[0] = 1 / sumPS
	}
	var c1, bDen, cplx, str float64
	for _, a := range lev {
		for _, b := range lev {
			d := float64(a - b)
			c1 += p[a] * p[b] * d * d
			bDen += math.Abs(float64(a)*p[a] - float64(b)*p[b])
			cplx += math.Abs(d) * (p[a]*m.s[a] + p[b]*m.s[b]) / (p[a] + p[b])
			str += (p[a] + p[b]) * d * d
		}
	}
	// Contrast.
	if ngp <= 1 {
		out[1] = 0
	} else {
		out[1] = c1 / (ngp * (ngp - 1)) * sumS / nvc
	}
	// Busyness.
	if ngp <= 1 || bDen == 0 {
		out[2] = 0
	} else {
		out[2] = sumPS / bDen
	}
	// Complexity.
	out[3] = cplx / nvc
	// Strength.
	if sumS == 0 {
		out[4] = 0
	} else {
		out[4] = str / sumS
	}
	return out
}

// NGTDMFeatures computes the NGTDM features of IBSI-1 for Chebyshev distance
// Settings.Distance (default 1): 2D (per-slice matrices, features
// averaged), 2.5D (per-slice matrices merged by summing s_i and n_i) and 3D.
func NGTDMFeatures(d *Discretised, s *Settings) ([]Feature, error) {
	t, err := newTexGrid(d)
	if err != nil {
		return nil, err
	}
	tp, err := textureParamsOf(s)
	if err != nil {
		return nil, err
	}
	delta := tp.delta
	avg := newFeatAccum(len(ngtdmSpecs))
	merged := newNGTDM(t.ng)
	for k := 0; k < t.nz; k++ {
		if t.sliceCount(k) == 0 {
			continue
		}
		m := ngtdmMatrix(t, k, delta)
		avg.add(ngtdmValues(m))
		merged.merge(m)
	}
	var out []Feature
	out = appendFeatures(out, FamilyNGTDM, Agg2D, ngtdmSpecs, avg.mean())
	out = appendFeatures(out, FamilyNGTDM, Agg25D, ngtdmSpecs, ngtdmValues(merged))
	out = appendFeatures(out, FamilyNGTDM, Agg3D, ngtdmSpecs, ngtdmValues(ngtdmMatrix(t, -1, delta)))
	return out, nil
}

// ngldmMatrix builds the NGLDM of slice k (in-plane neighbourhoods, k ≥ 0)
// or of the volume (k < 0): for each intensity-mask voxel with grey level i,
// the dependence j is 1 plus the number of intensity-mask voxels within
// Chebyshev distance delta whose grey level differs from i by at most alpha.
func ngldmMatrix(t *texGrid, k, delta int, alpha float64) *countMat {
	m := newCountMat()
	off := neighbourOffsets(delta, k >= 0)
	k0, k1 := 0, t.nz
	if k >= 0 {
		k0, k1 = k, k+1
	}
	for z := k0; z < k1; z++ {
		for y := 0; y < t.ny; y++ {
			for x := 0; x < t.nx; x++ {
				g := t.g[t.index(x, y, z)]
				if g == 0 {
					continue
				}
				m.nv++
				j := int32(1)
				for _, o := range off {
					qx, qy, qz := x+o[0], y+o[1], z+o[2]
					if !t.inside(qx, qy, qz) {
						continue
					}
					h := t.g[t.index(qx, qy, qz)]
					if h > 0 && math.Abs(float64(h-g)) <= alpha {
						j++
					}
				}
				m.inc(g, j)
			}
		}
	}
	return m
}

// NGLDMFeatures computes the NGLDM features of IBSI-1 for Chebyshev
// distance Settings.Distance (default 1) and coarseness Settings.NGLDMAlpha
// (default 0), with the 2D, 2.5D and 3D aggregations.
func NGLDMFeatures(d *Discretised, s *Settings) ([]Feature, error) {
	t, err := newTexGrid(d)
	if err != nil {
		return nil, err
	}
	tp, err := textureParamsOf(s)
	if err != nil {
		return nil, err
	}
	build := func(t *texGrid, k int) *countMat { return ngldmMatrix(t, k, tp.delta, tp.alpha) }
	return runLikeAggregate3(t, FamilyNGLDM, ngldmSpecs, build), nil
}
