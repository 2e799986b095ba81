package predictors_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// mlpAUC is a small Mann–Whitney AUC (ties count ½) for these tests only;
// the package's own AUC is written and tested elsewhere.
func mlpAUC(score []float64, y []bool) float64 {
	type pair struct {
		s   float64
		pos bool
	}
	ps := make([]pair, len(score))
	for i := range score {
		ps[i] = pair{score[i], y[i]}
	}
	slices.SortFunc(ps, func(a, b pair) int {
		switch {
		case a.s < b.s:
			return -1
		case a.s > b.s:
			return 1
		}
		return 0
	})
	// Sum of the midranks of the positives.
	var rankSum, nPos float64
	for i := 0; i < len(ps); {
		j := i
		for j < len(ps) && ps[j].s == ps[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if ps[k].pos {
				rankSum += mid
				nPos++
			}
		}
		i = j
	}
	nNeg := float64(len(ps)) - nPos
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg)
}

func TestMLPAUCHelper(t *testing.T) {
	// 3 positives, 2 negatives: pairs (pos > neg) = 0.9>0.1, 0.9>0.5,
	// 0.5=0.5 (½), 0.5>0.1, 0.2>0.1 → 4.5 of 6.
	got := mlpAUC([]float64{0.9, 0.5, 0.2, 0.1, 0.5}, []bool{true, true, true, false, false})
	if math.Abs(got-4.5/6) > 1e-15 {
		t.Errorf("AUC = %v, want 0.75", got)
	}
}

// mlpSimulate draws n rows of p standard normal features and labels from
// the logistic model logit P(y) = 0.3 + Σ β_j x_j with β = (1.2, −0.8, 0.6,
// 0, …). It returns the true probabilities too.
func mlpSimulate(n, p int, seed uint64) (*mat.Dense, []bool, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	beta := []float64{1.2, -0.8, 0.6}
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	prob := make([]float64, n)
	for i := 0; i < n; i++ {
		z := 0.3
		for j := 0; j < p; j++ {
			v := rng.NormFloat64()
			x.Set(i, j, 10+5*v) // off-centre, not unit scale: standardisation matters
			if j < len(beta) {
				z += beta[j] * v
			}
		}
		prob[i] = predictors.Sigmoid(z)
		y[i] = rng.Float64() < prob[i]
	}
	return x, y, prob
}

// The MLP learns a logistic model: on 2,000 fresh rows its AUC against the
// simulated labels exceeds 0.8 and is within 0.02 of the AUC of the true
// probabilities (the best any model can do, ≈ 0.83 here).
func TestFitMLPLearnsLogisticModel(t *testing.T) {
	x, y, _ := mlpSimulate(2000, 5, 1)
	m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	xt, yt, truth := mlpSimulate(2000, 5, 2)
	pred, err := m.Predict(xt, nil)
	if err != nil {
		t.Fatal(err)
	}
	auc, oracle := mlpAUC(pred, yt), mlpAUC(truth, yt)
	t.Logf("test AUC %.4f, oracle %.4f; epochs run %d, best %d, validation loss %.4f", auc, oracle, m.EpochsRun, m.BestEpoch, m.ValidationLoss)
	if auc < 0.8 || auc < oracle-0.02 {
		t.Errorf("test AUC %v, want > 0.8 and within 0.02 of the oracle %v", auc, oracle)
	}
	// The probabilities themselves track the truth.
	var mad float64
	for i := range pred {
		mad += math.Abs(pred[i]-truth[i]) / float64(len(pred))
	}
	t.Logf("mean |p̂ − p| = %.4f", mad)
	if mad > 0.05 {
		t.Errorf("mean |p̂ − p| = %v > 0.05", mad)
	}
}

func mlpWeights(m *predictors.MLP) []float64 {
	var all []float64
	for _, L := range m.Layers {
		all = append(all, L.Weights...)
		all = append(all, L.Biases...)
	}
	return all
}

func TestFitMLPSeeded(t *testing.T) {
	x, y, _ := mlpSimulate(300, 4, 3)
	s := &predictors.MLPSettings{Hidden: []int{8, 4}, Seed: 77, Epochs: 40}
	a, err := predictors.FitMLP(x, y, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := predictors.FitMLP(x, y, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mlpWeights(a), mlpWeights(b)) || a.EpochsRun != b.EpochsRun {
		t.Error("same seed gave different weights")
	}
	s.Seed = 78
	c, err := predictors.FitMLP(x, y, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(mlpWeights(a), mlpWeights(c)) {
		t.Error("different seeds gave identical weights")
	}
}

// On labels independent of the features the validation loss stops
// improving early, so training stops long before Epochs.
func TestFitMLPEarlyStoppingOnNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	const n, p = 400, 5
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			x.Set(i, j, rng.NormFloat64())
		}
		y[i] = rng.Float64() < 0.5
	}
	// Default settings: Epochs 300, Patience 20.
	m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("epochs run %d, best epoch %d", m.EpochsRun, m.BestEpoch)
	if m.Settings.Epochs != 300 || m.Settings.Patience != 20 {
		t.Fatalf("defaults: epochs %d, patience %d", m.Settings.Epochs, m.Settings.Patience)
	}
	if m.EpochsRun >= m.Settings.Epochs {
		t.Errorf("ran all %d epochs on pure noise", m.EpochsRun)
	}
	if m.EpochsRun != m.BestEpoch+m.Settings.Patience {
		t.Errorf("stopped at epoch %d, want best epoch %d + patience %d", m.EpochsRun, m.BestEpoch, m.Settings.Patience)
	}
}

// 5-fold cross-validation on the vertebral data with the shared folds.
// scikit-learn's MLP (testdata/sklearn_vertebral2c_predictions.csv, column
// mlp_cv; summary key mlp_8_hidden_cv5: 8 hidden units, AUC 0.92114) is the
// reference; ours has 16 hidden units as the default. Same folds, different
// architecture, optimiser details and random initialisation, so the AUCs
// agree only up to the spread of an MLP's CV AUC on 310 rows, for which we
// allow mlpVertebralAUCTol. The seed set used here (fold k has seed k) was
// not selected: with seeds k+10, k+20, …, k+90 the CV AUC ranged over
// 0.913–0.930 (mean 0.925), all within 0.01 of sklearn's.
const mlpVertebralAUCTol = 0.03

func TestFitMLPVertebralCVMatchesSklearn(t *testing.T) {
	x, y := mustVertebral(t)
	folds := mustVertebralFolds(t)

	rows := mustReadCSV(t, filepath.Join("testdata", "sklearn_vertebral2c_predictions.csv"))
	col := map[string]int{}
	for j, h := range rows[0] {
		col[h] = j
	}
	skl := make([]float64, len(rows)-1)
	for i, r := range rows[1:] {
		skl[i] = mustFloat(t, r[col["mlp_cv"]])
		if (r[col["y"]] == "1") != y[i] {
			t.Fatalf("row %d: label differs between the data and the sklearn file", i+1)
		}
	}
	want := mlpAUC(skl, y)

	n, p := x.Dims()
	oof := make([]float64, n)
	for k := 1; k <= 5; k++ {
		var tr, te []int
		for i, f := range folds {
			if f == k {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		xtr, ytr := mat.NewDense(len(tr), p, nil), make([]bool, len(tr))
		for r, i := range tr {
			xtr.SetRow(r, x.RawRowView(i))
			ytr[r] = y[i]
		}
		xte := mat.NewDense(len(te), p, nil)
		for r, i := range te {
			xte.SetRow(r, x.RawRowView(i))
		}
		m, err := predictors.FitMLP(xtr, ytr, nil, &predictors.MLPSettings{Hidden: []int{16}, Seed: uint64(k)})
		if err != nil {
			t.Fatal(err)
		}
		pred, err := m.Predict(xte, nil)
		if err != nil {
			t.Fatal(err)
		}
		for r, i := range te {
			oof[i] = pred[r]
		}
		t.Logf("fold %d: epochs run %d, best %d", k, m.EpochsRun, m.BestEpoch)
	}
	got := mlpAUC(oof, y)
	t.Logf("CV AUC %.4f, sklearn mlp_cv %.4f", got, want)
	if math.Abs(got-want) > mlpVertebralAUCTol {
		t.Errorf("CV AUC %v, sklearn %v: differ by more than %v", got, want, mlpVertebralAUCTol)
	}
}

// base + Σφ equals the network's log-odds to 1e-9, with exact (p = 6) and
// sampled (p = 20) Shapley values; the log-odds match PredictOne.
func TestMLPExplainAdditive(t *testing.T) {
	for _, p := range []int{6, 20} {
		x, y, _ := mlpSimulate(400, p, 4)
		m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Hidden: []int{8, 6}, Seed: 5, Epochs: 30})
		if err != nil {
			t.Fatal(err)
		}
		if m.ExplanationScale() != predictors.LogOdds {
			t.Errorf("scale %v", m.ExplanationScale())
		}
		for i := 0; i < 5; i++ {
			row := x.RawRowView(i)
			base, phi, err := m.Explain(row, nil)
			if err != nil {
				t.Fatal(err)
			}
			z, err := m.PredictLogOdds(row)
			if err != nil {
				t.Fatal(err)
			}
			if d := base + mlpSum(phi) - z; math.Abs(d) > mlpAdditivityTol {
				t.Errorf("p=%d row %d: base + Σφ − z = %v", p, i, d)
			}
			prob, err := m.PredictOne(row)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(predictors.Logit(prob)-z) > 1e-9 {
				t.Errorf("p=%d row %d: Logit(PredictOne) = %v, log-odds %v", p, i, predictors.Logit(prob), z)
			}
			zb, _ := m.PredictLogOdds(m.Means)
			if base != zb {
				t.Errorf("base %v, log-odds at the means %v", base, zb)
			}
		}
	}
}

// Explain's incremental evaluation of the network gives the same values as
// the generic ShapleyValues on PredictLogOdds (same orderings), exact and
// sampled, and concurrent calls are safe.
func TestMLPExplainMatchesGenericShapley(t *testing.T) {
	for _, p := range []int{6, 20} {
		x, y, _ := mlpSimulate(300, p, 10)
		m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Hidden: []int{8, 6}, Seed: 3, Epochs: 20})
		if err != nil {
			t.Fatal(err)
		}
		m.Explanation = predictors.ShapleySettings{Permutations: 64, Seed: 99}
		f := func(z []float64) float64 {
			v, err := m.PredictLogOdds(z)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		done := make(chan []float64, 4)
		for g := 0; g < 4; g++ {
			go func() {
				_, phi, err := m.Explain(x.RawRowView(g), nil)
				if err != nil {
					t.Error(err)
				}
				done <- phi
			}()
		}
		for g := 0; g < 4; g++ {
			<-done
		}
		for i := 0; i < 4; i++ {
			row := x.RawRowView(i)
			_, got, err := m.Explain(row, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := predictors.ShapleyValues(f, row, m.Means, nil, &m.Explanation)
			if err != nil {
				t.Fatal(err)
			}
			for j := range want {
				if math.Abs(got[j]-want[j]) > mlpClosedFormTol {
					t.Errorf("p=%d row %d: φ_%d = %v, generic %v", p, i, j, got[j], want[j])
				}
			}
		}
	}
}

// A damaged model (as a corrupted artifact could be) is an error, not a
// panic.
func TestMLPMalformedModel(t *testing.T) {
	x, y, _ := mlpSimulate(200, 3, 6)
	for name, damage := range map[string]func(m *predictors.MLP){
		"short weights": func(m *predictors.MLP) { m.Layers[0].Weights = m.Layers[0].Weights[:5] },
		"zero SD":       func(m *predictors.MLP) { m.SDs[1] = 0 },
		"no hidden":     func(m *predictors.MLP) { m.Layers = m.Layers[1:] },
		"two outputs":   func(m *predictors.MLP) { m.Layers[1].Out = 2 },
		"missing SDs":   func(m *predictors.MLP) { m.SDs = nil },
	} {
		m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Epochs: 2})
		if err != nil {
			t.Fatal(err)
		}
		damage(m)
		if _, err := m.PredictOne([]float64{1, 2, 3}); err == nil {
			t.Errorf("%s: PredictOne: no error", name)
		}
		if _, err := m.Predict(x, nil); err == nil {
			t.Errorf("%s: Predict: no error", name)
		}
		if _, _, err := m.Explain([]float64{1, 2, 3}, nil); err == nil {
			t.Errorf("%s: Explain: no error", name)
		}
	}
}

// Predict, PredictOne and a JSON round trip agree.
func TestMLPPredictConsistentAndJSON(t *testing.T) {
	x, y, _ := mlpSimulate(300, 3, 6)
	m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Hidden: []int{5, 4, 3}, Seed: 1, Epochs: 20})
	if err != nil {
		t.Fatal(err)
	}
	if m.NumFeatures() != 3 || len(m.Layers) != 4 || m.Layers[3].Out != 1 {
		t.Fatalf("NumFeatures %d, %d layers", m.NumFeatures(), len(m.Layers))
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back predictors.MLP
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	pa, err := m.Predict(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := back.Predict(x, make([]float64, 300))
	if err != nil {
		t.Fatal(err)
	}
	for i := range pa {
		one, err := m.PredictOne(x.RawRowView(i))
		if err != nil {
			t.Fatal(err)
		}
		if pa[i] != pb[i] || pa[i] != one {
			t.Fatalf("row %d: Predict %v, after JSON %v, PredictOne %v", i, pa[i], pb[i], one)
		}
	}
}

// Weight 2 on a row behaves like a duplicated row in the standardisation,
// and zero weights remove rows from the fit's statistics.
func TestFitMLPWeightedStandardisation(t *testing.T) {
	x := mat.NewDense(6, 2, []float64{1, 5, 2, 5, 3, 5, 4, 5, 100, 5, 6, 5})
	y := []bool{true, false, true, false, true, false}
	w := []float64{1, 1, 1, 1, 0, 2}
	m, err := predictors.FitMLP(x, y, w, &predictors.MLPSettings{Epochs: 1, ValidationFraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	// Rows 1,2,3,4,6,6: mean 22/6, population SD √(Σ(x−mean)²/6).
	mean := 22.0 / 6
	var ss float64
	for _, v := range []float64{1, 2, 3, 4, 6, 6} {
		ss += (v - mean) * (v - mean)
	}
	if math.Abs(m.Means[0]-mean) > 1e-12 || math.Abs(m.SDs[0]-math.Sqrt(ss/6)) > 1e-12 {
		t.Errorf("mean %v SD %v, want %v %v", m.Means[0], m.SDs[0], mean, math.Sqrt(ss/6))
	}
	if m.Means[1] != 5 || m.SDs[1] != 1 {
		t.Errorf("constant column: mean %v SD %v, want 5 and 1", m.Means[1], m.SDs[1])
	}
}

func TestFitMLPErrors(t *testing.T) {
	x, y, _ := mlpSimulate(50, 3, 9)
	ones := make([]bool, 50)
	for i := range ones {
		ones[i] = true
	}
	nan := mat.DenseCopyOf(x)
	nan.Set(4, 1, math.NaN())
	for _, c := range []struct {
		name string
		x    mat.Matrix
		y    []bool
		s    *predictors.MLPSettings
		is   error
	}{
		{"single class", x, ones, nil, predictors.ErrSingleClass},
		{"NaN", nan, y, nil, predictors.ErrNotFinite},
		{"0 hidden layers", x, y, &predictors.MLPSettings{Hidden: []int{}}, nil},
		{"4 hidden layers", x, y, &predictors.MLPSettings{Hidden: []int{4, 4, 4, 4}}, nil},
		{"zero units", x, y, &predictors.MLPSettings{Hidden: []int{4, 0}}, nil},
		{"negative epochs", x, y, &predictors.MLPSettings{Epochs: -1}, nil},
		{"validation fraction 0.9", x, y, &predictors.MLPSettings{ValidationFraction: 0.9}, nil},
		{"negative learning rate", x, y, &predictors.MLPSettings{LearningRate: -1}, nil},
	} {
		_, err := predictors.FitMLP(c.x, c.y, nil, c.s)
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.is)
		}
	}

	m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict(mat.NewDense(2, 4, nil), nil); !errors.Is(err, predictors.ErrFeatureCount) {
		t.Errorf("Predict with 4 columns: err = %v", err)
	}
	if _, err := m.PredictOne([]float64{1, 2}); !errors.Is(err, predictors.ErrFeatureCount) {
		t.Errorf("PredictOne with 2 values: err = %v", err)
	}
	if _, _, err := m.Explain([]float64{1, 2, 3, 4}, nil); !errors.Is(err, predictors.ErrFeatureCount) {
		t.Errorf("Explain with 4 values: err = %v", err)
	}
	if _, err := m.PredictOne([]float64{1, math.NaN(), 3}); !errors.Is(err, predictors.ErrNotFinite) {
		t.Errorf("PredictOne with NaN: err = %v", err)
	}
	if _, _, err := m.Explain([]float64{1, math.Inf(-1), 3}, nil); !errors.Is(err, predictors.ErrNotFinite) {
		t.Errorf("Explain with Inf: err = %v", err)
	}
	var zero predictors.MLP
	if _, err := zero.PredictOne(nil); err == nil {
		t.Error("zero MLP: no error")
	}
}
