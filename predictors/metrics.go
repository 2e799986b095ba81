package predictors

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Conventions for the metrics in this file, delong.go and folds.go:
//
//   - Length mismatches between scores/probabilities, labels and weights are
//     programmer errors and panic with a "predictors: " prefix, as do invalid
//     settings (bins < 1, a level outside (0, 1)).
//   - Functions that return an error report data problems through it:
//     ErrEmpty (no rows, or no weight), ErrSingleClass, ErrNotFinite (a NaN
//     or ±Inf score, probability or weight), ErrNoConvergence.
//   - Functions that return a bare float64 (Brier, LogLoss,
//     CalibrationInTheLarge, ECE) return NaN for the same problems, as gonum's
//     stat functions do.
//   - Probabilities must lie in [0, 1]; a value outside is reported like NaN.
//   - Weights are case weights: finite and non-negative; nil means unit
//     weights. Rows of zero weight are ignored.

// metricZ95 is the 0.975 quantile of the standard normal distribution, used
// for 95% Wilson intervals.
const metricZ95 = 1.959963984540054

// metricProbEps is the clipping bound for probabilities on the log scale; it
// is the same as Logit's.
const metricProbEps = 1e-15

// metricCheckLen panics when labels or weights do not match n.
func metricCheckLen(name string, n int, labels []bool, weights []float64) {
	if len(labels) != n {
		panic(fmt.Sprintf("predictors: %s: %d labels for %d values", name, len(labels), n))
	}
	if weights != nil && len(weights) != n {
		panic(fmt.Sprintf("predictors: %s: %d weights for %d values", name, len(weights), n))
	}
}

// metricFinite reports whether v is neither NaN nor ±Inf.
func metricFinite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// metricWeight returns weights[i], or 1 when weights is nil.
func metricWeight(weights []float64, i int) float64 {
	if weights == nil {
		return 1
	}
	return weights[i]
}

// metricCheck validates values (scores when prob is false, probabilities in
// [0, 1] when prob is true), weights, and that there is positive total
// weight. It returns the positive and negative class weights. The class
// weights are not checked for a single class; callers that need both
// classes test them.
func metricCheck(values []float64, labels []bool, weights []float64, prob bool) (pos, neg float64, err error) {
	for i, v := range values {
		if !metricFinite(v) {
			return 0, 0, fmt.Errorf("value %d is %v: %w", i, v, ErrNotFinite)
		}
		if prob && (v < 0 || v > 1) {
			return 0, 0, fmt.Errorf("probability %d is %v, outside [0, 1]", i, v)
		}
		w := metricWeight(weights, i)
		if !metricFinite(w) {
			return 0, 0, fmt.Errorf("weight %d is %v: %w", i, w, ErrNotFinite)
		}
		if w < 0 {
			return 0, 0, fmt.Errorf("weight %d is %v: weights must be non-negative", i, w)
		}
		if labels[i] {
			pos += w
		} else {
			neg += w
		}
	}
	if pos+neg == 0 {
		return 0, 0, ErrEmpty
	}
	return pos, neg, nil
}

// metricPoint is one observation of positive weight for the rank-based
// statistics: its score and its weight, negated for the negative class (16
// bytes, which keeps the sort fast).
type metricPoint struct {
	score float64
	sw    float64
}

// metricTie is one group of equal scores after sorting: its score and the
// total positive and negative weight it holds.
type metricTie struct {
	score    float64
	pos, neg float64
}

// metricTies sorts the observations of positive weight by score and returns
// the groups of tied scores in ascending order of score. The scores must
// not hold NaN (callers check). It allocates one slice of n points and
// one of at most n groups; the inputs are not modified.
func metricTies(scores []float64, labels []bool, weights []float64) []metricTie {
	pts := make([]metricPoint, 0, len(scores))
	for i, s := range scores {
		w := metricWeight(weights, i)
		if w == 0 {
			continue
		}
		if !labels[i] {
			w = -w
		}
		pts = append(pts, metricPoint{score: s, sw: w})
	}
	slices.SortFunc(pts, func(a, b metricPoint) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	})
	ties := make([]metricTie, 0, len(pts))
	for i := 0; i < len(pts); {
		g := metricTie{score: pts[i].score}
		j := i
		for ; j < len(pts) && pts[j].score == g.score; j++ {
			if w := pts[j].sw; w > 0 {
				g.pos += w
			} else {
				g.neg -= w
			}
		}
		ties = append(ties, g)
		i = j
	}
	return ties
}

// AUC returns the area under the ROC curve of scores for labels (true =
// positive), the Mann–Whitney statistic with ties counted one half:
//
//	AUC = Σ_{i pos} Σ_{j neg} w_i·w_j·(1[s_i > s_j] + ½·1[s_i = s_j]) / (W₊·W₋)
//
// where W₊ and W₋ are the total positive and negative weights. weights are
// case weights (nil means unit weights); integer weights give the same AUC as
// repeating rows. It runs in O(n log n) time (one sort) and does not modify
// its inputs.
//
// Edge cases: when all scores are tied the AUC is 0.5. It returns an error
// wrapping ErrEmpty for no rows or zero total weight, ErrSingleClass when one
// class has no weight, and ErrNotFinite for a NaN or ±Inf score or weight;
// negative weights are an error. A length mismatch panics.
func AUC(scores []float64, labels []bool, weights []float64) (float64, error) {
	metricCheckLen("AUC", len(scores), labels, weights)
	pos, neg, err := metricCheck(scores, labels, weights, false)
	if err != nil {
		return math.NaN(), fmt.Errorf("auc: %w", err)
	}
	if pos == 0 || neg == 0 {
		return math.NaN(), fmt.Errorf("auc: %w", ErrSingleClass)
	}
	return metricAUCTies(metricTies(scores, labels, weights), pos, neg), nil
}

// metricAUCTies computes the Mann–Whitney AUC from ascending tie groups.
func metricAUCTies(ties []metricTie, pos, neg float64) float64 {
	var sum, negBelow float64
	for _, g := range ties {
		sum += g.pos * (negBelow + g.neg/2)
		negBelow += g.neg
	}
	return sum / (pos * neg)
}

// ROCPoint is one point of an ROC curve: observations with score ≥
// Threshold are called positive, giving the false and true positive rates
// FPR and TPR.
type ROCPoint struct {
	Threshold, FPR, TPR float64
}

// ROCCurve returns the empirical ROC curve of scores for labels, one point
// per distinct score in decreasing order of threshold, preceded by the point
// (Threshold = +Inf, FPR = 0, TPR = 0). With W₊(t) and W₋(t) the positive and
// negative weight of observations with score ≥ t,
//
//	TPR(t) = W₊(t)/W₊,   FPR(t) = W₋(t)/W₋,
//
// and the last point is (min score, 1, 1). The trapezoidal area under the
// points equals AUC (ties contribute the diagonal segment, i.e. ½). Rows of
// zero weight are ignored. weights nil means unit weights.
//
// It returns nil whenever AUC would return an error (empty input, zero total
// weight, a single class, NaN/±Inf or negative weights). A length mismatch
// panics.
func ROCCurve(scores []float64, labels []bool, weights []float64) []ROCPoint {
	metricCheckLen("ROCCurve", len(scores), labels, weights)
	pos, neg, err := metricCheck(scores, labels, weights, false)
	if err != nil || pos == 0 || neg == 0 {
		return nil
	}
	ties := metricTies(scores, labels, weights)
	out := make([]ROCPoint, 0, len(ties)+1)
	out = append(out, ROCPoint{Threshold: math.Inf(1)})
	var tp, fp float64
	for k := len(ties) - 1; k >= 0; k-- {
		tp += ties[k].pos
		fp += ties[k].neg
		out = append(out, ROCPoint{Threshold: ties[k].score, FPR: fp / neg, TPR: tp / pos})
	}
	// Remove rounding in the final sums: the last point is exactly (1, 1).
	out[len(out)-1].FPR, out[len(out)-1].TPR = 1, 1
	return out
}

// metricMean returns Σ w·f(i) / Σ w over the rows, or NaN when the inputs
// fail metricCheck (probabilities when prob is true).
func metricMean(p []float64, labels []bool, weights []float64, prob bool, f func(i int) float64) float64 {
	if _, _, err := metricCheck(p, labels, weights, prob); err != nil {
		return math.NaN()
	}
	var sum, wsum float64
	for i := range p {
		w := metricWeight(weights, i)
		if w == 0 {
			continue
		}
		sum += w * f(i)
		wsum += w
	}
	return sum / wsum
}

// metricY is 1 for a positive label and 0 otherwise.
func metricY(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Brier returns the (weighted) Brier score, the mean squared difference
// between predicted probability and outcome:
//
//	Brier = Σ w_i·(p_i − y_i)² / Σ w_i,   y_i ∈ {0, 1}.
//
// weights nil means unit weights. It returns NaN for empty input, zero total
// weight, a probability that is NaN, ±Inf or outside [0, 1], and a NaN, ±Inf
// or negative weight. A single class is allowed. A length mismatch panics.
func Brier(p []float64, labels []bool, weights []float64) float64 {
	metricCheckLen("Brier", len(p), labels, weights)
	return metricMean(p, labels, weights, true, func(i int) float64 {
		d := p[i] - metricY(labels[i])
		return d * d
	})
}

// LogLoss returns the (weighted) mean negative log-likelihood of the
// outcomes, with p clipped to [1e-15, 1 − 1e-15] so that confident mistakes
// cost a finite amount:
//
//	LogLoss = −Σ w_i·(y_i·log p_i + (1 − y_i)·log(1 − p_i)) / Σ w_i.
//
// weights nil means unit weights. It returns NaN for the same inputs as
// Brier. A length mismatch panics.
func LogLoss(p []float64, labels []bool, weights []float64) float64 {
	metricCheckLen("LogLoss", len(p), labels, weights)
	return metricMean(p, labels, weights, true, func(i int) float64 {
		q := math.Min(math.Max(p[i], metricProbEps), 1-metricProbEps)
		if labels[i] {
			return -math.Log(q)
		}
		return -math.Log1p(-q)
	})
}

// CalibrationInTheLarge returns the (weighted) observed event rate minus
// the mean predicted probability:
//
//	CITL = Σ w_i·y_i / Σ w_i − Σ w_i·p_i / Σ w_i.
//
// 0 means the mean predicted risk matches the observed rate; a positive
// value means the predictions are too low on average. See
// CalibrationIntercept for the same question on the logit scale. It returns
// NaN for the same inputs as Brier. A length mismatch panics.
func CalibrationInTheLarge(p []float64, labels []bool, weights []float64) float64 {
	metricCheckLen("CalibrationInTheLarge", len(p), labels, weights)
	return metricMean(p, labels, weights, true, func(i int) float64 {
		return metricY(labels[i]) - p[i]
	})
}

// metricMaxIter bounds the Newton iterations of the calibration fits.
const metricMaxIter = 100

// metricTol is the convergence tolerance of the calibration fits on the
// Newton step, relative to 1 + |coefficient|.
const metricTol = 1e-10

// metricLogLik returns the weighted Bernoulli log-likelihood of labels under
// η_i = a + b·x_i.
func metricLogLik(a, b float64, x []float64, labels []bool, weights []float64) float64 {
	var ll float64
	for i, xi := range x {
		w := metricWeight(weights, i)
		if w == 0 {
			continue
		}
		eta := a + b*xi
		// log σ(η) = −log(1 + e^−η); log(1 − σ(η)) = −log(1 + e^η).
		if labels[i] {
			ll -= w * metricLog1pExp(-eta)
		} else {
			ll -= w * metricLog1pExp(eta)
		}
	}
	return ll
}

// metricLog1pExp returns log(1 + e^z) without overflow.
func metricLog1pExp(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// metricResidual returns y − σ(η) without cancellation: σ(−η) for y = 1
// and −σ(η) for y = 0.
func metricResidual(eta float64, y bool) float64 {
	if y {
		return Sigmoid(-eta)
	}
	return -Sigmoid(eta)
}

// metricLogits returns Logit(p_i) for every i (p clipped to [1e-15, 1−1e-15]).
func metricLogits(p []float64) []float64 {
	x := make([]float64, len(p))
	for i, v := range p {
		x[i] = Logit(v)
	}
	return x
}

// CalibrationSlope fits the logistic recalibration model
//
//	logit P(y = 1) = intercept + slope·logit(p)
//
// by weighted maximum likelihood (Newton–Raphson with step halving) and
// returns both coefficients. slope = 1 means the spread of the predictions
// is right; slope < 1 means overconfident predictions (too extreme), slope
// > 1 underconfident ones. intercept is the "joint" calibration intercept
// of this two-parameter fit (it is the Platt scaling fit on the logit
// scale); for calibration-in-the-large with the slope fixed at 1 use
// CalibrationIntercept.
//
// logit(p) uses Logit, so p of exactly 0 or 1 is clipped to 1e-15 or
// 1 − 1e-15 (logit ±34.5) rather than rejected. weights nil means unit
// weights.
//
// Errors: ErrEmpty, ErrSingleClass and ErrNotFinite as for AUC, and an
// error for probabilities outside [0, 1]. When the classes are separated
// by logit(p) — every positive has logit(p) ≥ every negative, or ≤ — the
// maximum-likelihood slope is infinite, and the error wraps
// ErrNoConvergence instead of returning a huge number; the same holds when
// Newton's method does not converge in 100 iterations. When all
// predictions are equal (after clipping) the slope is not identifiable and
// an error is returned. A length mismatch panics.
func CalibrationSlope(p []float64, labels []bool, weights []float64) (intercept, slope float64, err error) {
	metricCheckLen("CalibrationSlope", len(p), labels, weights)
	pos, neg, err := metricCheck(p, labels, weights, true)
	if err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("calibration slope: %w", err)
	}
	if pos == 0 || neg == 0 {
		return math.NaN(), math.NaN(), fmt.Errorf("calibration slope: %w", ErrSingleClass)
	}
	x := metricLogits(p)
	if err := metricCheckSeparation(x, labels, weights); err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("calibration slope: %w", err)
	}
	a, b, err := metricFitLogistic(x, labels, weights)
	if err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("calibration slope: %w", err)
	}
	return a, b, nil
}

// metricCheckSeparation returns an error when x (over rows of positive
// weight) takes a single value, or when it separates the classes so that
// the logistic maximum-likelihood slope is infinite: in one dimension, a
// finite maximum exists if and only if the ranges of x over the two classes
// overlap in more than a point, i.e. min x₊ < max x₋ and min x₋ < max x₊.
func metricCheckSeparation(x []float64, labels []bool, weights []float64) error {
	minPos, maxPos := math.Inf(1), math.Inf(-1)
	minNeg, maxNeg := math.Inf(1), math.Inf(-1)
	for i, xi := range x {
		if metricWeight(weights, i) == 0 {
			continue
		}
		if labels[i] {
			minPos, maxPos = math.Min(minPos, xi), math.Max(maxPos, xi)
		} else {
			minNeg, maxNeg = math.Min(minNeg, xi), math.Max(maxNeg, xi)
		}
	}
	if minPos == maxPos && minNeg == maxNeg && minPos == minNeg {
		return errors.New("all predictions are equal: the slope is not identifiable")
	}
	if !(minPos < maxNeg && minNeg < maxPos) {
		return fmt.Errorf("the predictions separate the classes, the slope is infinite: %w", ErrNoConvergence)
	}
	return nil
}

// metricFitLogistic fits y ~ a + b·x by weighted maximum likelihood with
// Newton–Raphson, halving steps that lower the log-likelihood. It starts at
// (a, b) = (0, 1), the perfectly calibrated model.
func metricFitLogistic(x []float64, labels []bool, weights []float64) (a, b float64, err error) {
	a, b = 0, 1
	ll := metricLogLik(a, b, x, labels, weights)
	for iter := 0; iter < metricMaxIter; iter++ {
		// Gradient g and observed information H (negative Hessian).
		var g0, g1, h00, h01, h11 float64
		for i, xi := range x {
			w := metricWeight(weights, i)
			if w == 0 {
				continue
			}
			eta := a + b*xi
			mu := Sigmoid(eta)
			r := w * metricResidual(eta, labels[i])
			v := w * mu * Sigmoid(-eta)
			g0 += r
			g1 += r * xi
			h00 += v
			h01 += v * xi
			h11 += v * xi * xi
		}
		det := h00*h11 - h01*h01
		if !(det > 0) {
			return math.NaN(), math.NaN(), fmt.Errorf("singular information matrix at iteration %d: %w", iter, ErrNoConvergence)
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		// Step halving: accept the first step that does not lower the
		// log-likelihood (up to rounding).
		step := 1.0
		var na, nb, nll float64
		for half := 0; half < 30; half++ {
			na, nb = a+step*da, b+step*db
			nll = metricLogLik(na, nb, x, labels, weights)
			if nll >= ll-1e-12*math.Abs(ll) {
				break
			}
			step /= 2
		}
		a, b, ll = na, nb, nll
		// Converged when the full Newton step is negligible; Newton's
		// quadratic convergence makes the remaining error far smaller.
		if math.Abs(da) <= metricTol*(1+math.Abs(a)) && math.Abs(db) <= metricTol*(1+math.Abs(b)) {
			return a, b, nil
		}
	}
	return math.NaN(), math.NaN(), fmt.Errorf("%d Newton iterations: %w", metricMaxIter, ErrNoConvergence)
}

// CalibrationIntercept returns calibration-in-the-large on the logit scale
// as defined by Van Calster et al. ("A calibration hierarchy for risk
// models", J Clin Epidemiol 2016;74:167; "Calibration: the Achilles heel of
// predictive analytics", BMC Med 2019;17:230): the intercept a of the
// logistic model with logit(p) as an offset,
//
//	logit P(y = 1) = a + logit(p),
//
// fitted by weighted maximum likelihood (Newton's method in one variable).
// a = 0 means the mean predicted risk matches the observed one; a > 0
// means the predictions are too low on average. logit(p) uses Logit, so p
// of 0 or 1 is clipped to 1e-15 or 1 − 1e-15. weights nil means unit
// weights.
//
// Errors: ErrEmpty, ErrSingleClass (the maximum-likelihood a is then
// ±Inf) and ErrNotFinite as for AUC, an error for probabilities outside
// [0, 1], and ErrNoConvergence if Newton's method does not converge in 100
// iterations. A length mismatch panics.
func CalibrationIntercept(p []float64, labels []bool, weights []float64) (float64, error) {
	metricCheckLen("CalibrationIntercept", len(p), labels, weights)
	pos, neg, err := metricCheck(p, labels, weights, true)
	if err != nil {
		return math.NaN(), fmt.Errorf("calibration intercept: %w", err)
	}
	if pos == 0 || neg == 0 {
		return math.NaN(), fmt.Errorf("calibration intercept: %w", ErrSingleClass)
	}
	x := metricLogits(p)
	// The score Σ w (y − σ(a + x)) is decreasing in a, with limits W₊ > 0 and
	// −W₋ < 0, so the root is unique. Newton steps are limited to ±5 logit
	// units, which keeps it from overshooting far into a flat region; the
	// log-likelihood is concave, so it converges.
	a := 0.0
	for iter := 0; iter < metricMaxIter; iter++ {
		var g, h float64
		for i, xi := range x {
			w := metricWeight(weights, i)
			if w == 0 {
				continue
			}
			eta := a + xi
			g += w * metricResidual(eta, labels[i])
			h += w * Sigmoid(eta) * Sigmoid(-eta)
		}
		var d float64
		if h > 0 {
			d = g / h
		} else {
			d = math.Copysign(5, g)
		}
		d = math.Max(-5, math.Min(5, d))
		a += d
		if math.Abs(d) <= metricTol*(1+math.Abs(a)) {
			return a, nil
		}
	}
	return math.NaN(), fmt.Errorf("calibration intercept: %d Newton iterations: %w", metricMaxIter, ErrNoConvergence)
}

// metricBin returns the index of the equal-width bin on [0, 1] holding p:
// min(⌊p·bins⌋, bins − 1), so that p = 1 falls in the last bin.
func metricBin(p float64, bins int) int {
	b := int(p * float64(bins))
	if b >= bins {
		b = bins - 1
	}
	return b
}

// metricBinStats accumulates count, Σp and Σy per equal-width bin. It
// returns ok = false for empty input or a probability that is NaN, ±Inf or
// outside [0, 1].
func metricBinStats(p []float64, labels []bool, bins int) (n []int, sumP, sumY []float64, ok bool) {
	if bins < 1 {
		panic(fmt.Sprintf("predictors: %d bins; need at least 1", bins))
	}
	metricCheckLen("calibration bins", len(p), labels, nil)
	if len(p) == 0 {
		return nil, nil, nil, false
	}
	n = make([]int, bins)
	sumP = make([]float64, bins)
	sumY = make([]float64, bins)
	for i, v := range p {
		if !(v >= 0 && v <= 1) {
			return nil, nil, nil, false
		}
		b := metricBin(v, bins)
		n[b]++
		sumP[b] += v
		sumY[b] += metricY(labels[i])
	}
	return n, sumP, sumY, true
}

// ECE returns the expected calibration error over bins equal-width bins on
// [0, 1]:
//
//	ECE = Σ_b (n_b/n)·|ȳ_b − p̄_b|,
//
// where bin b holds the n_b predictions with min(⌊p·bins⌋, bins − 1) = b
// (bins are [k/bins, (k+1)/bins), the last one closed), ȳ_b is their event
// rate and p̄_b their mean prediction. Empty bins contribute nothing. It is
// unweighted. It returns NaN for empty input or a probability that is NaN,
// ±Inf or outside [0, 1]. bins < 1 or a length mismatch panics.
func ECE(p []float64, labels []bool, bins int) float64 {
	n, sumP, sumY, ok := metricBinStats(p, labels, bins)
	if !ok {
		return math.NaN()
	}
	var ece float64
	for b := range n {
		if n[b] == 0 {
			continue
		}
		// (n_b/n)·|ȳ_b − p̄_b| = |Σy − Σp| / n.
		ece += math.Abs(sumY[b] - sumP[b])
	}
	return ece / float64(len(p))
}

// CalibrationBin is one bin of a reliability diagram: the predictions in
// [Lower, Upper), their mean MeanPredicted, the fraction ObservedRate of
// positive outcomes among the N of them, and the Wilson score 95% interval
// [CILower, CIUpper] for that fraction.
type CalibrationBin struct {
	Lower, Upper  float64
	MeanPredicted float64
	ObservedRate  float64
	N             int
	// CILower and CIUpper bound the Wilson 95% interval for ObservedRate:
	// (r + z²/2N ± z·√(r(1−r)/N + z²/4N²)) / (1 + z²/N), z = 1.959964.
	CILower, CIUpper float64
}

// CalibrationCurve returns the reliability diagram of p against labels with
// bins equal-width bins on [0, 1], binned as in ECE. Only non-empty bins are
// returned, in increasing order, so every field is finite. It is unweighted.
// It returns nil for empty input or a probability that is NaN, ±Inf or
// outside [0, 1]. bins < 1 or a length mismatch panics.
func CalibrationCurve(p []float64, labels []bool, bins int) []CalibrationBin {
	n, sumP, sumY, ok := metricBinStats(p, labels, bins)
	if !ok {
		return nil
	}
	var out []CalibrationBin
	for b := range n {
		if n[b] == 0 {
			continue
		}
		nb := float64(n[b])
		r := sumY[b] / nb
		lo, hi := metricWilson(r, nb, metricZ95)
		out = append(out, CalibrationBin{
			Lower:         float64(b) / float64(bins),
			Upper:         float64(b+1) / float64(bins),
			MeanPredicted: sumP[b] / nb,
			ObservedRate:  r,
			N:             n[b],
			CILower:       lo,
			CIUpper:       hi,
		})
	}
	return out
}

// metricWilson returns the Wilson score interval for a proportion r out of
// n trials at normal quantile z, clamped to [0, 1] against rounding.
func metricWilson(r, n, z float64) (lo, hi float64) {
	z2 := z * z
	den := 1 + z2/n
	center := (r + z2/(2*n)) / den
	half := z / den * math.Sqrt(r*(1-r)/n+z2/(4*n*n))
	return math.Max(0, center-half), math.Min(1, center+half)
}

// Metrics is the summary of a set of probabilistic predictions that
// Evaluate computes and the CLI prints as JSON.
type Metrics struct {
	// N is the number of observations.
	N int `json:"n"`
	// Events is the number of positive outcomes.
	Events float64 `json:"events"`
	// AUC is the Mann–Whitney AUC; [AUCLower, AUCUpper] is its DeLong 95%
	// confidence interval, clipped to [0, 1].
	AUC      float64 `json:"auc"`
	AUCLower float64 `json:"auc_ci_lower"`
	AUCUpper float64 `json:"auc_ci_upper"`
	// Brier is the Brier score.
	Brier float64 `json:"brier"`
	// LogLoss is the log-loss with p clipped to [1e-15, 1 − 1e-15].
	LogLoss float64 `json:"log_loss"`
	// CalibrationIntercept is calibration-in-the-large on the logit scale
	// (slope fixed at 1); see CalibrationIntercept. Nil (JSON null) when it
	// cannot be estimated (see Notes).
	CalibrationIntercept *float64 `json:"calibration_intercept"`
	// CalibrationSlope is the slope of the logistic recalibration model;
	// see CalibrationSlope. Nil (JSON null) when it cannot be estimated,
	// e.g. when the predictions separate the classes (see Notes).
	CalibrationSlope *float64 `json:"calibration_slope"`
	// ECE is the expected calibration error with 10 equal-width bins.
	ECE float64 `json:"ece"`
	// Notes says why a metric is missing; empty when all are present.
	Notes []string `json:"notes,omitempty"`
}

// Evaluate computes Metrics for probabilities p of the positive class
// against labels: the AUC with its DeLong 95% interval, Brier score,
// log-loss, calibration intercept (CalibrationIntercept) and slope
// (CalibrationSlope), and ECE with 10 bins. It is unweighted.
//
// Every field of a successful result is finite, so it always encodes as
// JSON. It returns an error, naming the metric, whenever one of them fails:
// empty input (ErrEmpty), a single class (ErrSingleClass), fewer than two
// observations in a class (DeLong), a probability that is NaN, ±Inf
// (ErrNotFinite) or outside [0, 1], and predictions that separate the
// classes, for which the calibration slope is infinite (ErrNoConvergence).
// A length mismatch panics.
func Evaluate(p []float64, labels []bool) (Metrics, error) {
	metricCheckLen("Evaluate", len(p), labels, nil)
	pos, _, err := metricCheck(p, labels, nil, true)
	if err != nil {
		return Metrics{}, fmt.Errorf("evaluate: %w", err)
	}
	m := Metrics{N: len(p), Events: pos}
	if m.AUC, m.AUCLower, m.AUCUpper, err = DeLong(p, labels, 0.95); err != nil {
		return Metrics{}, fmt.Errorf("evaluate: %w", err)
	}
	m.Brier = Brier(p, labels, nil)
	m.LogLoss = LogLoss(p, labels, nil)
	// Calibration intercept and slope do not exist when the predictions
	// separate the classes (typical of a forest scored on its own training
	// rows): they are reported as null with a note, the rest still stands.
	if ci, err := CalibrationIntercept(p, labels, nil); err == nil {
		m.CalibrationIntercept = &ci
	} else {
		m.Notes = append(m.Notes, "calibration_intercept: "+err.Error())
	}
	if _, cs, err := CalibrationSlope(p, labels, nil); err == nil {
		m.CalibrationSlope = &cs
	} else {
		m.Notes = append(m.Notes, "calibration_slope: "+err.Error())
	}
	m.ECE = ECE(p, labels, 10)
	return m, nil
}

// metricBootstrapStream is the PCG stream (second state word) of
// BootstrapCI, so that its draws differ from other users of the same seed.
const metricBootstrapStream = 0x6d6574726963 // "metric"

// BootstrapCI returns the percentile bootstrap confidence interval at the
// given level (0.95 for 95%) of metric(p, labels). Each of the replicates
// resamples, with replacement, the positives and the negatives separately
// (stratified by class), so every replicate has the original class counts
// and both classes. The bounds are the (1 − level)/2 and (1 + level)/2
// quantiles of the replicate values, by linear interpolation between order
// statistics (R's quantile type 7): for sorted values v_0 ≤ … ≤ v_{R−1},
// Q(q) = v_⌊h⌋ + (h − ⌊h⌋)·(v_⌊h⌋+1 − v_⌊h⌋) with h = (R − 1)·q.
//
// p need not be probabilities (scores for AUC work); only NaN and ±Inf are
// rejected (ErrNotFinite). It is deterministic for a given seed (math/rand/v2
// PCG) and calls metric sequentially, reusing the two slices it passes, so
// metric must not retain them.
//
// Replicates that fail: if metric returns an error or a NaN for any
// replicate, BootstrapCI returns NaN bounds and an error that counts the
// failed replicates and wraps the first error. Dropping them instead would
// condition the interval on the resamples where the statistic exists and
// bias it without warning (for example a calibration slope on resamples
// that happen not to be separated).
//
// Other errors: ErrEmpty for no rows, ErrSingleClass for one class. A
// replicate count < 1, a level outside (0, 1), a nil metric or a length
// mismatch panics.
func BootstrapCI(p []float64, labels []bool, metric func(p []float64, labels []bool) (float64, error),
	replicates int, level float64, seed uint64) (lower, upper float64, err error) {
	if replicates < 1 {
		panic(fmt.Sprintf("predictors: BootstrapCI: %d replicates", replicates))
	}
	if !(level > 0 && level < 1) {
		panic(fmt.Sprintf("predictors: BootstrapCI: level %v outside (0, 1)", level))
	}
	if metric == nil {
		panic("predictors: BootstrapCI: nil metric")
	}
	metricCheckLen("BootstrapCI", len(p), labels, nil)
	nan := math.NaN()
	if _, _, err := metricCheck(p, labels, nil, false); err != nil {
		return nan, nan, fmt.Errorf("bootstrap: %w", err)
	}
	var posIdx, negIdx []int
	for i, l := range labels {
		if l {
			posIdx = append(posIdx, i)
		} else {
			negIdx = append(negIdx, i)
		}
	}
	if len(posIdx) == 0 || len(negIdx) == 0 {
		return nan, nan, fmt.Errorf("bootstrap: %w", ErrSingleClass)
	}
	rng := rand.New(rand.NewPCG(seed, metricBootstrapStream))
	rp := make([]float64, len(p))
	rl := make([]bool, len(p))
	vals := make([]float64, 0, replicates)
	var failed int
	var firstErr error
	for r := 0; r < replicates; r++ {
		k := 0
		for _, idx := range [2][]int{posIdx, negIdx} {
			for range idx {
				i := idx[rng.IntN(len(idx))]
				rp[k], rl[k] = p[i], labels[i]
				k++
			}
		}
		v, err := metric(rp, rl)
		if err == nil && math.IsNaN(v) {
			err = errors.New("metric returned NaN")
		}
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("replicate %d: %w", r, err)
			}
			continue
		}
		vals = append(vals, v)
	}
	if failed > 0 {
		return nan, nan, fmt.Errorf("bootstrap: %d of %d replicates failed; first: %w", failed, replicates, firstErr)
	}
	slices.Sort(vals)
	return metricQuantile7(vals, (1-level)/2), metricQuantile7(vals, (1+level)/2), nil
}

// metricQuantile7 returns the q-quantile of sorted x by linear interpolation
// between order statistics (R's type 7).
func metricQuantile7(x []float64, q float64) float64 {
	h := float64(len(x)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[lo] + (h-float64(lo))*(x[lo+1]-x[lo])
}
