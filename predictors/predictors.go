package predictors

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Model is a fitted binary classifier that returns P(y = positive | x).
type Model interface {
	// NumFeatures is the number of columns the model expects.
	NumFeatures() int
	// Predict writes the predicted probability of the positive class for
	// each row of x into dst, allocating it when nil, and returns it. A
	// column count other than NumFeatures is an error, never a silent zero.
	Predict(x mat.Matrix, dst []float64) ([]float64, error)
}

// Scale names the scale on which an explanation is additive.
type Scale string

const (
	// LogOdds: base + Σ contributions = logit(P(y=1|x)).
	LogOdds Scale = "log-odds"
	// Probability: base + Σ contributions = P(y=1|x).
	Probability Scale = "probability"
)

// Explainer is a Model that attributes one prediction to its features.
type Explainer interface {
	Model
	// Explain writes one contribution per feature into phi (allocated when
	// nil) and returns the base value; base + Σ phi equals the model's
	// output for x on ExplanationScale to within 1e-9.
	Explain(x []float64, phi []float64) (base float64, contributions []float64, err error)
	// ExplanationScale is the scale on which Explain is additive.
	ExplanationScale() Scale
}

// Errors returned for data-dependent problems. They are wrapped with
// context; test them with errors.Is.
var (
	// ErrSingleClass: the labels (with positive weight) hold only one class.
	ErrSingleClass = errors.New("labels contain a single class")
	// ErrNotFinite: an input holds NaN or ±Inf.
	ErrNotFinite = errors.New("input holds NaN or Inf")
	// ErrNoConvergence: an iterative fit hit its iteration limit.
	ErrNoConvergence = errors.New("did not converge")
	// ErrFeatureCount: a matrix or row has the wrong number of columns.
	ErrFeatureCount = errors.New("wrong number of features")
	// ErrEmpty: no rows, or no rows with positive weight.
	ErrEmpty = errors.New("no observations")
)

// Sigmoid is the logistic function 1/(1+e^-z), computed without overflow.
func Sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Logit is log(p/(1-p)) with p clipped to [1e-15, 1-1e-15] so that 0 and 1
// map to finite values.
func Logit(p float64) float64 {
	const eps = 1e-15
	p = math.Min(math.Max(p, eps), 1-eps)
	return math.Log(p / (1 - p))
}

// checkTrainingData validates a design matrix, labels and optional weights
// for fitting: lengths must agree (panic otherwise), values must be finite,
// weights non-negative, and both classes must carry positive weight.
func checkTrainingData(x mat.Matrix, y []bool, w []float64) error {
	r, c := x.Dims()
	if len(y) != r {
		panic(fmt.Sprintf("predictors: %d labels for %d rows", len(y), r))
	}
	if w != nil && len(w) != r {
		panic(fmt.Sprintf("predictors: %d weights for %d rows", len(w), r))
	}
	if r == 0 || c == 0 {
		return ErrEmpty
	}
	if err := checkFinite(x); err != nil {
		return err
	}
	var pos, neg float64
	for i, yi := range y {
		wi := 1.0
		if w != nil {
			wi = w[i]
			if math.IsNaN(wi) || math.IsInf(wi, 0) || wi < 0 {
				return fmt.Errorf("weight %d is %v: weights must be finite and non-negative", i, wi)
			}
		}
		if yi {
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

// checkFinite reports the first NaN or Inf in x, naming its row and column
// (0-based).
func checkFinite(x mat.Matrix) error {
	r, c := x.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			v := x.At(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("row %d, column %d: %w", i, j, ErrNotFinite)
			}
		}
	}
	return nil
}

// checkPredictInput checks the column count of x against p and sizes dst.
func checkPredictInput(x mat.Matrix, p int, dst []float64) ([]float64, error) {
	r, c := x.Dims()
	if c != p {
		return nil, fmt.Errorf("%w: got %d columns, the model has %d", ErrFeatureCount, c, p)
	}
	if dst == nil {
		dst = make([]float64, r)
	}
	if len(dst) != r {
		panic(fmt.Sprintf("predictors: dst has length %d for %d rows", len(dst), r))
	}
	return dst, nil
}
