package predictors_test

import (
	"fmt"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// forestBenchCache keeps the forest fitted by the last BenchmarkForestFit
// run of each size, so that BenchmarkForestPredict does not refit it.
var forestBenchCache sync.Map // n → *predictors.Forest

func forestBenchForest(b *testing.B, n int) *predictors.Forest {
	if f, ok := forestBenchCache.Load(n); ok {
		return f.(*predictors.Forest)
	}
	x, y := predictors.ForestBenchData(n)
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
			x, y := predictors.ForestBenchData(n)
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
			x, _ := predictors.ForestBenchData(n)
			dst := make([]float64, n)
			b.ResetTimer()
			c0 := predictors.BenchCPUTime()
			for b.Loop() {
				if _, err := f.Predict(x, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(predictors.BenchCPUTime()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// forestExplainCache keeps the forests of the Explain benchmarks across
// -count repetitions.
var forestExplainCache sync.Map // name → *predictors.Forest

// forestExplainBench times PredictOne + Explain of the rows of x in turn
// with Algorithm 2 for every tree ("alg2", the code before the tables),
// with subset tables for the shallow trees and Algorithm 2 for the others
// ("tables"), and as Explain does, with the quadrature form for the trees
// without tables ("quad"), and with the quadrature form for every tree
// ("quadonly"), as interleaved sub-benchmarks of one process on
// the same forest. Besides wall time it reports the process's CPU time per
// operation (cpu-ns/op), steadier on a machine shared with other jobs;
// with GOMAXPROCS=1 it is the benchmark's own.
func forestExplainBench(b *testing.B, name string, x *mat.Dense, fit func() (*predictors.Forest, error)) {
	v, ok := forestExplainCache.Load(name)
	if !ok {
		f, err := fit()
		if err != nil {
			b.Fatal(err)
		}
		forestExplainCache.Store(name, f)
		v = f
	}
	f := v.(*predictors.Forest)
	// three rounds of the pair, so that a change in the machine's load
	// shows in both
	for rep := range 3 {
		for _, algo := range []string{"alg2", "tables", "quad", "quadonly"} {
			forestExplainRun(b, fmt.Sprintf("rep=%d/algo=%s", rep, algo), f, x, algo)
		}
	}
}

// forestExplainRun is one sub-benchmark of forestExplainBench.
func forestExplainRun(b *testing.B, name string, f *predictors.Forest, x *mat.Dense, algo string) {
	n, p := x.Dims()
	b.Run(name, func(b *testing.B) {
		g := f
		switch algo {
		case "alg2":
			g = predictors.WithoutTreeSHAPTables(f)
		case "tables":
			g = predictors.WithTreeSHAPTablesOnly(f)
		case "quadonly":
			g = predictors.WithTreeSHAPQuadOnly(f)
		}
		phi := make([]float64, p)
		// the first Explain builds the lazily computed tables
		if _, _, err := g.Explain(x.RawRowView(0), phi); err != nil {
			b.Fatal(err)
		}
		i := 0
		b.ResetTimer()
		c0 := predictors.BenchCPUTime()
		for b.Loop() {
			row := x.RawRowView(i % n)
			i++
			if _, err := g.PredictOne(row); err != nil {
				b.Fatal(err)
			}
			if _, _, err := g.Explain(row, phi); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(predictors.BenchCPUTime()-c0)/float64(b.N), "cpu-ns/op")
	})
}

// BenchmarkForestExplain: PredictOne + Explain of one row with the 500-tree
// vertebral forest (mtry 2, the reference settings), fully grown
// (minleaf=1, about 69 nodes per tree) and with MinLeaf 5.
func BenchmarkForestExplain(b *testing.B) {
	x, y := mustVertebral(b)
	for _, minLeaf := range []int{1, 5} {
		name := fmt.Sprintf("minleaf=%d", minLeaf)
		b.Run(name, func(b *testing.B) {
			forestExplainBench(b, "vertebral/"+name, x, func() (*predictors.Forest, error) {
				return predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, Mtry: 2, MinLeaf: minLeaf, Seed: 42})
			})
		})
	}
}

// BenchmarkForestExplainDepth: PredictOne + Explain of one training row with
// forests fitted on the 10,000 × 50 rows of BenchmarkForestPredict, of
// limited depth: the served default models' settings (60 trees, MaxDepth 7,
// MinLeaf 40) and 500 trees with MaxDepth 8, 10 and 12 (MinLeaf 1).
func BenchmarkForestExplainDepth(b *testing.B) {
	const n = 10000
	x, y := predictors.ForestBenchData(n)
	cases := []struct {
		name string
		set  predictors.ForestSettings
	}{
		{"served=60x7x40", predictors.ForestSettings{Trees: 60, MaxDepth: 7, MinLeaf: 40, Seed: 1}},
		{"depth=8", predictors.ForestSettings{Trees: 500, MaxDepth: 8, Seed: 1}},
		{"depth=10", predictors.ForestSettings{Trees: 500, MaxDepth: 10, Seed: 1}},
		{"depth=12", predictors.ForestSettings{Trees: 500, MaxDepth: 12, Seed: 1}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			forestExplainBench(b, "10k/"+c.name, x, func() (*predictors.Forest, error) {
				return predictors.FitForest(x, y, nil, &c.set)
			})
		})
	}
}

// BenchmarkForestExplainLarge: PredictOne + Explain of one training row
// with the 500-tree forest fitted on the 10,000 × 50 rows of
// BenchmarkForestPredict (MinLeaf 1: deep trees with about 1,200 leaves).
func BenchmarkForestExplainLarge(b *testing.B) {
	const n = 10000
	x, _ := predictors.ForestBenchData(n)
	forestExplainBench(b, "10k/full", x, func() (*predictors.Forest, error) {
		return forestBenchForest(b, n), nil
	})
}
