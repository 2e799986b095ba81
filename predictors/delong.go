package predictors

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// DeLong returns the AUC of scores for labels (as AUC with unit weights) and
// its confidence interval at the given level (0.95 for 95%), from the
// variance estimator of DeLong, DeLong & Clarke-Pearson (1988, Biometrics
// 44:837). With m positives X_i and n negatives Y_j, ψ(x, y) = 1 if x > y,
// ½ if x = y and 0 otherwise, the structural components (placements) are
//
//	V10_i = (1/n) Σ_j ψ(X_i, Y_j),   V01_j = (1/m) Σ_i ψ(X_i, Y_j),
//
// AUC = mean V10 = mean V01, and
//
//	Var(AUC) = S10/m + S01/n,
//	S10 = Σ_i (V10_i − AUC)²/(m − 1),   S01 = Σ_j (V01_j − AUC)²/(n − 1).
//
// The components are computed from one sort of the scores, as in the
// midrank algorithm of Sun & Xu (2014, IEEE Signal Process. Lett. 21:1389),
// in O(N log N) time for N = m + n. The interval is
//
//	AUC ± z·√Var(AUC),   z = Φ⁻¹((1 + level)/2),
//
// clipped to [0, 1], which is what R pROC's ci.auc(method = "delong")
// reports. It is unweighted.
//
// Edge cases: when all scores are tied, AUC = 0.5 and the variance is 0, so
// lower = upper = 0.5. Errors wrap ErrEmpty for no rows, ErrSingleClass for
// one class, ErrNotFinite for a NaN or ±Inf score; fewer than two
// observations in a class (the variance is undefined) is also an error. A
// level outside (0, 1) or a length mismatch panics.
func DeLong(scores []float64, labels []bool, level float64) (auc, lower, upper float64, err error) {
	if !(level > 0 && level < 1) {
		panic(fmt.Sprintf("predictors: DeLong: level %v outside (0, 1)", level))
	}
	metricCheckLen("DeLong", len(scores), labels, nil)
	nan := math.NaN()
	m, n, err := metricCheck(scores, labels, nil, false)
	if err != nil {
		return nan, nan, nan, fmt.Errorf("delong: %w", err)
	}
	if m == 0 || n == 0 {
		return nan, nan, nan, fmt.Errorf("delong: %w", ErrSingleClass)
	}
	if m < 2 || n < 2 {
		return nan, nan, nan, fmt.Errorf("delong: %v positives and %v negatives: the variance needs at least 2 of each", m, n)
	}
	ties := metricTies(scores, labels, nil)
	auc = metricAUCTies(ties, m, n)
	v := metricDeLongVar(ties, m, n, auc)
	z := distuv.UnitNormal.Quantile((1 + level) / 2)
	se := math.Sqrt(v)
	lower = math.Max(0, auc-z*se)
	upper = math.Min(1, auc+z*se)
	return auc, lower, upper, nil
}

// metricDeLongVar returns the DeLong variance S10/m + S01/n from the
// ascending tie groups of an unweighted sample with m positives and n
// negatives. All positives in a tie group share one placement
// V10 = (negatives below + ½·negatives tied)/n, and all negatives one
// V01 = (positives above + ½·positives tied)/m, so the sums run over groups.
func metricDeLongVar(ties []metricTie, m, n, auc float64) float64 {
	var s10, s01, negBelow, posBelow float64
	for _, g := range ties {
		if g.pos > 0 {
			d := (negBelow+g.neg/2)/n - auc
			s10 += g.pos * d * d
		}
		if g.neg > 0 {
			posAbove := m - posBelow - g.pos
			d := (posAbove+g.pos/2)/m - auc
			s01 += g.neg * d * d
		}
		negBelow += g.neg
		posBelow += g.pos
	}
	s10 /= m - 1
	s01 /= n - 1
	return s10/m + s01/n
}
