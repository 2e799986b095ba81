package predictors

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// mlpGradTol bounds the relative error of back-propagation against central
// finite differences with step 1e-6 (truncation error O(h²) ≈ 1e-12 plus
// rounding ≈ 1e-10/h·|J|).
const mlpGradTol = 1e-6

// The back-propagated gradient equals the finite-difference derivative of
// the weighted minibatch loss for every weight and bias, with 1 to 3 hidden
// layers.
func TestMLPGradientMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n, p = 40, 5
	u := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	w := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			u.Set(i, j, rng.NormFloat64())
		}
		y[i] = rng.Float64() < 0.4
		w[i] = rng.Float64() * 2
	}
	w[3] = 0
	idx := []int{0, 3, 5, 6, 7, 11, 19, 23, 30, 39}
	const meanW = 1.3
	batchLoss := func(layers []MLPLayer) float64 {
		b := mlpNewBuffers(layers)
		var s float64
		for _, i := range idx {
			s += w[i] * mlpBCE(mlpForward(layers, u.RawRowView(i), b), y[i])
		}
		return s / (float64(len(idx)) * meanW)
	}
	for _, hidden := range [][]int{{7}, {6, 4}, {5, 4, 3}} {
		layers := mlpInit(p, hidden, 21)
		for l := range layers { // non-zero biases exercise their gradient
			for k := range layers[l].Biases {
				layers[l].Biases[k] = 0.1 * rng.NormFloat64()
			}
		}
		tr := mlpNewTrainer(layers, MLPSettings{})
		tr.gradient(layers, u, y, w, idx, meanW)
		var worst float64
		check := func(theta []float64, grad []float64) {
			const h = 1e-6
			for k := range theta {
				old := theta[k]
				theta[k] = old + h
				up := batchLoss(layers)
				theta[k] = old - h
				down := batchLoss(layers)
				theta[k] = old
				fd := (up - down) / (2 * h)
				worst = max(worst, math.Abs(fd-grad[k])/max(1e-3, math.Abs(fd)))
			}
		}
		for l := range layers {
			check(layers[l].Weights, tr.gW[l])
			check(layers[l].Biases, tr.gB[l])
		}
		t.Logf("hidden %v: worst relative gradient error %.2g", hidden, worst)
		if worst > mlpGradTol {
			t.Errorf("hidden %v: back-propagation differs from finite differences by %v (relative) > %v", hidden, worst, mlpGradTol)
		}
	}
}

// The early-stopping split is stratified, seeded and a partition.
func TestMLPSplitStratified(t *testing.T) {
	y := make([]bool, 150)
	for i := 0; i < 100; i++ {
		y[(i*7)%150] = true // 100 positives, 50 negatives, interleaved
	}
	train, valid := mlpSplit(y, 0.15, 4)
	var vPos, vNeg int
	for _, i := range valid {
		if y[i] {
			vPos++
		} else {
			vNeg++
		}
	}
	// round(0.15·100) = 15, round(0.15·50) = round(7.5) = 8.
	if vPos != 15 || vNeg != 8 || len(train)+len(valid) != 150 {
		t.Errorf("validation has %d positives and %d negatives, training %d rows", vPos, vNeg, len(train))
	}
	seen := make([]bool, 150)
	for _, i := range append(append([]int{}, train...), valid...) {
		if seen[i] {
			t.Fatalf("row %d in both parts", i)
		}
		seen[i] = true
	}
	t2, v2 := mlpSplit(y, 0.15, 4)
	_, v3 := mlpSplit(y, 0.15, 5)
	if !slices.Equal(valid, v2) || !slices.Equal(train, t2) {
		t.Error("same seed gave a different split")
	}
	if slices.Equal(valid, v3) {
		t.Error("different seeds gave the same split")
	}
	// A class of one row stays in training; round(0.15·4) = 1 of four
	// negatives is held out.
	_, v := mlpSplit([]bool{true, false, false, false, false}, 0.15, 1)
	if len(v) != 1 || v[0] == 0 {
		t.Errorf("tiny classes: validation %v, want one negative", v)
	}
}
