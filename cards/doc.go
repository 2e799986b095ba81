// Package cards writes model cards: the document a researcher publishes
// with a model and a hospital's AI governance committee reads before
// switching it on. A card evaluates an artifact (package models) on
// held-out data and covers the TRIPOD+AI reporting items: intended use
// and users, the outcome definition (id and version, package outcomes),
// data source and dates, n and events, predictors, missing-data handling,
// algorithm and hyperparameters, discrimination (AUC with its DeLong 95 %
// CI), calibration (intercept, slope, ECE and a calibration curve with
// Wilson 95 % bands), performance by subgroup with CIs, limitations,
// version and sha256.
//
// It is for: [Build] (artifact + held-out CSV → [Card]) and
// [Card.WriteDir] (card.json, card.md, calibration.png, roc.png drawn with
// gonum/plot). When the held-out data carry true probabilities
// (true_p_<outcome> columns of a simulated registry, package cohort) the
// card also reports the oracle AUC and the mean absolute error of the
// predicted probabilities against the true ones.
//
// It is not for training or scoring (package models) or serving.
//
// Main types: [Card], [Options], [Subgroup].
package cards
