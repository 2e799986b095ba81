package predictors

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestForestIJGramEqualsDefinition compares ForestIJ.Variance with the
// definition V_IJ = Σ_i Cov_b(N_bi, t_b(x))², bias-corrected, computed
// directly from the bootstrap counts, and the probability Interval returns
// with PredictOne's.
func TestForestIJGramEqualsDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, p, b := 120, 4, 60
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			x.Set(i, j, rng.NormFloat64())
		}
		y[i] = rng.Float64() < Sigmoid(x.At(i, 0)-x.At(i, 1))
	}
	f, err := FitForest(x, y, nil, &ForestSettings{Trees: b, MinLeaf: 3, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	ij, err := f.InfinitesimalJackknife()
	if err != nil {
		t.Fatal(err)
	}
	corrected := 0
	for r := 0; r < 20; r++ {
		row := x.RawRowView(r)
		tb := make([]float64, b)
		var mean float64
		for k := range f.Trees {
			tb[k] = f.Trees[k].leaf(row)
			mean += tb[k] / float64(b)
		}
		var vij, ss float64
		for i := 0; i < n; i++ {
			var nbar float64
			for k := 0; k < b; k++ {
				nbar += float64(f.inCount[k][i]) / float64(b)
			}
			var cov float64
			for k := 0; k < b; k++ {
				cov += (float64(f.inCount[k][i]) - nbar) * (tb[k] - mean) / float64(b)
			}
			vij += cov * cov
		}
		for k := 0; k < b; k++ {
			ss += (tb[k] - mean) * (tb[k] - mean)
		}
		want := vij - float64(n)/float64(b*b)*ss
		if want <= 0 {
			want = vij
		} else {
			corrected++
		}
		got, err := ij.Variance(f, row)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12*math.Max(1, want) {
			t.Fatalf("row %d: Variance = %.15g, definition %.15g", r, got, want)
		}
		// Interval's probability is PredictOne's, bit for bit, from the
		// packed trees and from the trees as built by hand
		for _, g := range []*Forest{f, {NFeatures: f.NFeatures, Trees: f.Trees}} {
			pr, err := g.PredictOne(row)
			if err != nil {
				t.Fatal(err)
			}
			pi, lo, hi, err := ij.Interval(g, row)
			if err != nil {
				t.Fatal(err)
			}
			if pi != pr || !(lo <= pi && pi <= hi) {
				t.Fatalf("row %d (packed %v): Interval %v [%v, %v], PredictOne %v", r, len(g.packed) > 0, pi, lo, hi, pr)
			}
		}
	}
	if corrected == 0 {
		t.Fatal("test setup: no row exercised the bias-corrected branch")
	}
}

// TestForestIJIntervalNearBoundary: the arcsine-scale interval stays in
// [0, 1], contains p, and stays narrow near the boundary where a logit
// delta-method interval would span almost all of (0, 1).
func TestForestIJIntervalNearBoundary(t *testing.T) {
	for _, c := range []struct{ p, se, minLo, maxHi float64 }{
		{0.995, 0.05, 0.60, 1}, // logit scale: [0.006, 0.9997]
		{0.005, 0.05, 0, 0.40},
		{1, 0, 1, 1},
		{0, 0, 0, 0},
		{0.5, 0.05, 0.40, 0.60},
	} {
		lo, hi := forestIJInterval(c.p, c.se*c.se)
		if !(0 <= lo && lo <= c.p && c.p <= hi && hi <= 1) {
			t.Errorf("p %v, SE %v: [%v, %v] does not satisfy 0 ≤ lo ≤ p ≤ hi ≤ 1", c.p, c.se, lo, hi)
		}
		if lo < c.minLo || hi > c.maxHi {
			t.Errorf("p %v, SE %v: [%v, %v], want within [%v, %v]", c.p, c.se, lo, hi, c.minLo, c.maxHi)
		}
	}
	// At p = 0.5 the interval is p ± 1.96·SE to first order.
	lo, hi := forestIJInterval(0.5, 0.01*0.01)
	if math.Abs(lo-(0.5-0.0196)) > 1e-4 || math.Abs(hi-(0.5+0.0196)) > 1e-4 {
		t.Errorf("p 0.5, SE 0.01: [%v, %v], want ≈ [0.4804, 0.5196]", lo, hi)
	}
}

// TestForestIJIntervalBatch checks IntervalBatch against Interval row by
// row, bit for bit, through both Predict paths (the AVX-512 partition
// where the machine has it, and the row-by-row walk), for a Dense and a
// non-Dense matrix, and that a NaN is refused.
func TestForestIJIntervalBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, p, b := 303, 5, 40 // 303: groups of four rows and a tail of three
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	for i := range n {
		for j := range p {
			x.Set(i, j, rng.NormFloat64())
		}
		y[i] = rng.Float64() < Sigmoid(x.At(i, 0)+x.At(i, 2))
	}
	f, err := FitForest(x, y, nil, &ForestSettings{Trees: b, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	ij, err := f.InfinitesimalJackknife()
	if err != nil {
		t.Fatal(err)
	}
	saved := forestSIMD
	defer func() { forestSIMD = saved }()
	for _, simd := range []bool{false, saved} {
		forestSIMD = simd
		for _, m := range []mat.Matrix{x, x.T().T()} {
			ps, los, his, err := ij.IntervalBatch(f, m)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				pw, lw, hw, err := ij.Interval(f, x.RawRowView(i))
				if err != nil {
					t.Fatal(err)
				}
				if ps[i] != pw || los[i] != lw || his[i] != hw {
					t.Fatalf("simd %v, %T, row %d: IntervalBatch %v [%v, %v], Interval %v [%v, %v]", simd, m, i, ps[i], los[i], his[i], pw, lw, hw)
				}
			}
		}
	}
	bad := mat.DenseCopyOf(x)
	bad.Set(7, 1, math.NaN())
	if _, _, _, err := ij.IntervalBatch(f, bad); !errors.Is(err, ErrNotFinite) {
		t.Fatalf("NaN: got %v, want ErrNotFinite", err)
	}
}
