// Package features turns a patient record (package fhir) into the
// versioned feature vector Spinecast's models are trained on and score.
//
// It is for: the feature [Schema] (name, type, unit, valid range,
// description, source and missing indicator of every column, embedded from
// data/schema.json, version [SchemaVersion], printed as JSON or Markdown);
// [Extract], which computes a [Vector] at an explicit index date using only
// what is dated on or before it (no leakage); PROM history features per
// catalogue instrument (baseline, number of assessments, slope per 30 days
// over the last 365 days, min, max, change since first, days since last);
// missing values kept as NaN with 0/1 indicators, never zero-filled;
// provenance (the FHIR references behind each feature); and the imaging
// block, present in the schema, marked missing until the imaging pipeline
// fills it with [Vector.SetImaging].
//
// It is not for reading FHIR (package fhir), HTTP, models or prediction: it
// imports neither predictors, models nor server. A model records
// SchemaVersion and must refuse vectors of another version.
//
// Main types: [Schema], [Feature], [Vector], [Options].
package features
