package cohort

// Term is one term of a linear predictor: Coef times the design variable
// named Var (see Vars).
type Term struct {
	Var  string  `json:"var"`
	Coef float64 `json:"coef"`
}

// Linear is a linear predictor: Intercept + Σ Coef·var, on the logit scale
// for probabilities, or in the instrument's unit for a mean change.
type Linear struct {
	Intercept float64 `json:"intercept"`
	Terms     []Term  `json:"terms"`
}

// Change is the model of a PROM change: the improvement Δ (in the
// instrument's improving direction; for Relative, as a fraction of the
// baseline) is Mean + Scale·L with L standard logistic, so
//
//	P(Δ ≥ t) = σ((Mean − t)/Scale)
//
// exactly, for any threshold t — which is how the true probabilities of
// every definition on the instrument are known.
type Change struct {
	Mean     Linear  `json:"mean"`
	Scale    float64 `json:"scale"`
	Relative bool    `json:"relative"`
}

// PROM describes one simulated instrument: the recorded baseline is
// Base + Σ terms + Noise·N(0,1), clamped to [Min, Max] and rounded to Step;
// the earlier assessments follow a linear trajectory whose worsening per 30
// days is N(Trend, TrendSD), plus N(0, MeasureSD) measurement error.
type PROM struct {
	Instrument string  `json:"instrument"`
	Base       Linear  `json:"base"`
	Noise      float64 `json:"noise"`
	Min        float64 `json:"min"`
	Max        float64 `json:"max"`
	Step       float64 `json:"step"`
	// HigherWorse is the instrument's direction (ODI, NRS: true).
	HigherWorse bool    `json:"higher_worse"`
	Trend       float64 `json:"trend_per_30d"`
	TrendSD     float64 `json:"trend_sd"`
	MeasureSD   float64 `json:"measure_sd"`
	MissingP    float64 `json:"missing_p"`
}

// Params are every parameter of the data-generating process, in one place;
// docs/cohort.md describes the process. Design variables (Vars) are
// centred: age10 = (age − 57)/10, bmi5 = (BMI − 28.5)/5, asa = ASA − 2,
// duration_yr = symptom months / 12, levels_extra = levels − 1.
type Params struct {
	// Calendar: index (consultation) dates are IndexStart + U{0..IndexDays}.
	IndexStart string `json:"index_start"` // YYYY-MM-DD
	IndexDays  int    `json:"index_days"`

	AgeMean, AgeSD, AgeMin, AgeMax float64
	FemaleP                        float64
	BMIMean, BMISD, BMIMin, BMIMax float64
	BMIMissingP                    float64
	Depression, Anxiety            Linear
	SmokingCurrent, SmokingFormer  Linear // former: among non-current smokers
	SmokingMissingP                float64
	Diabetes, Hypertension         Linear
	Coronary, Osteoporosis         Linear
	// Imaging is the latent degeneration/stenosis phenotype: its mean (sd 1
	// around it); no imaging features are exported.
	Imaging Linear
	// Diagnosis group scores (multinomial logit): herniation, stenosis,
	// spondylolisthesis, deformity.
	DxHerniation, DxStenosis, DxSpondylolisthesis, DxDeformity Linear
	DxMissingP                                                 float64 // no spine diagnosis coded
	DurationMedianMonths, DurationSDLog                        float64
	DurationMin, DurationMax                                   float64
	Opioid                                                     Linear
	OpioidPastP                                                float64 // an opioid statement older than 90 days, no current use
	ASA                                                        Linear  // latent, plus N(0, ASANoise)
	ASANoise                                                   float64
	ASACuts                                                    [3]float64
	ASAMissingP                                                float64
	PriorSurgery                                               Linear
	Severity                                                   float64 // SD of the shared PROM severity (mean 0)
	PROMs                                                      []PROM
	HistoryCountP                                              []float64 // P(1..k assessments before the index)
	// Treatment: TFESI (logit), otherwise surgery; fusion (logit) or
	// decompression.
	TFESI, Fusion Linear

	// Outcome models, by outcome id for the PROM changes (one per
	// instrument) and events.
	ODIChange, NRSBackChange, NRSLegChange, EQ5DChange, PFChange, TFESIChange Change
	SSI, OtherComplication                                                    Linear
	// Readmission and Reoperation may use the complication indicators
	// "ssi" and "other_complication" as variables: their marginal
	// probabilities are exact mixtures over those.
	Readmission, Reoperation Linear
	LossToFollowUpP          float64

	// Image is the simulated lumbar MRI, used only by Cohort.AddImages:
	// Generate draws nothing from it, so it never changes Generate's output.
	Image ImageParams `json:"image"`
}

// ImageParams describe the simulated lumbar MRI (docs/cohort.md, "Simulated
// images"): an axial T2-weighted stack of 64×64×16 voxels of 0.8×0.8×4 mm
// centred on one disc level, with the dural sac as the region of interest.
// z below is the patient's latent imaging phenotype (Patient.Imaging,
// degeneration/stenosis, sd 1); every other draw is nuisance, unrelated to
// the outcomes.
type ImageParams struct {
	// MRIP is the probability that a patient has an MRI.
	MRIP float64 `json:"mri_p"`
	// StudyDaysMax: the study is dated index date − U{0..StudyDaysMax} days.
	StudyDaysMax int `json:"study_days_max"`
	// CanalAreaMM2 is the dural-sac cross-section away from the disc (mm²)
	// and CanalAspect its lateral/anteroposterior axis ratio; CanalSizeSD
	// and CanalAspectSD are the sds of their logs across patients (anatomy,
	// unrelated to z).
	CanalAreaMM2  float64 `json:"canal_area_mm2"`
	CanalAspect   float64 `json:"canal_aspect"`
	CanalSizeSD   float64 `json:"canal_size_sd"`
	CanalAspectSD float64 `json:"canal_aspect_sd"`
	// The fraction of the sac's cross-section lost at the disc level is
	// Narrowing + NarrowingPerSD·z + NarrowingSD·N(0,1) clamped to
	// [0, NarrowingMax]; it fades away from the disc as a Gaussian of sd
	// NarrowingSpanMM·exp(NarrowingSpanSD·N(0,1)) (mm along z).
	Narrowing       float64 `json:"narrowing"`
	NarrowingPerSD  float64 `json:"narrowing_per_sd"`
	NarrowingSD     float64 `json:"narrowing_sd"`
	NarrowingMax    float64 `json:"narrowing_max"`
	NarrowingSpanMM float64 `json:"narrowing_span_mm"`
	NarrowingSpanSD float64 `json:"narrowing_span_sd"`
	// The disc is DiscHeightMM·(1 − DiscLossPerSD·z) high (clamped to
	// [3, 14] mm); its nucleus's T2 signal, relative to a healthy one, is
	// Nucleus − NucleusPerSD·z + NucleusSD·N(0,1) clamped to [0.15, 1.1]
	// (Pfirrmann-like darkening).
	DiscHeightMM  float64 `json:"disc_height_mm"`
	DiscLossPerSD float64 `json:"disc_loss_per_sd"`
	Nucleus       float64 `json:"nucleus"`
	NucleusPerSD  float64 `json:"nucleus_per_sd"`
	NucleusSD     float64 `json:"nucleus_sd"`
	// Roots cauda-equina nerve roots of radius RootRadiusMM lie in the sac
	// at fixed relative positions, so a narrower sac is more crowded
	// (darker and more heterogeneous on T2).
	Roots        int     `json:"roots"`
	RootRadiusMM float64 `json:"root_radius_mm"`
	// Nuisance: scanner gain exp(GainSD·N(0,1)); Rician noise of sd
	// NoiseSD·exp(NoiseSDLog·N(0,1)) (signal units, CSF ≈ 1000); a linear
	// anteroposterior coil shading of slope U(−BiasMax, BiasMax) across the
	// field of view; anatomy shifted by U(−ShiftMM, ShiftMM) along each
	// axis.
	GainSD     float64 `json:"gain_sd"`
	NoiseSD    float64 `json:"noise_sd"`
	NoiseSDLog float64 `json:"noise_sd_log"`
	BiasMax    float64 `json:"bias_max"`
	ShiftMM    float64 `json:"shift_mm"`
}

func lin(intercept float64, kv ...any) Linear {
	l := Linear{Intercept: intercept}
	for i := 0; i < len(kv); i += 2 {
		l.Terms = append(l.Terms, Term{Var: kv[i].(string), Coef: kv[i+1].(float64)})
	}
	return l
}

// DefaultParams returns the documented parameters. Effect directions follow
// the spine literature (see docs/cohort.md); magnitudes are chosen to give
// prevalences near ODI MCID 60 %, TFESI response 55 % and any complication
// 12 %, and oracle AUCs in the published 0.70–0.85 range.
func DefaultParams() *Params {
	return &Params{
		IndexStart: "2022-01-03", IndexDays: 900,
		AgeMean: 57, AgeSD: 13, AgeMin: 18, AgeMax: 90,
		FemaleP: 0.52,
		BMIMean: 28.5, BMISD: 5, BMIMin: 16, BMIMax: 55, BMIMissingP: 0.06,
		Depression:      lin(-1.7, "female", 0.4, "age10", -0.1),
		Anxiety:         lin(-2.2, "depression", 1.6, "female", 0.3),
		SmokingCurrent:  lin(-1.5, "age10", -0.2, "depression", 0.5),
		SmokingFormer:   lin(-1.0, "age10", 0.15),
		SmokingMissingP: 0.04,
		Diabetes:        lin(-2.1, "age10", 0.35, "bmi5", 0.45),
		Hypertension:    lin(-0.8, "age10", 0.55, "bmi5", 0.35),
		Coronary:        lin(-3.0, "age10", 0.6, "diabetes", 0.6, "hypertension", 0.5),
		Osteoporosis:    lin(-3.4, "age10", 0.7, "female", 1.2),
		Imaging:         lin(0, "age10", 0.25),

		DxHerniation:        lin(0.5, "age10", -0.5, "imaging", -0.4),
		DxStenosis:          lin(0.3, "age10", 0.5, "imaging", 0.6),
		DxSpondylolisthesis: lin(-0.6, "age10", 0.2, "female", 0.5, "imaging", 0.2),
		DxDeformity:         lin(-2.2, "age10", 0.3, "imaging", 0.3),
		DxMissingP:          0.04,

		DurationMedianMonths: 9, DurationSDLog: 0.8, DurationMin: 1, DurationMax: 120,
		Opioid:      lin(-1.3, "depression", 0.7, "anxiety", 0.3, "duration_yr", 0.15, "smoking_current", 0.2),
		OpioidPastP: 0.10,
		ASA:         lin(0, "age10", 0.35, "diabetes", 0.6, "coronary", 0.8, "hypertension", 0.3, "bmi5", 0.25),
		ASANoise:    0.7, ASACuts: [3]float64{-0.6, 0.7, 1.9}, ASAMissingP: 0.05,
		PriorSurgery: lin(-2.3, "age10", 0.2),

		Severity: 1,
		PROMs: []PROM{
			{Instrument: "odi", Base: lin(42, "severity", 12.0, "depression", 4.0, "anxiety", 2.0, "opioid", 2.0, "age10", 1.5),
				Noise: 4, Min: 0, Max: 100, Step: 2, HigherWorse: true, Trend: 0.8, TrendSD: 0.8, MeasureSD: 4, MissingP: 0.03},
			{Instrument: "nrs_back", Base: lin(6.0, "severity", 1.3, "depression", 0.4, "dx_stenosis", 0.3),
				Noise: 1.0, Min: 0, Max: 10, Step: 1, HigherWorse: true, Trend: 0.08, TrendSD: 0.1, MeasureSD: 0.8, MissingP: 0.03},
			{Instrument: "nrs_leg", Base: lin(5.3, "severity", 1.2, "dx_herniation", 1.2, "imaging", 0.4),
				Noise: 1.3, Min: 0, Max: 10, Step: 1, HigherWorse: true, Trend: 0.08, TrendSD: 0.1, MeasureSD: 0.8, MissingP: 0.04},
			{Instrument: "eq5d_index", Base: lin(0.42, "severity", -0.09, "depression", -0.05),
				Noise: 0.1, Min: -0.5, Max: 1, Step: 0.001, Trend: 0.008, TrendSD: 0.01, MeasureSD: 0.04, MissingP: 0.15},
			{Instrument: "promis_pf", Base: lin(36, "severity", -3.5, "depression", -1.5, "age10", -1.0),
				Noise: 3.5, Min: 10, Max: 90, Step: 0.1, Trend: 0.3, TrendSD: 0.4, MeasureSD: 2, MissingP: 0.30},
		},
		HistoryCountP: []float64{0.35, 0.30, 0.20, 0.15},

		TFESI:  lin(-0.45, "dx_herniation", 1.2, "dx_spondylolisthesis", -0.8, "dx_deformity", -2.0, "leg_dominance", 0.3),
		Fusion: lin(-2.0, "dx_spondylolisthesis", 3.0, "dx_deformity", 3.5, "dx_stenosis", 0.3),

		// Improvement in ODI points.
		ODIChange: Change{Scale: 6.5, Mean: lin(7.1, "odi_b", 0.42, "depression", -7.0, "anxiety", -3.0, "smoking_current", -5.0,
			"duration_yr", -2.0, "opioid", -6.0, "asa", -2.0, "prior_surgery", -5.0, "dx_spondylolisthesis", 3.0,
			"age10", -1.0, "imaging", 1.0)},
		NRSBackChange: Change{Scale: 1.0, Mean: lin(0.2, "nrs_back_b", 0.45, "depression", -0.7, "smoking_current", -0.4,
			"opioid", -0.5, "duration_yr", -0.15, "dx_spondylolisthesis", 0.5, "fusion", 0.3)},
		NRSLegChange: Change{Scale: 1.0, Mean: lin(0.3, "nrs_leg_b", 0.55, "dx_herniation", 0.8, "depression", -0.6,
			"opioid", -0.5, "duration_yr", -0.2, "prior_surgery", -0.3)},
		EQ5DChange: Change{Scale: 0.06, Mean: lin(0.25, "eq5d_b", -0.45, "depression", -0.05, "smoking_current", -0.03,
			"opioid", -0.04)},
		PFChange: Change{Scale: 2.5, Mean: lin(21, "pf_b", -0.4, "depression", -2.5, "opioid", -2.0, "smoking_current", -1.5,
			"age10", -1.0)},
		// Relative reduction of leg pain after a TFESI.
		TFESIChange: Change{Scale: 0.115, Relative: true, Mean: lin(0.67, "dx_herniation", 0.15, "dx_stenosis", -0.08,
			"leg_dominance", 0.04, "duration_yr", -0.04, "depression", -0.08, "opioid", -0.07, "smoking_current", -0.05,
			"prior_surgery", -0.06, "imaging", -0.10)},

		SSI: lin(-4.6, "bmi5", 0.4, "diabetes", 0.8, "smoking_current", 0.7, "fusion", 0.9, "levels_extra", 0.25,
			"asa", 0.35, "opioid", 0.4),
		OtherComplication: lin(-3.55, "age10", 0.45, "asa", 0.5, "diabetes", 0.4, "bmi5", 0.15, "fusion", 0.8,
			"levels_extra", 0.3, "smoking_current", 0.3, "coronary", 0.3, "osteoporosis", 0.3),
		Readmission: lin(-3.8, "other_complication", 1.8, "ssi", 2.0, "asa", 0.6, "age10", 0.35, "diabetes", 0.3, "fusion", 0.4),
		Reoperation: lin(-3.85, "ssi", 2.5, "fusion", 0.9, "prior_surgery", 1.2, "levels_extra", 0.45, "smoking_current", 0.7, "osteoporosis", 0.5, "age10", -0.2),

		LossToFollowUpP: 0.08,

		Image: ImageParams{
			MRIP: 0.8, StudyDaysMax: 90,
			CanalAreaMM2: 170, CanalAspect: 1.3, CanalSizeSD: 0.1, CanalAspectSD: 0.1,
			Narrowing: 0.35, NarrowingPerSD: 0.15, NarrowingSD: 0.08, NarrowingMax: 0.85, NarrowingSpanMM: 8, NarrowingSpanSD: 0.25,
			DiscHeightMM: 10, DiscLossPerSD: 0.1, Nucleus: 0.75, NucleusPerSD: 0.2, NucleusSD: 0.12,
			Roots: 10, RootRadiusMM: 1.1,
			GainSD: 0.15, NoiseSD: 25, NoiseSDLog: 0.3, BiasMax: 0.1, ShiftMM: 2,
		},
	}
}
