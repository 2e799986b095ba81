package synth

import (
	"math"
	"testing"
)

func TestDeterministic(t *testing.T) {
	a, b := New(7, 1), New(7, 1)
	c := New(7, 2)
	xa, xb, xc := make([]float64, Features), make([]float64, Features), make([]float64, Features)
	differ := false
	for i := 0; i < 100; i++ {
		ya, ea := a.Row(xa)
		yb, eb := b.Row(xb)
		c.Row(xc)
		if ya != yb || ea != eb {
			t.Fatalf("row %d: same seed and stream gave different rows", i)
		}
		for j := range xa {
			if xa[j] != xb[j] {
				t.Fatalf("row %d col %d: %v != %v", i, j, xa[j], xb[j])
			}
			if xa[j] != xc[j] {
				differ = true
			}
		}
	}
	if !differ {
		t.Error("streams 1 and 2 gave identical data")
	}
}

// TestModel checks the generated data against the generating model on a
// sample large enough for loose moment checks: the correlation of x1 and x6
// (0.8 by construction), the positive rate and the mean of the labels
// against the mean of σ(η).
func TestModel(t *testing.T) {
	const n = 20000
	g := New(1, 1)
	x := make([]float64, Features)
	var s1, s6, s11, s66, s16, pos, sumP float64
	for i := 0; i < n; i++ {
		y, eta := g.Row(x)
		s1 += x[0]
		s6 += x[5]
		s11 += x[0] * x[0]
		s66 += x[5] * x[5]
		s16 += x[0] * x[5]
		if y {
			pos++
		}
		sumP += 1 / (1 + math.Exp(-eta))
		if x[15] < 0 || x[20] < -2 || x[20] > 2 {
			t.Fatalf("row %d: x16=%v x21=%v out of range", i, x[15], x[20])
		}
	}
	m1, m6 := s1/n, s6/n
	corr := (s16/n - m1*m6) / math.Sqrt((s11/n-m1*m1)*(s66/n-m6*m6))
	// Standard error of a correlation near 0.8 at n = 20000 is about 0.003.
	const corrTol = 0.02
	if math.Abs(corr-0.8) > corrTol {
		t.Errorf("corr(x1, x6) = %.4f, want 0.8 ± %v", corr, corrTol)
	}
	// Labels are Bernoulli(σ(η)): their mean matches mean σ(η) within a few
	// binomial standard errors (≤ 0.5/√n ≈ 0.0035).
	const rateTol = 0.015
	if d := math.Abs(pos/n - sumP/n); d > rateTol {
		t.Errorf("positive rate %.4f vs mean σ(η) %.4f", pos/n, sumP/n)
	}
}

func TestRound(t *testing.T) {
	if got := Round(math.Pi); got != 3.14159 {
		t.Errorf("Round(π) = %v, want 3.14159", got)
	}
}
