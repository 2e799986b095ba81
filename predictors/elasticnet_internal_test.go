package predictors

import (
	"math"
	"math/rand/v2"
	"testing"
)

// enetLogProductTol is the largest error allowed in Σ log π per row when it
// is computed as the log of a product: each of the n multiplications adds
// at most 2⁻⁵³ relative, each π_i's log in the reference at most
// 2⁻⁵³·|log π_i| ≤ 2⁻⁵³·11.6 (π ≥ pmin = 1e-5); 2⁻⁴⁸ per row covers both.
const enetLogProductTol = 0x1p-48

// TestEnetDevianceLogOfProduct: with equal weights deviance sums the logs
// as the log of a renormalised product. It is checked against a
// compensated (Neumaier) sum of the per-row logs, for row counts around the
// block of 8 and up to 100,003, with fitted values that are clipped (0, 1,
// below pmin) and ordinary; the plain sum of logs (the path for unequal
// weights) is reported for comparison.
func TestEnetDevianceLogOfProduct(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 8, 9, 17, 1000, 100003} {
		pr := &enetProblem{n: n, y: make([]float64, n), w: make([]float64, n), equalW: true}
		s := &enetSolver{pr: pr, q: make([]float64, n)}
		for i := range n {
			pr.w[i] = 1 / float64(n)
			if rng.IntN(2) == 1 {
				pr.y[i] = 1
			}
			switch rng.IntN(10) {
			case 0:
				s.q[i] = 0
			case 1:
				s.q[i] = 1
			case 2:
				s.q[i] = enetPMin * rng.Float64()
			default:
				s.q[i] = rng.Float64()
			}
		}
		// reference: Neumaier's compensated sum of the per-row logs
		var sum, comp float64
		for i, qi := range s.q {
			p := math.Min(math.Max(qi, enetPMin), 1-enetPMin)
			if pr.y[i] == 0 {
				p = 1 - p
			}
			v := math.Log(p)
			t := sum + v
			if math.Abs(sum) >= math.Abs(v) {
				comp += (sum - t) + v
			} else {
				comp += (v - t) + sum
			}
			sum = t
		}
		ref := sum + comp
		got := s.sumLogLik()
		pr.equalW = false
		plain := -s.deviance() / pr.w[0]
		pr.equalW = true
		if d := math.Abs(got - ref); d > float64(n)*enetLogProductTol {
			t.Errorf("n=%d: Σ log π = %v as log of a product, %v compensated: |diff| %.3g > %.3g", n, got, ref, d, float64(n)*enetLogProductTol)
		}
		if d := math.Abs(-pr.w[0]*got - s.deviance()); d != 0 {
			t.Errorf("n=%d: deviance with equal weights is not −w·sumLogLik (diff %.3g)", n, d)
		}
		t.Logf("n=%6d: |log of product − compensated| = %.3g, |plain sum − compensated| = %.3g", n, math.Abs(got-ref), math.Abs(plain-ref))
	}
}
