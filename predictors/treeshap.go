package predictors

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// treePathElem is one element of the TreeSHAP feature path: the feature d
// (−1 for the root placeholder), the fraction z of "zero" paths (cover
// ratio) and o of "one" paths (1 when x follows the split, 0 otherwise) that
// flow through it, and the permutation weight w.
type treePathElem struct {
	d    int32
	z, o float64
	w    float64
}

// treeShapState is the scratch space of one Explain call: the path
// segments of every recursion level are stored one after the other in buf.
type treeShapState struct {
	buf []treePathElem
	rec []float64 // rec[k] = 1/k (rec[0] = +Inf, unused)
	phi []float64
	x   []float64
	t   *Tree
	// stack is the traversal stack of treeShapTable.add.
	stack []uint64
	// quad is the scratch space of the quadrature form.
	quad treeShapQuad
}

var treeShapPool = sync.Pool{New: func() any { return new(treeShapState) }}

// Explain returns the path-dependent TreeSHAP attribution of the forest's
// probability for x (Lundberg et al., "Consistent individualized feature
// attribution for tree ensembles", 2018, Algorithm 2; Lundberg et al.,
// Nature Machine Intelligence 2020), averaged over the trees:
//
//	φ_j = (1/T) Σ_t Σ_{S ⊆ F∖{j}} |S|!(M−|S|−1)!/M! · (f_t(x, S∪{j}) − f_t(x, S)),
//
// where f_t(x, S) is the conditional expectation of tree t given x_S under
// the tree's own cover distribution: at a split on a feature in S follow x,
// otherwise average both children weighted by Cover. The base value is
// (1/T) Σ_t f_t(x, ∅), the mean over trees of the cover-weighted mean leaf
// value (= the root Value of each tree), and base + Σ_j φ_j equals the
// forest's probability for x up to rounding (well within 1e-9).
//
// A forest returned by FitForest or json.Unmarshal explains its shallow
// trees (every leaf with at most 7 distinct features on its path, e.g.
// MaxDepth ≤ 7) from per-leaf subset tables built once, at its first
// Explain (sync.Once; at most 16 MiB a forest, never serialised; see
// treeshap_table.go): O(d) per leaf instead of Algorithm 2's O(d²), with
// the same values up to rounding (the tests compare to 1e-12). Its deeper
// trees (up to 64 distinct features on a path) are explained by
// Gauss–Legendre quadrature of the Shapley weights' Beta integral
// (treeshap_quad.go), O(d·⌈D/2⌉) multiply-adds per leaf with positive
// terms only. Trees deeper still, and every tree of a forest built by hand,
// use Algorithm 2.
//
// The trees are explained in fixed chunks of treeShapChunk trees by a pool
// of workers (Settings.Workers at fit time, GOMAXPROCS otherwise); each
// chunk sums its trees in index order and the chunks are added in index
// order, so φ and the base value are bit-identical for any worker count.
//
// phi is written in place when it has length NumFeatures (allocated when
// nil). Errors: ErrFeatureCount for len(x) ≠ NumFeatures, ErrNotFinite for
// NaN or Inf. A phi of the wrong length panics.
func (f *Forest) Explain(x, phi []float64) (float64, []float64, error) {
	if len(x) != f.NFeatures {
		return 0, nil, fmt.Errorf("forest explain: %w: got %d values, the forest has %d", ErrFeatureCount, len(x), f.NFeatures)
	}
	if !forestRowFinite(x) {
		return 0, nil, fmt.Errorf("forest explain: %w", ErrNotFinite)
	}
	if len(f.Trees) == 0 {
		return 0, nil, errors.New("forest explain: the forest has no trees")
	}
	if phi == nil {
		phi = make([]float64, f.NFeatures)
	}
	if len(phi) != f.NFeatures {
		panic(fmt.Sprintf("predictors: phi has length %d for %d features", len(phi), f.NFeatures))
	}
	nt := len(f.Trees)
	p := f.NFeatures
	nChunks := (nt + treeShapChunk - 1) / treeShapChunk
	// partial[c*(p+1) : (c+1)*(p+1)] holds chunk c's φ sums followed by its
	// base sum; every chunk is summed in tree order and the chunks are
	// reduced in chunk order, so the result does not depend on workers.
	partial := make([]float64, nChunks*(p+1))
	tables, quad := f.shapPlan()
	chunk := func(c int) {
		out := partial[c*(p+1) : (c+1)*(p+1)]
		s := treeShapPool.Get().(*treeShapState)
		s.phi, s.x = out[:p], x
		var base float64
		for t := c * treeShapChunk; t < min((c+1)*treeShapChunk, nt); t++ {
			s.t = &f.Trees[t]
			base += s.t.Value[0]
			if tables != nil && tables[t] != nil {
				s.stack = tables[t].add(s.t, x, s.phi, s.stack)
				continue
			}
			if quad != nil && quad[t] > 0 {
				s.quad.explain(s.t, x, s.phi, quad[t])
				continue
			}
			s.recurse(0, 0, 0, 1, 1, -1)
		}
		out[p] = base
		s.phi, s.x, s.t = nil, nil, nil
		treeShapPool.Put(s)
	}
	workers := f.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers = min(workers, nChunks); workers <= 1 {
		for c := range nChunks {
			chunk(c)
		}
	} else {
		forestParallel(workers, nChunks, chunk)
	}
	clear(phi)
	var base float64
	for c := range nChunks {
		out := partial[c*(p+1) : (c+1)*(p+1)]
		for j, v := range out[:p] {
			phi[j] += v
		}
		base += out[p]
	}
	inv := 1 / float64(nt)
	for j := range phi {
		phi[j] *= inv
	}
	return base * inv, phi, nil
}

// treeShapChunk is the number of consecutive trees one Explain task
// explains. It is a constant, not derived from the worker count, so that
// the order of the floating-point sums, and thus φ bit for bit, is the same
// for every number of workers.
const treeShapChunk = 8

// recurse is RECURSE(j, m, p_z, p_o, p_i) of Algorithm 2. The parent's path
// is buf[off : off+l]; this call writes it, extended with (pi, pz, po), to
// buf[off+l : off+2l+1] and descends.
func (s *treeShapState) recurse(node uint32, off, l int, pz, po float64, pi int32) {
	start := off + l
	if need := start + l + 1; need > len(s.buf) {
		s.buf = append(s.buf, make([]treePathElem, need-len(s.buf)+16)...)
	}
	for len(s.rec) <= l+1 {
		s.rec = append(s.rec, 1/float64(len(s.rec)))
	}
	m := s.buf[start : start+l+1]
	treeExtend(m, s.buf[off:off+l], pz, po, pi, s.rec)
	t := s.t
	j := t.Feature[node]
	if j < 0 {
		s.leaf(m, t.Value[node])
		return
	}
	hot, cold := t.Left[node], t.Right[node]
	if !(s.x[j] <= t.Threshold[node]) {
		hot, cold = cold, hot
	}
	iz, io := 1.0, 1.0
	for k := 1; k < len(m); k++ {
		if m[k].d == j {
			iz, io = m[k].z, m[k].o
			treeUnwind(m, k, s.rec)
			m = m[:len(m)-1]
			break
		}
	}
	rj := t.Cover[node]
	s.recurse(hot, start, len(m), iz*t.Cover[hot]/rj, io, j)
	s.recurse(cold, start, len(m), iz*t.Cover[cold]/rj, 0, j)
}

// treeExtend is EXTEND done out of place: dst (len(src)+1 elements)
// receives the path src extended by the element (pi, pz, po). With l =
// len(src), the paper's in-place loop gives the weights
//
//	dst_k.w = pz·src_k.w·(l−k)/(l+1) + po·src_{k−1}.w·k/(l+1),
//
// with src_{−1}.w = src_l.w = 0, and dst_0.w = 1 for the empty path.
// rec[k] = 1/k for k ≤ l+1.
func treeExtend(dst, src []treePathElem, pz, po float64, pi int32, rec []float64) {
	l := len(src)
	if l == 0 {
		dst[0] = treePathElem{d: pi, z: pz, o: po, w: 1}
		return
	}
	a, b := pz*rec[l+1], po*rec[l+1]
	var prev float64
	for k, e := range src {
		dst[k] = treePathElem{d: e.d, z: e.z, o: e.o, w: a*e.w*float64(l-k) + b*prev*float64(k)}
		prev = e.w
	}
	dst[l] = treePathElem{d: pi, z: pz, o: po, w: b * prev * float64(l)}
}

// treeUnwind is UNWIND: it undoes the extension by element i in place; the
// caller drops the last element (len(m)−1 remain). rec[k] = 1/k.
func treeUnwind(m []treePathElem, i int, rec []float64) {
	l := len(m)
	fl := float64(l)
	z, o := m[i].z, m[i].o
	if o != 0 {
		scale := fl / o
		zl := z * rec[l]
		n := m[l-1].w
		for j := l - 2; j >= 0; j-- {
			t := m[j].w
			m[j].w = n * scale * rec[j+1]
			n = t - m[j].w*zl*float64(l-1-j)
		}
	} else {
		scale := fl / z
		for j := l - 2; j >= 0; j-- {
			m[j].w *= scale * rec[l-1-j]
		}
	}
	for j := i; j < l-1; j++ {
		m[j].d, m[j].z, m[j].o = m[j+1].d, m[j+1].z, m[j+1].o
	}
}

// leaf adds the contributions of a leaf of value v reached by path m:
// φ[m_i.d] += sum(UNWIND(m, i).w)·(m_i.o − m_i.z)·v for every element but
// the root placeholder. The unwound sums are computed without modifying m.
// For an element with o = 0 the sum is (L/z)·Σ_j m_j.w/(L−1−j), whose Σ
// does not depend on the element and is computed once per leaf; its
// contribution w·(0 − z)·v is then −(L·Σ)·v.
func (s *treeShapState) leaf(m []treePathElem, v float64) {
	l := len(m)
	rec := s.rec
	var coldSum float64
	haveCold := false
	// The elements with o ≠ 0 are handled four (then two) at a time: their unwound
	// sums are independent recurrences of the same length, and
	// treeUnwoundSum4 (2) interleaves them so that the processor overlaps
	// their latencies. Each sum is computed by exactly the operations of
	// treeUnwoundSum, so the result does not depend on the grouping.
	var hot [4]int
	nHot := 0
	for i := 1; i < l; i++ {
		e := &m[i]
		if e.o != 0 {
			hot[nHot] = i
			if nHot++; nHot == 4 {
				s.leafHot4(m, hot, v)
				nHot = 0
			}
			continue
		}
		if !haveCold {
			for j := 0; j < l-1; j++ {
				coldSum += m[j].w * rec[l-1-j]
			}
			coldSum *= float64(l)
			haveCold = true
		}
		s.phi[e.d] -= coldSum * v
	}
	if nHot >= 2 {
		a, b := &m[hot[0]], &m[hot[1]]
		ta, tb := treeUnwoundSum2(m, a.z, b.z, a.o, b.o, rec)
		s.phi[a.d] += ta * (a.o - a.z) * v
		s.phi[b.d] += tb * (b.o - b.z) * v
	}
	if nHot == 1 || nHot == 3 {
		e := &m[hot[nHot-1]]
		s.phi[e.d] += treeUnwoundSum(m, e.z, e.o, rec) * (e.o - e.z) * v
	}
}

// leafHot4 adds the contributions of the four elements m[hot[k]] (all with
// o ≠ 0) of a leaf of value v, as leaf does one at a time.
func (s *treeShapState) leafHot4(m []treePathElem, hot [4]int, v float64) {
	a, b, c, d := &m[hot[0]], &m[hot[1]], &m[hot[2]], &m[hot[3]]
	ta, tb, tc, td := treeUnwoundSum4(m, [4]float64{a.z, b.z, c.z, d.z}, [4]float64{a.o, b.o, c.o, d.o}, s.rec)
	s.phi[a.d] += ta * (a.o - a.z) * v
	s.phi[b.d] += tb * (b.o - b.z) * v
	s.phi[c.d] += tc * (c.o - c.z) * v
	s.phi[d.d] += td * (d.o - d.z) * v
}

// treeUnwoundSum2 is treeUnwoundSum for two elements at once, with the
// same operations in the same order for each.
func treeUnwoundSum2(m []treePathElem, za, zb, oa, ob float64, rec []float64) (float64, float64) {
	l := len(m)
	fl := float64(l)
	r := rec[l]
	za, zb = za*r, zb*r
	sa, sb := fl/oa, fl/ob
	var ta, tb float64
	na := m[l-1].w
	nb := na
	rec = rec[:l]
	m = m[:l]
	for j := l - 2; j >= 0; j-- {
		rj := rec[j+1]
		mw := m[j].w
		k := float64(l - 1 - j)
		wa := na * (sa * rj)
		wb := nb * (sb * rj)
		ta += wa
		tb += wb
		na = mw - wa*(za*k)
		nb = mw - wb*(zb*k)
	}
	return ta, tb
}

// treeUnwoundSum4 is treeUnwoundSum for four elements at once, with the
// same operations in the same order for each.
func treeUnwoundSum4(m []treePathElem, z, o [4]float64, rec []float64) (float64, float64, float64, float64) {
	l := len(m)
	fl := float64(l)
	r := rec[l]
	za, zb, zc, zd := z[0]*r, z[1]*r, z[2]*r, z[3]*r
	sa, sb, sc, sd := fl/o[0], fl/o[1], fl/o[2], fl/o[3]
	var ta, tb, tc, td float64
	n := m[l-1].w
	na, nb, nc, nd := n, n, n, n
	rec = rec[:l]
	m = m[:l]
	for j := l - 2; j >= 0; j-- {
		rj := rec[j+1]
		mw := m[j].w
		k := float64(l - 1 - j)
		wa := na * (sa * rj)
		wb := nb * (sb * rj)
		wc := nc * (sc * rj)
		wd := nd * (sd * rj)
		ta += wa
		tb += wb
		tc += wc
		td += wd
		na = mw - wa*(za*k)
		nb = mw - wb*(zb*k)
		nc = mw - wc*(zc*k)
		nd = mw - wd*(zd*k)
	}
	return ta, tb, tc, td
}

// treeUnwoundSum is sum(UNWIND(m, i).w) for an element i with one
// fraction o ≠ 0 and zero fraction z, without modifying m. rec[k] = 1/k.
func treeUnwoundSum(m []treePathElem, z, o float64, rec []float64) float64 {
	l := len(m)
	fl := float64(l)
	zl := z * rec[l]
	scale := fl / o
	var total float64
	n := m[l-1].w
	for j := l - 2; j >= 0; j-- {
		// The factors in parentheses do not depend on n: the recurrence
		// carried from one j to the next is two products and a difference.
		w := n * (scale * rec[j+1])
		total += w
		n = m[j].w - w*(zl*float64(l-1-j))
	}
	return total
}
