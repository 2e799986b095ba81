package predictors

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// ForestSettings configures FitForest. The zero value of every field means
// its documented default; a nil *ForestSettings means all defaults.
type ForestSettings struct {
	// Trees is the number of trees; 0 means 500.
	Trees int
	// Mtry is the number of features drawn at random, without replacement,
	// at every split; 0 means ⌊√p⌋ (at least 1). It must not exceed p.
	Mtry int
	// MinLeaf is the minimum number of bootstrap draws (counted with
	// multiplicity, i.e. the leaf's Cover) in every leaf; 0 means 1.
	MinLeaf int
	// MaxDepth is the maximum depth of a leaf (the root has depth 0); 0
	// means unlimited.
	MaxDepth int
	// Seed seeds the per-tree random streams: tree t draws from
	// rand.NewPCG(Seed, t). The same Seed gives bit-identical forests
	// whatever Workers is.
	Seed uint64
	// Workers is the number of goroutines used to grow trees and, later,
	// to predict and explain; 0 means runtime.GOMAXPROCS(0).
	Workers int
}

// Tree is one fitted tree stored flat: node k is described by entry k of
// every slice, node 0 is the root, and children always have larger indices
// than their parent. A row x reaches the left child of an internal node k
// when x[Feature[k]] ≤ Threshold[k], the right child otherwise.
type Tree struct {
	// Feature is the split feature of an internal node, -1 for a leaf.
	Feature []int32 `json:"feature"`
	// Threshold is the split point of an internal node (0 for a leaf): the
	// midpoint of the two consecutive distinct training values, present in
	// the node, between which the split falls.
	Threshold []float64 `json:"threshold"`
	// Left and Right are the child indices of an internal node (0 for a
	// leaf).
	Left  []uint32 `json:"left"`
	Right []uint32 `json:"right"`
	// Value is the class-1 frequency among the bootstrap draws reaching the
	// node; for a leaf it is the tree's predicted probability.
	Value []float64 `json:"value"`
	// Cover is the number of bootstrap draws (with multiplicity) reaching
	// the node; Cover[k] = Cover[Left[k]] + Cover[Right[k]] for an
	// internal node. TreeSHAP and ImpurityImportance use it.
	Cover []float64 `json:"cover"`
}

// Forest is a probability random forest for a binary outcome, fitted by
// FitForest. Its probability for a row x is the mean over trees of the value
// of the leaf x falls in:
//
//	P(y = 1 | x) = (1/T) Σ_t Value_t[leaf_t(x)],
//
// as ranger(probability = TRUE) and scikit-learn's
// RandomForestClassifier.predict_proba compute it.
//
// Forest is JSON-serialisable through its exported fields; the out-of-bag
// predictions and the in-bag sets are kept in memory only, so OOB and
// PermutationImportance need the forest returned by FitForest. UnmarshalJSON
// checks the structure of every tree. A Forest built by hand must satisfy
// the invariants documented on Tree (children after their parent, positive
// covers that add up). FitForest and UnmarshalJSON also keep a packed copy
// of the trees for inference: do not modify Trees of such a forest. A
// Forest is safe for concurrent use by several goroutines.
type Forest struct {
	// NFeatures is the number of columns the forest expects.
	NFeatures int `json:"n_features"`
	// Trees are the fitted trees.
	Trees []Tree `json:"trees"`

	workers int            // goroutines for Predict and Explain; 0 → GOMAXPROCS
	packed  []forestPacked // per tree, the nodes packed for inference (see forestPack)
	shap    *treeShapLazy  // TreeSHAP tables, built at the first Explain; nil for a hand-built forest
	oob     []float64      // out-of-bag probability per training row
	inCount [][]uint8      // per tree, bootstrap draws of each training row (saturating at 255)
	nTrain  int            // number of training rows
	// saturated is set when some bootstrap count exceeded 255 (possible only
	// with extreme case weights); the infinitesimal jackknife refuses then.
	saturated bool
}

var _ Explainer = (*Forest)(nil)

// forestResolved holds the settings after defaults have been applied.
type forestResolved struct {
	trees, mtry, minLeaf, maxDepth, workers int
	seed                                    uint64
}

func forestResolve(s *ForestSettings, p int) (forestResolved, error) {
	var in ForestSettings
	if s != nil {
		in = *s
	}
	if in.Trees < 0 || in.Mtry < 0 || in.MinLeaf < 0 || in.MaxDepth < 0 || in.Workers < 0 {
		return forestResolved{}, fmt.Errorf("forest settings: negative value in %+v", in)
	}
	r := forestResolved{trees: in.Trees, mtry: in.Mtry, minLeaf: in.MinLeaf, maxDepth: in.MaxDepth, workers: in.Workers, seed: in.Seed}
	if r.trees == 0 {
		r.trees = 500
	}
	if r.mtry == 0 {
		r.mtry = max(1, int(math.Floor(math.Sqrt(float64(p)))))
	}
	if r.mtry > p {
		return forestResolved{}, fmt.Errorf("forest settings: mtry %d exceeds the %d features", r.mtry, p)
	}
	if r.minLeaf == 0 {
		r.minLeaf = 1
	}
	if r.workers == 0 {
		r.workers = runtime.GOMAXPROCS(0)
	}
	return r, nil
}

// FitForest grows a probability random forest on the rows of x with labels
// y and optional case weights w (nil means unit weights).
//
// Each tree is grown on a bootstrap sample: n draws with replacement, row i
// drawn with probability w_i / Σw (as ranger's case.weights; the weights act
// only through the sampling, and rows of weight 0 are never drawn). Equal
// weights give exactly the same forest as nil. Every node considers Mtry
// features drawn afresh without replacement and takes the split with the
// largest decrease in Gini impurity, counting draws with multiplicity:
//
//	gain = Σ_k n_{L,k}²/n_L + Σ_k n_{R,k}²/n_R − Σ_k n_k²/n   (k = class).
//
// Only splits leaving at least MinLeaf draws on each side are considered;
// the threshold is the midpoint of the two consecutive distinct values,
// present in the node, between which the split falls (the lower value when
// the midpoint rounds up to the upper one), and x ≤ threshold goes left.
// Ties in the gain go to the smaller feature index, then to the smaller
// threshold. A node is a leaf when it is pure, when it is at MaxDepth, when
// it holds fewer than 2·MinLeaf draws, or when none of its Mtry features
// admits a valid split (constant features are not redrawn, as in ranger).
//
// Splits are exact (every boundary between distinct values present in the
// node is scored; no histogram binning): each feature is ranked once
// (sorted distinct values → integer ranks) and at a node the class counts
// are accumulated per rank, either in a dense array of rank buckets, in
// O(m + U), when the feature has U ≤ 4m distinct training values for m
// distinct rows in the node, or by sorting the node's (rank, draws, class)
// keys, with a radix sort on the rank from 64 rows up, in O(m).
//
// Errors: ErrEmpty, ErrNotFinite, ErrSingleClass from the data, and invalid
// settings (negative values, Mtry > p). A length mismatch between x, y and w
// panics.
func FitForest(x mat.Matrix, y []bool, w []float64, s *ForestSettings) (*Forest, error) {
	if err := checkTrainingData(x, y, w); err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	n, p := x.Dims()
	set, err := forestResolve(s, p)
	if err != nil {
		return nil, fmt.Errorf("fit forest: %w", err)
	}
	if n >= math.MaxInt32 {
		return nil, fmt.Errorf("fit forest: %d rows exceed the supported %d", n, math.MaxInt32-1)
	}
	d := forestPrepare(x, y, w)

	f := &Forest{
		NFeatures: p,
		Trees:     make([]Tree, set.trees),
		workers:   set.workers,
		inCount:   make([][]uint8, set.trees),
		nTrain:    n,
	}
	var next atomic.Int64
	var saturated atomic.Bool
	var wg sync.WaitGroup
	for range min(set.workers, set.trees) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newTreeGrower(d, set)
			for {
				t := int(next.Add(1) - 1)
				if t >= set.trees {
					return
				}
				g.rng = rand.New(rand.NewPCG(set.seed, uint64(t)))
				var sat bool
				f.Trees[t], f.inCount[t], sat = g.grow()
				if sat {
					saturated.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	f.saturated = saturated.Load()
	f.packed = forestPackAll(f.Trees)
	f.shap = newTreeShapLazy()
	f.oob = f.computeOOB(x)
	return f, nil
}

// NumFeatures returns the number of columns the forest expects.
func (f *Forest) NumFeatures() int { return f.NFeatures }

// ExplanationScale returns Probability: Explain is additive on the
// probability scale.
func (f *Forest) ExplanationScale() Scale { return Probability }

// leaf returns the value of the leaf of t that x reaches.
func (t *Tree) leaf(x []float64) float64 {
	feat, thr, left, right := t.Feature, t.Threshold, t.Left, t.Right
	k := uint32(0)
	for {
		j := feat[k]
		if j < 0 {
			return t.Value[k]
		}
		if x[j] <= thr[k] {
			k = left[k]
		} else {
			k = right[k]
		}
	}
}

// leafSub is leaf with x[j] replaced by v.
func (t *Tree) leafSub(x []float64, j int32, v float64) float64 {
	k := uint32(0)
	for {
		fj := t.Feature[k]
		if fj < 0 {
			return t.Value[k]
		}
		xv := v
		if fj != j {
			xv = x[fj]
		}
		if xv <= t.Threshold[k] {
			k = t.Left[k]
		} else {
			k = t.Right[k]
		}
	}
}

// predictRow is the forest's probability for one finite row (no checks).
func (f *Forest) predictRow(x []float64) float64 {
	var s float64
	if len(f.packed) == len(f.Trees) {
		for t := range f.packed {
			s += f.packed[t].leaf(x)
		}
	} else {
		for t := range f.Trees {
			s += f.Trees[t].leaf(x)
		}
	}
	return s / float64(len(f.Trees))
}

// forestRowFinite reports whether every value of x is finite.
func forestRowFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// PredictOne returns the forest's probability for the single row x, equal
// bit for bit to what Predict gives for the same row.
// ErrFeatureCount when len(x) ≠ NumFeatures, ErrNotFinite for NaN or Inf.
func (f *Forest) PredictOne(x []float64) (float64, error) {
	if len(x) != f.NFeatures {
		return 0, fmt.Errorf("forest predict: %w: got %d values, the forest has %d", ErrFeatureCount, len(x), f.NFeatures)
	}
	if !forestRowFinite(x) {
		return 0, fmt.Errorf("forest predict: %w", ErrNotFinite)
	}
	if len(f.Trees) == 0 {
		return 0, errors.New("forest predict: the forest has no trees")
	}
	return f.predictRow(x), nil
}

// forestBlockMin and forestBlockMax bound the number of rows a Predict
// worker scores together, tree by tree: each tree is then read from memory
// once per block and stays in cache while the block's rows (a few MB at
// most) descend it. Measured on 100k rows × 500 deep trees, 4096-row blocks
// were 2.4× faster than 256-row blocks.
const (
	forestBlockMin = 256
	forestBlockMax = 8192
)

// forestPartBudget bounds the bytes of the rows of one worker's block on
// the partitioning path (forest_partition.go), counted as float64: 8 MiB,
// 20,971 rows of 50 features (16 rows at least, whatever the number of
// features), of which the kernel reads a 4 MiB float32 copy. Larger blocks
// share the per-node cost among more rows (10,000 rows × 500 trees: one
// block of 10,000 rows 1.4× faster than four of 2,500), until the blocks'
// rows leave the cache (100,000 rows × 100 fully grown trees, two workers
// on this 32 MiB-L3 machine, float64 rows: blocks of 10,000 rows 523 ms of
// CPU, 16,667 rows 518, 25,000 rows 603, 50,000 rows 1,095; float32 rows
// (one gather a round), one worker: budgets of 3, 4, 6 MiB 542–550,
// 490–502, 442–464 ms, 8, 10, 14 MiB within noise of each other
// (399–443 ms), 20 and 40 MiB 467–593 and 877–987 ms), so Predict makes
// them as large as this allows.
const forestPartBudget = 8 << 20

// forestPartMaxOffset bounds the element offsets (row × stride) of a block
// the partitioning kernel may read in place: its offsets are 32-bit. A
// variable so that the tests can make Predict take the copying path.
var forestPartMaxOffset int64 = 1 << 31

// forestNode is a node packed for inference (16 bytes, children
// adjacent). A leaf is marked by left == its own index and holds its value
// in thr.
type forestNode struct {
	thr  float64 // split threshold; the value for a leaf
	feat int32   // split feature; 0 for a leaf
	left uint32  // left child (the right child is left+1); itself for a leaf
}

// forestPacked is one tree laid out for inference.
type forestPacked struct {
	nodes []forestNode
}

// forestPack lays the nodes of t out for inference, renumbering them so
// that the two children of a node are adjacent (depth first, as FitForest
// grows them, so a fitted tree keeps its numbering).
func forestPack(t *Tree) forestPacked {
	pk := forestPacked{nodes: make([]forestNode, 1, len(t.Feature))}
	type item struct{ old, new uint32 }
	stack := []item{{0, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		j := t.Feature[it.old]
		if j < 0 {
			pk.nodes[it.new] = forestNode{thr: t.Value[it.old], left: it.new}
			continue
		}
		l := uint32(len(pk.nodes))
		pk.nodes = append(pk.nodes, forestNode{}, forestNode{})
		pk.nodes[it.new] = forestNode{thr: t.Threshold[it.old], feat: j, left: l}
		stack = append(stack, item{t.Right[it.old], l + 1}, item{t.Left[it.old], l})
	}
	return pk
}

// forestPackAll packs every tree.
func forestPackAll(trees []Tree) []forestPacked {
	pk := make([]forestPacked, len(trees))
	for t := range trees {
		pk[t] = forestPack(&trees[t])
	}
	return pk
}

// forestB2u is 1 for true, 0 for false (compiled without a branch).
func forestB2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// leaf returns the value of the leaf that the finite row x reaches; the
// same as Tree.leaf.
func (pk *forestPacked) leaf(x []float64) float64 {
	nodes := pk.nodes
	k := uint32(0)
	for {
		nd := &nodes[k]
		if nd.left == k {
			return nd.thr
		}
		k = nd.left + forestB2u(x[nd.feat] > nd.thr)
	}
}

// forestLanes is the number of rows that descend a tree together.
//
// Tried on 2026-11-29 and dropped (10,000 rows × 500 fully grown trees of
// 50 features, one goroutine, 2,500-row blocks, CPU time per pass, three
// interleaved rounds in one process): 16 rows descending in lockstep for a
// per-tree number of steps chosen from the leaf depths (leaves looping on
// themselves through thr = +Inf, values in a side array), then finishing
// one by one: 270–274 ms against 273–278 ms for this loop reading the same
// side array; the lockstep loop tiled by 8 or 32 trees × 64 or 256 rows (to
// keep the rows in L1 and the trees in L2): 262–305 ms; a branch-free
// descent loading both children and selecting by bit masks: 608–644 ms.
// This loop as it is, with the leaf value in the node, took 218–227 ms
// under the same harness, so Predict keeps it.
const forestLanes = 8

// addLeaves adds to out[i·stride+off] the value of the leaf that rows[i]
// reaches. Up to forestLanes rows descend at once, one level per round, so
// that their memory latencies overlap; a lane whose row reaches its leaf
// takes the next row at once.
func (pk *forestPacked) addLeaves(rows [][]float64, out []float64, stride, off int) {
	nodes := pk.nodes
	var k [forestLanes]uint32
	var row [forestLanes][]float64
	var at [forestLanes]int
	next, active := 0, 0
	for l := range forestLanes {
		if next < len(rows) {
			row[l], at[l] = rows[next], next
			next++
			active++
		} else {
			at[l] = -1
		}
	}
	for active > 0 {
		for l := range forestLanes {
			if at[l] < 0 {
				continue
			}
			nd := &nodes[k[l]]
			if nd.left != k[l] {
				k[l] = nd.left + forestB2u(row[l][nd.feat] > nd.thr)
				continue
			}
			out[at[l]*stride+off] += nd.thr
			k[l] = 0
			if next < len(rows) {
				row[l], at[l] = rows[next], next
				next++
			} else {
				at[l] = -1
				active--
			}
		}
	}
}

// Predict writes the forest's probability for every row of x into dst
// (allocated when nil) and returns it. Rows are scored in blocks by a pool
// of workers (Settings.Workers at fit time, GOMAXPROCS otherwise); within a
// block the trees are visited one after the other, and each row sums its
// trees in index order, so Predict and PredictOne agree bit for bit. On a
// CPU with AVX-512 a block's rows are partitioned node by node with a
// vector kernel (forest_partition.go), elsewhere each row walks each tree
// (forestPacked.addLeaves); both give the same bits.
// ErrFeatureCount for a wrong column count, ErrNotFinite for NaN or Inf
// (dst is then partly written). A forest built by hand rather than by
// FitForest or json.Unmarshal is packed for inference at every call.
func (f *Forest) Predict(x mat.Matrix, dst []float64) ([]float64, error) {
	dst, err := checkPredictInput(x, f.NFeatures, dst)
	if err != nil {
		return nil, fmt.Errorf("forest predict: %w", err)
	}
	if len(f.Trees) == 0 {
		return nil, errors.New("forest predict: the forest has no trees")
	}
	if err := f.scoreRows(x, dst, false); err != nil {
		return nil, fmt.Errorf("forest predict: %w", err)
	}
	return dst, nil
}

// treeValues returns every tree's value at every row of x: tree t at row i
// in dst[i·B+t] (B trees; dst allocated when nil), each the value
// PredictOne's walk reaches, by the same paths as Predict.
func (f *Forest) treeValues(x mat.Matrix, dst []float64) ([]float64, error) {
	r, c := x.Dims()
	if c != f.NFeatures {
		return nil, fmt.Errorf("%w: got %d columns, the model has %d", ErrFeatureCount, c, f.NFeatures)
	}
	if len(f.Trees) == 0 {
		return nil, errors.New("the forest has no trees")
	}
	if dst == nil {
		dst = make([]float64, r*len(f.Trees))
	}
	if len(dst) != r*len(f.Trees) {
		panic(fmt.Sprintf("predictors: dst has length %d for %d rows × %d trees", len(dst), r, len(f.Trees)))
	}
	if err := f.scoreRows(x, dst, true); err != nil {
		return nil, err
	}
	return dst, nil
}

// scoreRows is Predict (perTree false: dst[i] the forest's probability at
// row i) and treeValues (perTree true: dst[i·B+t] tree t's value) after
// their checks. It returns ErrNotFinite (wrapped) for a row with NaN or
// Inf, dst then partly written.
func (f *Forest) scoreRows(x mat.Matrix, dst []float64, perTree bool) error {
	packed := f.packed
	if len(packed) != len(f.Trees) {
		packed = forestPackAll(f.Trees)
	}
	n, _ := x.Dims()
	nt := len(packed)
	workers := f.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := f.NFeatures
	// as few blocks as forestPartBudget allows on the partitioning path,
	// the same number for every worker (the per-node cost is shared by a
	// block's rows); its 32-bit offsets must reach every value of a copied
	// block (only tens of millions of features would not fit)
	per := max(16, forestPartBudget/(8*max(p, 1)))
	simd := forestSIMD && int64(per)*int64(p) < 1<<31
	var block int
	if simd {
		nBlocks := workers * ((n + workers*per - 1) / (workers * per))
		block = (n + nBlocks - 1) / nBlocks
	} else {
		// about four blocks per worker, within [forestBlockMin, forestBlockMax]
		block = min(forestBlockMax, max(forestBlockMin, (n+4*workers-1)/(4*workers)))
	}
	nBlocks := (n + block - 1) / block
	workers = min(workers, nBlocks)
	dense, _ := x.(*mat.Dense)
	// the partitioning kernel reads a Dense block where it is when its
	// offsets (row × stride) fit in 32 bits, else a copy of it
	inPlace := dense != nil && int64(block)*int64(dense.RawMatrix().Stride) < forestPartMaxOffset
	var next atomic.Int64
	var bad atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []float64
			if dense == nil || (simd && !inPlace) {
				buf = make([]float64, min(block, n)*p)
			}
			rows := make([][]float64, min(block, n))
			var part *forestPartWork
			if simd {
				part = newForestPartWork(min(block, n), p)
			}
			for {
				b := int(next.Add(1) - 1)
				if b >= nBlocks || bad.Load() {
					return
				}
				lo, hi := b*block, min((b+1)*block, n)
				for i := lo; i < hi; i++ {
					var r []float64
					switch {
					case dense != nil && (!simd || inPlace):
						r = dense.RawRowView(i)
					case dense != nil:
						r = buf[(i-lo)*p : (i-lo+1)*p]
						copy(r, dense.RawRowView(i))
					default:
						r = buf[(i-lo)*p : (i-lo+1)*p]
						for j := range r {
							r[j] = x.At(i, j)
						}
					}
					if !forestRowFinite(r) {
						bad.Store(true)
						return
					}
					rows[i-lo] = r
				}
				// the sums, or tree t's values at stride nt from offset t
				out, stride := dst[lo:hi], 1
				if perTree {
					out, stride = dst[lo*nt:hi*nt], nt
				}
				clear(out)
				rs := rows[:hi-lo]
				if simd {
					if inPlace {
						st := dense.RawMatrix().Stride
						part.setBlock(dense.RawMatrix().Data[lo*st:], st, hi-lo)
					} else {
						part.setBlock(buf, p, hi-lo)
					}
				}
				for t := range packed {
					off := 0
					if perTree {
						off = t
					}
					if simd {
						part.addLeaves(&packed[t], out, stride, off)
					} else {
						packed[t].addLeaves(rs, out, stride, off)
					}
				}
				if !perTree {
					inv := float64(nt)
					for k := range out {
						out[k] /= inv
					}
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() {
		if err := checkFinite(x); err != nil {
			return err
		}
		return ErrNotFinite
	}
	return nil
}

// forestRows returns the rows of x as slices (views for *mat.Dense).
func forestRows(x mat.Matrix) [][]float64 {
	n, p := x.Dims()
	rows := make([][]float64, n)
	if d, ok := x.(*mat.Dense); ok {
		for i := range rows {
			rows[i] = d.RawRowView(i)
		}
		return rows
	}
	buf := make([]float64, n*p)
	for i := range rows {
		rows[i] = buf[i*p : (i+1)*p]
		for j := range rows[i] {
			rows[i][j] = x.At(i, j)
		}
	}
	return rows
}

// forestParallel runs fn(k) for k in [0, n) on the given number of workers.
func forestParallel(workers, n int, fn func(k int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				fn(k)
			}
		}()
	}
	wg.Wait()
}

// computeOOB averages, for every training row, the trees whose bootstrap
// sample did not contain it (in tree order, so the result is deterministic).
func (f *Forest) computeOOB(x mat.Matrix) []float64 {
	rows := forestRows(x)
	oob := make([]float64, len(rows))
	const chunk = 256
	forestParallel(f.workers, (len(rows)+chunk-1)/chunk, func(c int) {
		for i := c * chunk; i < min((c+1)*chunk, len(rows)); i++ {
			var s float64
			var m int
			for t := range f.Trees {
				if f.inCount[t][i] == 0 {
					s += f.packed[t].leaf(rows[i])
					m++
				}
			}
			if m == 0 {
				oob[i] = math.NaN()
			} else {
				oob[i] = s / float64(m)
			}
		}
	})
	return oob
}

// OOB returns the out-of-bag probability of every training row: the mean
// over the trees whose bootstrap sample did not draw the row. It is NaN for
// a row drawn by every tree, and nil for a forest not returned by FitForest
// (e.g. decoded from JSON). The slice is the forest's own; do not modify it.
func (f *Forest) OOB() []float64 { return f.oob }

// forestGini2 is n·Gini = n·2v(1−v) for a node of n draws with class-1
// frequency v.
func forestGini2(n, v float64) float64 { return 2 * n * v * (1 - v) }

// ImpurityImportance returns the mean decrease in Gini impurity per feature,
// normalised as scikit-learn's feature_importances_: in each tree, every
// internal node k adds
//
//	Cover_k·G(k) − Cover_L·G(L) − Cover_R·G(R),   G(v) = 2v(1 − v),
//
// to its split feature; each tree's vector is divided by its sum, the
// vectors are averaged over the trees that have a split, and the mean is
// normalised to sum 1. All zeros when no tree has a split.
func (f *Forest) ImpurityImportance() []float64 {
	imp := make([]float64, f.NFeatures)
	tree := make([]float64, f.NFeatures)
	var used int
	for t := range f.Trees {
		tr := &f.Trees[t]
		clear(tree)
		var sum float64
		for k, j := range tr.Feature {
			if j < 0 {
				continue
			}
			l, r := tr.Left[k], tr.Right[k]
			dec := forestGini2(tr.Cover[k], tr.Value[k]) - forestGini2(tr.Cover[l], tr.Value[l]) - forestGini2(tr.Cover[r], tr.Value[r])
			tree[j] += dec
			sum += dec
		}
		if sum <= 0 {
			continue
		}
		used++
		for j := range imp {
			imp[j] += tree[j] / sum
		}
	}
	if used == 0 {
		return imp
	}
	var tot float64
	for _, v := range imp {
		tot += v
	}
	for j := range imp {
		imp[j] /= tot
	}
	return imp
}

// PermutationImportance returns the out-of-bag permutation importance of
// every feature, as ranger's importance = "permutation" (unscaled) with the
// Brier score as prediction error. For every tree t with a non-empty
// out-of-bag set O_t (the training rows its bootstrap did not draw):
//
//	E_t    = (1/|O_t|) Σ_{i∈O_t} (p_t(x_i) − y_i)²
//	E_t(j) = the same with x_ij replaced by x_{π(i)j}, π a random
//	         permutation of O_t drawn from rand.NewPCG(seed, t)
//	VI_j   = mean over those trees of E_t(j) − E_t,
//
// where p_t is the tree's own probability. x and y must be the training data
// passed to FitForest (same rows, same order). Larger means more important;
// values can be negative. The result is deterministic for a given seed.
// Errors: a forest without in-bag information (not from FitForest), a
// different number of rows than at fit, a wrong column count, NaN or Inf.
func (f *Forest) PermutationImportance(x mat.Matrix, y []bool, seed uint64) ([]float64, error) {
	n, p := x.Dims()
	if len(y) != n {
		panic(fmt.Sprintf("predictors: %d labels for %d rows", len(y), n))
	}
	if f.inCount == nil {
		return nil, errors.New("permutation importance: the forest has no in-bag information (not fitted in this process)")
	}
	if n != f.nTrain {
		return nil, fmt.Errorf("permutation importance: %d rows, the forest was fitted on %d", n, f.nTrain)
	}
	if p != f.NFeatures {
		return nil, fmt.Errorf("permutation importance: %w: got %d columns, the forest has %d", ErrFeatureCount, p, f.NFeatures)
	}
	if err := checkFinite(x); err != nil {
		return nil, fmt.Errorf("permutation importance: %w", err)
	}
	rows := forestRows(x)
	// per tree: the increase in error for every feature; NaN marks a tree
	// without out-of-bag rows.
	inc := make([]float64, len(f.Trees)*p)
	forestParallel(f.workers, len(f.Trees), func(t int) {
		tr := &f.Trees[t]
		var oob []int32
		for i := range n {
			if f.inCount[t][i] == 0 {
				oob = append(oob, int32(i))
			}
		}
		out := inc[t*p : (t+1)*p]
		if len(oob) == 0 {
			out[0] = math.NaN()
			return
		}
		yv := func(i int32) float64 {
			if y[i] {
				return 1
			}
			return 0
		}
		var base float64
		for _, i := range oob {
			d := tr.leaf(rows[i]) - yv(i)
			base += d * d
		}
		rng := rand.New(rand.NewPCG(seed, uint64(t)))
		perm := make([]int32, len(oob))
		for j := range p {
			copy(perm, oob)
			rng.Shuffle(len(perm), func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
			var e float64
			for k, i := range oob {
				d := tr.leafSub(rows[i], int32(j), rows[perm[k]][j]) - yv(i)
				e += d * d
			}
			out[j] = (e - base) / float64(len(oob))
		}
	})
	vi := make([]float64, p)
	var used int
	for t := range f.Trees {
		out := inc[t*p : (t+1)*p]
		if math.IsNaN(out[0]) {
			continue
		}
		used++
		for j := range vi {
			vi[j] += out[j]
		}
	}
	if used == 0 {
		return nil, errors.New("permutation importance: no tree has out-of-bag rows")
	}
	for j := range vi {
		vi[j] /= float64(used)
	}
	return vi, nil
}

// UnmarshalJSON decodes a forest and checks its structure: equal slice
// lengths in every tree, split features in [0, NFeatures), children after
// their parent and inside the tree, every node but the root the child of
// exactly one node, non-NaN thresholds, finite values and positive finite
// covers.
func (f *Forest) UnmarshalJSON(b []byte) error {
	type plain struct {
		NFeatures int    `json:"n_features"`
		Trees     []Tree `json:"trees"`
	}
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	g := Forest{NFeatures: v.NFeatures, Trees: v.Trees}
	if err := g.validate(); err != nil {
		return fmt.Errorf("decode forest: %w", err)
	}
	g.packed = forestPackAll(g.Trees)
	g.shap = newTreeShapLazy()
	*f = g
	return nil
}

// validate checks the invariants documented on Tree.
func (f *Forest) validate() error {
	if f.NFeatures <= 0 {
		return fmt.Errorf("%d features", f.NFeatures)
	}
	if len(f.Trees) == 0 {
		return errors.New("no trees")
	}
	for t := range f.Trees {
		tr := &f.Trees[t]
		m := len(tr.Feature)
		if m == 0 || len(tr.Threshold) != m || len(tr.Left) != m || len(tr.Right) != m || len(tr.Value) != m || len(tr.Cover) != m {
			return fmt.Errorf("tree %d: node slices of unequal or zero length", t)
		}
		parents := make([]uint8, m)
		for k := range m {
			if !(tr.Cover[k] > 0) || math.IsInf(tr.Cover[k], 0) || math.IsNaN(tr.Value[k]) || math.IsInf(tr.Value[k], 0) {
				return fmt.Errorf("tree %d node %d: cover %v, value %v", t, k, tr.Cover[k], tr.Value[k])
			}
			j := tr.Feature[k]
			if j < 0 {
				continue
			}
			if int(j) >= f.NFeatures || math.IsNaN(tr.Threshold[k]) {
				return fmt.Errorf("tree %d node %d: feature %d, threshold %v", t, k, j, tr.Threshold[k])
			}
			l, r := tr.Left[k], tr.Right[k]
			if int(l) <= k || int(r) <= k || int(l) >= m || int(r) >= m || l == r || parents[l] != 0 || parents[r] != 0 {
				return fmt.Errorf("tree %d node %d: children %d, %d", t, k, l, r)
			}
			parents[l], parents[r] = 1, 1
		}
		for k := 1; k < m; k++ {
			if parents[k] == 0 {
				return fmt.Errorf("tree %d: node %d has no parent", t, k)
			}
		}
	}
	return nil
}
