package predictors

import (
	"math"
	"math/rand/v2"
	"syscall"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// treeShapTableTol is the largest difference allowed between the SHAP
// values from the subset tables and from Algorithm 2 (set by the task).
const treeShapTableTol = 1e-12

// RandomTestTree appends to tr a random subtree of depth ≤ maxDepth and
// returns its root (for the tests of both test packages): below the root a
// node is a leaf with probability leafP; leaves get a cover of 1..maxCover
// and a value in [0, 1); an internal node's cover is the sum of its
// children's and its value their cover-weighted mean. Features are drawn
// with replacement from p, so they repeat along paths.
func RandomTestTree(rng *rand.Rand, tr *Tree, p, depth, maxDepth int, leafP float64, maxCover int) uint32 {
	k := uint32(len(tr.Feature))
	tr.Feature = append(tr.Feature, -1)
	tr.Threshold = append(tr.Threshold, 0)
	tr.Left = append(tr.Left, 0)
	tr.Right = append(tr.Right, 0)
	tr.Value = append(tr.Value, 0)
	tr.Cover = append(tr.Cover, 0)
	if depth == maxDepth || (depth > 0 && rng.Float64() < leafP) {
		tr.Cover[k] = float64(1 + rng.IntN(maxCover))
		tr.Value[k] = rng.Float64()
		return k
	}
	tr.Feature[k] = int32(rng.IntN(p))
	tr.Threshold[k] = rng.NormFloat64()
	l := RandomTestTree(rng, tr, p, depth+1, maxDepth, leafP, maxCover)
	r := RandomTestTree(rng, tr, p, depth+1, maxDepth, leafP, maxCover)
	tr.Left[k], tr.Right[k] = l, r
	tr.Cover[k] = tr.Cover[l] + tr.Cover[r]
	tr.Value[k] = (tr.Cover[l]*tr.Value[l] + tr.Cover[r]*tr.Value[r]) / tr.Cover[k]
	return k
}

// tsWithTables returns a copy of f whose Explain uses the given tables
// and, when quad is set, the quadrature form for the other trees.
func tsWithTables(f *Forest, tables []*treeShapTable, workers int, quad bool) *Forest {
	g := &Forest{NFeatures: f.NFeatures, Trees: f.Trees, workers: workers, shap: newTreeShapLazy()}
	g.shap.once.Do(func() {
		g.shap.tables = tables
		if quad {
			g.shap.quad = treeShapQuadSizes(f.Trees, tables, workers)
		}
	})
	return g
}

// TestTreeSHAPTablesMatchAlgorithm2 compares the table form with Algorithm
// 2 (a forest without tables) on random forests of depth 1 to 12 with
// repeated features, under leaf-bit limits and entry budgets that give
// every tree tables, none, or a mix (the rest fall back to Algorithm 2 in
// configs 0 and 2, to the quadrature form in configs 1 and 3); and checks
// local accuracy and that the worker count changes no bit.
func TestTreeSHAPTablesMatchAlgorithm2(t *testing.T) {
	rng := rand.New(rand.NewPCG(2109, 9847))
	var maxDiff, maxAdd float64
	var tabled, fallback, mixed int
	for trial := range 60 {
		p := 1 + rng.IntN(20)
		maxDepth := 1 + trial%12
		f := &Forest{NFeatures: p, Trees: make([]Tree, 1+rng.IntN(20))}
		for ti := range f.Trees {
			RandomTestTree(rng, &f.Trees[ti], p, 0, 1+rng.IntN(maxDepth), 0.15, 50)
		}
		full := treeShapBuild(f.Trees, 2, 16, 1<<30)
		total := 0
		for _, tb := range full {
			if tb != nil {
				total += len(tb.tab)
			}
		}
		configs := []struct{ bits, entries int }{
			{16, 1 << 30},               // every tree
			{1 + rng.IntN(6), 1 << 30},  // by leaf bits
			{16, rng.IntN(total/2 + 1)}, // by budget
			{treeShapMaxLeafBits, treeShapMaxEntries},
		}
		for ci, c := range configs {
			tables := treeShapBuild(f.Trees, 1+ci%3, c.bits, c.entries)
			nTab := 0
			for _, tb := range tables {
				if tb != nil {
					nTab++
				}
			}
			tabled += nTab
			fallback += len(tables) - nTab
			if nTab > 0 && nTab < len(tables) {
				mixed++
			}
			// configs 1 and 3 explain the trees without tables by
			// quadrature, 0 and 2 by Algorithm 2
			g1 := tsWithTables(f, tables, 1, ci%2 == 1)
			g3 := tsWithTables(f, tables, 3, ci%2 == 1)
			for range 3 {
				x := make([]float64, p)
				for j := range x {
					x[j] = rng.NormFloat64()
				}
				wantBase, want, err := f.Explain(x, nil)
				if err != nil {
					t.Fatal(err)
				}
				base, got, err := g1.Explain(x, nil)
				if err != nil {
					t.Fatal(err)
				}
				base3, got3, err := g3.Explain(x, nil)
				if err != nil {
					t.Fatal(err)
				}
				if math.Float64bits(base) != math.Float64bits(wantBase) || math.Float64bits(base3) != math.Float64bits(base) {
					t.Fatalf("trial %d: base %v, %v (3 workers), Algorithm 2 %v", trial, base, base3, wantBase)
				}
				s := base
				for j := range got {
					if math.Float64bits(got[j]) != math.Float64bits(got3[j]) {
						t.Fatalf("trial %d config %d: φ[%d] = %v with 1 worker, %v with 3", trial, ci, j, got[j], got3[j])
					}
					d := math.Abs(got[j] - want[j])
					maxDiff = math.Max(maxDiff, d)
					if d > treeShapTableTol {
						t.Fatalf("trial %d config %d (p=%d, depth ≤ %d): φ[%d] = %v, Algorithm 2 %v", trial, ci, p, maxDepth, j, got[j], want[j])
					}
					s += got[j]
				}
				maxAdd = math.Max(maxAdd, math.Abs(s-f.predictRow(x)))
			}
		}
	}
	t.Logf("max |φ(tables) − φ(Algorithm 2)| = %.3g, max |base + Σφ − f(x)| = %.3g; trees with tables %d, without %d; %d mixed forests",
		maxDiff, maxAdd, tabled, fallback, mixed)
	if maxAdd > 1e-9 {
		t.Errorf("max |base + Σφ − f(x)| = %.3g, want ≤ 1e-9", maxAdd)
	}
	if tabled == 0 || fallback == 0 || mixed < 10 {
		t.Errorf("tables %d, fallback %d, mixed forests %d: the test does not exercise both paths", tabled, fallback, mixed)
	}
}

// TestTreeSHAPFillLeaf checks one leaf table against the definition
// s(T) = Σ_{S⊆T} w_d(|S|) Π_{k∉S} z_k, summed over subsets directly.
func TestTreeSHAPFillLeaf(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for d := 1; d <= 7; d++ {
		z := make([]float64, d)
		for i := range z {
			z[i] = 0.05 + 0.9*rng.Float64()
		}
		fact := func(k int) float64 {
			r := 1.0
			for i := 2; i <= k; i++ {
				r *= float64(i)
			}
			return r
		}
		w := make([]float64, d)
		for s := range d {
			w[s] = fact(s) * fact(d-1-s) / fact(d)
		}
		const v = 0.7
		tab := make([]float64, 1<<d)
		treeShapFillLeaf(tab, v, z, w, make([]float64, (d+1)*(d+1)))
		for set := range 1<<d - 1 { // T = F is never read
			var want float64
			for sub := range 1 << d {
				if sub&^set != 0 {
					continue
				}
				n := 0
				prod := 1.0
				for k := range d {
					if sub>>k&1 == 1 {
						n++
					} else {
						prod *= z[k]
					}
				}
				want += w[n] * prod
			}
			want *= v
			if math.Abs(tab[set]-want) > 1e-15 {
				t.Fatalf("d=%d T=%b: table %v, definition %v", d, set, tab[set], want)
			}
		}
	}
}

// WithoutTreeSHAPTables returns a forest with f's trees whose Explain uses
// Algorithm 2 for every tree, as before the tables existed: the benchmarks
// compare the two on the same forest in the same process.
func WithoutTreeSHAPTables(f *Forest) *Forest {
	return &Forest{NFeatures: f.NFeatures, Trees: f.Trees, workers: f.workers, packed: f.packed}
}

// WithTreeSHAPTablesOnly returns a forest with f's trees whose Explain uses
// the tables where f has them and Algorithm 2 for the other trees (no
// quadrature), for the benchmarks.
func WithTreeSHAPTablesOnly(f *Forest) *Forest {
	tables, _ := f.shapPlan()
	return tsWithTables(&Forest{NFeatures: f.NFeatures, Trees: f.Trees, packed: f.packed}, tables, f.workers, false)
}

// benchCPUTime returns the process's user + system CPU time in
// nanoseconds: under a loaded machine it varies less than wall time (run
// with GOMAXPROCS=1 so that it is the benchmark's own).
func benchCPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchCPUTime is benchCPUTime for the black-box benchmarks.
func BenchCPUTime() int64 { return benchCPUTime() }

// WithTreeSHAPQuadOnly returns a forest with f's trees whose Explain uses
// the quadrature form for every tree (no tables), for the benchmarks.
func WithTreeSHAPQuadOnly(f *Forest) *Forest {
	return tsWithTables(&Forest{NFeatures: f.NFeatures, Trees: f.Trees, packed: f.packed}, nil, f.workers, true)
}

// TestGaussLegendre01 checks the rules: q points integrate t^k over [0, 1]
// exactly (1/(k+1)) for k ≤ 2q − 1, with nodes inside (0, 1) and positive
// weights, and the rule size of a tree covers its deepest path.
func TestGaussLegendre01(t *testing.T) {
	const tol = 1e-14
	for q := 1; q <= treeShapQuadMaxQ; q++ {
		ts, ws := treeShapRule(q)
		for m := range ts {
			if !(ts[m] > 0 && ts[m] < 1 && ws[m] > 0) {
				t.Fatalf("q=%d: node %v weight %v", q, ts[m], ws[m])
			}
		}
		for k := 0; k <= 2*q-1; k++ {
			var s float64
			for m := range ts {
				s += ws[m] * math.Pow(ts[m], float64(k))
			}
			if d := math.Abs(s - 1/float64(k+1)); d > tol {
				t.Fatalf("q=%d: ∫t^%d = %v, want %v (diff %.3g)", q, k, s, 1/float64(k+1), d)
			}
		}
	}
	// a chain of 7 splits on 5 features (two repeats): D = 5, q = 3
	tr := &Tree{}
	feats := []int32{0, 1, 0, 2, 3, 1, 4}
	for i, j := range feats {
		k := uint32(2 * i)
		tr.Feature = append(tr.Feature, j, -1)
		tr.Threshold = append(tr.Threshold, 0, 0)
		tr.Left = append(tr.Left, k+1, 0)
		tr.Right = append(tr.Right, k+2, 0)
		tr.Value = append(tr.Value, 0, 0)
		tr.Cover = append(tr.Cover, 2, 1)
	}
	tr.Feature = append(tr.Feature, -1)
	tr.Threshold = append(tr.Threshold, 0)
	tr.Left = append(tr.Left, 0)
	tr.Right = append(tr.Right, 0)
	tr.Value = append(tr.Value, 0)
	tr.Cover = append(tr.Cover, 1)
	if q := treeShapQuadSize(tr); q != 3 {
		t.Errorf("rule size %d for 5 distinct path features, want 3", q)
	}
}

// TestTreeSHAPQuadFittedDeep compares Explain (quadrature for these deep
// trees) with Algorithm 2 on fully grown trees fitted on 3,000 rows × 30
// features, whose paths have up to about 20 distinct features.
func TestTreeSHAPQuadFittedDeep(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 9847))
	const n, p = 3000, 30
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	for i := range n {
		r := x.RawRowView(i)
		for j := range r {
			r[j] = rng.NormFloat64()
		}
		y[i] = rng.Float64() < Sigmoid(r[0]-r[1]+0.5*r[2]*r[3])
	}
	f, err := FitForest(x, y, nil, &ForestSettings{Trees: 16, Seed: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	tables, quad := f.shapPlan()
	maxQ, nQuad := 0, 0
	for ti := range f.Trees {
		if tables[ti] == nil && quad[ti] > 0 {
			nQuad++
			maxQ = max(maxQ, quad[ti])
		}
	}
	if nQuad != len(f.Trees) || maxQ < 6 {
		t.Fatalf("%d of %d trees by quadrature, largest rule %d: the test wants deep trees", nQuad, len(f.Trees), maxQ)
	}
	alg2 := &Forest{NFeatures: p, Trees: f.Trees, workers: 2}
	var maxDiff, maxAdd float64
	for i := 0; i < n; i += 150 {
		row := x.RawRowView(i)
		base, got, err := f.Explain(row, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantBase, want, err := alg2.Explain(row, nil)
		if err != nil {
			t.Fatal(err)
		}
		if base != wantBase {
			t.Fatalf("row %d: base %v, Algorithm 2 %v", i, base, wantBase)
		}
		s := base
		for j := range got {
			maxDiff = math.Max(maxDiff, math.Abs(got[j]-want[j]))
			s += got[j]
		}
		maxAdd = math.Max(maxAdd, math.Abs(s-f.predictRow(row)))
	}
	t.Logf("16 deep trees (rules up to %d points): max |φ(quadrature) − φ(Algorithm 2)| = %.3g, max |base + Σφ − f(x)| = %.3g", maxQ, maxDiff, maxAdd)
	if maxDiff > treeShapTableTol || maxAdd > 1e-9 {
		t.Errorf("max diff %.3g (want ≤ %v), additivity %.3g (want ≤ 1e-9)", maxDiff, treeShapTableTol, maxAdd)
	}
}
