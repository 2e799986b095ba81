package predictors_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/spinecast/spinecast/predictors"
)

func TestMetricStratifiedFolds(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct {
		n, k int
		rate float64
	}{
		{310, 5, 210.0 / 310}, {100, 10, 0.1}, {7, 3, 0.5}, {1000, 7, 0.03}, {4, 5, 0.5},
	} {
		labels := make([]bool, c.n)
		for i := range labels {
			labels[i] = rng.Float64() < c.rate
		}
		folds := predictors.StratifiedFolds(labels, c.k, 99)
		if len(folds) != c.n {
			t.Fatalf("n=%d k=%d: %d folds", c.n, c.k, len(folds))
		}
		pos := make([]int, c.k)
		neg := make([]int, c.k)
		for i, f := range folds {
			if f < 1 || f > c.k {
				t.Fatalf("n=%d k=%d: fold %d out of 1..%d", c.n, c.k, f, c.k)
			}
			if labels[i] {
				pos[f-1]++
			} else {
				neg[f-1]++
			}
		}
		size := make([]int, c.k)
		for f := range size {
			size[f] = pos[f] + neg[f]
		}
		for name, counts := range map[string][]int{"positives": pos, "negatives": neg, "sizes": size} {
			if slices.Max(counts)-slices.Min(counts) > 1 {
				t.Errorf("n=%d k=%d: %s per fold %v differ by more than 1", c.n, c.k, name, counts)
			}
		}
		if again := predictors.StratifiedFolds(labels, c.k, 99); !slices.Equal(folds, again) {
			t.Errorf("n=%d k=%d: not deterministic", c.n, c.k)
		}
		if c.n >= 100 {
			if other := predictors.StratifiedFolds(labels, c.k, 100); slices.Equal(folds, other) {
				t.Errorf("n=%d k=%d: seeds 99 and 100 give the same folds", c.n, c.k)
			}
		}
	}
	if got := predictors.StratifiedFolds(nil, 5, 1); got == nil || len(got) != 0 {
		t.Errorf("empty labels: %v, want empty non-nil", got)
	}
	metricMustPanic(t, "k=0", func() { predictors.StratifiedFolds([]bool{true}, 0, 1) })
}
