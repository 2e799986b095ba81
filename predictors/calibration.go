package predictors

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Calibrator maps a predicted probability to a calibrated one. Calibrate is
// monotone non-decreasing in p, so it preserves the ranking (and the AUC) of
// the predictions up to ties. A NaN p gives NaN.
type Calibrator interface {
	Calibrate(p float64) float64
}

var (
	_ Calibrator = (*Platt)(nil)
	_ Calibrator = (*Isotonic)(nil)
)

// Platt is logistic recalibration on the log-odds scale (Platt scaling
// without target smoothing, also known as the calibration slope and
// intercept):
//
//	calibrated = Sigmoid(A·Logit(p) + B).
//
// A = 1, B = 0 is the identity; A < 1 means the predictions were too
// extreme, A > 1 too timid.
type Platt struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

// Calibrate returns Sigmoid(A·Logit(p) + B). Logit clips p to
// [1e-15, 1−1e-15], so 0 and 1 give finite log-odds.
func (c *Platt) Calibrate(p float64) float64 {
	if math.IsNaN(p) {
		return p
	}
	return Sigmoid(c.A*Logit(p) + c.B)
}

const (
	calMaxIter = 100
	// calTol is the largest Newton step (relative to 1 + |θ|) that counts
	// as converged.
	calTol = 1e-12
)

// calCheck validates calibration data: matching lengths (panic otherwise),
// probabilities finite and in [0, 1], weights finite and non-negative, and
// both classes with positive weight.
func calCheck(p []float64, y []bool, w []float64) error {
	if len(y) != len(p) {
		panic(fmt.Sprintf("predictors: %d labels for %d probabilities", len(y), len(p)))
	}
	if w != nil && len(w) != len(p) {
		panic(fmt.Sprintf("predictors: %d weights for %d probabilities", len(w), len(p)))
	}
	if len(p) == 0 {
		return ErrEmpty
	}
	var pos, neg float64
	for i, pi := range p {
		if math.IsNaN(pi) || math.IsInf(pi, 0) {
			return fmt.Errorf("probability %d: %w", i, ErrNotFinite)
		}
		if pi < 0 || pi > 1 {
			return fmt.Errorf("probability %d is %v, outside [0, 1]", i, pi)
		}
		wi := 1.0
		if w != nil {
			wi = w[i]
			if math.IsNaN(wi) || math.IsInf(wi, 0) || wi < 0 {
				return fmt.Errorf("weight %d is %v: weights must be finite and non-negative", i, wi)
			}
		}
		if y[i] {
			pos += wi
		} else {
			neg += wi
		}
	}
	if pos+neg == 0 {
		return ErrEmpty
	}
	if pos == 0 || neg == 0 {
		return ErrSingleClass
	}
	return nil
}

// FitPlatt fits Platt scaling by weighted maximum likelihood: the logistic
// regression of y on z = Logit(p),
//
//	max_{A ≥ 0, B} Σ w_i·[y_i·log q_i + (1−y_i)·log(1−q_i)],  q_i = Sigmoid(A·z_i + B),
//
// by Newton–Raphson (IRLS) with step halving, converged to a relative step
// of 1e-12. Probabilities of exactly 0 or 1 enter as z = ∓34.5 (Logit's
// clip). The labels are used as they are
// (no Platt target smoothing). w holds case weights; nil means unit weights.
// The slope is constrained to A ≥ 0 so that Calibrate is non-decreasing:
// when the unconstrained slope is negative (the probabilities rank the
// outcomes backwards) the fit is A = 0, B = logit of the weighted positive
// rate.
//
// Errors: empty input (ErrEmpty), NaN or Inf (ErrNotFinite), a probability
// outside [0, 1], a single class (ErrSingleClass), all z equal (the slope is
// not identifiable), and separation of the classes by z, where the
// likelihood has no maximum (ErrNoConvergence). Length mismatches panic.
func FitPlatt(p []float64, y []bool, w []float64) (*Platt, error) {
	if err := calCheck(p, y, w); err != nil {
		return nil, fmt.Errorf("platt: %w", err)
	}
	n := len(p)
	z := make([]float64, n)
	wt := make([]float64, n)
	var sw, swy float64
	zMin, zMax := math.Inf(1), math.Inf(-1)
	for i := range p {
		z[i] = Logit(p[i])
		wt[i] = 1
		if w != nil {
			wt[i] = w[i]
		}
		sw += wt[i]
		if y[i] {
			swy += wt[i]
		}
		if wt[i] > 0 {
			zMin, zMax = min(zMin, z[i]), max(zMax, z[i])
		}
	}
	if zMin == zMax {
		return nil, fmt.Errorf("platt: all probabilities equal %v: the slope is not identifiable", Sigmoid(zMin))
	}
	ybar := swy / sw
	interceptOnly := &Platt{A: 0, B: math.Log(ybar / (1 - ybar))}

	loglik := func(a, b float64) float64 {
		var s float64
		for i := range z {
			if wt[i] > 0 {
				s -= wt[i] * mlpBCE(a*z[i]+b, y[i])
			}
		}
		return s
	}
	a, b := 0.0, interceptOnly.B
	ll := loglik(a, b)
	for iter := 0; iter < calMaxIter; iter++ {
		var g0, g1, h00, h01, h11 float64
		for i := range z {
			if wt[i] == 0 {
				continue
			}
			q := Sigmoid(a*z[i] + b)
			r := -q
			if y[i] {
				r = 1 - q
			}
			v := wt[i] * q * (1 - q)
			g0 += wt[i] * r * z[i]
			g1 += wt[i] * r
			h00 += v * z[i] * z[i]
			h01 += v * z[i]
			h11 += v
		}
		det := h00*h11 - h01*h01
		if !(det > 0) {
			return nil, fmt.Errorf("platt: singular information matrix at iteration %d (classes separated by the probabilities?): %w", iter, ErrNoConvergence)
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		// Step halving: never accept a lower log-likelihood.
		step := 1.0
		var na, nb, nll float64
		for k := 0; k < 60; k++ {
			na, nb = a+step*da, b+step*db
			nll = loglik(na, nb)
			if nll >= ll {
				break
			}
			step /= 2
		}
		if !(nll >= ll) {
			// No ascent possible along the Newton direction: at the optimum
			// up to rounding.
			break
		}
		done := math.Abs(na-a) <= calTol*(1+math.Abs(a)) && math.Abs(nb-b) <= calTol*(1+math.Abs(b))
		a, b, ll = na, nb, nll
		if done {
			if a < 0 {
				return interceptOnly, nil
			}
			return &Platt{A: a, B: b}, nil
		}
	}
	// Either the iteration limit or a stall before calTol was reached.
	// Accept a stall only where the gradient vanishes (relative to the
	// total weight); otherwise the likelihood has no finite maximum.
	var g0, g1 float64
	for i := range z {
		if wt[i] == 0 {
			continue
		}
		q := Sigmoid(a*z[i] + b)
		r := -q
		if y[i] {
			r = 1 - q
		}
		g0 += wt[i] * r * z[i]
		g1 += wt[i] * r
	}
	if math.Abs(g0) > 1e-8*sw*(1+math.Max(math.Abs(zMin), math.Abs(zMax))) || math.Abs(g1) > 1e-8*sw {
		return nil, fmt.Errorf("platt: no finite maximum after %d iterations (A = %v; classes separated by the probabilities?): %w", calMaxIter, a, ErrNoConvergence)
	}
	if a < 0 {
		return interceptOnly, nil
	}
	return &Platt{A: a, B: b}, nil
}

// Isotonic is a non-decreasing piecewise-linear calibration map through the
// points (X[k], Y[k]), with X strictly increasing and Y non-decreasing.
// Between thresholds Calibrate interpolates linearly; outside [X[0],
// X[len−1]] it returns the end value (scikit-learn's
// IsotonicRegression(out_of_bounds="clip")). A single point gives a
// constant.
type Isotonic struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

// Calibrate returns the isotonic map at p: Y[0] for p ≤ X[0], Y[len−1] for
// p ≥ X[len−1], and
//
//	Y[k] + (p − X[k])·(Y[k+1] − Y[k])/(X[k+1] − X[k])   for X[k] ≤ p ≤ X[k+1].
//
// A NaN p gives NaN. It panics (programmer error) when the map is empty or X
// and Y differ in length; check a map read from outside with Validate.
func (c *Isotonic) Calibrate(p float64) float64 {
	n := len(c.X)
	if n == 0 || len(c.Y) != n {
		panic(fmt.Sprintf("predictors: isotonic map has %d thresholds and %d values", n, len(c.Y)))
	}
	switch {
	case math.IsNaN(p):
		return p
	case p <= c.X[0]:
		return c.Y[0]
	case p >= c.X[n-1]:
		return c.Y[n-1]
	}
	// X[k−1] < p ≤ X[k]
	k := sort.SearchFloat64s(c.X, p)
	if c.X[k] == p {
		return c.Y[k]
	}
	x0, x1, y0, y1 := c.X[k-1], c.X[k], c.Y[k-1], c.Y[k]
	v := y0 + (p-x0)*(y1-y0)/(x1-x0)
	// Guard against rounding outside the segment (keeps monotonicity).
	return math.Min(math.Max(v, y0), y1)
}

// Validate reports a malformed map (as a damaged artifact could hold):
// X and Y empty or of different lengths, non-finite values, X not strictly
// increasing, Y decreasing somewhere or outside [0, 1]. A map that passes
// never makes Calibrate panic and is non-decreasing.
func (c *Isotonic) Validate() error {
	if len(c.X) == 0 || len(c.X) != len(c.Y) {
		return fmt.Errorf("isotonic: %d thresholds and %d values", len(c.X), len(c.Y))
	}
	for k := range c.X {
		x, y := c.X[k], c.Y[k]
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			return fmt.Errorf("isotonic: point %d is (%v, %v): %w", k, x, y, ErrNotFinite)
		}
		if y < 0 || y > 1 {
			return fmt.Errorf("isotonic: value %d is %v, outside [0, 1]", k, y)
		}
		if k > 0 && (x <= c.X[k-1] || y < c.Y[k-1]) {
			return fmt.Errorf("isotonic: point %d (%v, %v) does not follow (%v, %v) in order", k, x, y, c.X[k-1], c.Y[k-1])
		}
	}
	return nil
}

// calBlock is a pooled block of the pool-adjacent-violators algorithm.
type calBlock struct {
	sumWY, sumW float64
	n           int // number of distinct p values pooled
}

func (b calBlock) mean() float64 { return b.sumWY / b.sumW }

// FitIsotonic fits the weighted isotonic regression of y (1 for positive,
// 0 for negative) on p, the non-decreasing step function g minimising
//
//	Σ w_i·(y_i − g(p_i))²,
//
// and returns it as an Isotonic map, as scikit-learn's
// IsotonicRegression(increasing=True, out_of_bounds="clip") does: rows with
// zero weight are dropped; rows with equal p are first pooled into one
// point whose value is their weighted mean and whose weight is their total
// weight; the weighted pool-adjacent-violators algorithm then merges
// neighbouring blocks while a block's mean is not below the next one's;
// finally, of the distinct p values (the thresholds), only the first, the
// last and those whose fitted value differs from a neighbour's are kept
// (the others lie on a flat segment and do not change the interpolation).
//
// Errors: empty input (ErrEmpty), NaN or Inf (ErrNotFinite), a probability
// outside [0, 1], a single class with positive weight (ErrSingleClass).
// Length mismatches panic.
func FitIsotonic(p []float64, y []bool, w []float64) (*Isotonic, error) {
	if err := calCheck(p, y, w); err != nil {
		return nil, fmt.Errorf("isotonic: %w", err)
	}
	type point struct {
		p, y, w float64
	}
	pts := make([]point, 0, len(p))
	for i, pi := range p {
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		if wi == 0 {
			continue
		}
		yi := 0.0
		if y[i] {
			yi = 1
		}
		pts = append(pts, point{pi, yi, wi})
	}
	slices.SortStableFunc(pts, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.y, b.y))
	})
	// Pool ties in p.
	var xs []float64
	var blocks []calBlock
	for _, pt := range pts {
		if k := len(xs) - 1; k >= 0 && xs[k] == pt.p {
			blocks[k].sumWY += pt.w * pt.y
			blocks[k].sumW += pt.w
			continue
		}
		xs = append(xs, pt.p)
		blocks = append(blocks, calBlock{sumWY: pt.w * pt.y, sumW: pt.w, n: 1})
	}
	// Normalise each tie group to (mean, weight) before pooling, so that a
	// singleton group's value is exactly its mean.
	for k := range blocks {
		m := blocks[k].mean()
		blocks[k].sumWY = m * blocks[k].sumW
	}
	// Pool adjacent violators on a stack of blocks.
	stack := blocks[:0:0]
	for _, b := range blocks {
		for len(stack) > 0 && stack[len(stack)-1].mean() >= b.mean() {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			b = calBlock{sumWY: top.sumWY + b.sumWY, sumW: top.sumW + b.sumW, n: top.n + b.n}
		}
		stack = append(stack, b)
	}
	fitted := make([]float64, 0, len(xs))
	for _, b := range stack {
		m := b.mean()
		for k := 0; k < b.n; k++ {
			fitted = append(fitted, m)
		}
	}
	// Keep the first and last points and those not flat on both sides.
	iso := &Isotonic{}
	last := len(xs) - 1
	for k := range xs {
		if k == 0 || k == last || fitted[k] != fitted[k-1] || fitted[k] != fitted[k+1] {
			iso.X = append(iso.X, xs[k])
			iso.Y = append(iso.Y, fitted[k])
		}
	}
	return iso, nil
}
