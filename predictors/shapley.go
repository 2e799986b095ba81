package predictors

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// ShapleySettings controls ShapleyValues. The zero value means the defaults.
type ShapleySettings struct {
	// MaxExact is the largest number of features for which the values are
	// computed exactly by enumerating all 2^p coalitions. Zero means 12; a
	// negative value always samples; values above 20 are treated as 20
	// (2^20 model evaluations per explanation).
	MaxExact int `json:"max_exact"`
	// Permutations is the number of sampled feature orderings used above
	// MaxExact. Zero means 256; an odd number is rounded up, because the
	// orderings come in antithetic pairs (an ordering and its reverse).
	Permutations int `json:"permutations"`
	// Seed makes the sampled orderings reproducible.
	Seed uint64 `json:"seed"`
}

const (
	mlpShapleyDefaultMaxExact     = 12
	mlpShapleyLimitMaxExact       = 20
	mlpShapleyDefaultPermutations = 256
	mlpShapleyStream              = 0x5ba7 // PCG stream for permutation sampling
)

// ShapleyValues computes interventional Shapley values of a scalar function f
// at the point x against a single baseline point: the value of a coalition S
// of features is
//
//	v(S) = f(z),  z_j = x_j for j ∈ S, z_j = baseline_j otherwise,
//
// and feature j receives
//
//	φ_j = Σ_{S ⊆ N∖{j}} |S|!·(p−|S|−1)!/p! · (v(S ∪ {j}) − v(S)).
//
// With p ≤ MaxExact features the sum is evaluated exactly over all 2^p
// coalitions (2^p calls of f). Above it, φ_j is the mean over sampled
// orderings π of the marginal contribution of j when the features are
// switched from baseline to x in the order π; orderings are drawn in
// antithetic pairs (π and its reverse), which lowers the variance. Both
// regimes are additive: with the base value v(∅) = f(baseline),
// f(baseline) + Σ_j φ_j = f(x) up to floating-point rounding (sampling
// telescopes within every ordering).
//
// The contributions are written into phi (allocated when nil) and returned.
// f is called with a scratch slice that ShapleyValues reuses between calls:
// f must not modify or retain it, and it is called from one goroutine only.
// x and baseline must have the same length as phi (a mismatch panics). A NaN
// or Inf in x or baseline, or a non-finite value of f, is returned as an
// error wrapping ErrNotFinite. With p = 0 there are no contributions (and f is
// called once).
func ShapleyValues(f func(x []float64) float64, x, baseline []float64, phi []float64, s *ShapleySettings) ([]float64, error) {
	return mlpShapleyValues(f, nil, x, baseline, phi, s)
}

// mlpShapleyValues is ShapleyValues with an optional walker for the sampled
// regime; walk must evaluate the same function as f at the same x and
// baseline. Nil means calling f.
func mlpShapleyValues(f func(x []float64) float64, walk mlpWalker, x, baseline []float64, phi []float64, s *ShapleySettings) ([]float64, error) {
	p := len(x)
	if len(baseline) != p {
		panic(fmt.Sprintf("predictors: baseline has length %d for %d features", len(baseline), p))
	}
	if phi == nil {
		phi = make([]float64, p)
	}
	if len(phi) != p {
		panic(fmt.Sprintf("predictors: phi has length %d for %d features", len(phi), p))
	}
	for j := range x {
		if math.IsNaN(x[j]) || math.IsInf(x[j], 0) {
			return nil, fmt.Errorf("shapley values: x[%d]: %w", j, ErrNotFinite)
		}
		if math.IsNaN(baseline[j]) || math.IsInf(baseline[j], 0) {
			return nil, fmt.Errorf("shapley values: baseline[%d]: %w", j, ErrNotFinite)
		}
	}
	var set ShapleySettings
	if s != nil {
		set = *s
	}
	maxExact := set.MaxExact
	switch {
	case maxExact == 0:
		maxExact = mlpShapleyDefaultMaxExact
	case maxExact > mlpShapleyLimitMaxExact:
		maxExact = mlpShapleyLimitMaxExact
	}
	for j := range phi {
		phi[j] = 0
	}
	var err error
	if p <= maxExact {
		err = mlpShapleyExact(f, x, baseline, phi)
	} else {
		perms := set.Permutations
		if perms <= 0 {
			perms = mlpShapleyDefaultPermutations
		}
		if walk == nil {
			walk = &mlpFuncWalker{f: f, x: x, baseline: baseline, z: make([]float64, p)}
		}
		err = mlpShapleySampled(walk, phi, (perms+1)/2, set.Seed)
	}
	if err != nil {
		return nil, err
	}
	return phi, nil
}

// mlpWalker evaluates a function while the features are switched, one at a
// time, from their baseline values to those of x. A model can implement it
// incrementally (see mlpExplainWalker); mlpFuncWalker is the generic one.
type mlpWalker interface {
	// reset puts every feature at its baseline value and returns f there.
	reset() float64
	// set switches feature j to x_j and returns f at the new point.
	set(j int) float64
}

// mlpFuncWalker walks by calling f on a scratch point.
type mlpFuncWalker struct {
	f              func([]float64) float64
	x, baseline, z []float64
}

func (w *mlpFuncWalker) reset() float64 {
	copy(w.z, w.baseline)
	return w.f(w.z)
}

func (w *mlpFuncWalker) set(j int) float64 {
	w.z[j] = w.x[j]
	return w.f(w.z)
}

// mlpShapleyExact enumerates all coalitions. v[mask] holds f at the point
// whose features in mask come from x; φ_j accumulates the weighted marginal
// contributions v(S∪{j}) − v(S) over the masks S without j.
func mlpShapleyExact(f func([]float64) float64, x, baseline, phi []float64) error {
	p := len(x)
	n := 1 << p
	v := make([]float64, n)
	z := make([]float64, p)
	for mask := 0; mask < n; mask++ {
		for j := 0; j < p; j++ {
			if mask&(1<<j) != 0 {
				z[j] = x[j]
			} else {
				z[j] = baseline[j]
			}
		}
		fv := f(z)
		if math.IsNaN(fv) || math.IsInf(fv, 0) {
			return fmt.Errorf("shapley values: f returned %v: %w", fv, ErrNotFinite)
		}
		v[mask] = fv
	}
	// weight[k] = k!(p−k−1)!/p!, computed as 1/(p·C(p−1, k)).
	weight := make([]float64, p)
	for k := 0; k < p; k++ {
		c := 1.0 // C(p−1, k)
		for i := 0; i < k; i++ {
			c = c * float64(p-1-i) / float64(i+1)
		}
		weight[k] = 1 / (float64(p) * c)
	}
	for mask := 0; mask < n; mask++ {
		w := 0.0
		if p > 0 {
			k := bits.OnesCount(uint(mask))
			if k == p {
				continue
			}
			w = weight[k]
		}
		for j := 0; j < p; j++ {
			if mask&(1<<j) == 0 {
				phi[j] += w * (v[mask|1<<j] - v[mask])
			}
		}
	}
	return nil
}

// mlpShapleySampled averages marginal contributions along pairs of
// orderings (π, reverse π). Along each ordering the contributions sum to
// f(x) − f(baseline) exactly in exact arithmetic, so the mean is additive.
func mlpShapleySampled(walk mlpWalker, phi []float64, pairs int, seed uint64) error {
	p := len(phi)
	rng := rand.New(rand.NewPCG(seed, mlpShapleyStream))
	perm := make([]int, p)
	for j := range perm {
		perm[j] = j
	}
	along := func(order func(k int) int) error {
		prev := walk.reset()
		if math.IsNaN(prev) || math.IsInf(prev, 0) {
			return fmt.Errorf("shapley values: f returned %v at the baseline: %w", prev, ErrNotFinite)
		}
		for k := 0; k < p; k++ {
			j := order(k)
			cur := walk.set(j)
			if math.IsNaN(cur) || math.IsInf(cur, 0) {
				return fmt.Errorf("shapley values: f returned %v: %w", cur, ErrNotFinite)
			}
			phi[j] += cur - prev
			prev = cur
		}
		return nil
	}
	for r := 0; r < pairs; r++ {
		rng.Shuffle(p, func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		if err := along(func(k int) int { return perm[k] }); err != nil {
			return err
		}
		if err := along(func(k int) int { return perm[p-1-k] }); err != nil {
			return err
		}
	}
	inv := 1 / float64(2*pairs)
	for j := range phi {
		phi[j] *= inv
	}
	return nil
}
