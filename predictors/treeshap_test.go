package predictors_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// Tolerances for TreeSHAP: against the brute-force Shapley values (set by
// the task), and for local accuracy base + Σφ = f(x) (the Explainer
// contract).
const (
	treeShapBruteTol    = 1e-10
	treeShapAdditiveTol = 1e-9
)

// treeRandom appends a random subtree of depth ≤ maxDepth to tr and returns
// its root: predictors.RandomTestTree with leaf probability 0.2 and leaf
// covers 1..20.
func treeRandom(rng *rand.Rand, tr *predictors.Tree, p, depth, maxDepth int) uint32 {
	return predictors.RandomTestTree(rng, tr, p, depth, maxDepth, 0.2, 20)
}

// treeRepeats reports whether some root-to-leaf path of tr splits twice on
// the same feature.
func treeRepeats(tr *predictors.Tree, k uint32, seen map[int32]bool) bool {
	j := tr.Feature[k]
	if j < 0 {
		return false
	}
	if seen[j] {
		return true
	}
	seen[j] = true
	defer delete(seen, j)
	return treeRepeats(tr, tr.Left[k], seen) || treeRepeats(tr, tr.Right[k], seen)
}

// treeCondExp is the path-dependent E[f(x) | x_S]: follow x at splits on a
// feature in S, otherwise average both children weighted by cover.
func treeCondExp(tr *predictors.Tree, k uint32, x []float64, inS uint) float64 {
	j := tr.Feature[k]
	if j < 0 {
		return tr.Value[k]
	}
	l, r := tr.Left[k], tr.Right[k]
	if inS&(1<<uint(j)) != 0 {
		if x[j] <= tr.Threshold[k] {
			return treeCondExp(tr, l, x, inS)
		}
		return treeCondExp(tr, r, x, inS)
	}
	return (tr.Cover[l]*treeCondExp(tr, l, x, inS) + tr.Cover[r]*treeCondExp(tr, r, x, inS)) / tr.Cover[k]
}

// treeBruteShapley enumerates all subsets S of the M features:
// φ_i = Σ_{S ∌ i} |S|!(M−|S|−1)!/M! · (v(S∪{i}) − v(S)), with v(S) the mean
// over trees of treeCondExp. It returns v(∅) and φ.
func treeBruteShapley(f *predictors.Forest, x []float64) (float64, []float64) {
	m := f.NFeatures
	v := make([]float64, 1<<m)
	for s := range v {
		for t := range f.Trees {
			v[s] += treeCondExp(&f.Trees[t], 0, x, uint(s))
		}
		v[s] /= float64(len(f.Trees))
	}
	fact := func(k int) float64 {
		r := 1.0
		for i := 2; i <= k; i++ {
			r *= float64(i)
		}
		return r
	}
	phi := make([]float64, m)
	for i := range m {
		for s := range v {
			if s&(1<<i) != 0 {
				continue
			}
			size := 0
			for b := range m {
				size += (s >> b) & 1
			}
			w := fact(size) * fact(m-size-1) / fact(m)
			phi[i] += w * (v[s|1<<i] - v[s])
		}
	}
	return v[0], phi
}

func TestTreeSHAPBruteForceRandomTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(2018, 2020))
	var maxDiff float64
	repeats := 0
	for trial := range 300 {
		p := 1 + rng.IntN(6)
		f := &predictors.Forest{NFeatures: p, Trees: make([]predictors.Tree, 1+rng.IntN(3))}
		for ti := range f.Trees {
			treeRandom(rng, &f.Trees[ti], p, 0, 1+rng.IntN(4))
			if treeRepeats(&f.Trees[ti], 0, map[int32]bool{}) {
				repeats++
			}
		}
		x := make([]float64, p)
		for j := range x {
			x[j] = rng.NormFloat64()
		}
		base, phi, err := f.Explain(x, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantBase, wantPhi := treeBruteShapley(f, x)
		// The hand-built trees do not keep siblings adjacent, so Predict
		// (which repacks them) and PredictOne are checked here too against
		// the brute-force f(x) = v(all features).
		var fx float64
		for ti := range f.Trees {
			fx += treeCondExp(&f.Trees[ti], 0, x, 1<<p-1)
		}
		fx /= float64(len(f.Trees))
		one, err := f.PredictOne(x)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := f.Predict(mat.NewDense(1, p, x), nil)
		if err != nil {
			t.Fatal(err)
		}
		if one != fx || batch[0] != one {
			t.Fatalf("trial %d: PredictOne %v, Predict %v, brute force %v", trial, one, batch[0], fx)
		}
		if d := math.Abs(base - wantBase); d > treeShapBruteTol {
			t.Fatalf("trial %d: base %v, brute force %v", trial, base, wantBase)
		}
		for j := range phi {
			d := math.Abs(phi[j] - wantPhi[j])
			maxDiff = math.Max(maxDiff, d)
			if d > treeShapBruteTol {
				t.Fatalf("trial %d (p=%d): phi %v, brute force %v", trial, p, phi, wantPhi)
			}
		}
		// A decoded forest explains its trees from precomputed subset
		// tables (all of these trees are shallow enough for them).
		var dec predictors.Forest
		if err := json.Unmarshal(mustJSON(t, f), &dec); err != nil {
			t.Fatal(err)
		}
		base, phi, err = dec.Explain(x, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(base - wantBase); d > treeShapBruteTol {
			t.Fatalf("trial %d: decoded forest: base %v, brute force %v", trial, base, wantBase)
		}
		for j := range phi {
			d := math.Abs(phi[j] - wantPhi[j])
			maxDiff = math.Max(maxDiff, d)
			if d > treeShapBruteTol {
				t.Fatalf("trial %d (p=%d): decoded forest: phi %v, brute force %v", trial, p, phi, wantPhi)
			}
		}
	}
	t.Logf("300 random forests: max |phi - brute force| = %.3g; %d trees repeat a feature on a path", maxDiff, repeats)
	if repeats < 50 {
		t.Errorf("only %d trees with a repeated feature on a path: the test does not exercise UNWIND", repeats)
	}
}

// TestTreeSHAPBruteForceFitted compares with brute force on fitted
// (deeper) trees.
func TestTreeSHAPBruteForceFitted(t *testing.T) {
	x, y := mustVertebral(t)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 30, Mtry: 2, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	var maxDiff float64
	phi := make([]float64, 6)
	for i := 0; i < 310; i += 31 {
		row := x.RawRowView(i)
		base, got, err := f.Explain(row, phi)
		if err != nil {
			t.Fatal(err)
		}
		if &got[0] != &phi[0] {
			t.Fatalf("Explain did not write into the phi passed")
		}
		wantBase, want := treeBruteShapley(f, row)
		maxDiff = math.Max(maxDiff, math.Abs(base-wantBase))
		for j := range want {
			maxDiff = math.Max(maxDiff, math.Abs(got[j]-want[j]))
		}
	}
	t.Logf("fitted vertebral forest: max |TreeSHAP - brute force| = %.3g", maxDiff)
	if maxDiff > treeShapBruteTol {
		t.Errorf("max |TreeSHAP - brute force| = %.3g, want ≤ %v", maxDiff, treeShapBruteTol)
	}
}

func TestTreeSHAPAdditivityVertebral(t *testing.T) {
	x, y := mustVertebral(t)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Mtry: 2, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if f.ExplanationScale() != predictors.Probability {
		t.Errorf("scale %q, want %q", f.ExplanationScale(), predictors.Probability)
	}
	var wantBase float64
	for _, tr := range f.Trees {
		var s float64
		for k, j := range tr.Feature {
			if j < 0 {
				s += tr.Cover[k] * tr.Value[k]
			}
		}
		wantBase += s / tr.Cover[0]
	}
	wantBase /= float64(len(f.Trees))
	var maxErr float64
	phi := make([]float64, 6)
	for i := range y {
		row := x.RawRowView(i)
		base, phi, err := f.Explain(row, phi)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(base-wantBase) > 1e-12 {
			t.Fatalf("base %v, want cover-weighted mean leaf value %v", base, wantBase)
		}
		p, err := f.PredictOne(row)
		if err != nil {
			t.Fatal(err)
		}
		s := base
		for _, v := range phi {
			s += v
		}
		maxErr = math.Max(maxErr, math.Abs(s-p))
	}
	t.Logf("310 rows, 500 trees: max |base + Σφ - p| = %.3g (base %.6f)", maxErr, wantBase)
	if maxErr > treeShapAdditiveTol {
		t.Errorf("max |base + Σφ - p| = %.3g, want ≤ %v", maxErr, treeShapAdditiveTol)
	}
}

// Explain splits the trees into fixed chunks and reduces them in a fixed
// order, so the worker count does not change a single bit of φ or of the
// base value. 37 trees: the last chunk is partial.
func TestTreeSHAPWorkersBitIdentical(t *testing.T) {
	x, y := mustVertebral(t)
	var forests []*predictors.Forest
	for _, w := range []int{1, 4} {
		f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 37, Mtry: 2, Seed: 7, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		forests = append(forests, f)
	}
	for i := 0; i < len(y); i += 7 {
		row := x.RawRowView(i)
		b1, p1, err := forests[0].Explain(row, nil)
		if err != nil {
			t.Fatal(err)
		}
		b4, p4, err := forests[1].Explain(row, nil)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(b1) != math.Float64bits(b4) {
			t.Fatalf("row %d: base %v (Workers=1) ≠ %v (Workers=4)", i, b1, b4)
		}
		for j := range p1 {
			if math.Float64bits(p1[j]) != math.Float64bits(p4[j]) {
				t.Fatalf("row %d: φ[%d] = %v (Workers=1) ≠ %v (Workers=4)", i, j, p1[j], p4[j])
			}
		}
	}
}

// mustJSON encodes v or fails the test.
func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestTreeSHAPConcurrentFirstExplain: goroutines explaining at once with a
// fresh forest (whose tables are built by the first Explain) all get the
// same bits as a later, sequential Explain. Run with -race.
func TestTreeSHAPConcurrentFirstExplain(t *testing.T) {
	x, y := mustVertebral(t)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 40, Mtry: 2, Seed: 3, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	const g = 4
	var wg sync.WaitGroup
	got := make([][]float64, g)
	for k := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base, phi, err := f.Explain(x.RawRowView(k), nil)
			if err != nil {
				t.Error(err)
				return
			}
			got[k] = append(phi, base)
		}()
	}
	wg.Wait()
	for k := range g {
		base, phi, err := f.Explain(x.RawRowView(k), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := append(phi, base)
		for j := range want {
			if math.Float64bits(got[k][j]) != math.Float64bits(want[j]) {
				t.Fatalf("row %d: concurrent first Explain %v, later %v", k, got[k], want)
			}
		}
	}
}

// TestTreeSHAPTablesNotSerialised: the lazily built TreeSHAP tables stay
// out of the JSON artifact (the encoding after Explain equals the one
// before), and a decoded forest explains bit-identically to the original.
func TestTreeSHAPTablesNotSerialised(t *testing.T) {
	x, y := mustVertebral(t)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 20, Mtry: 2, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	before := mustJSON(t, f)
	b1, p1, err := f.Explain(x.RawRowView(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	after := mustJSON(t, f)
	if string(before) != string(after) {
		t.Fatalf("JSON changed after Explain: %d bytes before, %d after", len(before), len(after))
	}
	var g predictors.Forest
	if err := json.Unmarshal(after, &g); err != nil {
		t.Fatal(err)
	}
	b2, p2, err := g.Explain(x.RawRowView(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Float64bits(b1) != math.Float64bits(b2) {
		t.Fatalf("base %v, decoded %v", b1, b2)
	}
	for j := range p1 {
		if math.Float64bits(p1[j]) != math.Float64bits(p2[j]) {
			t.Fatalf("φ[%d] = %v, decoded %v", j, p1[j], p2[j])
		}
	}
}
