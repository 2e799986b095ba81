package predictors

import (
	"math"
	"sync"
)

// Exact path-dependent TreeSHAP for deep trees by Gauss–Legendre
// quadrature (the integral form of Linear TreeSHAP, Yu et al. 2022, used
// here leaf by leaf).
//
// With the notation of treeshap_table.go (a leaf of value v, its d distinct
// path features with zero fractions z_k and one fractions o_k ∈ {0, 1}),
// the Shapley weight is a Beta integral, w_d(s) = s!(d−1−s)!/d! =
// ∫₀¹ t^s (1−t)^{d−1−s} dt, so the leaf's share for feature i is
//
//	v·(o_i − z_i)·∫₀¹ Π_{k≠i} f_k(t) dt,   f_k(t) = z_k + (o_k − z_k)·t,
//
// the integral of a polynomial of degree d − 1, which a Q-point
// Gauss–Legendre rule integrates exactly when 2Q − 1 ≥ d − 1. Every f_k is
// positive on (0, 1) (z_k + (1 − z_k)t for o_k = 1, z_k(1 − t) for o_k = 0,
// 0 < z_k ≤ 1) and the rule's nodes lie inside (0, 1) with positive
// weights, so the share is a sum of positive products: no cancellation,
// a relative rounding error of order (d + Q)·2⁻⁵³, against Algorithm 2's
// UNWIND, which divides and subtracts. The recursion keeps, per level, the
// product G = Π_k f_k at the Q nodes and, per path feature, 1/f_k; a leaf
// then costs O(d·Q) multiply-adds, Q = ⌈D/2⌉ for the tree's largest number D
// of distinct path features (Algorithm 2: O(d²) dependent steps).

// treeShapQuadMaxQ bounds the rule's size (trees with more than 2·32
// distinct features on a path use Algorithm 2).
const treeShapQuadMaxQ = 32

// treeShapGauss[q] holds the nodes and weights of the q-point
// Gauss–Legendre rule on [0, 1], computed once.
var (
	treeShapGaussOnce sync.Once
	treeShapGauss     [treeShapQuadMaxQ + 1]struct{ t, w []float64 }
)

// gaussLegendre01 returns the q-point Gauss–Legendre nodes and weights on
// [0, 1]: the roots of the Legendre polynomial P_q by Newton's method from
// the Chebyshev-like guess cos(π(k + ¾)/(q + ½)), and the weights
// 2/((1 − x²)P_q'(x)²), mapped from [−1, 1].
func gaussLegendre01(q int) (t, w []float64) {
	t, w = make([]float64, q), make([]float64, q)
	for k := range (q + 1) / 2 {
		x := math.Cos(math.Pi * (float64(k) + 0.75) / (float64(q) + 0.5))
		var dp float64
		for range 100 {
			// P_q(x) and P_q'(x) by the three-term recurrence
			p0, p1 := 1.0, x
			for n := 2; n <= q; n++ {
				p0, p1 = p1, ((2*float64(n)-1)*x*p1-(float64(n)-1)*p0)/float64(n)
			}
			dp = float64(q) * (x*p1 - p0) / (x*x - 1)
			dx := p1 / dp
			x -= dx
			if math.Abs(dx) <= 1e-16 {
				break
			}
		}
		// recompute the derivative at the converged root
		p0, p1 := 1.0, x
		for n := 2; n <= q; n++ {
			p0, p1 = p1, ((2*float64(n)-1)*x*p1-(float64(n)-1)*p0)/float64(n)
		}
		dp = float64(q) * (x*p1 - p0) / (x*x - 1)
		wk := 2 / ((1 - x*x) * dp * dp)
		// x > 0 for k < q/2: the pair ±x maps to (1 ± x)/2
		t[k], w[k] = (1-x)/2, wk/2
		t[q-1-k], w[q-1-k] = (1+x)/2, wk/2
	}
	return t, w
}

// treeShapRule returns the q-point rule on [0, 1].
func treeShapRule(q int) (t, w []float64) {
	treeShapGaussOnce.Do(func() {
		for k := 1; k <= treeShapQuadMaxQ; k++ {
			treeShapGauss[k].t, treeShapGauss[k].w = gaussLegendre01(k)
		}
	})
	return treeShapGauss[q].t, treeShapGauss[q].w
}

// treeShapQuadSize returns the rule size ⌈D/2⌉ (at least 1) for the largest
// number D of distinct features on a root-to-leaf path of t, or 0 when it
// exceeds treeShapQuadMaxQ.
func treeShapQuadSize(t *Tree) int {
	maxD := 0
	var path []int32
	var rec func(k uint32)
	rec = func(k uint32) {
		j := t.Feature[k]
		if j < 0 {
			maxD = max(maxD, len(path))
			return
		}
		seen := false
		for _, f := range path {
			if f == j {
				seen = true
				break
			}
		}
		if !seen {
			path = append(path, j)
		}
		rec(t.Left[k])
		rec(t.Right[k])
		if !seen {
			path = path[:len(path)-1]
		}
	}
	rec(0)
	q := max(1, (maxD+1)/2)
	if q > treeShapQuadMaxQ {
		return 0
	}
	return q
}

// treeShapQuad is the scratch space of the quadrature recursion for one
// tree.
type treeShapQuad struct {
	q      int
	t, w   []float64
	feat   []int32   // path features
	z, o   []float64 // their zero and one fractions
	r      []float64 // 1/f_k at the nodes, q per path feature
	g      []float64 // G at the nodes, q per recursion level
	wg     []float64 // w·G at a leaf
	tree   *Tree
	x, phi []float64
}

// explain adds to phi the SHAP values of x for tree t with a q-point rule.
func (s *treeShapQuad) explain(t *Tree, x, phi []float64, q int) {
	s.q, s.tree, s.x, s.phi = q, t, x, phi
	s.t, s.w = treeShapRule(q)
	s.feat, s.z, s.o, s.r = s.feat[:0], s.z[:0], s.o[:0], s.r[:0]
	if cap(s.wg) < q {
		s.wg = make([]float64, q)
	}
	s.wg = s.wg[:q]
	if len(s.g) < q {
		s.g = make([]float64, q)
	}
	for k := range q {
		s.g[k] = 1
	}
	s.rec(0, 0)
	s.tree, s.x, s.phi = nil, nil, nil
}

// rec visits node k at recursion level lev; G of the path above k is
// s.g[lev·q : (lev+1)·q].
func (s *treeShapQuad) rec(k uint32, lev int) {
	t, q := s.tree, s.q
	j := t.Feature[k]
	if j < 0 {
		g := s.g[lev*q : (lev+1)*q]
		d := len(s.feat)
		if d == 0 {
			return
		}
		v := t.Value[k]
		wg := s.wg
		for m := range q {
			wg[m] = s.w[m] * g[m]
		}
		// four (then two) features at a time: independent sums overlap
		// their latency
		r := s.r[:d*q]
		i := 0
		for ; i+4 <= d; i += 4 {
			ra, rb := r[i*q:(i+1)*q], r[(i+1)*q:(i+2)*q]
			rc, rd := r[(i+2)*q:(i+3)*q], r[(i+3)*q:(i+4)*q]
			var sa, sb, sc, sd float64
			for m, c := range wg {
				sa += c * ra[m]
				sb += c * rb[m]
				sc += c * rc[m]
				sd += c * rd[m]
			}
			s.phi[s.feat[i]] += v * (s.o[i] - s.z[i]) * sa
			s.phi[s.feat[i+1]] += v * (s.o[i+1] - s.z[i+1]) * sb
			s.phi[s.feat[i+2]] += v * (s.o[i+2] - s.z[i+2]) * sc
			s.phi[s.feat[i+3]] += v * (s.o[i+3] - s.z[i+3]) * sd
		}
		for ; i+2 <= d; i += 2 {
			ra, rb := r[i*q:(i+1)*q], r[(i+1)*q:(i+2)*q]
			var sa, sb float64
			for m, c := range wg {
				sa += c * ra[m]
				sb += c * rb[m]
			}
			s.phi[s.feat[i]] += v * (s.o[i] - s.z[i]) * sa
			s.phi[s.feat[i+1]] += v * (s.o[i+1] - s.z[i+1]) * sb
		}
		if i < d {
			ri := r[i*q : (i+1)*q]
			var sum float64
			for m, c := range wg {
				sum += c * ri[m]
			}
			s.phi[s.feat[i]] += v * (s.o[i] - s.z[i]) * sum
		}
		return
	}
	if need := (lev + 2) * q; len(s.g) < need {
		s.g = append(s.g, make([]float64, need-len(s.g)+4*q)...)
	}
	i := -1
	for p, f := range s.feat {
		if f == j {
			i = p
			break
		}
	}
	hot := t.Left[k]
	if !(s.x[j] <= t.Threshold[k]) {
		hot = t.Right[k]
	}
	for _, c := range [2]uint32{t.Left[k], t.Right[k]} {
		// deeper levels may have grown s.g and s.r: slice them afresh
		g := s.g[lev*q : (lev+1)*q]
		gc := s.g[(lev+1)*q : (lev+2)*q]
		ratio := t.Cover[c] / t.Cover[k]
		oc := 0.0
		if c == hot {
			oc = 1
		}
		if i < 0 {
			// a new path feature: f(t) = ratio + (oc − ratio)·t
			s.feat = append(s.feat, j)
			s.z = append(s.z, ratio)
			s.o = append(s.o, oc)
			d := len(s.feat) - 1
			s.r = append(s.r, make([]float64, q)...)
			r := s.r[d*q : (d+1)*q]
			s.factors(r, gc, g, nil, ratio, oc)
			s.rec(c, lev+1)
			s.feat, s.z, s.o, s.r = s.feat[:d], s.z[:d], s.o[:d], s.r[:d*q]
			continue
		}
		// a repeated feature: its fractions multiply; G loses the old
		// factor (times its stored reciprocal) and gains the new one
		z0, o0 := s.z[i], s.o[i]
		r := s.r[i*q : (i+1)*q]
		var save [treeShapQuadMaxQ]float64
		copy(save[:q], r)
		nz, no := z0*ratio, o0*oc
		s.z[i], s.o[i] = nz, no
		s.factors(r, gc, g, r, nz, no)
		s.rec(c, lev+1)
		s.z[i], s.o[i] = z0, o0
		copy(s.r[i*q:(i+1)*q], save[:q])
	}
}

// factors sets, at the rule's nodes, r = 1/f and gc = g·f (gc = g·old·f
// when old, the reciprocals of the factor f replaces, is given; old may be
// r itself) for f(t) = z + (o − z)·t. (Computing 1/f = (1/z)·1/(1 − t) for
// o = 0 from precomputed 1/(1 − t), one division instead of q, gained
// nothing measurable at MaxDepth 10 and 12.)
func (s *treeShapQuad) factors(r, gc, g, old []float64, z, o float64) {
	ts := s.t[:len(r)]
	gc, g = gc[:len(r)], g[:len(r)]
	if old != nil {
		old = old[:len(r)]
		for m := range r {
			gc[m] = g[m] * old[m]
		}
		g = gc
	}
	for m := range r {
		f := z + (o-z)*ts[m]
		gc[m] = g[m] * f
		r[m] = 1 / f
	}
}
