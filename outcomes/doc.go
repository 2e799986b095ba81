// Package outcomes holds Spinecast's versioned outcome definitions: what
// "reaching the MCID", "responding to a TFESI" or "a complication" means,
// as data (id, version, instrument, timepoint, rule, threshold, the
// population it applies to, and the source it was taken from), embedded
// from data/outcomes.json.
//
// It is for naming and evaluating outcome definitions: a model is trained
// for exactly one definition and carries its id and version; the simulator
// (package cohort) labels its patients with [Definition.Met]. The
// literature disagrees on thresholds, so definitions are versioned and
// every threshold names its source; those not checked against the paper
// are marked Verified = false.
//
// It is not for reading PROMs from FHIR (package fhir) or computing
// features (package features).
//
// Main types: [Set] (the versioned list; [Default], [Parse]) and
// [Definition].
package outcomes
