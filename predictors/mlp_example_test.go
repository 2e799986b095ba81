package predictors_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// Fit a small network to simulated data, predict one row and explain its
// log-odds with exact Shapley values against the training means.
func ExampleFitMLP() {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 600
	x := mat.NewDense(n, 3, nil)
	y := make([]bool, n)
	for i := 0; i < n; i++ {
		a, b, c := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		x.SetRow(i, []float64{a, b, c})
		y[i] = rng.Float64() < predictors.Sigmoid(2*a-b) // c is noise
	}
	m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Hidden: []int{8}, Seed: 7})
	if err != nil {
		fmt.Println(err)
		return
	}
	row := []float64{1.5, -1, 0}
	p, _ := m.PredictOne(row)
	base, phi, _ := m.Explain(row, nil)
	z, _ := m.PredictLogOdds(row)
	fmt.Println("features:", m.NumFeatures(), "layers:", len(m.Layers))
	fmt.Println("high risk:", p > 0.9)
	fmt.Println("additive:", math.Abs(base+phi[0]+phi[1]+phi[2]-z) < 1e-9)
	fmt.Println("x1 pushes up, x2 (low) pushes up:", phi[0] > 0, phi[1] > 0)
	fmt.Println("noise feature matters least:", math.Abs(phi[2]) < math.Abs(phi[0]) && math.Abs(phi[2]) < math.Abs(phi[1]))
	// Output:
	// features: 3 layers: 2
	// high risk: true
	// additive: true
	// x1 pushes up, x2 (low) pushes up: true true
	// noise feature matters least: true
}

// Shapley values of f(x) = 2·x1 + x1·x2 at x = (1, 3) against the origin:
// the linear term goes to x1, the interaction x1·x2 = 3 is split equally.
func ExampleShapleyValues() {
	f := func(z []float64) float64 { return 2*z[0] + z[0]*z[1] }
	x, baseline := []float64{1, 3}, []float64{0, 0}
	phi, err := predictors.ShapleyValues(f, x, baseline, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("base %.1f, phi %.1f, sum %.1f = f(x) %.1f\n", f(baseline), phi, phi[0]+phi[1], f(x))
	// Output:
	// base 0.0, phi [3.5 1.5], sum 5.0 = f(x) 5.0
}
