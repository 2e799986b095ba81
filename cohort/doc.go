// Package cohort simulates a lumbar spine registry whose true outcome
// probabilities are known, so that Spinecast's pipeline can be tested end
// to end and its calibration proved without real patient data.
//
// It is for: [Generate] (n patients from a seed and [Params]; every
// parameter of the data-generating process lives in [DefaultParams], and
// docs/cohort.md writes the process down), and the two views of the same
// patients: [Cohort.WriteCSV] (registry.csv: patient_id, the feature
// schema's columns, each outcome's observed value and its true probability
// in true_p_<outcome>) and [Cohort.WriteFHIR] (a FHIR R4 Bulk Data export
// whose extraction with package features at each patient's index date
// equals the CSV's columns — tested).
//
// Outcomes are labelled with the versioned definitions of package
// outcomes ([Outcomes] lists them; ndi_mcid15_12m is not simulated). PROM
// changes are drawn as Δ = mean + scale·Logistic, so P(Δ ≥ threshold) is
// exact for every definition on an instrument; complications are drawn
// from logistic models, readmission and reoperation conditionally on them
// (their true probabilities are exact mixtures).
//
// It is not for real data, nor a claim about real effect sizes: effect
// directions follow the literature, magnitudes are set to reach target
// prevalences and discrimination. The imaging phenotype is latent; with
// [Cohort.AddImages] each patient may get a simulated lumbar MRI driven by
// it (a cartoon, for testing imaging fusion), whose features fill the
// imaging block.
//
// Main types: [Cohort], [Patient], [Params], [ImageParams], [MRI],
// [ImageOptions].
package cohort
