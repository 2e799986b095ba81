package predictors

// Batch scoring by partitioning (the path Predict takes when forestSIMD).
//
// Instead of walking each row down a tree, the rows of a block are split
// node by node, as the tree was grown: the root holds the numbers of every
// row, each internal node partitions its list into the rows going left and
// those going right, a leaf adds its value to its rows, and a node whose
// two children are leaves adds their values without partitioning. One node
// is then a pass over a contiguous list of row numbers, the node's feature
// read from those rows — 16 at a time with AVX-512 gathers and compress
// (forestPartitionAVX512) — instead of a chain of dependent loads per row.
// Each row still receives its trees' values in tree order, so the sums are
// bit for bit those of Forest.predictRow.
//
// The rows are read as float32: setBlock rounds the block once, halving
// the bytes the gathers pull through the cache, and a node test x > thr is
// decided by float32(x) against float32(thr) whenever the two differ
// (rounding is monotone), by the float64 value where they are equal — so
// the result is exact, and the float64 rows are touched only for values
// within a float32 rounding of a threshold.
//
// Measured on 2026-11-29 (CPU time per pass, AMD EPYC with AVX-512;
// docs/decisions/0002-forest-scoring-avx512.md has the whole table): on
// 10,000 rows × 500 fully grown trees of 50 features (mean leaf depth
// 16.8) the row-by-row walk (forestPacked.addLeaves) took 203–230 ms on
// one core, this path reading float64 rows 107–129 ms, reading float32
// rows 103–106 ms, and with the kernel's gathers issued four rounds at a
// time 90–93 ms; on 100,000 rows × 100 trees (23,600 nodes a tree) one
// core took 513–625 ms reading float64 rows, 417–437 ms reading float32
// rows and 374–385 ms with the grouped gathers. The same partition in
// plain Go was 173–201 ms at 10,000 rows (its two stores to data-dependent
// addresses cost about 2.5 ns a row here).
// The rows are read where they are in the block (row-major): a
// column-major copy was slower on 100,000 rows, whose deep subtrees read
// several features of the same few rows, also when used only for the
// nodes holding an eighth or a quarter of the block or more (+5–10 %).

// forestPartSmall is the list length below which a node splits its rows
// in Go rather than in the vector kernel (4 and 8 measured equal within
// noise: the kernel's masked last round costs as much as a full one).
const forestPartSmall = 8

// forestSegment is a node of one tree with its rows: the row numbers
// buf[depth&1][start:end] of forestPartWork.
type forestSegment struct {
	node       uint32
	depth      uint32
	start, end int32
}

// forestPartWork is one Predict worker's scratch space for blocks of up to
// len(buf[0]) rows.
type forestPartWork struct {
	x32    []float32 // the block rounded to float32: feature j of row i at x32[i*p+j]
	p      int
	x      []float64 // the block: feature j of row i at x[i*stride+j]
	stride int
	rows   int // rows in the block
	buf    [2][]int32
	stack  []forestSegment
}

// newForestPartWork allocates the scratch space for blocks of up to block
// rows of p features.
func newForestPartWork(block, p int) *forestPartWork {
	return &forestPartWork{
		x32: make([]float32, block*p),
		p:   p,
		buf: [2][]int32{make([]int32, block), make([]int32, block)},
	}
}

// setBlock makes the n rows of p features at x (row i at x[i*stride:])
// the block to score and rounds them to float32; n ≤ len(w.buf[0]), and
// n·stride and n·p < 2³¹ (the kernel's offsets are 32-bit).
func (w *forestPartWork) setBlock(x []float64, stride, n int) {
	w.x, w.stride, w.rows = x, stride, n
	p := w.p
	x32 := w.x32[:n*p]
	for i := range n {
		r, d := x[i*stride:i*stride+p], x32[i*p:(i+1)*p]
		for j, v := range r {
			d[j] = float32(v)
		}
	}
}

// addLeaves adds to out[i·ostride+off] the value of the leaf of pk that
// row i of the block reaches.
func (w *forestPartWork) addLeaves(pk *forestPacked, out []float64, ostride, off int) {
	n := w.rows
	if n == 0 {
		return
	}
	nodes := pk.nodes
	x, stride := w.x, w.stride
	x32, p := w.x32, w.p
	root := w.buf[0][:n]
	for i := range root {
		root[i] = int32(i)
	}
	stack := w.stack[:0]
	cur := forestSegment{node: 0, depth: 0, start: 0, end: int32(n)}
	for {
		nd := &nodes[cur.node]
		src := w.buf[cur.depth&1][cur.start:cur.end]
		if nd.left == cur.node {
			// a leaf: its value is in thr
			v := nd.thr
			for _, i := range src {
				out[int(i)*ostride+off] += v
			}
		} else if l, r := &nodes[nd.left], &nodes[nd.left+1]; l.left == nd.left && r.left == nd.left+1 {
			// both children are leaves: add their values without
			// partitioning
			vals := [2]float64{l.thr, r.thr}
			col32, col, t32 := x32[nd.feat:], x[nd.feat:], float32(nd.thr)
			for _, i := range src {
				v := col32[int(i)*p]
				g := forestB2u(v > t32)
				if v == t32 { // undecided in float32 (see the top of this file)
					g = forestB2u(col[int(i)*stride] > nd.thr)
				}
				out[int(i)*ostride+off] += vals[g]
			}
		} else {
			dst := w.buf[(cur.depth+1)&1][cur.start:cur.end]
			var k int
			if len(src) >= forestPartSmall {
				k = forestPartitionAVX512(&src[0], len(src), &x32[nd.feat], float32(nd.thr), &dst[0], p,
					&x[nd.feat], nd.thr, stride)
			} else {
				k = forestPartitionGo(src, x32[nd.feat:], p, x[nd.feat:], stride, nd.thr, dst)
			}
			mid := cur.start + int32(k)
			d := cur.depth + 1
			switch {
			case k == 0: // every row goes right
				cur = forestSegment{nd.left + 1, d, cur.start, cur.end}
			case mid == cur.end: // every row goes left
				cur = forestSegment{nd.left, d, cur.start, cur.end}
			default: // the left child next, the right one later
				stack = append(stack, forestSegment{nd.left + 1, d, mid, cur.end})
				cur = forestSegment{nd.left, d, cur.start, mid}
			}
			continue
		}
		if len(stack) == 0 {
			w.stack = stack
			return
		}
		cur = stack[len(stack)-1]
		stack = stack[:len(stack)-1]
	}
}

// forestPartitionGo is forestPartitionAVX512 for short lists, in Go: the
// rows i of src for which x[i*stride] > thr is not true go to the front of
// dst (in order), the others to its back (in reverse order); it returns
// their number. The test is decided as in the kernel, from the float32
// roundings x32[i*stride32] where they differ from float32(thr). Every row
// number is written to both ends, one cursor advancing, so the loop has no
// data-dependent branch but the rare equal rounding.
func forestPartitionGo(src []int32, x32 []float32, stride32 int, x []float64, stride int, thr float64, dst []int32) int {
	dst = dst[:len(src)]
	t32 := float32(thr)
	l, r := 0, len(src)-1
	for _, i := range src {
		v := x32[int(i)*stride32]
		g := int(forestB2u(v > t32))
		if v == t32 { // undecided in float32 (see the top of this file)
			g = int(forestB2u(x[int(i)*stride] > thr))
		}
		dst[l] = i
		dst[r] = i
		l += 1 - g
		r -= g
	}
	return l
}
