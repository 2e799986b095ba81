package predictors_test

import (
	"fmt"
	"testing"

	"github.com/spinecast/spinecast/predictors"
)

// mlpBenchFeatures is the feature count of the benchmarks.
const mlpBenchFeatures = 50

// BenchmarkFitMLP fits the default network (one hidden layer of 16, up to
// 300 epochs with early stopping) to simulated logistic data with 50
// features. Run the n=100000 tier once: -bench 'FitMLP/n=100000' -benchtime 1x.
func BenchmarkFitMLP(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x, y, _ := mlpSimulate(n, mlpBenchFeatures, 1)
			b.ResetTimer()
			for b.Loop() {
				m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(m.EpochsRun), "epochs")
			}
		})
	}
}

func mlpBenchModel(b *testing.B) (*predictors.MLP, []float64) {
	b.Helper()
	x, y, _ := mlpSimulate(2000, mlpBenchFeatures, 1)
	m, err := predictors.FitMLP(x, y, nil, &predictors.MLPSettings{Seed: 1, Epochs: 5})
	if err != nil {
		b.Fatal(err)
	}
	return m, x.RawRowView(0)
}

func BenchmarkMLPPredictOne(b *testing.B) {
	m, row := mlpBenchModel(b)
	b.Run(fmt.Sprintf("p=%d", mlpBenchFeatures), func(b *testing.B) {
		for b.Loop() {
			if _, err := m.PredictOne(row); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMLPExplain times one explanation with 50 features: 256 sampled
// permutations, 12,800 network evaluations.
func BenchmarkMLPExplain(b *testing.B) {
	m, row := mlpBenchModel(b)
	phi := make([]float64, mlpBenchFeatures)
	b.Run(fmt.Sprintf("p=%d", mlpBenchFeatures), func(b *testing.B) {
		for b.Loop() {
			if _, _, err := m.Explain(row, phi); err != nil {
				b.Fatal(err)
			}
		}
	})
}
