package predictors

import (
	"fmt"
	"math/rand/v2"
)

// metricFoldStream is the PCG stream (second state word) of
// StratifiedFolds.
const metricFoldStream = 0x666f6c6473 // "folds"

// StratifiedFolds assigns each observation a fold number in 1..k so that
// every fold holds nearly the same number of positives and of negatives:
// the per-fold counts of each class differ by at most one, and so do the
// fold sizes. The positives are shuffled (math/rand/v2 PCG seeded with
// seed) and dealt to folds 1, 2, …, k, 1, 2, … in turn; the negatives are
// shuffled and dealt on, starting at the fold after the last positive, so
// that the smaller folds of one class are filled first by the other. The
// result depends only on labels, k and seed.
//
// When a class has fewer than k members some folds lack that class, and
// when len(labels) < k some folds are empty; callers that need both classes
// in every fold must check. Empty labels give an empty (non-nil) slice.
// k < 1 panics.
func StratifiedFolds(labels []bool, k int, seed uint64) []int {
	if k < 1 {
		panic(fmt.Sprintf("predictors: StratifiedFolds: k = %d; need k ≥ 1", k))
	}
	rng := rand.New(rand.NewPCG(seed, metricFoldStream))
	folds := make([]int, len(labels))
	next := 0
	for _, class := range [2]bool{true, false} {
		var idx []int
		for i, l := range labels {
			if l == class {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			folds[i] = next + 1
			next = (next + 1) % k
		}
	}
	return folds
}
