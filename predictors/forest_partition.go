package predictors

// Batch scoring by partitioning (the path Predict takes when forestSIMD).
//
// Instead of walking each row down a tree, the rows of a block are split
// node by node, as the tree was grown: the root holds the indices of every
// row, each internal node partitions its indices into those going left and
// those going right, and each leaf adds its value to its rows. One level
// of one node is then a pass over a contiguous list of indices, with the
// node's feature column read at those indices — 16 indices at a time with
// AVX-512 gathers and compress (forestPartitionAVX512) — instead of a chain
// of dependent loads per row. Each row still receives its trees' values in
// tree order, so the sums are bit for bit those of Forest.predictRow.
//
// Measured on 2026-11-29 (10,000 training rows × 500 fully grown trees of
// 50 features, mean leaf depth 16.8, CPU time per pass, AMD EPYC with
// AVX-512; docs/decisions/0002-forest-scoring-avx512.md has the whole
// table): the row-by-row walk (forestPacked.addLeaves) 203–230 ms on one
// core; this path 109–117 ms with one 10,000-row block, and with two
// workers (5,000-row blocks) 58–64 ms of wall time against 111–127 ms. The
// same partition in plain Go was 173–201 ms (its two stores to data-
// dependent addresses cost about 2.5 ns an index here).

// forestPartSmall is the segment size below which a node splits its
// indices in Go rather than in the vector kernel (measured: 4 and 8 equal
// within noise, the kernel's masked tail costs as much as a full round).
const forestPartSmall = 8

// forestSegment is a node of one tree with its rows: the indices
// buf[depth&1][start:end] of forestPartWork.
type forestSegment struct {
	node       uint32
	depth      uint32
	start, end int32
}

// forestPartWork is one Predict worker's scratch space for a block of up
// to len(buf[0]) rows.
type forestPartWork struct {
	cols  []float64 // the block column by column: feature j of row i at cols[j*rows+i]
	rows  int       // rows in the current block
	buf   [2][]int32
	stack []forestSegment
}

// newForestPartWork allocates the scratch space for blocks of up to block
// rows of p features.
func newForestPartWork(block, p int) *forestPartWork {
	return &forestPartWork{
		cols: make([]float64, block*p),
		buf:  [2][]int32{make([]int32, block), make([]int32, block)},
	}
}

// load copies rows (each of p values) into w.cols.
func (w *forestPartWork) load(rows [][]float64, p int) {
	n := len(rows)
	w.rows = n
	cols := w.cols[:n*p]
	for i, r := range rows {
		for j, v := range r[:p] {
			cols[j*n+i] = v
		}
	}
}

// addLeaves adds to out[i] (len(out) = w.rows) the value of the leaf of pk
// that row i of the loaded block reaches.
func (w *forestPartWork) addLeaves(pk *forestPacked, out []float64) {
	n := w.rows
	if n == 0 {
		return
	}
	nodes := pk.nodes
	root := w.buf[0][:n]
	for i := range root {
		root[i] = int32(i)
	}
	stack := w.stack[:0]
	cur := forestSegment{node: 0, depth: 0, start: 0, end: int32(n)}
	for {
		nd := &nodes[cur.node]
		src := w.buf[cur.depth&1][cur.start:cur.end]
		if nd.left == cur.node { // a leaf: its value is in thr
			v := nd.thr
			for _, r := range src {
				out[r] += v
			}
			if len(stack) == 0 {
				break
			}
			cur = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			continue
		}
		lo := int(nd.feat) * n
		col := w.cols[lo : lo+n]
		if l, r := &nodes[nd.left], &nodes[nd.left+1]; l.left == nd.left && r.left == nd.left+1 {
			// both children are leaves: add their values without
			// partitioning
			vals := [2]float64{l.thr, r.thr}
			for _, i := range src {
				out[i] += vals[forestB2u(col[i] > nd.thr)]
			}
			if len(stack) == 0 {
				break
			}
			cur = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			continue
		}
		dst := w.buf[(cur.depth+1)&1][cur.start:cur.end]
		var l int
		if len(src) >= forestPartSmall {
			l = forestPartitionAVX512(&src[0], len(src), &col[0], nd.thr, &dst[0])
		} else {
			l = forestPartitionGo(src, col, nd.thr, dst)
		}
		mid := cur.start + int32(l)
		d := cur.depth + 1
		switch {
		case l == 0: // every row goes right
			cur = forestSegment{nd.left + 1, d, cur.start, cur.end}
		case mid == cur.end: // every row goes left
			cur = forestSegment{nd.left, d, cur.start, cur.end}
		default: // the left child next, the right one later
			stack = append(stack, forestSegment{nd.left + 1, d, mid, cur.end})
			cur = forestSegment{nd.left, d, cur.start, mid}
		}
	}
	w.stack = stack
}

// forestPartitionGo is forestPartitionAVX512 for short lists, in Go:
// the indices r of src with col[r] > thr not true go to the front of dst
// (in order), the others to its back (in reverse order); it returns their
// number. Every index is written to both ends, one cursor advancing, so
// the loop has no data-dependent branch.
func forestPartitionGo(src []int32, col []float64, thr float64, dst []int32) int {
	dst = dst[:len(src)]
	l, r := 0, len(src)-1
	for _, i := range src {
		g := int(forestB2u(col[i] > thr))
		dst[l] = i
		dst[r] = i
		l += 1 - g
		r -= g
	}
	return l
}
