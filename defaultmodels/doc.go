// Package defaultmodels holds Spinecast's embedded demonstration models:
// an elastic net, a random forest and an MLP for every outcome the
// simulator (package cohort) labels, trained reproducibly by `make models`
// (DefaultRecipe, Build) on a simulated registry and embedded with go:embed
// (gzip-compressed artifacts and data/manifest.json), so that the server
// and the CLI work with no setup. One model per outcome is the default.
//
// Every default model is a demonstration model trained on simulated data,
// not for clinical use: its artifact says so (Demonstration, Notice) and
// every output that shows its predictions must carry Notice.
//
// It is for: [List], [Default] and [Load] (the embedded models), [Resolve]
// (what a --model flag calls: a file path or an embedded id), and the
// build: [Recipe], [Build], [Encode]; [All] gives the server its registry.
// The cards of the default models are written by the internal/gen command
// behind `make models`.
//
// It is not for training models in general (package models) or writing
// cards (package cards).
//
// Main types: [Entry], [Manifest], [Recipe], [Built].
package defaultmodels
