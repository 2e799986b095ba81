package predictors

import (
	"sync"
)

// Fast exact TreeSHAP with per-leaf subset tables (the idea of Yang,
// "Fast TreeSHAP", arXiv:2109.09847, algorithm v2, derived here for the
// path-dependent form that Explain computes).
//
// For one tree and one leaf ℓ of value v, let F be the d distinct features
// split on along the root-to-ℓ path and, for i ∈ F, let z_i be the product
// of the cover ratios Cover[child]/Cover[node] of the splits on i along the
// path and o_i ∈ {0, 1} be 1 when x satisfies every split on i along the
// path. Algorithm 2 adds to φ_i the leaf's share
//
//	v·(o_i − z_i)·Σ_{S ⊆ F∖{i}} w_d(|S|)·Π_{k∈S} o_k·Π_{k∈F∖S∖{i}} z_k,
//	w_d(s) = s!(d−1−s)!/d!.
//
// The product of the o_k vanishes unless S ⊆ H = {k : o_k = 1}, so with
//
//	s(T) = Σ_{S ⊆ T} w_d(|S|)·Π_{k∈F∖S} z_k        (T ⊊ F)
//
// the share is −v·s(H) for i ∉ H and v·((1 − z_i)/z_i)·s(H∖{i}) for i ∈ H:
// one table of the 2^d values v·s(T) per leaf, built once, turns the
// O(d²) work per leaf and explanation into O(d). Every term of s(T) is
// positive, so the table is accurate to a few ulps relative; the division
// by z_i > 0 adds one rounding. The results equal Algorithm 2's up to
// rounding (the tests compare to 1e-12), not bit for bit.
//
// The tables cost 2^d float64 per leaf, so they are built only for trees
// whose leaves all have d ≤ treeShapMaxLeafBits and only while the forest's
// total stays within treeShapMaxEntries; the other trees are explained by
// quadrature (treeshap_quad.go), or by Algorithm 2 when deeper still.

// treeShapMaxLeafBits is the largest number of distinct path features d a
// leaf may have for its tree to get tables (2^7 entries, 1 KiB, per leaf at
// most). Measured on 2026-11-29 (one core, a machine loaded by other jobs,
// medians of 6): the served default forests (60 trees, MaxDepth 7, MinLeaf
// 40, d ≤ 7) explain 2.5× faster with tables and the 500-tree vertebral
// forest with MinLeaf 5 2.0× faster; but 500 trees of MaxDepth 8 on 10k ×
// 50 rows with tables also for their leaves of d = 8 (8.4M entries) were
// 14 % slower than Algorithm 2, and at MaxDepth 10 (49M entries, 390 MB)
// under 10 % faster: the per-leaf reads of 1 + |H| entries scattered over
// 2^d·8 bytes then cost about what Algorithm 2's O(d²) arithmetic does.
// The gain also depends on the tables staying in cache: the fully grown
// vertebral forest (3.4 MB of tables) gained 2× on a quiet core and 1.06×
// (median; 0.5×–1.6× per run) while other jobs filled the shared cache.
const treeShapMaxLeafBits = 7

// treeShapMaxEntries bounds the float64 entries of all the tables of one
// forest (16 MiB); trees are given tables in index order while they fit.
// The served default forests (60 trees of depth ≤ 7: at most 60·2^7·2^7 =
// 983,040 entries) and the 500-tree vertebral forest (about 430,000) fit.
const treeShapMaxEntries = 1 << 21

// treeShapLeafInfo locates the table of one leaf.
type treeShapLeafInfo struct {
	to int   // offset of its 2^d entries in treeShapTable.tab
	fo int32 // offset of its d features in feat (and 2·fo in coef)
	d  int32 // number of distinct features on its path
}

// treeShapTable is the precomputed form of one tree for treeShapTable.add.
type treeShapTable struct {
	// bit[k] is 1<<q for an internal node k whose split feature has local
	// index q on the path (its order of first appearance from the root),
	// and the leaf number for a leaf.
	bit []uint32
	// first[k] is bit[k] when node k is the first split on its feature
	// along its path, 0 otherwise.
	first  []uint32
	leaves []treeShapLeafInfo
	feat   []int32 // per leaf, its d features in local order
	// coef holds, per leaf and local feature i, the pair −1, (1 − z_i)/z_i:
	// the factor of tab[H∖{i}] for i ∉ H (where H∖{i} = H) and for i ∈ H.
	coef []float64
	z    []float64 // per leaf, z_i in local order (dropped after fill)
	tab  []float64 // per leaf, v·s(T) for every T ⊆ F (bit i ↔ local feature i)
}

// treeShapLazy holds the tables of a forest, built at the first Explain.
// It is referenced by pointer so that a Forest can be copied.
type treeShapLazy struct {
	once   sync.Once
	tables []*treeShapTable // per tree; nil: no tables
	// quad is, per tree without tables, the Gauss–Legendre rule size of
	// treeShapQuad (0: Algorithm 2).
	quad []int
}

// newTreeShapLazy returns the empty lazy tables of a fitted or decoded
// forest.
func newTreeShapLazy() *treeShapLazy { return new(treeShapLazy) }

// shapPlan returns, per tree, its tables and its quadrature rule size
// (both nil for a forest built by hand: every tree then uses Algorithm 2),
// computing them on the first call.
func (f *Forest) shapPlan() ([]*treeShapTable, []int) {
	if f.shap == nil {
		return nil, nil
	}
	f.shap.once.Do(func() {
		f.shap.tables = treeShapBuild(f.Trees, f.workers, treeShapMaxLeafBits, treeShapMaxEntries)
		f.shap.quad = treeShapQuadSizes(f.Trees, f.shap.tables, f.workers)
	})
	return f.shap.tables, f.shap.quad
}

// treeShapQuadSizes returns the quadrature rule size of every tree without
// tables (0 for the others and for trees too deep for the rule).
func treeShapQuadSizes(trees []Tree, tables []*treeShapTable, workers int) []int {
	quad := make([]int, len(trees))
	forestParallel(workers, len(trees), func(t int) {
		if tables == nil || tables[t] == nil {
			quad[t] = treeShapQuadSize(&trees[t])
		}
	})
	return quad
}

// treeShapBuild builds the tables of the trees whose leaves have at most
// maxBits distinct path features, in tree order while the total number of
// entries stays within maxEntries. The result does not depend on workers.
func treeShapBuild(trees []Tree, workers, maxBits int, maxEntries int) []*treeShapTable {
	tables := make([]*treeShapTable, len(trees))
	cost := make([]int, len(trees))
	forestParallel(workers, len(trees), func(t int) {
		tables[t], cost[t] = treeShapLayout(&trees[t], maxBits)
	})
	total := 0
	for t, c := range cost {
		if tables[t] == nil || total+c > maxEntries {
			tables[t] = nil
			continue
		}
		total += c
	}
	forestParallel(workers, len(trees), func(t int) {
		if tables[t] != nil {
			tables[t].fill(&trees[t])
		}
	})
	return tables
}

// treeShapLayout computes the node bits and the leaves' features and
// ratios of t, and the number of table entries Σ 2^d; it returns nil when a
// leaf has more than maxBits distinct path features.
func treeShapLayout(t *Tree, maxBits int) (*treeShapTable, int) {
	m := len(t.Feature)
	tb := &treeShapTable{bit: make([]uint32, m), first: make([]uint32, m)}
	// path[q] and zs[q]: the feature of local index q and its z so far;
	// zAt[node] saves the z that a node's split changed, to restore it
	// when the traversal leaves the node's subtree (its right child is
	// visited after the whole left subtree).
	var path []int32
	var zs []float64
	cost := 0
	var rec func(k uint32, d int) bool
	rec = func(k uint32, d int) bool {
		j := t.Feature[k]
		if j < 0 {
			if d > maxBits {
				return false
			}
			tb.bit[k] = uint32(len(tb.leaves))
			tb.leaves = append(tb.leaves, treeShapLeafInfo{to: cost, fo: int32(len(tb.feat)), d: int32(d)})
			cost += 1 << d
			for q := range d {
				tb.feat = append(tb.feat, path[q])
				tb.coef = append(tb.coef, -1, (1-zs[q])/zs[q])
				tb.z = append(tb.z, zs[q])
			}
			return true
		}
		q := -1
		for i := range d {
			if path[i] == j {
				q = i
				break
			}
		}
		nd := d
		if q < 0 {
			q = d
			nd = d + 1
			tb.first[k] = 1 << q
			if len(path) <= q {
				path = append(path, 0)
				zs = append(zs, 0)
			}
			path[q], zs[q] = j, 1
		}
		if q >= 31 {
			return false
		}
		tb.bit[k] = 1 << q
		z := zs[q]
		for _, c := range [2]uint32{t.Left[k], t.Right[k]} {
			zs[q] = z * t.Cover[c] / t.Cover[k]
			if !rec(c, nd) {
				return false
			}
		}
		zs[q] = z
		return true
	}
	if !rec(0, 0) {
		return nil, 0
	}
	tb.tab = nil
	return tb, cost
}

// fill computes the tables of every leaf of t.
func (tb *treeShapTable) fill(t *Tree) {
	last := tb.leaves[len(tb.leaves)-1]
	tb.tab = make([]float64, last.to+1<<last.d)
	var scratch []float64
	var w []float64
	// the leaves in node order, to find their values
	for k, j := range t.Feature {
		if j >= 0 {
			continue
		}
		lf := tb.leaves[tb.bit[k]]
		d := int(lf.d)
		if d == 0 {
			continue // a single-leaf tree: nothing to attribute
		}
		// w[s] = s!(d−1−s)!/d! by w[0] = 1/d, w[s+1] = w[s]·(s+1)/(d−1−s)
		w = w[:0]
		ws := 1 / float64(d)
		for s := range d {
			w = append(w, ws)
			if s+1 < d {
				ws = ws * float64(s+1) / float64(d-1-s)
			}
		}
		z := tb.z[lf.fo : int(lf.fo)+d]
		if need := (d + 1) * (d + 1); len(scratch) < need {
			scratch = make([]float64, need)
		}
		treeShapFillLeaf(tb.tab[lf.to:lf.to+1<<d], t.Value[k], z, w, scratch)
	}
	tb.z = nil
}

// treeShapFillLeaf writes tab[T] = v·Σ_{s<d} w[s]·c_T[s] for every T ⊆
// {0..d−1}, where c_T(t) = Π_{k<d} (z_k + [k∈T]·t) has the coefficients
// c_T[s] = Σ_{S⊆T, |S|=s} Π_{k∉S} z_k. The polynomials are built feature by
// feature in a depth-first enumeration; scratch holds (d+1)² values, level
// k's polynomial (degree ≤ k) at scratch[k(d+1):].
func treeShapFillLeaf(tab []float64, v float64, z, w, scratch []float64) {
	d := len(z)
	stride := d + 1
	scratch[0] = 1
	var gen func(k int, set uint32)
	gen = func(k int, set uint32) {
		cur := scratch[k*stride : k*stride+k+1]
		if k == d {
			var s float64
			for i, c := range cur[:d] {
				s += w[i] * c
			}
			tab[set] = v * s
			return
		}
		next := scratch[(k+1)*stride : (k+1)*stride+k+2]
		zk := z[k]
		// × z_k: feature k not in T
		for i, c := range cur {
			next[i] = c * zk
		}
		next[k+1] = 0
		gen(k+1, set)
		// × (z_k + t): feature k in T
		next[0] = cur[0] * zk
		for i := 1; i <= k; i++ {
			next[i] = cur[i]*zk + cur[i-1]
		}
		next[k+1] = cur[k]
		gen(k+1, set|1<<k)
	}
	gen(0, 0)
}

// add adds to phi the SHAP values of the finite row x for tree t (whose
// tables tb are), as treeShapState.recurse does by Algorithm 2. stack is
// scratch space, returned for reuse.
func (tb *treeShapTable) add(t *Tree, x, phi []float64, stack []uint64) []uint64 {
	feat, thr, left, right := t.Feature, t.Threshold, t.Left, t.Right
	bit, first := tb.bit, tb.first
	stack = append(stack[:0], 0)
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		k, h := uint32(e), uint32(e>>32)
		// descend towards x, pushing the other child with its bit cleared
		for {
			j := feat[k]
			if j < 0 {
				break
			}
			hot, cold := left[k], right[k]
			if !(x[j] <= thr[k]) {
				hot, cold = cold, hot
			}
			stack = append(stack, uint64(h&^bit[k])<<32|uint64(cold))
			h |= first[k]
			k = hot
		}
		lf := tb.leaves[bit[k]]
		d := int(lf.d)
		if d == 0 {
			continue
		}
		tab := tb.tab[lf.to : lf.to+1<<d]
		fs := tb.feat[lf.fo : int(lf.fo)+d]
		cs := tb.coef[2*lf.fo : 2*(int(lf.fo)+d)]
		// without a branch on bit i of h, which a processor cannot predict
		for i, fi := range fs {
			b := h >> i & 1
			phi[fi] += cs[2*i+int(b)] * tab[h&^(b<<i)]
		}
	}
	return stack
}
