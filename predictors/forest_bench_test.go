package predictors_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// forestBenchData generates n rows of 50 standard-normal features with
// P(y=1|x) = σ(x0 + x1 − x2 + 0.5·x3·x4), from a fixed seed.
func forestBenchData(n int) (*mat.Dense, []bool) {
	const p = 50
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	for i := range n {
		r := x.RawRowView(i)
		for j := range r {
			r[j] = rng.NormFloat64()
		}
		y[i] = rng.Float64() < predictors.Sigmoid(r[0]+r[1]-r[2]+0.5*r[3]*r[4])
	}
	return x, y
}

// forestBenchCache keeps the forest fitted by the last BenchmarkForestFit
// run of each size, so that BenchmarkForestPredict does not refit it.
var forestBenchCache sync.Map // n → *predictors.Forest

func forestBenchForest(b *testing.B, n int) *predictors.Forest {
	if f, ok := forestBenchCache.Load(n); ok {
		return f.(*predictors.Forest)
	}
	x, y := forestBenchData(n)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	forestBenchCache.Store(n, f)
	return f
}

// BenchmarkForestFit: 500 trees, mtry ⌊√50⌋ = 7, MinLeaf 1, GOMAXPROCS
// workers.
func BenchmarkForestFit(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x, y := forestBenchData(n)
			b.ResetTimer()
			for b.Loop() {
				f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				forestBenchCache.Store(n, f)
			}
		})
	}
}

// BenchmarkForestPredict scores the n training rows with the 500-tree
// forest fitted on them.
func BenchmarkForestPredict(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			f := forestBenchForest(b, n)
			x, _ := forestBenchData(n)
			dst := make([]float64, n)
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.Predict(x, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkForestExplain: PredictOne + Explain of one row with the 500-tree
// vertebral forest (mtry 2, the reference settings), fully grown
// (minleaf=1, about 69 nodes per tree) and with MinLeaf 5.
func BenchmarkForestExplain(b *testing.B) {
	x, y := mustVertebral(b)
	for _, minLeaf := range []int{1, 5} {
		b.Run(fmt.Sprintf("minleaf=%d", minLeaf), func(b *testing.B) {
			f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Mtry: 2, MinLeaf: minLeaf, Seed: 42})
			if err != nil {
				b.Fatal(err)
			}
			phi := make([]float64, 6)
			i := 0
			for b.Loop() {
				row := x.RawRowView(i % 310)
				i++
				if _, err := f.PredictOne(row); err != nil {
					b.Fatal(err)
				}
				if _, _, err := f.Explain(row, phi); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkForestExplainLarge: Explain of one training row with the 500-tree
// forest fitted on the 10,000 × 50 rows of BenchmarkForestPredict (MinLeaf
// 1: deep trees with thousands of leaves).
func BenchmarkForestExplainLarge(b *testing.B) {
	const n = 10000
	f := forestBenchForest(b, n)
	x, _ := forestBenchData(n)
	phi := make([]float64, 50)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := f.Explain(x.RawRowView(i%n), phi); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
