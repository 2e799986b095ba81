package cohort

import (
	"fmt"
	"io"
	"strings"
)

func (l Linear) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%g", l.Intercept)
	for _, t := range l.Terms {
		sign := "+"
		c := t.Coef
		if c < 0 {
			sign, c = "−", -c
		}
		fmt.Fprintf(&b, " %s %g·%s", sign, c, t.Var)
	}
	return b.String()
}

// WriteMarkdown writes the parameters as the Markdown tables of
// docs/cohort.md (a test keeps the document in step with DefaultParams).
func (p *Params) WriteMarkdown(w io.Writer) {
	pr := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	pr("| Quantity | Model |\n|---|---|\n")
	pr("| index date | %s + U{0..%d} days |\n", p.IndexStart, p.IndexDays)
	pr("| age (years) | N(%g, %g²) clamped to [%g, %g] |\n", p.AgeMean, p.AgeSD, p.AgeMin, p.AgeMax)
	pr("| female | Bernoulli(%g) |\n", p.FemaleP)
	pr("| BMI | N(%g, %g²) clamped to [%g, %g], 0.1 steps; not recorded with p = %g |\n", p.BMIMean, p.BMISD, p.BMIMin, p.BMIMax, p.BMIMissingP)
	for _, x := range []struct {
		name string
		l    Linear
	}{
		{"depression (logit)", p.Depression}, {"anxiety (logit)", p.Anxiety}, {"current smoker (logit)", p.SmokingCurrent},
		{"former smoker, if not current (logit)", p.SmokingFormer}, {"diabetes (logit)", p.Diabetes},
		{"hypertension (logit)", p.Hypertension}, {"coronary disease (logit)", p.Coronary}, {"osteoporosis (logit)", p.Osteoporosis},
		{"imaging phenotype (mean; sd 1; latent)", p.Imaging},
		{"diagnosis score: disc herniation", p.DxHerniation}, {"diagnosis score: stenosis", p.DxStenosis},
		{"diagnosis score: spondylolisthesis", p.DxSpondylolisthesis}, {"diagnosis score: deformity", p.DxDeformity},
		{"preoperative opioids (logit)", p.Opioid}, {"ASA latent (+ N(0, ASANoise²), cut into classes 1–4)", p.ASA},
		{"prior spine surgery (logit)", p.PriorSurgery}, {"TFESI pathway (logit)", p.TFESI}, {"fusion, if surgery (logit)", p.Fusion},
	} {
		pr("| %s | %s |\n", x.name, x.l)
	}
	pr("| smoking not recorded | p = %g |\n", p.SmokingMissingP)
	pr("| no spine diagnosis coded | p = %g (symptom duration then missing) |\n", p.DxMissingP)
	pr("| symptom duration (months) | log-normal, median %g, sdlog %g, clamped to [%g, %g] |\n", p.DurationMedianMonths, p.DurationSDLog, p.DurationMin, p.DurationMax)
	pr("| past opioid statement only (> 90 days before) | p = %g |\n", p.OpioidPastP)
	pr("| ASA | noise sd %g, cuts %v, not recorded with p = %g |\n", p.ASANoise, p.ASACuts, p.ASAMissingP)
	pr("| PROM severity | N(0, %g²), shared by the instruments |\n", p.Severity)
	pr("| assessments before the index | P(1..%d) = %v |\n", len(p.HistoryCountP), p.HistoryCountP)
	pr("\n| Instrument | Baseline (before noise) | Noise sd | Range, step | Worsening per 30 d (sd) | Measurement sd | Not collected |\n|---|---|---|---|---|---|---|\n")
	for _, q := range p.PROMs {
		pr("| %s | %s | %g | [%g, %g], %g | %g (%g) | %g | %g |\n", q.Instrument, q.Base, q.Noise, q.Min, q.Max, q.Step, q.Trend, q.TrendSD, q.MeasureSD, q.MissingP)
	}
	pr("\n| Outcome model | Mean improvement (or logit) | Logistic scale |\n|---|---|---|\n")
	for _, x := range []struct {
		name string
		c    Change
	}{
		{"ODI change (points), surgery", p.ODIChange}, {"NRS back change, surgery", p.NRSBackChange},
		{"NRS leg change, surgery", p.NRSLegChange}, {"EQ-5D index change, surgery", p.EQ5DChange},
		{"PROMIS-PF T change, surgery", p.PFChange}, {"relative leg-pain reduction, TFESI", p.TFESIChange},
	} {
		pr("| %s | %s | %g |\n", x.name, x.c.Mean, x.c.Scale)
	}
	for _, x := range []struct {
		name string
		l    Linear
	}{
		{"surgical-site infection (logit)", p.SSI}, {"other complication (logit)", p.OtherComplication},
		{"readmission (logit, given complications)", p.Readmission}, {"reoperation (logit, given SSI)", p.Reoperation},
	} {
		pr("| %s | %s | – |\n", x.name, x.l)
	}
	pr("| loss to follow-up (all follow-up PROMs) | p = %g | – |\n", p.LossToFollowUpP)
	im := &p.Image
	pr("\n| Simulated MRI (`AddImages`; z = imaging phenotype) | Model |\n|---|---|\n")
	pr("| has an MRI | p = %g; study date = index date − U{0..%d} days |\n", im.MRIP, im.StudyDaysMax)
	pr("| dural sac away from the disc | area %g mm² · exp(%g·N), lateral/AP aspect %g · exp(%g·N) |\n", im.CanalAreaMM2, im.CanalSizeSD, im.CanalAspect, im.CanalAspectSD)
	pr("| sac area lost at the disc level | %g + %g·z + %g·N clamped to [0, %g], Gaussian along z of sd %g mm · exp(%g·N) |\n",
		im.Narrowing, im.NarrowingPerSD, im.NarrowingSD, im.NarrowingMax, im.NarrowingSpanMM, im.NarrowingSpanSD)
	pr("| disc height | %g mm · (1 − %g·z), clamped to [3, 14] mm |\n", im.DiscHeightMM, im.DiscLossPerSD)
	pr("| nucleus T2 signal (× healthy) | %g − %g·z + %g·N clamped to [0.15, 1.1] |\n", im.Nucleus, im.NucleusPerSD, im.NucleusSD)
	pr("| nerve roots in the sac | %d of radius %g mm at fixed relative positions |\n", im.Roots, im.RootRadiusMM)
	pr("| nuisance | gain exp(%g·N); Rician noise sd %g · exp(%g·N); AP shading slope U(±%g); shifts U(±%g) mm per axis |\n",
		im.GainSD, im.NoiseSD, im.NoiseSDLog, im.BiasMax, im.ShiftMM)
}
