package predictors_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/spinecast/spinecast/predictors"
)

// metricBenchSizes are the benchmark tiers; run the 1M tier once
// (-benchtime=1x or a few iterations), not in loops.
var metricBenchSizes = []int{10_000, 1_000_000}

// metricBenchData returns n probabilities of a moderately good model, with
// labels drawn from them.
func metricBenchData(n int) ([]float64, []bool) {
	rng := rand.New(rand.NewPCG(31, 32))
	p := make([]float64, n)
	y := make([]bool, n)
	for i := range p {
		p[i] = predictors.Sigmoid(-0.5 + 1.5*rng.NormFloat64())
		y[i] = rng.Float64() < p[i]
	}
	return p, y
}

func BenchmarkAUC(b *testing.B) {
	for _, n := range metricBenchSizes {
		p, y := metricBenchData(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := predictors.AUC(p, y, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDeLong(b *testing.B) {
	for _, n := range metricBenchSizes {
		p, y := metricBenchData(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := predictors.DeLong(p, y, 0.95); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCalibrationSlope(b *testing.B) {
	for _, n := range metricBenchSizes {
		p, y := metricBenchData(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := predictors.CalibrationSlope(p, y, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
