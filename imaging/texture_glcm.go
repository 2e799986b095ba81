package imaging

import "math"

// glcmSpecs lists the GLCM features (IBSI-1 section "Grey level
// co-occurrence based features", LFYI) in the order glcmValues computes them.
var glcmSpecs = []featureSpec{
	{"Joint maximum", "GYBY", "cm.joint.max"},
	{"Joint average", "60VM", "cm.joint.avg"},
	{"Joint variance", "UR99", "cm.joint.var"},
	{"Joint entropy", "TU9B", "cm.joint.entr"},
	{"Difference average", "TF7R", "cm.diff.avg"},
	{"Difference variance", "D3YU", "cm.diff.var"},
	{"Difference entropy", "NTRS", "cm.diff.entr"},
	{"Sum average", "ZGXS", "cm.sum.avg"},
	{"Sum variance", "OEEB", "cm.sum.var"},
	{"Sum entropy", "P6QZ", "cm.sum.entr"},
	{"Angular second moment", "8ZQL", "cm.energy"},
	{"Contrast", "ACUI", "cm.contrast"},
	{"Dissimilarity", "8S9J", "cm.dissimilarity"},
	{"Inverse difference", "IB1Z", "cm.inv.diff"},
	{"Normalised inverse difference", "NDRX", "cm.inv.diff.norm"},
	{"Inverse difference moment", "WF0Z", "cm.inv.diff.mom"},
	{"Normalised inverse difference moment", "1QCO", "cm.inv.diff.mom.norm"},
	{"Inverse variance", "E8JP", "cm.inv.var"},
	{"Correlation", "NI2N", "cm.corr"},
	{"Autocorrelation", "QWB0", "cm.auto.corr"},
	{"Cluster tendency", "DG8W", "cm.clust.tend"},
	{"Cluster shade", "7NFM", "cm.clust.shade"},
	{"Cluster prominence", "AE86", "cm.clust.prom"},
	{"Information correlation 1", "R8DG", "cm.info.corr.1"},
	{"Information correlation 2", "JN9H", "cm.info.corr.2"},
}

// glcm is a dense, symmetric Ng×Ng co-occurrence count matrix; cell
// (i-1)·Ng + (j-1) counts grey levels i and j.
type glcm struct {
	ng int
	c  []float64
}

func newGLCM(ng int) *glcm { return &glcm{ng: ng, c: make([]float64, ng*ng)} }

func (m *glcm) merge(o *glcm) {
	for i, v := range o.c {
		m.c[i] += v
	}
}

func (m *glcm) reset() { clear(m.c) }

// addDirection counts co-occurrences along ±δ·dir, restricted to slice k
// when k ≥ 0 (2D) or over the whole volume when k < 0 (3D).
func (m *glcm) addDirection(t *texGrid, dir [3]int, delta, k int) {
	dx, dy, dz := dir[0]*delta, dir[1]*delta, dir[2]*delta
	k0, k1 := 0, t.nz
	if k >= 0 {
		k0, k1 = k, k+1
	}
	ng := m.ng
	for z := k0; z < k1; z++ {
		z2 := z + dz
		if z2 < 0 || z2 >= t.nz {
			continue
		}
		for y := 0; y < t.ny; y++ {
			y2 := y + dy
			if y2 < 0 || y2 >= t.ny {
				continue
			}
			row := t.nx * (y + t.ny*z)
			row2 := t.nx * (y2 + t.ny*z2)
			for x := 0; x < t.nx; x++ {
				a := t.g[row+x]
				if a == 0 {
					continue
				}
				x2 := x + dx
				if x2 < 0 || x2 >= t.nx {
					continue
				}
				b := t.g[row2+x2]
				if b == 0 {
					continue
				}
				m.c[int(a-1)*ng+int(b-1)]++
				m.c[int(b-1)*ng+int(a-1)]++
			}
		}
	}
}

// glcmValues computes the 25 GLCM features of glcmSpecs from a count matrix;
// an empty matrix gives NaN throughout, and features undefined for the
// matrix (correlation and information correlation 1 for a single grey level)
// are NaN.
func glcmValues(m *glcm) []float64 {
	out := nanVector(len(glcmSpecs))
	ng := m.ng
	var n float64
	for _, v := range m.c {
		n += v
	}
	if n == 0 {
		return out
	}
	// Grey levels present (rows with co-occurrences); the matrix is
	// symmetric, so rows and columns share them.
	pi := make([]float64, ng) // marginal p_i. (= p_.j)
	var lev []int
	for i := 0; i < ng; i++ {
		var s float64
		for _, v := range m.c[i*ng : (i+1)*ng] {
			s += v
		}
		if s > 0 {
			pi[i] = s / n
			lev = append(lev, i)
		}
	}
	pDiff := make([]float64, ng)    // p_{i-j,k}, k = 0..Ng-1
	pSum := make([]float64, 2*ng+1) // p_{i+j,k}, k = 2..2Ng
	var jmax, mu, entr, energy, contrast, invDiff, invDiffN, idm, idmN, auto float64
	ngf := float64(ng)
	for _, a := range lev {
		i := float64(a + 1)
		for _, b := range lev {
			v := m.c[a*ng+b]
			if v == 0 {
				continue
			}
			p := v / n
			j := float64(b + 1)
			d := math.Abs(i - j)
			jmax = math.Max(jmax, p)
			mu += i * p
			entr -= xlog2x(p)
			energy += p * p
			contrast += d * d * p
			invDiff += p / (1 + d)
			invDiffN += p / (1 + d/ngf)
			idm += p / (1 + d*d)
			idmN += p / (1 + d*d/(ngf*ngf))
			auto += i * j * p
			pDiff[int(d)] += p
			pSum[a+b+2] += p
		}
	}
	var jvar, ctend, cshade, cprom, hxy1 float64
	for _, a := range lev {
		i := float64(a + 1)
		for _, b := range lev {
			v := m.c[a*ng+b]
			if v == 0 {
				continue
			}
			p := v / n
			j := float64(b + 1)
			jvar += (i - mu) * (i - mu) * p
			s := i + j - 2*mu
			ctend += s * s * p
			cshade += s * s * s * p
			cprom += s * s * s * s * p
			hxy1 -= p * math.Log2(pi[a]*pi[b])
		}
	}
	var dAvg, dEntr, invVar float64
	for k, p := range pDiff {
		dAvg += float64(k) * p
		dEntr -= xlog2x(p)
		if k > 0 {
			invVar += p / float64(k*k)
		}
	}
	var dVar float64
	for k, p := range pDiff {
		d := float64(k) - dAvg
		dVar += d * d * p
	}
	var sAvg, sEntr float64
	for k, p := range pSum {
		sAvg += float64(k) * p
		sEntr -= xlog2x(p)
	}
	var sVar float64
	for k, p := range pSum {
		d := float64(k) - sAvg
		sVar += d * d * p
	}
	// Marginal statistics (row and column marginals coincide).
	var muM, varM, hx, hxy2 float64
	for _, a := range lev {
		muM += float64(a+1) * pi[a]
		hx -= xlog2x(pi[a])
	}
	for _, a := range lev {
		d := float64(a+1) - muM
		varM += d * d * pi[a]
		for _, b := range lev {
			hxy2 -= xlog2x(pi[a] * pi[b])
		}
	}
	out[0] = jmax
	out[1] = mu
	out[2] = jvar
	out[3] = entr
	out[4] = dAvg
	out[5] = dVar
	out[6] = dEntr
	out[7] = sAvg
	out[8] = sVar
	out[9] = sEntr
	out[10] = energy
	out[11] = contrast
	out[12] = dAvg // dissimilarity equals difference average
	out[13] = invDiff
	out[14] = invDiffN
	out[15] = idm
	out[16] = idmN
	out[17] = invVar
	if varM > 0 {
		out[18] = (auto - muM*muM) / varM
	}
	out[19] = auto
	out[20] = ctend
	out[21] = cshade
	out[22] = cprom
	if hx > 0 {
		out[23] = (entr - hxy1) / hx
	}
	out[24] = math.Sqrt(math.Max(0, 1-math.Exp(-2*(hxy2-entr))))
	return out
}

// GLCMFeatures computes the GLCM features of IBSI-1 with all six
// aggregation methods (see the Agg* constants), for Chebyshev distance
// Settings.Distance (default 1). Ng in the normalised inverse difference
// (moment) is Discretised.Levels, the number of bins, as in IBSI's phantom
// values (whose ROI lacks grey levels 2 and 5 but has Ng = 6). Matrices with no co-occurrence (a
// slice without neighbouring ROI voxels in a direction) are left out of the
// averages; a feature undefined everywhere for an aggregation is omitted.
func GLCMFeatures(d *Discretised, s *Settings) ([]Feature, error) {
	t, err := newTexGrid(d)
	if err != nil {
		return nil, err
	}
	tp, err := textureParamsOf(s)
	if err != nil {
		return nil, err
	}
	delta := tp.delta
	nf := len(glcmSpecs)
	ng := t.ng

	avg2D := newFeatAccum(nf)       // per slice and direction
	sliceMerged := newFeatAccum(nf) // per slice, directions merged
	dirMerged := make([]*glcm, len(texDirs2D))
	for i := range dirMerged {
		dirMerged[i] = newGLCM(ng)
	}
	all2D := newGLCM(ng)
	perSlice := newGLCM(ng)
	m := newGLCM(ng)
	for k := 0; k < t.nz; k++ {
		if t.sliceCount(k) == 0 {
			continue
		}
		perSlice.reset()
		for di, dir := range texDirs2D {
			m.reset()
			m.addDirection(t, dir, delta, k)
			avg2D.add(glcmValues(m))
			perSlice.merge(m)
			dirMerged[di].merge(m)
		}
		sliceMerged.add(glcmValues(perSlice))
		all2D.merge(perSlice)
	}
	dirAvg := newFeatAccum(nf)
	for _, dm := range dirMerged {
		dirAvg.add(glcmValues(dm))
	}

	avg3D := newFeatAccum(nf)
	all3D := newGLCM(ng)
	for _, dir := range texDirs3D {
		m.reset()
		m.addDirection(t, dir, delta, -1)
		avg3D.add(glcmValues(m))
		all3D.merge(m)
	}

	var out []Feature
	out = appendFeatures(out, FamilyGLCM, Agg2DAveraged, glcmSpecs, avg2D.mean())
	out = appendFeatures(out, FamilyGLCM, Agg2DSliceMerged, glcmSpecs, sliceMerged.mean())
	out = appendFeatures(out, FamilyGLCM, Agg25DDirectionMerged, glcmSpecs, dirAvg.mean())
	out = appendFeatures(out, FamilyGLCM, Agg25DMerged, glcmSpecs, glcmValues(all2D))
	out = appendFeatures(out, FamilyGLCM, Agg3DAveraged, glcmSpecs, avg3D.mean())
	out = appendFeatures(out, FamilyGLCM, Agg3DMerged, glcmSpecs, glcmValues(all3D))
	return out, nil
}
