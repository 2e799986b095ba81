// Package server is Spinecast's HTTP face: the REST API (predictions, models,
// outcomes, feature schema), CDS Hooks 2.0 services with their JWT
// authentication, FHIR RiskAssessment output, Prometheus metrics and the
// audit trail of every prediction and CDS call.
//
// It is the only package that knows echo. It does not train models, parse
// FHIR into features (an Extractor does, supplied by the caller), or own
// storage (an Auditor does; package store implements it).
//
// Main types: Config (what an operator sets), Deps (what the process wires
// in: models, store, extractor, logger, clock), Server (New, Handler,
// Serve), Registry (the served models), Verifier (CDS Hooks / OAuth2 JWT
// verification against a trust list) and Error (coded errors mapped once to
// problem+json or OperationOutcome).
//
// Conventions: probabilities are fractions in [0, 1] everywhere, including
// RiskAssessment.prediction.probabilityDecimal (as in the FHIR R4 examples,
// which write 2 % as 0.02). Logs never carry tokens, patient identifiers or
// feature values; routes are logged by template, never by raw path.
package server
