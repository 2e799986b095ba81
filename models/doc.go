// Package models turns tabular data into model artifacts and artifacts into
// predictions. An artifact is one self-describing JSON document: the fitted
// predictor, its calibration and uncertainty machinery, the ordered feature
// list with training statistics (for imputation and out-of-range warnings),
// cross-validated metrics, a fingerprint of the training data and the sha256
// of its own content.
//
// It sits between the edges (CSV files, later FHIR-derived feature vectors)
// and package predictors, which it drives; it knows nothing of HTTP.
//
// Main types: Artifact (the document; Load, Save, Verify), TrainSettings and
// Train (the training pipeline: imputation, cross-fitted calibration,
// cross-validated metrics, uncertainty), Scorer (artifact → predictions with
// intervals, explanations and warnings) and Table / RowReader (CSV input with
// errors that name the row and column).
package models
