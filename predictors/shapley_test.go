package predictors_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/spinecast/spinecast/predictors"
)

// mlpAdditivityTol is the Explainer contract: base + Σφ = f(x) to 1e-9.
const mlpAdditivityTol = 1e-9

// mlpClosedFormTol bounds rounding error against closed-form Shapley values.
const mlpClosedFormTol = 1e-12

func mlpRandVec(rng *rand.Rand, p int) []float64 {
	v := make([]float64, p)
	for j := range v {
		v[j] = rng.NormFloat64()
	}
	return v
}

func mlpSum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// A linear function gets φ_j = β_j·(x_j − b_j), exactly and when sampled
// (every ordering gives the same marginal contribution).
func TestShapleyValuesLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name     string
		p        int
		maxExact int
	}{{"exact p=5", 5, 0}, {"exact p=12", 12, 0}, {"sampled p=30", 30, 0}, {"sampled p=5", 5, -1}} {
		beta, x, b := mlpRandVec(rng, c.p), mlpRandVec(rng, c.p), mlpRandVec(rng, c.p)
		f := func(z []float64) float64 {
			s := 0.7
			for j, v := range z {
				s += beta[j] * v
			}
			return s
		}
		phi, err := predictors.ShapleyValues(f, x, b, nil, &predictors.ShapleySettings{MaxExact: c.maxExact, Seed: 9})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for j := range phi {
			if want := beta[j] * (x[j] - b[j]); math.Abs(phi[j]-want) > mlpClosedFormTol {
				t.Errorf("%s: φ_%d = %v, want β(x−b) = %v", c.name, j, phi[j], want)
			}
		}
	}
}

// f = x1·x2 (plus a feature that does nothing): the interventional values
// are φ_1 = ½(x1−b1)(x2+b2), φ_2 = ½(x2−b2)(x1+b1), φ_3 = 0; with a zero
// baseline the interaction x1·x2 is split equally.
func TestShapleyValuesProductSplitsInteraction(t *testing.T) {
	f := func(z []float64) float64 { return z[0] * z[1] }
	for _, c := range []struct {
		x, b []float64
	}{
		{[]float64{2, 3, 5}, []float64{0, 0, 0}},
		{[]float64{2, -3, 5}, []float64{0.5, 1.5, -1}},
	} {
		for _, maxExact := range []int{0, -1} { // exact, sampled
			phi, err := predictors.ShapleyValues(f, c.x, c.b, nil, &predictors.ShapleySettings{MaxExact: maxExact, Permutations: 2})
			if err != nil {
				t.Fatal(err)
			}
			x1, x2, b1, b2 := c.x[0], c.x[1], c.b[0], c.b[1]
			want := []float64{(x1 - b1) * (x2 + b2) / 2, (x2 - b2) * (x1 + b1) / 2, 0}
			for j := range want {
				// Sampled values are exact here too: an ordering and its
				// reverse put feature 1 before 2 once each.
				if math.Abs(phi[j]-want[j]) > mlpClosedFormTol {
					t.Errorf("x %v b %v maxExact %d: φ = %v, want %v", c.x, c.b, maxExact, phi, want)
					break
				}
			}
		}
	}
}

// A three-way product with a zero baseline gives each factor a third of
// it. The exact values are exact; the sampled ones are a Monte Carlo
// estimate: with 128 antithetic pairs each φ_j/f(x) has standard deviation
// ½·√(2/9)/√128 ≈ 0.021, so 0.085 is four standard deviations.
func TestShapleyValuesThreeWayProduct(t *testing.T) {
	const p = 15
	rng := rand.New(rand.NewPCG(7, 8))
	x := mlpRandVec(rng, p)
	b := make([]float64, p)
	f := func(z []float64) float64 { return z[2] * z[7] * z[11] }
	fx := f(x)
	for _, maxExact := range []int{p, 0} { // exact, sampled (p > 12)
		phi, err := predictors.ShapleyValues(f, x, b, nil, &predictors.ShapleySettings{MaxExact: maxExact, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		tol := mlpClosedFormTol
		if maxExact == 0 {
			tol = 0.085 * math.Abs(fx)
		}
		for j := range phi {
			want := 0.0
			if j == 2 || j == 7 || j == 11 {
				want = fx / 3
			}
			if math.Abs(phi[j]-want) > tol {
				t.Errorf("maxExact %d: φ_%d = %v, want %v ± %v", maxExact, j, phi[j], want, tol)
			}
		}
		if math.Abs(mlpSum(phi)-fx) > mlpAdditivityTol {
			t.Errorf("maxExact %d: Σφ = %v, want f(x) − f(0) = %v", maxExact, mlpSum(phi), fx)
		}
	}
}

// Additivity f(baseline) + Σφ = f(x) for a non-additive function, in both
// regimes, and determinism of the sampled regime for a given seed.
func TestShapleyValuesAdditiveAndSeeded(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	f := func(z []float64) float64 {
		s := 0.0
		for j, v := range z {
			s += math.Sin(float64(j)+v) * math.Cos(z[(j+1)%len(z)])
		}
		return 3 * math.Tanh(s)
	}
	for _, p := range []int{1, 2, 8, 12, 13, 40} {
		x, b := mlpRandVec(rng, p), mlpRandVec(rng, p)
		s := &predictors.ShapleySettings{Seed: 42}
		phi, err := predictors.ShapleyValues(f, x, b, nil, s)
		if err != nil {
			t.Fatal(err)
		}
		if d := f(b) + mlpSum(phi) - f(x); math.Abs(d) > mlpAdditivityTol {
			t.Errorf("p=%d: f(b) + Σφ − f(x) = %v", p, d)
		}
		again, _ := predictors.ShapleyValues(f, x, b, make([]float64, p), s)
		for j := range phi {
			if phi[j] != again[j] {
				t.Errorf("p=%d: same seed gave different values", p)
				break
			}
		}
	}
}

// Sampled values converge to the exact ones for a nonlinear function.
func TestShapleyValuesSampledNearExact(t *testing.T) {
	const p = 8
	rng := rand.New(rand.NewPCG(13, 14))
	x, b := mlpRandVec(rng, p), mlpRandVec(rng, p)
	f := func(z []float64) float64 {
		return math.Tanh(z[0]*z[1]-z[2]) + z[3]*z[4]*z[5] + math.Exp(0.3*z[6]) - z[7]
	}
	exact, err := predictors.ShapleyValues(f, x, b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sampled, err := predictors.ShapleyValues(f, x, b, nil, &predictors.ShapleySettings{MaxExact: -1, Permutations: 20000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The Monte Carlo error of each value is at most the range of its
	// marginal contributions (a few units here) over √(10,000 pairs), i.e.
	// a few hundredths: mlpSampledTol is several times that, while a wrong
	// coalition weighting would be off by O(|φ|) ≈ 0.1–1.
	const mlpSampledTol = 0.05
	var worst float64
	for j := range exact {
		worst = max(worst, math.Abs(sampled[j]-exact[j]))
	}
	t.Logf("exact %v\nmax |sampled − exact| = %.3g", exact, worst)
	if worst > mlpSampledTol {
		t.Errorf("sampled %v, exact %v: max diff %v > %v", sampled, exact, worst, mlpSampledTol)
	}
}

func TestShapleyValuesErrors(t *testing.T) {
	f := func(z []float64) float64 { return z[0] }
	if _, err := predictors.ShapleyValues(f, []float64{math.NaN(), 1}, []float64{0, 0}, nil, nil); !errors.Is(err, predictors.ErrNotFinite) {
		t.Errorf("NaN x: err = %v", err)
	}
	if _, err := predictors.ShapleyValues(f, []float64{1, 1}, []float64{math.Inf(1), 0}, nil, nil); !errors.Is(err, predictors.ErrNotFinite) {
		t.Errorf("Inf baseline: err = %v", err)
	}
	bad := func(z []float64) float64 { return math.Log(z[0]) }
	for _, maxExact := range []int{0, -1} {
		if _, err := predictors.ShapleyValues(bad, []float64{-1, 1}, []float64{1, 0}, nil, &predictors.ShapleySettings{MaxExact: maxExact}); !errors.Is(err, predictors.ErrNotFinite) {
			t.Errorf("f returns NaN (maxExact %d): err = %v", maxExact, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("length mismatch did not panic")
		}
	}()
	_, _ = predictors.ShapleyValues(f, []float64{1, 2}, []float64{0}, nil, nil)
}
