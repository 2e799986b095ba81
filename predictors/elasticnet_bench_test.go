package predictors_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// enetBenchData generates n rows of p standard-normal features with a
// shared factor (pairwise correlation 0.25) and labels from a logistic model
// whose first 10 coefficients are non-zero. Deterministic for a seed.
func enetBenchData(n, p int, seed uint64) (*mat.Dense, []bool) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	beta := make([]float64, p)
	for j := 0; j < 10 && j < p; j++ {
		beta[j] = 0.8 * float64(1-2*(j%2)) / float64(1+j/2)
	}
	row := make([]float64, p)
	for i := 0; i < n; i++ {
		f := rng.NormFloat64()
		eta := -0.5
		for j := range row {
			row[j] = 0.5*f + 0.866*rng.NormFloat64()
			eta += beta[j] * row[j]
		}
		x.SetRow(i, row)
		y[i] = rng.Float64() < predictors.Sigmoid(eta)
	}
	return x, y
}

func BenchmarkFitElasticNetPath(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x, y := enetBenchData(n, 50, 1)
			s := &predictors.ElasticNetSettings{Alpha: 0.5}
			b.ResetTimer()
			var nl int
			for b.Loop() {
				path, err := predictors.FitElasticNetPath(x, y, nil, s)
				if err != nil {
					b.Fatal(err)
				}
				nl = len(path.Lambda)
			}
			b.ReportMetric(float64(nl), "lambdas")
		})
	}
}

func enetBenchModel(b *testing.B) (*predictors.ElasticNet, *mat.Dense) {
	x, y := enetBenchData(10000, 50, 2)
	m, err := predictors.FitElasticNet(x, y, nil, 0.5, 0.005, nil)
	if err != nil {
		b.Fatal(err)
	}
	return m, x
}

func BenchmarkElasticNetPredictOne(b *testing.B) {
	m, x := enetBenchModel(b)
	row := mat.Row(nil, 0, x)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.PredictOne(row); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkElasticNetPredictExplainOne(b *testing.B) {
	m, x := enetBenchModel(b)
	row := mat.Row(nil, 0, x)
	phi := make([]float64, len(row))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.PredictOne(row); err != nil {
			b.Fatal(err)
		}
		if _, _, err := m.Explain(row, phi); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkElasticNetPredict(b *testing.B) {
	m, _ := enetBenchModel(b)
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x, _ := enetBenchData(n, 50, 3)
			dst := make([]float64, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Predict(x, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
