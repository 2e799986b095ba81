package predictors_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// forestAUC is the Mann–Whitney AUC with ties counted ½ (the definition of
// the reference files): the fraction of (positive, negative) pairs in which
// the positive scores higher. It ranks with average ranks for ties.
func forestAUC(tb testing.TB, p []float64, y []bool) float64 {
	tb.Helper()
	n := len(p)
	ord := make([]int, n)
	for i := range ord {
		ord[i] = i
	}
	sort.Slice(ord, func(a, b int) bool { return p[ord[a]] < p[ord[b]] })
	ranks := make([]float64, n)
	for i := 0; i < n; {
		j := i
		for j < n && p[ord[j]] == p[ord[i]] {
			j++
		}
		for k := i; k < j; k++ {
			ranks[ord[k]] = float64(i+j+1) / 2 // mean of ranks i+1..j
		}
		i = j
	}
	var sumPos, nPos, nNeg float64
	for i, yi := range y {
		if yi {
			sumPos += ranks[i]
			nPos++
		} else {
			nNeg++
		}
	}
	if nPos == 0 || nNeg == 0 {
		tb.Fatalf("forestAUC: single class")
	}
	return (sumPos - nPos*(nPos+1)/2) / (nPos * nNeg)
}

// forestBrier is mean (p − y)².
func forestBrier(p []float64, y []bool) float64 {
	var s float64
	for i, yi := range y {
		d := p[i]
		if yi {
			d--
		}
		s += d * d
	}
	return s / float64(len(p))
}

func TestForestAUCHelper(t *testing.T) {
	// 2 positives, 2 negatives: pairs (0.8>0.1), (0.8>0.4), (0.4=0.4 → ½),
	// (0.4>0.1) → 3.5/4.
	got := forestAUC(t, []float64{0.8, 0.4, 0.4, 0.1}, []bool{true, true, false, false})
	if got != 0.875 {
		t.Errorf("forestAUC = %v, want 0.875", got)
	}
}

// forestSubset returns the rows of x and y where keep is true.
func forestSubset(x *mat.Dense, y []bool, keep func(i int) bool) (*mat.Dense, []bool, []int) {
	_, p := x.Dims()
	var idx []int
	for i := range y {
		if keep(i) {
			idx = append(idx, i)
		}
	}
	xs := mat.NewDense(len(idx), p, nil)
	ys := make([]bool, len(idx))
	for k, i := range idx {
		xs.SetRow(k, x.RawRowView(i))
		ys[k] = y[i]
	}
	return xs, ys, idx
}

// Reference figures, vertebral2c, 500 trees, mtry 2:
//   - ranger 0.14.1 (testdata/r_vertebral2c_summary.json): CV AUC 0.918286,
//     CV Brier 0.108067, OOB AUC 0.921524, OOB Brier 0.104740;
//   - randomForest 4.7 (same file): CV AUC 0.918952, CV Brier 0.106664;
//   - scikit-learn 1.2.1 (testdata/sklearn_vertebral2c_summary.json):
//     CV AUC 0.917548, CV Brier 0.108639, OOB AUC 0.920690, OOB Brier 0.104589.
//
// Forests are not bit-comparable across implementations (different random
// streams), so the checks are ranges. The AUC range [0.90, 0.94] is the one
// set by the task. For the Brier score the three implementations span
// 0.1046–0.1086 (OOB and CV together). Our own seed-to-seed spread, measured
// with seed offsets 0, 100, …, 900 (10 runs of this CV and OOB setup), was
// CV Brier 0.1067–0.1091 (SD ≈ 0.0007) and OOB Brier 0.1035–0.1066
// (SD ≈ 0.0010). The asserted range is the reference span widened by 0.004
// on each side (about four seed SDs): seed noise stays inside it. It does
// not separate leaf frequencies from vote fractions (randomForest's vote
// fractions score 0.1067 here); it catches gross defects in the split
// search, the bootstrap or the leaf values.
const (
	forestAUCLow, forestAUCHigh     = 0.90, 0.94
	forestBrierLow, forestBrierHigh = 0.1006, 0.1126
)

func TestForestVertebralCV(t *testing.T) {
	x, y := mustVertebral(t)
	folds := mustVertebralFolds(t)
	cv := make([]float64, len(y))
	for fold := 1; fold <= 5; fold++ {
		xtr, ytr, _ := forestSubset(x, y, func(i int) bool { return folds[i] != fold })
		xte, _, idx := forestSubset(x, y, func(i int) bool { return folds[i] == fold })
		f, err := predictors.FitForest(xtr, ytr, nil, &predictors.ForestSettings{Trees: 500, Mtry: 2, Seed: uint64(42 + fold)})
		if err != nil {
			t.Fatalf("fold %d: %v", fold, err)
		}
		p, err := f.Predict(xte, nil)
		if err != nil {
			t.Fatalf("fold %d predict: %v", fold, err)
		}
		for k, i := range idx {
			cv[i] = p[k]
		}
	}
	auc, brier := forestAUC(t, cv, y), forestBrier(cv, y)
	t.Logf("CV AUC %.6f (ranger 0.918286, sklearn 0.917548), CV Brier %.6f (ranger 0.108067, sklearn 0.108639)", auc, brier)
	if auc < forestAUCLow || auc > forestAUCHigh {
		t.Errorf("CV AUC = %.6f, want in [%v, %v]", auc, forestAUCLow, forestAUCHigh)
	}
	if brier < forestBrierLow || brier > forestBrierHigh {
		t.Errorf("CV Brier = %.6f, want in [%v, %v]", brier, forestBrierLow, forestBrierHigh)
	}

	// Per row, our CV probabilities should track ranger's (same folds, same
	// settings, different random streams).
	ref := mustReadCSV(t, "testdata/r_vertebral2c_rf_predictions.csv")
	col := slices.Index(ref[0], "ranger_cv")
	var mad float64
	for i, r := range ref[1:] {
		mad += math.Abs(cv[i] - mustFloat(t, r[col]))
	}
	mad /= float64(len(cv))
	t.Logf("mean |p - ranger_cv| per row = %.4f", mad)
	// forestMaxMeanAbsDiffRanger: between two independent 500-tree forests
	// the per-row Monte-Carlo SD is ≈ 0.01–0.02; 0.05 still catches a
	// systematically different estimator.
	const forestMaxMeanAbsDiffRanger = 0.05
	if mad > forestMaxMeanAbsDiffRanger {
		t.Errorf("mean |p - ranger_cv| = %.4f, want ≤ %v", mad, forestMaxMeanAbsDiffRanger)
	}
}

func TestForestVertebralOOB(t *testing.T) {
	x, y := mustVertebral(t)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Mtry: 2, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	oob := f.OOB()
	if len(oob) != len(y) {
		t.Fatalf("len(OOB) = %d, want %d", len(oob), len(y))
	}
	for i, v := range oob {
		// With 500 trees, P(row drawn by every tree) = (1−0.368)^500 ≈ 0.
		if math.IsNaN(v) || v < 0 || v > 1 {
			t.Fatalf("OOB[%d] = %v", i, v)
		}
	}
	auc, brier := forestAUC(t, oob, y), forestBrier(oob, y)
	t.Logf("OOB AUC %.6f (ranger 0.921524, sklearn 0.920690), OOB Brier %.6f (ranger 0.104740, sklearn 0.104589)", auc, brier)
	if auc < forestAUCLow || auc > forestAUCHigh {
		t.Errorf("OOB AUC = %.6f, want in [%v, %v]", auc, forestAUCLow, forestAUCHigh)
	}
	if brier < forestBrierLow || brier > forestBrierHigh {
		t.Errorf("OOB Brier = %.6f, want in [%v, %v]", brier, forestBrierLow, forestBrierHigh)
	}
}

func TestForestDeterminism(t *testing.T) {
	x, y := mustVertebral(t)
	fit := func(workers int, seed uint64) (*predictors.Forest, []byte) {
		f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 60, Seed: seed, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		return f, b
	}
	f1, j1 := fit(1, 7)
	f4, j4 := fit(4, 7)
	if !bytes.Equal(j1, j4) {
		t.Errorf("Workers=1 and Workers=4 give different JSON for the same seed")
	}
	o1, o4 := f1.OOB(), f4.OOB()
	for i := range o1 {
		if math.Float64bits(o1[i]) != math.Float64bits(o4[i]) {
			t.Fatalf("OOB[%d]: %v (1 worker) != %v (4 workers)", i, o1[i], o4[i])
		}
	}
	pi1, err := f1.PermutationImportance(x, y, 3)
	if err != nil {
		t.Fatal(err)
	}
	pi4, err := f4.PermutationImportance(x, y, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pi1, pi4) {
		t.Errorf("permutation importance differs between 1 and 4 workers: %v vs %v", pi1, pi4)
	}
	_, j8 := fit(4, 8)
	if bytes.Equal(j1, j8) {
		t.Errorf("seeds 7 and 8 give identical forests")
	}
}

func TestForestImportances(t *testing.T) {
	x, y := mustVertebral(t)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Mtry: 2, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	imp := f.ImpurityImportance()
	var sum float64
	for _, v := range imp {
		sum += v
		if v < 0 {
			t.Errorf("negative impurity importance %v", imp)
		}
	}
	const forestImportanceSumTol = 1e-12
	if math.Abs(sum-1) > forestImportanceSumTol {
		t.Errorf("impurity importances sum to %v, want 1", sum)
	}
	perm, err := f.PermutationImportance(x, y, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("impurity importance %.4f (sklearn: 0.1185 0.1260 0.1109 0.1219 0.1752 0.3475)", imp)
	t.Logf("permutation importance %.4f (ranger: 0.0230 0.0259 0.0088 0.0193 0.0413 0.1641)", perm)
	// degree_spondylolisthesis (column 5) ranks first in ranger's
	// permutation importance and in sklearn's / randomForest's Gini
	// importance (testdata/*_summary.json).
	const top = 5
	for name, v := range map[string][]float64{"impurity": imp, "permutation": perm} {
		if k := forestArgmax(v); k != top {
			t.Errorf("%s importance ranks %s first, want %s", name, vertebralFeatures[k], vertebralFeatures[top])
		}
	}
}

func forestArgmax(v []float64) int {
	k := 0
	for i := range v {
		if v[i] > v[k] {
			k = i
		}
	}
	return k
}

func TestForestErrors(t *testing.T) {
	x, y := mustVertebral(t)
	s := &predictors.ForestSettings{Trees: 5, Seed: 1}

	one := make([]bool, len(y))
	if _, err := predictors.FitForest(x, one, nil, s); !errors.Is(err, predictors.ErrSingleClass) {
		t.Errorf("single class: err = %v, want ErrSingleClass", err)
	}
	// positives carry zero weight: a single class with positive weight.
	w := make([]float64, len(y))
	for i := range w {
		if !y[i] {
			w[i] = 1
		}
	}
	if _, err := predictors.FitForest(x, y, w, s); !errors.Is(err, predictors.ErrSingleClass) {
		t.Errorf("single weighted class: err = %v, want ErrSingleClass", err)
	}
	xn := mat.DenseCopyOf(x)
	xn.Set(3, 2, math.NaN())
	if _, err := predictors.FitForest(xn, y, nil, s); !errors.Is(err, predictors.ErrNotFinite) {
		t.Errorf("NaN: err = %v, want ErrNotFinite", err)
	}
	if _, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Mtry: 7}); err == nil {
		t.Errorf("mtry 7 > 6 features: no error")
	}
	if _, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{MinLeaf: -1}); err == nil {
		t.Errorf("negative MinLeaf: no error")
	}

	f, err := predictors.FitForest(x, y, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Predict(mat.NewDense(2, 5, nil), nil); !errors.Is(err, predictors.ErrFeatureCount) {
		t.Errorf("Predict 5 columns: err = %v, want ErrFeatureCount", err)
	}
	if _, err := f.Predict(xn, nil); !errors.Is(err, predictors.ErrNotFinite) {
		t.Errorf("Predict NaN: err = %v, want ErrNotFinite", err)
	}
	if _, err := f.PredictOne(make([]float64, 7)); !errors.Is(err, predictors.ErrFeatureCount) {
		t.Errorf("PredictOne 7 values: err = %v, want ErrFeatureCount", err)
	}
	if _, err := f.PredictOne([]float64{1, 2, math.Inf(1), 4, 5, 6}); !errors.Is(err, predictors.ErrNotFinite) {
		t.Errorf("PredictOne Inf: err = %v, want ErrNotFinite", err)
	}
	if _, _, err := f.Explain(make([]float64, 5), nil); !errors.Is(err, predictors.ErrFeatureCount) {
		t.Errorf("Explain 5 values: err = %v, want ErrFeatureCount", err)
	}
	if _, err := f.PermutationImportance(mat.NewDense(2, 6, nil), []bool{true, false}, 1); err == nil {
		t.Errorf("PermutationImportance on 2 rows: no error")
	}
	var g predictors.Forest
	b, _ := json.Marshal(f)
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.OOB() != nil {
		t.Errorf("decoded forest has OOB predictions")
	}
	if _, err := g.PermutationImportance(x, y, 1); err == nil {
		t.Errorf("PermutationImportance on a decoded forest: no error")
	}
}

// forestLeafDepths returns the depth of every leaf of tr (root = 0) and
// checks cover additivity and child ordering on the way.
func forestLeafDepths(t *testing.T, tr *predictors.Tree) (leaves []int) {
	t.Helper()
	depth := make([]int, len(tr.Feature))
	for k := range tr.Feature {
		if tr.Feature[k] < 0 {
			leaves = append(leaves, k)
			continue
		}
		l, r := tr.Left[k], tr.Right[k]
		if int(l) <= k || int(r) <= k {
			t.Fatalf("node %d: children %d, %d not after the parent", k, l, r)
		}
		depth[l], depth[r] = depth[k]+1, depth[k]+1
		if tr.Cover[k] != tr.Cover[l]+tr.Cover[r] {
			t.Fatalf("node %d: cover %v != %v + %v", k, tr.Cover[k], tr.Cover[l], tr.Cover[r])
		}
	}
	for i, k := range leaves {
		leaves[i] = depth[k]
	}
	return leaves
}

func TestForestMinLeafMaxDepth(t *testing.T) {
	x, y := mustVertebral(t)
	n, _ := x.Dims()
	cases := []struct{ minLeaf, maxDepth int }{{1, 0}, {10, 0}, {1, 3}, {5, 2}}
	for _, c := range cases {
		f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 50, MinLeaf: c.minLeaf, MaxDepth: c.maxDepth, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		minCover, maxDepth := math.Inf(1), 0
		for ti := range f.Trees {
			tr := &f.Trees[ti]
			if tr.Cover[0] != float64(n) {
				t.Fatalf("tree %d: root cover %v, want %d", ti, tr.Cover[0], n)
			}
			depths := forestLeafDepths(t, tr)
			li := 0
			for k := range tr.Feature {
				if tr.Feature[k] >= 0 {
					continue
				}
				d := depths[li]
				li++
				minCover = math.Min(minCover, tr.Cover[k])
				maxDepth = max(maxDepth, d)
				if tr.Cover[k] < float64(c.minLeaf) {
					t.Errorf("MinLeaf %d: tree %d leaf %d has cover %v", c.minLeaf, ti, k, tr.Cover[k])
				}
				if c.maxDepth > 0 && d > c.maxDepth {
					t.Errorf("MaxDepth %d: tree %d leaf %d at depth %d", c.maxDepth, ti, k, d)
				}
				// an impure leaf above MaxDepth with ≥ 2·MinLeaf draws is
				// allowed only when no drawn feature could split it; a
				// pure leaf has value 0 or 1.
				if v := tr.Value[k]; v < 0 || v > 1 {
					t.Errorf("leaf value %v", v)
				}
			}
		}
		t.Logf("MinLeaf %d, MaxDepth %d: smallest leaf cover %v, deepest leaf %d", c.minLeaf, c.maxDepth, minCover, maxDepth)
		// The limits must bind, or the checks above prove nothing.
		if c.maxDepth > 0 && maxDepth != c.maxDepth {
			t.Errorf("MaxDepth %d: deepest leaf at %d, the limit never binds", c.maxDepth, maxDepth)
		}
		if c.maxDepth == 0 && c.minLeaf > 1 && minCover >= 2*float64(c.minLeaf) {
			t.Errorf("MinLeaf %d: smallest leaf cover %v, the limit never binds", c.minLeaf, minCover)
		}
	}
}

// TestForestExactSplit checks the split point on separable data: with one
// tree, x = 1..40, y = x > 20, the root must split between the largest
// in-bag x ≤ 20 and the smallest in-bag x ≥ 21 (OOB rows are known from
// OOB: NaN = in bag), at their midpoint, into two pure leaves.
func TestForestExactSplit(t *testing.T) {
	const n = 40
	x := mat.NewDense(n, 1, nil)
	y := make([]bool, n)
	for i := range n {
		x.Set(i, 0, float64(i+1))
		y[i] = i+1 > 20
	}
	for seed := uint64(0); seed < 20; seed++ {
		f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 1, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		a, b := math.Inf(-1), math.Inf(1)
		for i, v := range f.OOB() {
			if !math.IsNaN(v) {
				continue // out of bag
			}
			xi := float64(i + 1)
			if xi <= 20 {
				a = math.Max(a, xi)
			} else {
				b = math.Min(b, xi)
			}
		}
		tr := f.Trees[0]
		if len(tr.Feature) != 3 || tr.Threshold[0] != (a+b)/2 {
			t.Fatalf("seed %d: tree %+v, want one split at %v", seed, tr, (a+b)/2)
		}
		if tr.Value[tr.Left[0]] != 0 || tr.Value[tr.Right[0]] != 1 {
			t.Errorf("seed %d: leaf values %v, %v", seed, tr.Value[tr.Left[0]], tr.Value[tr.Right[0]])
		}
	}
}

func TestForestWeights(t *testing.T) {
	x, y := mustVertebral(t)
	s := &predictors.ForestSettings{Trees: 40, Seed: 11}
	f0, err := predictors.FitForest(x, y, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	ones := make([]float64, len(y))
	for i := range ones {
		ones[i] = 2.5
	}
	f1, err := predictors.FitForest(x, y, ones, s)
	if err != nil {
		t.Fatal(err)
	}
	j0, _ := json.Marshal(f0)
	j1, _ := json.Marshal(f1)
	if !bytes.Equal(j0, j1) {
		t.Errorf("equal weights give a different forest than nil weights")
	}
	// Rows of weight 0 are never drawn: they are out of bag in every tree,
	// so their OOB probability is the whole forest's prediction.
	w := make([]float64, len(y))
	for i := range w {
		w[i] = 1
		if i%7 == 0 {
			w[i] = 0
		}
	}
	fw, err := predictors.FitForest(x, y, w, s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fw.Predict(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	oob := fw.OOB()
	for i := range w {
		if w[i] == 0 && oob[i] != p[i] {
			t.Errorf("row %d (weight 0): OOB %v != prediction %v", i, oob[i], p[i])
		}
	}
	// A heavily weighted row is drawn in (nearly) every tree.
	w[1] = 1000
	fh, err := predictors.FitForest(x, y, w, s)
	if err != nil {
		t.Fatal(err)
	}
	if v := fh.OOB()[1]; !math.IsNaN(v) {
		t.Errorf("row of weight 1000 is out of bag in some tree (OOB %v)", v)
	}
}

func TestForestPredictAgreesWithPredictOne(t *testing.T) {
	x, y := mustVertebral(t)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 100, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Predict(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A non-Dense matrix takes the At() path.
	pt, err := f.Predict(x.T().T(), make([]float64, len(y)))
	if err != nil {
		t.Fatal(err)
	}
	var g predictors.Forest
	b, _ := json.Marshal(f)
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	pj, err := g.Predict(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range y {
		one, err := f.PredictOne(x.RawRowView(i))
		if err != nil {
			t.Fatal(err)
		}
		if one != p[i] || pt[i] != p[i] || pj[i] != p[i] {
			t.Fatalf("row %d: Predict %v, PredictOne %v, via At %v, decoded %v", i, p[i], one, pt[i], pj[i])
		}
	}
}

func TestForestUnmarshalRejectsBadTrees(t *testing.T) {
	good := `{"n_features":2,"trees":[{"feature":[0,-1,-1],"threshold":[0.5,0,0],"left":[1,0,0],"right":[2,0,0],"value":[0.5,0,1],"cover":[4,2,2]}]}`
	var f predictors.Forest
	if err := json.Unmarshal([]byte(good), &f); err != nil {
		t.Fatalf("good forest: %v", err)
	}
	if p, err := f.PredictOne([]float64{1, 0}); err != nil || p != 1 {
		t.Errorf("PredictOne = %v, %v; want 1", p, err)
	}
	bad := map[string]string{
		"cycle":         `{"n_features":2,"trees":[{"feature":[0,-1,-1],"threshold":[0.5,0,0],"left":[0,0,0],"right":[2,0,0],"value":[0.5,0,1],"cover":[4,2,2]}]}`,
		"child range":   `{"n_features":2,"trees":[{"feature":[0,-1,-1],"threshold":[0.5,0,0],"left":[1,0,0],"right":[3,0,0],"value":[0.5,0,1],"cover":[4,2,2]}]}`,
		"feature range": `{"n_features":2,"trees":[{"feature":[2,-1,-1],"threshold":[0.5,0,0],"left":[1,0,0],"right":[2,0,0],"value":[0.5,0,1],"cover":[4,2,2]}]}`,
		"lengths":       `{"n_features":2,"trees":[{"feature":[0,-1,-1],"threshold":[0.5,0],"left":[1,0,0],"right":[2,0,0],"value":[0.5,0,1],"cover":[4,2,2]}]}`,
		"zero cover":    `{"n_features":2,"trees":[{"feature":[0,-1,-1],"threshold":[0.5,0,0],"left":[1,0,0],"right":[2,0,0],"value":[0.5,0,1],"cover":[4,0,2]}]}`,
		"no trees":      `{"n_features":2,"trees":[]}`,
		"empty tree":    `{"n_features":2,"trees":[{"feature":[],"threshold":[],"left":[],"right":[],"value":[],"cover":[]}]}`,
		"zero features": `{"n_features":0,"trees":[{"feature":[-1],"threshold":[0],"left":[0],"right":[0],"value":[0.5],"cover":[4]}]}`,
	}
	for name, s := range bad {
		var g predictors.Forest
		if err := json.Unmarshal([]byte(s), &g); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// TestForestDefaults: nil settings mean 500 trees, mtry ⌊√6⌋ = 2, MinLeaf
// 1, unlimited depth and seed 0.
func TestForestDefaults(t *testing.T) {
	x, y := mustVertebral(t)
	f0, err := predictors.FitForest(x, y, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f1, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Mtry: 2, MinLeaf: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(f0.Trees) != 500 || f0.NumFeatures() != 6 {
		t.Errorf("defaults: %d trees, %d features; want 500, 6", len(f0.Trees), f0.NumFeatures())
	}
	j0, _ := json.Marshal(f0)
	j1, _ := json.Marshal(f1)
	if !bytes.Equal(j0, j1) {
		t.Errorf("nil settings differ from the documented defaults")
	}
	f3, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Mtry: 3})
	if err != nil {
		t.Fatal(err)
	}
	if j3, _ := json.Marshal(f3); bytes.Equal(j0, j3) {
		t.Errorf("mtry 3 gives the same forest as the default")
	}
}
