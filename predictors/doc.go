// Package predictors holds Spinecast's binary classifiers and the statistics
// around them: elastic-net logistic regression (glmnet's objective), a
// probability random forest with flat trees, a small multilayer perceptron,
// probability calibration (Platt, isotonic), additive explanations (linear
// SHAP, path-dependent TreeSHAP, Shapley values for the MLP) and metrics
// (AUC with DeLong intervals, Brier, log-loss, calibration slope and
// intercept, ECE, bootstrap intervals).
//
// It is pure Go on gonum and imports nothing else of Spinecast's: researchers
// can use it from their own code. It knows nothing of FHIR, CSV files, HTTP or
// model artifacts (those live in features/, models/ and server/).
//
// Conventions, shared by every file in the package:
//   - a design matrix is a *mat.Dense with one row per observation;
//   - labels are []bool, true for the positive class;
//   - weights are []float64 case weights; nil means unit weights;
//   - inputs are never mutated; outputs may be written into a slice the
//     caller passes (dst), allocated when dst is nil;
//   - a length mismatch between arguments is a programmer error and panics
//     with a message prefixed "predictors: "; anything that depends on the
//     data (NaN or Inf, a single class, no convergence) is returned as an
//     error;
//   - a nil settings pointer means the documented defaults.
//
// Main types: ElasticNet (with ElasticNetPath and ElasticNetCV), Forest, MLP,
// Platt and Isotonic calibrators. Each fitted model implements Model; those
// that explain themselves implement Explainer, stating the scale (log-odds or
// probability) on which base value + contributions equals the model output.
package predictors
