// Package synth generates the benchmark data: a logistic model on 50
// features with a few informative ones, blocks of correlated features and
// plain noise, drawn from a seeded PCG stream so that the same seed always
// gives the same file.
//
// Features (all 50 are written; the first ten carry the signal):
//
//	x1..x5    independent N(0, 1), informative
//	x6..x10   x_{j+5} = 0.8·x_j + 0.6·e, e ~ N(0, 1): correlation 0.8 with
//	          x1..x5; x6 is weakly informative, x7..x10 are not
//	x11..x15  one block sharing a latent factor f: 0.7·f + √0.51·e
//	          (pairwise correlation 0.49); x11 is weakly informative
//	x16..x20  Exp(1) (positive, skewed), not informative
//	x21..x25  Uniform(−2, 2), not informative
//	x26..x50  N(0, 1), not informative
//
// and y ~ Bernoulli(σ(η)) with η = β0 + Σ_j β_j x_j, the coefficients in
// Coef and Intercept. Values are rounded to Digits significant digits before
// η is computed, so the file holds exactly the numbers the model used.
package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// Features is the number of feature columns.
const Features = 50

// Digits is the number of significant digits written for each value.
const Digits = 6

// Intercept is β0 of the generating model.
const Intercept = -0.5

// Coef returns the generating coefficients β1..β50 (index 0 is x1).
func Coef() []float64 {
	b := make([]float64, Features)
	b[0], b[1], b[2], b[3], b[4] = 1.0, -0.8, 0.6, -0.5, 0.4
	b[5] = 0.3   // x6, correlated with x1
	b[10] = 0.25 // x11, in the shared-factor block
	return b
}

// Round rounds v to Digits significant digits, exactly as it is written.
func Round(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', Digits, 64), 64)
	if err != nil {
		panic("synth: " + err.Error()) // cannot happen for a finite float
	}
	return r
}

// Generator draws rows of the benchmark data.
type Generator struct {
	rng  *rand.Rand
	coef []float64
}

// New returns a generator for the given seed and stream; different streams
// of one seed give independent data sets (training and test).
func New(seed, stream uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, stream)), coef: Coef()}
}

// Row fills x (length Features) with one row of features and returns the
// label and the true linear predictor η of that row.
func (g *Generator) Row(x []float64) (y bool, eta float64) {
	if len(x) != Features {
		panic("synth: row length " + strconv.Itoa(len(x)))
	}
	r := g.rng
	for j := 0; j < 5; j++ {
		x[j] = r.NormFloat64()
	}
	for j := 5; j < 10; j++ {
		x[j] = 0.8*x[j-5] + 0.6*r.NormFloat64()
	}
	f := r.NormFloat64()
	for j := 10; j < 15; j++ {
		x[j] = 0.7*f + math.Sqrt(0.51)*r.NormFloat64()
	}
	for j := 15; j < 20; j++ {
		x[j] = r.ExpFloat64()
	}
	for j := 20; j < 25; j++ {
		x[j] = 4*r.Float64() - 2
	}
	for j := 25; j < Features; j++ {
		x[j] = r.NormFloat64()
	}
	eta = Intercept
	for j := range x {
		x[j] = Round(x[j])
		eta += g.coef[j] * x[j]
	}
	p := 1 / (1 + math.Exp(-eta))
	return r.Float64() < p, eta
}
