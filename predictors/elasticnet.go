package predictors

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Elastic-net penalised logistic regression, reproducing R glmnet's
// "lognet" algorithm (Friedman, Hastie & Tibshirani 2010, J Stat Softw
// 33(1); glmnet 4.1 with family="binomial", type.logistic="Newton",
// standardize=TRUE, intercept=TRUE, unit penalty factors, no bounds).
//
// Objective, for case weights w normalised to Σw = 1 and features
// standardised as z_ij = (x_ij − m_j)/s_j with the weighted mean m_j = Σ w_i x_ij
// and the weighted POPULATION standard deviation s_j = sqrt(Σ w_i (x_ij − m_j)²):
//
//	minimise over (b0, β):  −Σ_i w_i [y_i η_i − log(1 + e^{η_i})]
//	                        + λ [ (1−α)/2 ‖β‖² + α ‖β‖₁ ],   η_i = b0 + Σ_j z_ij β_j.
//
// With unit weights the first term is −(1/n)·loglik. Coefficients are reported
// on the original scale: coef_j = β_j / s_j, intercept = b0 − Σ_j coef_j m_j.
//
// Algorithm (per λ): an outer IRLS loop forms the quadratic approximation at
// the current fit (working weights v_i = w_i p_i (1−p_i), working residuals
// r_i = w_i (y_i − p_i)); inner cyclic coordinate descent ("naive" updates,
// no covariance matrix) minimises it:
//
//	u = Σ_i r_i z_ij + xv_j β_j,  xv_j = Σ_i v_i z_ij²,
//	β_j ← S(u, αλ) / (xv_j + (1−α)λ),   S = soft threshold,
//	b0  ← b0 + Σ_i r_i / Σ_i v_i,
//
// updating r after every change. As glmnet does, a full pass over the strong
// set (sequential strong rule |g_j| > α(2λ_k − λ_{k−1})) alternates with passes
// over the active set until the pass converges; when an IRLS step no longer
// moves any coefficient, the KKT conditions |Σ r_i z_ij| ≤ αλ are checked for
// the variables outside the strong set and any violator is added.
//
// Convergence (glmnet's thresh): a coordinate pass has converged when
// max_j xv_j·(Δβ_j)² (the intercept included, with Σv in place of xv) is
// below Thresh·D0, where D0 = −[ȳ log ȳ + (1−ȳ) log(1−ȳ)] is the null
// deviance per unit weight divided by 2 (ȳ = Σ w_i y_i); an IRLS step has
// converged when the same quantity computed on the change over the whole
// step is below Thresh·D0 and the KKT check adds nothing.
//
// Fitted probabilities are saturated to 0 or 1 when |η| > log(1/pmin − 1)
// with pmin = 1e-9 (their working weight is then 0), and the deviance uses
// p clipped to [pmin, 1 − pmin], as in glmnet. If every fitted probability
// saturates (Σ v ≤ pmin) the path stops at that λ.

const (
	enetDefaultNLambda = 100
	enetDefaultThresh  = 1e-7
	enetDefaultMaxIter = 100000
	// glmnet.control() factory defaults.
	enetFDev       = 1e-5   // fdev: minimum change in deviance ratio along the path
	enetDevMax     = 0.999  // devmax: maximum deviance ratio along the path
	enetMinLambdas = 5      // mnlam: λ values fitted before the path may stop
	enetPMin       = 1e-9   // pmin: probability saturation
	enetMinFlmin   = 1e-6   // eps: floor for lambda.min.ratio
	enetBig        = 9.9e35 // big: the "infinite" first λ of a default path
	enetAlphaFloor = 1e-3   // α used for λ_max when α is below it (ridge)
)

// ElasticNetSettings controls an elastic-net fit. The zero value (or a nil
// pointer) means glmnet's defaults with α = 0 (ridge).
type ElasticNetSettings struct {
	// Alpha is the mixing parameter α in [0, 1]: 1 is the lasso, 0 (the
	// zero value) is ridge regression.
	Alpha float64
	// Lambda is a user λ sequence (values ≥ 0; sorted into decreasing order
	// for you). When set, every value is fitted (no early path stopping, as
	// glmnet does for a user lambda) and NLambda and LambdaMinRatio are
	// ignored. nil means the default path.
	Lambda []float64
	// NLambda is the number of λ values on the default path; 0 means 100.
	NLambda int
	// LambdaMinRatio is λ_min/λ_max on the default path; 0 means 1e-4 when
	// the number of rows is at least the number of columns and 1e-2
	// otherwise (glmnet: nobs < nvars → 0.01). Values below 1e-6 are raised
	// to 1e-6 as glmnet does.
	LambdaMinRatio float64
	// Thresh is the convergence threshold (glmnet's thresh); 0 means 1e-7.
	// See the package comment in elasticnet.go for the criterion.
	Thresh float64
	// MaxIter is the limit on coordinate-descent passes summed over the
	// whole path (glmnet's maxit); 0 means 100000. Hitting it returns an
	// error wrapping ErrNoConvergence.
	MaxIter int
}

// enetConfig is a validated ElasticNetSettings with defaults filled in.
type enetConfig struct {
	alpha    float64
	lambda   []float64 // user sequence, decreasing; nil for the default path
	nLambda  int
	minRatio float64 // 0: decide from the data's shape
	thresh   float64
	maxIter  int
}

func enetResolve(s *ElasticNetSettings) (enetConfig, error) {
	var c enetConfig
	if s == nil {
		s = &ElasticNetSettings{}
	}
	if math.IsNaN(s.Alpha) || s.Alpha < 0 || s.Alpha > 1 {
		return c, fmt.Errorf("elastic net: alpha %v outside [0, 1]", s.Alpha)
	}
	c.alpha = s.Alpha
	if s.Lambda != nil {
		if len(s.Lambda) == 0 {
			return c, fmt.Errorf("elastic net: empty lambda sequence")
		}
		c.lambda = make([]float64, len(s.Lambda))
		for i, l := range s.Lambda {
			if math.IsNaN(l) || math.IsInf(l, 0) || l < 0 {
				return c, fmt.Errorf("elastic net: lambda %v must be finite and non-negative", l)
			}
			c.lambda[i] = l
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(c.lambda)))
	}
	switch {
	case s.NLambda < 0:
		return c, fmt.Errorf("elastic net: NLambda %d is negative", s.NLambda)
	case s.NLambda == 0:
		c.nLambda = enetDefaultNLambda
	default:
		c.nLambda = s.NLambda
	}
	if math.IsNaN(s.LambdaMinRatio) || s.LambdaMinRatio < 0 || s.LambdaMinRatio >= 1 {
		return c, fmt.Errorf("elastic net: LambdaMinRatio %v outside [0, 1)", s.LambdaMinRatio)
	}
	c.minRatio = s.LambdaMinRatio
	if math.IsNaN(s.Thresh) || s.Thresh < 0 {
		return c, fmt.Errorf("elastic net: Thresh %v is negative", s.Thresh)
	}
	c.thresh = s.Thresh
	if c.thresh == 0 {
		c.thresh = enetDefaultThresh
	}
	if s.MaxIter < 0 {
		return c, fmt.Errorf("elastic net: MaxIter %d is negative", s.MaxIter)
	}
	c.maxIter = s.MaxIter
	if c.maxIter == 0 {
		c.maxIter = enetDefaultMaxIter
	}
	return c, nil
}

// ElasticNetPath is a fitted elastic-net path: one solution per λ, in
// decreasing λ order. Coefficients are on the original feature scale.
type ElasticNetPath struct {
	// Alpha is the mixing parameter α of every fit.
	Alpha float64 `json:"alpha"`
	// Lambda holds the fitted λ values, decreasing. On the default path the
	// first value is λ_max = max_j |Σ_i w_i (y_i − ȳ) z_ij| / max(α, 1e-3)
	// (w normalised to Σw = 1), at which every coefficient is zero (for
	// α = 0 they are ~1e-38, as in glmnet), and the next values are
	// λ_max·r^{k/(NLambda−1)}. The path may stop before NLambda values (see
	// FitElasticNetPath).
	Lambda []float64 `json:"lambda"`
	// Intercept[k] is the original-scale intercept at Lambda[k].
	Intercept []float64 `json:"intercept"`
	// Coef[k][j] is the original-scale coefficient of feature j at Lambda[k].
	Coef [][]float64 `json:"coef"`
	// Df[k] is the number of non-zero coefficients at Lambda[k].
	Df []int `json:"df"`
	// DevRatio[k] is the fraction of null deviance explained,
	// 1 − D(λ_k)/D_null (glmnet's dev.ratio).
	DevRatio []float64 `json:"dev_ratio"`
	// NullDev is the null deviance −2 Σ w_i [y_i log ȳ + (1−y_i) log(1−ȳ)],
	// with the caller's (unnormalised) weights.
	NullDev float64 `json:"null_dev"`
	// Means and SDs are the weighted means and population standard
	// deviations used to standardise each feature; a constant feature has
	// SD 0 and coefficient 0 everywhere. The standardised-scale coefficient
	// is Coef[k][j]·SDs[j] and the standardised-scale intercept is
	// Intercept[k] + Σ_j Coef[k][j]·Means[j].
	Means []float64 `json:"means"`
	SDs   []float64 `json:"sds"`
}

// Model returns the fit at Lambda[k] as an ElasticNet (a copy). It panics
// if k is out of range.
func (p *ElasticNetPath) Model(k int) *ElasticNet {
	if k < 0 || k >= len(p.Lambda) {
		panic(fmt.Sprintf("predictors: path index %d out of range [0, %d)", k, len(p.Lambda)))
	}
	return &ElasticNet{
		Alpha:     p.Alpha,
		Lambda:    p.Lambda[k],
		Intercept: p.Intercept[k],
		Coef:      append([]float64(nil), p.Coef[k]...),
		Means:     append([]float64(nil), p.Means...),
	}
}

// ElasticNet is one fitted elastic-net logistic regression:
// P(y = 1 | x) = Sigmoid(Intercept + Σ_j Coef_j x_j).
type ElasticNet struct {
	// Alpha and Lambda are the penalty the model was fitted with.
	Alpha  float64 `json:"alpha"`
	Lambda float64 `json:"lambda"`
	// Intercept and Coef are on the original feature scale.
	Intercept float64   `json:"intercept"`
	Coef      []float64 `json:"coef"`
	// Means are the (weighted) training means of the features: the
	// background of the linear SHAP values returned by Explain.
	Means []float64 `json:"means"`
}

var _ Explainer = (*ElasticNet)(nil)

// NumFeatures is the number of features the model expects.
func (m *ElasticNet) NumFeatures() int { return len(m.Coef) }

// Predict writes P(y = 1 | x) for each row of x into dst (allocated when
// nil) and returns it. A column count other than NumFeatures returns an
// error wrapping ErrFeatureCount, a NaN or Inf an error wrapping
// ErrNotFinite. dst must have one element per row.
func (m *ElasticNet) Predict(x mat.Matrix, dst []float64) ([]float64, error) {
	p := len(m.Coef)
	dst, err := checkPredictInput(x, p, dst)
	if err != nil {
		return nil, err
	}
	r, _ := x.Dims()
	if d, ok := x.(*mat.Dense); ok {
		raw := d.RawMatrix()
		for i := 0; i < r; i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+p]
			eta, err := m.enetLinear(row)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", i, err)
			}
			dst[i] = Sigmoid(eta)
		}
		return dst, nil
	}
	for i := 0; i < r; i++ {
		eta := m.Intercept
		for j, c := range m.Coef {
			v := x.At(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("row %d, column %d: %w", i, j, ErrNotFinite)
			}
			eta += c * v
		}
		dst[i] = Sigmoid(eta)
	}
	return dst, nil
}

// enetLinear returns Intercept + Σ Coef_j x_j, checking length and
// finiteness. It does not allocate unless it returns an error.
func (m *ElasticNet) enetLinear(x []float64) (float64, error) {
	if len(x) != len(m.Coef) {
		return 0, fmt.Errorf("%w: got %d values, the model has %d", ErrFeatureCount, len(x), len(m.Coef))
	}
	eta := m.Intercept
	for j, c := range m.Coef {
		v := x[j]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("column %d: %w", j, ErrNotFinite)
		}
		eta += c * v
	}
	return eta, nil
}

// PredictOne returns P(y = 1 | x) for one row without allocating. Errors as
// for Predict.
func (m *ElasticNet) PredictOne(x []float64) (float64, error) {
	eta, err := m.enetLinear(x)
	if err != nil {
		return 0, err
	}
	return Sigmoid(eta), nil
}

// PredictLogOdds returns the model's log-odds for one row, the quantity
// Explain decomposes (Logit(PredictOne(x)) loses precision when the
// probability is within ~1e-8 of 0 or 1). Errors as for PredictOne.
func (m *ElasticNet) PredictLogOdds(x []float64) (float64, error) {
	return m.enetLinear(x)
}

// Explain returns linear SHAP values on the log-odds scale, interventional
// with the training means as background: phi_j = Coef_j·(x_j − Means_j) and
// base = Intercept + Σ_j Coef_j·Means_j, so base + Σ_j phi_j is the model's
// log-odds for x (exactly, up to rounding). phi is allocated when nil and
// must otherwise have NumFeatures elements. Errors as for PredictOne, and
// an error when the model's Means do not match its Coef (a damaged model).
func (m *ElasticNet) Explain(x, phi []float64) (float64, []float64, error) {
	p := len(m.Coef)
	if len(x) != p {
		return 0, nil, fmt.Errorf("%w: got %d values, the model has %d", ErrFeatureCount, len(x), p)
	}
	if len(m.Means) != p {
		return 0, nil, fmt.Errorf("elastic net: the model has %d means for %d coefficients", len(m.Means), p)
	}
	if phi == nil {
		phi = make([]float64, p)
	}
	if len(phi) != p {
		panic(fmt.Sprintf("predictors: phi has length %d for %d features", len(phi), p))
	}
	base := m.Intercept
	for j, c := range m.Coef {
		v := x[j]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, nil, fmt.Errorf("column %d: %w", j, ErrNotFinite)
		}
		base += c * m.Means[j]
		phi[j] = 0 // not c·(x−m), which is −0 for c = 0 and x < m
		if c != 0 {
			phi[j] = c * (v - m.Means[j])
		}
	}
	return base, phi, nil
}

// ExplanationScale is LogOdds: Explain is additive on the log-odds scale.
func (m *ElasticNet) ExplanationScale() Scale { return LogOdds }

// FitElasticNetPath fits the elastic-net logistic regression along a λ path,
// with warm starts, as glmnet(x, y, family = "binomial", weights = w, alpha =
// s.Alpha, ...) does. w are case weights (nil: unit weights; rows of weight 0
// are ignored); they are normalised to sum to 1.
//
// The default path (s.Lambda nil) has NLambda values from λ_max down to
// λ_max·LambdaMinRatio, log-spaced, and stops early, as glmnet does, once at
// least 5 values have been fitted and either the deviance ratio exceeds
// 0.999 or it grew by less than 1e-5 (absolute) since the previous λ. A user
// sequence is always fitted in full. Both stop if every fitted probability
// saturates (see the package comment).
//
// Errors: ErrEmpty, ErrNotFinite, ErrSingleClass (also when one class has a
// weight fraction ≤ 1e-9, where glmnet errors too), an invalid setting, or
// ErrNoConvergence when MaxIter passes are used up. A constant column gets
// coefficient 0; if every column is constant, the path is the
// intercept-only model at λ = 0 (glmnet stops with an error there).
// Exactly collinear columns are fine: for α < 1 and λ > 0 the problem is
// strictly convex; for α = 1 the lasso keeps one of them.
func FitElasticNetPath(x mat.Matrix, y []bool, w []float64, s *ElasticNetSettings) (*ElasticNetPath, error) {
	if err := checkTrainingData(x, y, w); err != nil {
		return nil, fmt.Errorf("elastic net: %w", err)
	}
	cfg, err := enetResolve(s)
	if err != nil {
		return nil, err
	}
	cols, n, p := enetColumnMajor(x)
	pr, err := enetNewProblem(cols, n, p, nil, y, w)
	if err != nil {
		return nil, fmt.Errorf("elastic net: %w", err)
	}
	return enetRunPath(pr, cfg, n)
}

// FitElasticNet fits the model at exactly one λ, like glmnet(..., alpha =
// alpha, lambda = lambda): the fit starts from the intercept-only model (no
// warm start), so with the same Thresh it follows glmnet's iterations.
// alpha and lambda override s.Alpha and s.Lambda; Thresh and MaxIter are
// taken from s. Errors as for FitElasticNetPath.
func FitElasticNet(x mat.Matrix, y []bool, w []float64, alpha, lambda float64, s *ElasticNetSettings) (*ElasticNet, error) {
	var one ElasticNetSettings
	if s != nil {
		one = *s
	}
	one.Alpha = alpha
	one.Lambda = []float64{lambda}
	path, err := FitElasticNetPath(x, y, w, &one)
	if err != nil {
		return nil, err
	}
	return path.Model(0), nil
}

// enetColumnMajor copies x into a column-major slice.
func enetColumnMajor(x mat.Matrix) (cols []float64, n, p int) {
	n, p = x.Dims()
	cols = make([]float64, n*p)
	if d, ok := x.(*mat.Dense); ok {
		raw := d.RawMatrix()
		for i := 0; i < n; i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+p]
			for j, v := range row {
				cols[j*n+i] = v
			}
		}
		return cols, n, p
	}
	for j := 0; j < p; j++ {
		col := cols[j*n : (j+1)*n]
		for i := range col {
			col[i] = x.At(i, j)
		}
	}
	return cols, n, p
}

// enetProblem is a standardised training set: the rows with positive weight
// among those selected.
type enetProblem struct {
	n, p int
	z    []float64 // column-major standardised x, n×p; constant columns are zero
	y    []float64 // 0 or 1
	w    []float64 // weights normalised to Σw = 1
	sumW float64   // Σ of the caller's weights
	// equalW is set when every w is the same float64 (no case weights, or
	// equal ones); deviance then sums the logs as the log of a product.
	equalW bool
	mean   []float64
	sd     []float64
	usable []bool // false for constant columns
}

// enetNewProblem builds the standardised problem from a column-major copy of
// the full data (nAll rows), the selected rows (nil: all) and their labels
// and weights (indexed like the full data). Values must already be finite.
func enetNewProblem(cols []float64, nAll, p int, rows []int, y []bool, w []float64) (*enetProblem, error) {
	var sel []int
	add := func(i int) {
		if w == nil || w[i] > 0 {
			sel = append(sel, i)
		}
	}
	if rows == nil {
		for i := 0; i < nAll; i++ {
			add(i)
		}
	} else {
		for _, i := range rows {
			add(i)
		}
	}
	n := len(sel)
	if n == 0 {
		return nil, ErrEmpty
	}
	pr := &enetProblem{
		n: n, p: p,
		z:      make([]float64, n*p),
		y:      make([]float64, n),
		w:      make([]float64, n),
		mean:   make([]float64, p),
		sd:     make([]float64, p),
		usable: make([]bool, p),
	}
	for k, i := range sel {
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		pr.w[k] = wi
		pr.sumW += wi
		if y[i] {
			pr.y[k] = 1
		}
	}
	var q0 float64
	for k := range pr.w {
		pr.w[k] /= pr.sumW
		q0 += pr.w[k] * pr.y[k]
	}
	if q0 <= enetPMin || q0 >= 1-enetPMin {
		return nil, ErrSingleClass
	}
	pr.equalW = true
	for _, wk := range pr.w {
		if wk != pr.w[0] {
			pr.equalW = false
			break
		}
	}
	for j := 0; j < p; j++ {
		src := cols[j*nAll : (j+1)*nAll]
		zj := pr.z[j*n : (j+1)*n]
		first := src[sel[0]]
		constant := true
		var m float64
		for k, i := range sel {
			v := src[i]
			zj[k] = v
			if v != first {
				constant = false
			}
			m += pr.w[k] * v
		}
		if constant {
			pr.mean[j] = first
			for k := range zj {
				zj[k] = 0
			}
			continue
		}
		var ss float64
		for k := range zj {
			zj[k] -= m
			ss += pr.w[k] * zj[k] * zj[k]
		}
		sd := math.Sqrt(ss)
		pr.mean[j] = m
		if !(sd > 0) || math.IsInf(sd, 0) {
			// Unreachable for finite, non-constant data short of overflow;
			// treat as constant rather than divide by zero.
			for k := range zj {
				zj[k] = 0
			}
			continue
		}
		pr.sd[j] = sd
		pr.usable[j] = true
		inv := 1 / sd
		for k := range zj {
			zj[k] *= inv
		}
	}
	return pr, nil
}

// enetSolver holds the state of glmnet's lognet iterations for one problem.
type enetSolver struct {
	pr      *enetProblem
	alpha   float64
	shr     float64 // Thresh·D0
	maxIter int
	nlp     int // coordinate passes so far

	b0     float64
	b      []float64 // standardised coefficients
	bs     []float64 // b at the start of the IRLS step
	xv     []float64 // Σ v z_j²
	ga     []float64 // |Σ r z_j| (strong-rule screening)
	strong []bool
	inAct  []bool
	active []int // ever-non-zero variables in order of entry
	order  []int // scratch: the strong variables in index order
	needXV bool  // xv is stale: the next strong-set pass recomputes it

	q, v, r, eta []float64
	xmz          float64 // Σ v
	dev0, dev1   float64
	saturated    bool
}

func enetNewSolver(pr *enetProblem, alpha, thresh float64, maxIter int) *enetSolver {
	n, p := pr.n, pr.p
	s := &enetSolver{
		pr: pr, alpha: alpha, maxIter: maxIter,
		b: make([]float64, p), bs: make([]float64, p), xv: make([]float64, p), ga: make([]float64, p),
		strong: make([]bool, p), inAct: make([]bool, p), active: make([]int, 0, p),
		order: make([]int, 0, p),
		q:     make([]float64, n), v: make([]float64, n), r: make([]float64, n), eta: make([]float64, n),
	}
	var q0 float64
	for i, wi := range pr.w {
		q0 += wi * pr.y[i]
	}
	s.b0 = math.Log(q0 / (1 - q0))
	vi := q0 * (1 - q0)
	for i, wi := range pr.w {
		s.v[i] = vi * wi
		s.r[i] = wi * (pr.y[i] - q0)
		s.q[i] = q0
	}
	s.xmz = vi
	s.dev1 = -(q0*math.Log(q0) + (1-q0)*math.Log(1-q0))
	s.dev0 = s.dev1
	s.shr = thresh * s.dev0
	for j := 0; j < p; j++ {
		if pr.usable[j] {
			s.ga[j] = math.Abs(floats.Dot(s.r, s.col(j)))
		}
	}
	return s
}

func (s *enetSolver) col(j int) []float64 { return s.pr.z[j*s.pr.n : (j+1)*s.pr.n] }

// lambdaMax is the smallest λ at which every coefficient is zero, with α
// floored at 1e-3.
func (s *enetSolver) lambdaMax() float64 {
	var g float64
	for j, ok := range s.pr.usable {
		if ok {
			g = math.Max(g, s.ga[j])
		}
	}
	return g / math.Max(s.alpha, enetAlphaFloor)
}

// intercept updates b0 and returns Σv·Δ².
func (s *enetSolver) intercept() float64 {
	d := floats.Sum(s.r) / s.xmz
	if d == 0 {
		return 0
	}
	s.b0 += d
	floats.AddScaled(s.r, -d, s.v)
	return s.xmz * d * d
}

// pass runs one coordinate-descent pass (over the strong set, in index
// order, when all is true, else over the active set) and the intercept
// update, and returns the largest weighted squared change.
//
// Each coordinate update is
//
//	u = Σ_i r_i z_ik + xv_k b_k,  b_k ← S(u, al1)/(xv_k + al2),  r ← r − Δ v∘z_k,
//
// with the residual update of one variable fused into the loop that forms
// u for the next, so that r is read once per update and v∘z_k is never
// stored; the first strong-set pass of an IRLS step also forms
// xv_k = Σ v z_k² in that loop.
func (s *enetSolver) pass(all bool, al1, al2 float64) (float64, error) {
	s.nlp++
	ord := s.active
	withXV := false
	if all {
		ord = s.order[:0]
		for k, st := range s.strong {
			if st {
				ord = append(ord, k)
			}
		}
		s.order = ord
		withXV = s.needXV
		s.needXV = false
	}
	var dlx float64
	pk, pc := -1, 0.0 // pending residual update r += pc·v∘z_pk
	for _, k := range ord {
		zk := s.col(k)
		var g float64
		switch {
		case pk >= 0 && withXV:
			g, s.xv[k] = enetAxpyDotXV(s.r, s.v, s.col(pk), pc, zk)
		case pk >= 0:
			g = enetAxpyDot(s.r, s.v, s.col(pk), pc, zk)
		case withXV:
			g, s.xv[k] = enetDotXV(s.r, s.v, zk)
		default: // gonum's assembly beats a Go loop here
			g = floats.Dot(s.r, zk)
		}
		pk = -1
		bk := s.b[k]
		u := g + s.xv[k]*bk
		au := math.Abs(u) - al1
		var nb float64
		if au > 0 {
			nb = math.Copysign(au, u) / (s.xv[k] + al2)
		}
		d := nb - bk
		if d == 0 {
			continue
		}
		s.b[k] = nb
		pk, pc = k, -d
		if !s.inAct[k] {
			s.inAct[k] = true
			s.active = append(s.active, k)
		}
		dlx = math.Max(dlx, s.xv[k]*d*d)
	}
	if pk >= 0 {
		enetAxpy(s.r, s.v, s.col(pk), pc)
	}
	dlx = math.Max(dlx, s.intercept())
	if dlx >= s.shr && s.nlp > s.maxIter {
		return dlx, fmt.Errorf("elastic net: %d coordinate passes: %w", s.maxIter, ErrNoConvergence)
	}
	return dlx, nil
}

// The kernels below accumulate their sums exactly as gonum's floats.Dot
// does on amd64 (four lanes by i mod 4, the tail in lane 0, combined as
// (l0 + l2) + (l1 + l3)), and their residual updates round as
// floats.AddScaled(r, c, v∘zp) does, so the iterates are bit for bit those
// of separate floats.Dot and floats.AddScaled calls on a stored v∘z_k.

// enetDotXV returns Σ r_i z_i and Σ (v_i z_i) z_i.
func enetDotXV(r, v, z []float64) (g, xv float64) {
	v, z = v[:len(r)], z[:len(r)]
	var a0, a1, a2, a3, c0, c1, c2, c3 float64
	i := 0
	for ; i+4 <= len(r); i += 4 {
		rs, vs, zs := r[i:i+4:i+4], v[i:i+4:i+4], z[i:i+4:i+4]
		a0 += rs[0] * zs[0]
		a1 += rs[1] * zs[1]
		a2 += rs[2] * zs[2]
		a3 += rs[3] * zs[3]
		c0 += vs[0] * zs[0] * zs[0]
		c1 += vs[1] * zs[1] * zs[1]
		c2 += vs[2] * zs[2] * zs[2]
		c3 += vs[3] * zs[3] * zs[3]
	}
	for ; i < len(r); i++ {
		a0 += r[i] * z[i]
		c0 += v[i] * z[i] * z[i]
	}
	return (a0 + a2) + (a1 + a3), (c0 + c2) + (c1 + c3)
}

// enetAxpy sets r_i += c·(v_i zp_i).
func enetAxpy(r, v, zp []float64, c float64) {
	v, zp = v[:len(r)], zp[:len(r)]
	for i := range r {
		r[i] += c * (v[i] * zp[i])
	}
}

// enetAxpyDot sets r_i += c·(v_i zp_i) and returns Σ r_i z_i of the updated
// r.
func enetAxpyDot(r, v, zp []float64, c float64, z []float64) float64 {
	v, zp, z = v[:len(r)], zp[:len(r)], z[:len(r)]
	var a0, a1, a2, a3 float64
	i := 0
	for ; i+4 <= len(r); i += 4 {
		rs, vs, ps, zs := r[i:i+4:i+4], v[i:i+4:i+4], zp[i:i+4:i+4], z[i:i+4:i+4]
		r0 := rs[0] + c*(vs[0]*ps[0])
		r1 := rs[1] + c*(vs[1]*ps[1])
		r2 := rs[2] + c*(vs[2]*ps[2])
		r3 := rs[3] + c*(vs[3]*ps[3])
		rs[0], rs[1], rs[2], rs[3] = r0, r1, r2, r3
		a0 += r0 * zs[0]
		a1 += r1 * zs[1]
		a2 += r2 * zs[2]
		a3 += r3 * zs[3]
	}
	for ; i < len(r); i++ {
		ri := r[i] + c*(v[i]*zp[i])
		r[i] = ri
		a0 += ri * z[i]
	}
	return (a0 + a2) + (a1 + a3)
}

// enetAxpyDotXV is enetAxpyDot that also returns Σ (v_i z_i) z_i.
func enetAxpyDotXV(r, v, zp []float64, c float64, z []float64) (g, xv float64) {
	v, zp, z = v[:len(r)], zp[:len(r)], z[:len(r)]
	var a0, a1, a2, a3, c0, c1, c2, c3 float64
	i := 0
	for ; i+4 <= len(r); i += 4 {
		rs, vs, ps, zs := r[i:i+4:i+4], v[i:i+4:i+4], zp[i:i+4:i+4], z[i:i+4:i+4]
		r0 := rs[0] + c*(vs[0]*ps[0])
		r1 := rs[1] + c*(vs[1]*ps[1])
		r2 := rs[2] + c*(vs[2]*ps[2])
		r3 := rs[3] + c*(vs[3]*ps[3])
		rs[0], rs[1], rs[2], rs[3] = r0, r1, r2, r3
		a0 += r0 * zs[0]
		a1 += r1 * zs[1]
		a2 += r2 * zs[2]
		a3 += r3 * zs[3]
		c0 += vs[0] * zs[0] * zs[0]
		c1 += vs[1] * zs[1] * zs[1]
		c2 += vs[2] * zs[2] * zs[2]
		c3 += vs[3] * zs[3] * zs[3]
	}
	for ; i < len(r); i++ {
		ri := r[i] + c*(v[i]*zp[i])
		r[i] = ri
		a0 += ri * z[i]
		c0 += v[i] * z[i] * z[i]
	}
	return (a0 + a2) + (a1 + a3), (c0 + c2) + (c1 + c3)
}

// fit solves the problem at λ = al, warm-started from the current state;
// alPrev is the previous λ of the path (0 before the first), used by the
// sequential strong rule only.
func (s *enetSolver) fit(al, alPrev float64) error {
	pr := s.pr
	al1, al2 := s.alpha*al, (1-s.alpha)*al
	tlam := s.alpha * (2*al - alPrev)
	for k, ok := range pr.usable {
		if ok && !s.strong[k] && s.ga[k] > tlam {
			s.strong[k] = true
		}
	}
	fmax := math.Log(1/enetPMin - 1)
	vmin := (1 + enetPMin) * enetPMin * (1 - enetPMin)
	for {
		// IRLS step: the quadratic approximation at the current fit.
		bs0 := s.b0
		copy(s.bs, s.b)
		s.needXV = true // formed by the first strong-set pass
		for {
			dlx, err := s.pass(true, al1, al2)
			if err != nil {
				return err
			}
			if dlx < s.shr {
				break
			}
			for {
				dlx, err := s.pass(false, al1, al2)
				if err != nil {
					return err
				}
				if dlx < s.shr {
					break
				}
			}
		}
		// New fit, working weights and residuals.
		for i := range s.eta {
			s.eta[i] = s.b0
		}
		for _, k := range s.active {
			if s.b[k] != 0 {
				floats.AddScaled(s.eta, s.b[k], s.col(k))
			}
		}
		s.xmz = 0
		for i, fi := range s.eta {
			var qi float64
			switch {
			case fi < -fmax:
				qi = 0
			case fi > fmax:
				qi = 1
			default:
				qi = 1 / (1 + math.Exp(-fi))
			}
			s.q[i] = qi
			vi := pr.w[i] * qi * (1 - qi)
			s.v[i] = vi
			s.xmz += vi
			s.r[i] = pr.w[i] * (pr.y[i] - qi)
		}
		if s.xmz <= vmin {
			s.saturated = true
			return nil
		}
		if s.xmz*(s.b0-bs0)*(s.b0-bs0) >= s.shr {
			continue
		}
		moved := false
		for _, k := range s.active {
			d := s.b[k] - s.bs[k]
			if s.xv[k]*d*d >= s.shr {
				moved = true
				break
			}
		}
		if moved {
			continue
		}
		// KKT check for the variables outside the strong set.
		violated := false
		for k, ok := range pr.usable {
			if !ok || s.strong[k] {
				continue
			}
			s.ga[k] = math.Abs(floats.Dot(s.r, s.col(k)))
			if s.ga[k] > al1 {
				s.strong[k] = true
				violated = true
			}
		}
		if !violated {
			return nil
		}
	}
}

// deviance returns −Σ w [y log p + (1−y) log(1−p)] at the current fit, p
// clipped to [pmin, 1−pmin] (half the deviance per unit weight).
//
// With equal weights w it is −w·log Π π_i, π_i = p_i or 1 − p_i: the
// product is accumulated eight factors at a time (each block ≥ pmin⁸ =
// 1e-40, no underflow) and renormalised to a mantissa in [½, 1) and a
// power of two, so one logarithm replaces n (the per-row
// logarithm was 12 % of a 100k-row path fit). Each multiplication adds a
// relative rounding of at most 2⁻⁵³, so the log of the product is off by at
// most about n·2⁻⁵³ in absolute terms (1.1e-11 for n = 100,000) — the same
// order as the rounding of the n-term sum it replaces, and far below the
// 1e-6 to which the deviance ratio matches glmnet's.
func (s *enetSolver) deviance() float64 {
	if s.pr.equalW {
		return -s.pr.w[0] * s.sumLogLik()
	}
	var dev float64
	for i, qi := range s.q {
		p := math.Min(math.Max(qi, enetPMin), 1-enetPMin)
		if s.pr.y[i] > 0 {
			dev -= s.pr.w[i] * math.Log(p)
		} else {
			dev -= s.pr.w[i] * math.Log(1-p)
		}
	}
	return dev
}

// sumLogLik returns Σ log π_i, π_i = p_i for y_i = 1 and 1 − p_i for
// y_i = 0, p clipped to [pmin, 1−pmin], as the log of a product (see
// deviance).
func (s *enetSolver) sumLogLik() float64 {
	q, y := s.q, s.pr.y
	y = y[:len(q)]
	// m·2^e is the product so far, m in [½, 1) after every block: the
	// exponent bits are moved into e by hand (m is positive and normal:
	// m ≥ ½·pmin⁸), which math.Frexp would do with checks for 0, Inf, NaN
	// and subnormals.
	m, e := 1.0, 0
	const block = 8
	for i := 0; i < len(q); i += block {
		c := 1.0
		for k := i; k < min(i+block, len(q)); k++ {
			// the clipping of deviance's math.Min(math.Max(q, pmin), 1−pmin),
			// for q in [0, 1]
			p := q[k]
			if p < enetPMin {
				p = enetPMin
			} else if p > 1-enetPMin {
				p = 1 - enetPMin
			}
			if y[k] == 0 {
				p = 1 - p
			}
			c *= p
		}
		bits := math.Float64bits(m * c)
		e += int(bits>>52) - 1022
		m = math.Float64frombits(bits&^(0x7ff<<52) | 1022<<52)
	}
	return math.Log(m) + float64(e)*math.Ln2
}

// enetRunPath fits the path on a prepared problem; nRows is the number of
// rows the caller passed (glmnet's nobs, for the default lambda.min.ratio).
func enetRunPath(pr *enetProblem, cfg enetConfig, nRows int) (*ElasticNetPath, error) {
	s := enetNewSolver(pr, cfg.alpha, cfg.thresh, cfg.maxIter)
	p := pr.p
	user := cfg.lambda != nil
	var lams []float64
	if user {
		lams = cfg.lambda
	} else {
		lams = enetDefaultLambdas(s.lambdaMax(), cfg, nRows, p)
	}
	path := &ElasticNetPath{
		Alpha:   cfg.alpha,
		NullDev: 2 * pr.sumW * s.dev0,
		Means:   append([]float64(nil), pr.mean...),
		SDs:     append([]float64(nil), pr.sd...),
	}
	alPrev := 0.0
	for k, lam := range lams {
		al := lam
		if !user {
			switch k {
			case 0:
				al = enetBig // glmnet fits the first λ as "infinity"
			case 1:
				alPrev = lams[0]
			}
		}
		if err := s.fit(al, alPrev); err != nil {
			return nil, fmt.Errorf("%w (at lambda %d = %g)", err, k, lam)
		}
		alPrev = al
		path.Lambda = append(path.Lambda, lam)
		coef := make([]float64, p)
		b0 := s.b0
		df := 0
		for j := 0; j < p; j++ {
			if s.b[j] != 0 {
				coef[j] = s.b[j] / pr.sd[j]
				b0 -= coef[j] * pr.mean[j]
				df++
			}
		}
		path.Intercept = append(path.Intercept, b0)
		path.Coef = append(path.Coef, coef)
		path.Df = append(path.Df, df)
		dr := (s.dev1 - s.deviance()) / s.dev0
		path.DevRatio = append(path.DevRatio, dr)
		if s.saturated {
			break
		}
		if user || k+1 < min(enetMinLambdas, len(lams)) {
			continue
		}
		if dr > enetDevMax || dr-path.DevRatio[k-1] < enetFDev {
			break
		}
	}
	return path, nil
}

// enetDefaultLambdas is glmnet's default sequence: λ_2 = f·λ_max, λ_{k+1} =
// f·λ_k with f = ratio^{1/(nlam−1)}, and λ_1 reported as exp(2 log λ_2 −
// log λ_3) (glmnet's fix.lam), which equals λ_max up to rounding.
func enetDefaultLambdas(lmax float64, cfg enetConfig, nRows, p int) []float64 {
	nl := cfg.nLambda
	ratio := cfg.minRatio
	if ratio == 0 {
		ratio = 1e-4
		if nRows < p {
			ratio = 1e-2
		}
	}
	ratio = math.Max(ratio, enetMinFlmin)
	lams := make([]float64, nl)
	lams[0] = lmax
	if nl == 1 {
		return lams
	}
	f := math.Pow(ratio, 1/float64(nl-1))
	al := lmax
	for k := 1; k < nl; k++ {
		al *= f
		lams[k] = al
	}
	if nl > 2 && lams[1] > 0 && lams[2] > 0 {
		lams[0] = math.Exp(2*math.Log(lams[1]) - math.Log(lams[2]))
	}
	return lams
}
