package predictors

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// PairedAUC is the result of DeLongPaired: two correlated AUCs on the same
// cases, their difference and its test.
type PairedAUC struct {
	AUC1, AUC2 float64
	// Diff is AUC1 − AUC2 and SE its DeLong standard error.
	Diff, SE float64
	// Lower and Upper bound the confidence interval of Diff at the
	// requested level (not clipped).
	Lower, Upper float64
	// Z = Diff/SE and P its two-sided normal p-value 2·Φ(−|Z|).
	Z, P float64
}

// DeLongPaired compares the AUCs of two scores on the same cases with the
// paired test of DeLong, DeLong & Clarke-Pearson (1988, Biometrics 44:837).
// With the placements of each score r (see DeLong: V10ʳ_i over the m
// positives, V01ʳ_j over the n negatives) and their sample covariance
// matrices S10 and S01 (2×2, denominators m − 1 and n − 1),
//
//	Var(AUC1 − AUC2) = (S10₁₁ + S10₂₂ − 2·S10₁₂)/m + (S01₁₁ + S01₂₂ − 2·S01₁₂)/n,
//
// Z = (AUC1 − AUC2)/SE, P = 2·Φ(−|Z|) and the interval is Diff ± z·SE with
// z = Φ⁻¹((1 + level)/2): what R pROC's roc.test(roc1, roc2, paired = TRUE,
// method = "delong") reports for two curves of direction "<". Placements
// come from one sort of each score (O(N log N)); ties count ½.
//
// Edge cases: when SE is 0 (e.g. the same scores twice), Z is 0 and P 1 if
// the AUCs are equal, else ±Inf and 0. Errors wrap ErrEmpty, ErrSingleClass
// or ErrNotFinite; fewer than two positives or negatives is an error. A
// level outside (0, 1) or a length mismatch panics.
func DeLongPaired(scores1, scores2 []float64, labels []bool, level float64) (PairedAUC, error) {
	if !(level > 0 && level < 1) {
		panic(fmt.Sprintf("predictors: DeLongPaired: level %v outside (0, 1)", level))
	}
	metricCheckLen("DeLongPaired", len(scores1), labels, nil)
	metricCheckLen("DeLongPaired", len(scores2), labels, nil)
	nan := math.NaN()
	bad := PairedAUC{AUC1: nan, AUC2: nan, Diff: nan, SE: nan, Lower: nan, Upper: nan, Z: nan, P: nan}
	m, n, err := metricCheck(scores1, labels, nil, false)
	if err != nil {
		return bad, fmt.Errorf("delong paired: scores 1: %w", err)
	}
	if _, _, err := metricCheck(scores2, labels, nil, false); err != nil {
		return bad, fmt.Errorf("delong paired: scores 2: %w", err)
	}
	if m == 0 || n == 0 {
		return bad, fmt.Errorf("delong paired: %w", ErrSingleClass)
	}
	if m < 2 || n < 2 {
		return bad, fmt.Errorf("delong paired: %v positives and %v negatives: the variance needs at least 2 of each", m, n)
	}
	p1, auc1 := placements(scores1, labels, m, n)
	p2, auc2 := placements(scores2, labels, m, n)
	// Covariances of the placements, over positives (V10) and negatives (V01).
	var s10, s01 [3]float64 // 11, 22, 12
	for i, pos := range labels {
		d1, d2 := p1[i]-auc1, p2[i]-auc2
		s := &s01
		if pos {
			s = &s10
		}
		s[0] += d1 * d1
		s[1] += d2 * d2
		s[2] += d1 * d2
	}
	for k := range 3 {
		s10[k] /= m - 1
		s01[k] /= n - 1
	}
	v := (s10[0]+s10[1]-2*s10[2])/m + (s01[0]+s01[1]-2*s01[2])/n
	r := PairedAUC{AUC1: auc1, AUC2: auc2, Diff: auc1 - auc2, SE: math.Sqrt(math.Max(v, 0))}
	switch {
	case r.SE > 0:
		r.Z = r.Diff / r.SE
	case r.Diff == 0:
		r.Z = 0
	default:
		r.Z = math.Copysign(math.Inf(1), r.Diff)
	}
	r.P = 2 * distuv.UnitNormal.CDF(-math.Abs(r.Z))
	z := distuv.UnitNormal.Quantile((1 + level) / 2)
	r.Lower, r.Upper = r.Diff-z*r.SE, r.Diff+z*r.SE
	return r, nil
}

// placements returns each case's DeLong placement — for a positive, the
// fraction of the n negatives scored below it (ties ½); for a negative,
// the fraction of the m positives scored above it (ties ½) — and the AUC
// (the mean placement of the positives).
func placements(scores []float64, labels []bool, m, n float64) ([]float64, float64) {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	out := make([]float64, len(scores))
	var negBelow, posBelow, sum float64
	for lo := 0; lo < len(idx); {
		hi := lo
		var pos, neg float64
		for hi < len(idx) && scores[idx[hi]] == scores[idx[lo]] {
			if labels[idx[hi]] {
				pos++
			} else {
				neg++
			}
			hi++
		}
		v10 := (negBelow + neg/2) / n
		v01 := (m - posBelow - pos + pos/2) / m
		for _, i := range idx[lo:hi] {
			if labels[i] {
				out[i] = v10
				sum += v10
			} else {
				out[i] = v01
			}
		}
		negBelow += neg
		posBelow += pos
		lo = hi
	}
	return out, sum / m
}
