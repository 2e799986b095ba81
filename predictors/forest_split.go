package predictors

import (
	"cmp"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// forestBucketRatio: at a node of m distinct rows, a feature with at most
// forestBucketRatio·m distinct training values is scanned through dense rank
// buckets (O(m + U)); otherwise the node's (rank, row) keys are sorted
// (O(m log m)). Both give the same, exact, splits.
const forestBucketRatio = 4

// forestData is the training data prepared once for all trees.
type forestData struct {
	n, p   int
	rank   []int32     // rank[j*n+i]: rank of x_ij among the distinct values of column j
	values [][]float64 // sorted distinct values of every column
	y      []int32     // 1 for the positive class, 0 otherwise
	cum    []float64   // cumulative case weights; nil for uniform sampling
	last   int         // last row with positive weight (weighted sampling)
	maxU   int         // largest number of distinct values in a column
}

// forestPrepare ranks every column and prepares the bootstrap sampler. The
// data has been checked (finite, both classes present).
func forestPrepare(x mat.Matrix, y []bool, w []float64) *forestData {
	n, p := x.Dims()
	d := &forestData{n: n, p: p, rank: make([]int32, n*p), values: make([][]float64, p), y: make([]int32, n)}
	col := make([]float64, n)
	ord := make([]int32, n)
	for j := range p {
		for i := range n {
			col[i] = x.At(i, j)
			ord[i] = int32(i)
		}
		slices.SortFunc(ord, func(a, b int32) int { return cmp.Compare(col[a], col[b]) })
		var vals []float64
		r := d.rank[j*n : (j+1)*n]
		for k, i := range ord {
			if k == 0 || col[i] != vals[len(vals)-1] {
				vals = append(vals, col[i])
			}
			r[i] = int32(len(vals) - 1)
		}
		d.values[j] = slices.Clip(vals)
		d.maxU = max(d.maxU, len(vals))
	}
	for i, yi := range y {
		if yi {
			d.y[i] = 1
		}
	}
	if w != nil && slices.ContainsFunc(w, func(v float64) bool { return v != w[0] }) {
		d.cum = make([]float64, n)
		var s float64
		for i, v := range w {
			s += v
			d.cum[i] = s
			if v > 0 {
				d.last = i
			}
		}
	}
	return d
}

// forestFrame is a node waiting to be split: its rows are idx[lo:hi].
type forestFrame struct {
	node            uint32
	lo, hi, depth   int32
	cover, positive int32 // draws reaching the node, of which class 1
}

// forestSplit is a candidate split: ranks ≤ rankL go left, rankR is the
// next rank present in the node.
type forestSplit struct {
	feat         int32
	rankL, rankR int32
	coverL, posL int32
	num, den     float64 // score = num/den, see consider
}

// treeGrower holds one worker's scratch space; it grows one tree at a time.
type treeGrower struct {
	d     *forestData
	set   forestResolved
	rng   *rand.Rand
	cnt   []int32  // bootstrap draws of every row
	idx   []int32  // distinct in-bag rows, partitioned by node
	feats []int32  // feature permutation for the mtry draws
	bn    []int32  // rank buckets: draws
	bp    []int32  // rank buckets: class-1 draws
	keys  []uint64 // sort keys for sorted scans (see scanSorted)
	tmp   []uint64 // radix sort buffer
	hist  []int    // radix sort histogram
	stack []forestFrame
	nodes Tree // node buffers reused across trees
}

func newTreeGrower(d *forestData, set forestResolved) *treeGrower {
	return &treeGrower{
		d:     d,
		set:   set,
		cnt:   make([]int32, d.n),
		idx:   make([]int32, d.n),
		feats: make([]int32, d.p),
		bn:    make([]int32, d.maxU),
		bp:    make([]int32, d.maxU),
		keys:  make([]uint64, d.n),
		tmp:   make([]uint64, d.n),
		hist:  make([]int, 1<<11),
	}
}

// bootstrap draws n rows with replacement into cnt.
func (g *treeGrower) bootstrap() {
	d := g.d
	clear(g.cnt)
	if d.cum == nil {
		for range d.n {
			g.cnt[g.rng.IntN(d.n)]++
		}
		return
	}
	total := d.cum[d.n-1]
	for range d.n {
		u := g.rng.Float64() * total
		i := sort.Search(d.n, func(k int) bool { return d.cum[k] > u })
		if i == d.n {
			i = d.last
		}
		g.cnt[i]++
	}
}

// addNode appends a leaf with the given draw counts and returns its index.
func (g *treeGrower) addNode(cover, positive int32) uint32 {
	t := &g.nodes
	k := uint32(len(t.Feature))
	t.Feature = append(t.Feature, -1)
	t.Threshold = append(t.Threshold, 0)
	t.Left = append(t.Left, 0)
	t.Right = append(t.Right, 0)
	t.Value = append(t.Value, float64(positive)/float64(cover))
	t.Cover = append(t.Cover, float64(cover))
	return k
}

// grow fits one tree with g.rng and returns it with its bootstrap counts
// (row i drawn counts[i] times, saturating at 255; saturated reports
// whether any count did).
func (g *treeGrower) grow() (tree Tree, counts []uint8, saturated bool) {
	d := g.d
	n := d.n
	g.bootstrap()
	counts = make([]uint8, n)
	var m, pos int32
	for i, c := range g.cnt {
		if c > 0 {
			g.idx[m] = int32(i)
			m++
			if c > math.MaxUint8 {
				counts[i], saturated = math.MaxUint8, true
			} else {
				counts[i] = uint8(c)
			}
			pos += c * d.y[i]
		}
	}
	for j := range g.feats {
		g.feats[j] = int32(j)
	}
	t := &g.nodes
	t.Feature, t.Threshold, t.Left, t.Right, t.Value, t.Cover = t.Feature[:0], t.Threshold[:0], t.Left[:0], t.Right[:0], t.Value[:0], t.Cover[:0]
	root := g.addNode(int32(n), pos)
	minLeaf := int32(g.set.minLeaf)
	maxDepth := int32(g.set.maxDepth)
	g.stack = append(g.stack[:0], forestFrame{node: root, lo: 0, hi: m, cover: int32(n), positive: pos})
	for len(g.stack) > 0 {
		fr := g.stack[len(g.stack)-1]
		g.stack = g.stack[:len(g.stack)-1]
		if fr.positive == 0 || fr.positive == fr.cover || (maxDepth > 0 && fr.depth >= maxDepth) || fr.cover < 2*minLeaf {
			continue
		}
		sp, ok := g.bestSplit(fr)
		if !ok {
			continue
		}
		r := d.rank[int(sp.feat)*n : (int(sp.feat)+1)*n]
		idx := g.idx
		k := fr.lo
		for q := fr.lo; q < fr.hi; q++ {
			if r[idx[q]] <= sp.rankL {
				idx[k], idx[q] = idx[q], idx[k]
				k++
			}
		}
		left := g.addNode(sp.coverL, sp.posL)
		right := g.addNode(fr.cover-sp.coverL, fr.positive-sp.posL)
		vals := d.values[sp.feat]
		t.Feature[fr.node] = sp.feat
		t.Threshold[fr.node] = forestMidpoint(vals[sp.rankL], vals[sp.rankR])
		t.Left[fr.node] = left
		t.Right[fr.node] = right
		g.stack = append(g.stack,
			forestFrame{node: right, lo: k, hi: fr.hi, depth: fr.depth + 1, cover: fr.cover - sp.coverL, positive: fr.positive - sp.posL},
			forestFrame{node: left, lo: fr.lo, hi: k, depth: fr.depth + 1, cover: sp.coverL, positive: sp.posL})
	}
	return Tree{
		Feature:   slices.Clone(t.Feature),
		Threshold: slices.Clone(t.Threshold),
		Left:      slices.Clone(t.Left),
		Right:     slices.Clone(t.Right),
		Value:     slices.Clone(t.Value),
		Cover:     slices.Clone(t.Cover),
	}, counts, saturated
}

// forestMidpoint returns (a+b)/2 for a < b, or a when rounding would put
// the midpoint outside [a, b).
func forestMidpoint(a, b float64) float64 {
	m := a/2 + b/2
	if m < a || m >= b {
		return a
	}
	return m
}

// bestSplit draws mtry features and returns the best valid split among
// them; ok is false when none of them admits one.
func (g *treeGrower) bestSplit(fr forestFrame) (best forestSplit, ok bool) {
	best.feat = -1
	p := len(g.feats)
	m := int(fr.hi - fr.lo)
	for k := range g.set.mtry {
		r := k + g.rng.IntN(p-k)
		g.feats[k], g.feats[r] = g.feats[r], g.feats[k]
		j := g.feats[k]
		u := len(g.d.values[j])
		switch {
		case u < 2:
		case u <= forestBucketRatio*m:
			g.scanBuckets(j, fr, &best)
		default:
			g.scanSorted(j, fr, &best)
		}
	}
	return best, best.feat >= 0
}

// consider scores the split of fr between ranks a and b with coverL draws
// (posL of class 1) on the left and keeps it in best when better. The
// score Σ_k n_{L,k}²/n_L + Σ_k n_{R,k}²/n_R is kept as a fraction num/den
// and compared by cross-multiplication (no division).
func (g *treeGrower) consider(best *forestSplit, fr *forestFrame, j, a, b, coverL, posL int32) {
	coverR := fr.cover - coverL
	posR := fr.positive - posL
	cl, pl, cr, pr := float64(coverL), float64(posL), float64(coverR), float64(posR)
	num := (pl*pl+(cl-pl)*(cl-pl))*cr + (pr*pr+(cr-pr)*(cr-pr))*cl
	den := cl * cr
	lhs, rhs := num*best.den, best.num*den
	if best.feat < 0 || lhs > rhs || (lhs == rhs && j < best.feat) {
		*best = forestSplit{feat: j, rankL: a, rankR: b, coverL: coverL, posL: posL, num: num, den: den}
	}
}

// scanBuckets accumulates the node's draws per rank of feature j in dense
// buckets and scans them in rank order. The buckets are left zeroed.
func (g *treeGrower) scanBuckets(j int32, fr forestFrame, best *forestSplit) {
	n := g.d.n
	r := g.d.rank[int(j)*n : (int(j)+1)*n]
	y, cnt, bn, bp := g.d.y, g.cnt, g.bn, g.bp
	minR, maxR := int32(math.MaxInt32), int32(-1)
	for _, i := range g.idx[fr.lo:fr.hi] {
		q, c := r[i], cnt[i]
		bn[q] += c
		bp[q] += c * y[i]
		minR = min(minR, q)
		maxR = max(maxR, q)
	}
	if minR == maxR {
		bn[minR], bp[minR] = 0, 0
		return
	}
	var coverL, posL int32
	prev := int32(-1)
	minLeaf := int32(g.set.minLeaf)
	maxLeft := fr.cover - minLeaf // both children keep ≥ MinLeaf draws
	for q := minR; q <= maxR; q++ {
		c := bn[q]
		if c == 0 {
			continue
		}
		if prev >= 0 && coverL >= minLeaf && coverL <= maxLeft {
			g.consider(best, &fr, j, prev, q, coverL, posL)
		}
		coverL += c
		posL += bp[q]
		bn[q], bp[q] = 0, 0
		prev = q
	}
}

// forestRadixMin is the node size from which scanSorted uses a radix sort
// instead of slices.Sort.
const forestRadixMin = 64

// scanSorted sorts the node's rows by their rank of feature j and scans
// them in that order. A key packs rank << 32 | draws << 1 | class.
func (g *treeGrower) scanSorted(j int32, fr forestFrame, best *forestSplit) {
	n := g.d.n
	r := g.d.rank[int(j)*n : (int(j)+1)*n]
	y, cnt := g.d.y, g.cnt
	m := int(fr.hi - fr.lo)
	keys := g.keys[:m]
	for k, i := range g.idx[fr.lo:fr.hi] {
		keys[k] = uint64(r[i])<<32 | uint64(cnt[i])<<1 | uint64(y[i])
	}
	if m < forestRadixMin {
		slices.Sort(keys)
	} else {
		keys = forestRadixSort(keys, g.tmp[:m], bits.Len(uint(len(g.d.values[j])-1)), g.hist)
	}
	var coverL, posL int32
	prev := int32(-1)
	minLeaf := int32(g.set.minLeaf)
	maxLeft := fr.cover - minLeaf // both children keep ≥ MinLeaf draws
	for _, key := range keys {
		q := int32(key >> 32)
		if q != prev && prev >= 0 && coverL >= minLeaf && coverL <= maxLeft {
			g.consider(best, &fr, j, prev, q, coverL, posL)
		}
		c := int32(uint32(key) >> 1)
		coverL += c
		posL += c & -int32(key&1)
		prev = q
	}
}

// forestRadixSort sorts keys by their upper 32 bits, of which only the low
// nbits can be set, with a stable LSD radix sort of at most 11-bit digits.
// It uses tmp (same length) and hist (length ≥ 2048) as scratch space and
// returns the sorted slice, which is keys or tmp.
func forestRadixSort(keys, tmp []uint64, nbits int, hist []int) []uint64 {
	passes := max(1, (nbits+10)/11)
	width := (nbits + passes - 1) / passes
	mask := uint64(1)<<width - 1
	h := hist[:1<<width]
	for pass := range passes {
		shift := 32 + uint(pass*width)
		clear(h)
		for _, k := range keys {
			h[(k>>shift)&mask]++
		}
		sum := 0
		for d, c := range h {
			h[d] = sum
			sum += c
		}
		for _, k := range keys {
			d := (k >> shift) & mask
			tmp[h[d]] = k
			h[d]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}
