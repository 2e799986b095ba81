package cohort_test

import (
	"flag"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/cohort"
	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/predictors"
)

var imagingAll = flag.Bool("imaging-all", false, "TestImagingBlockImprovesPrediction: simulate MRIs for every patient (not only TFESI) and also report odi_mcid15_12m")

// evidenceN is the cohort of TestImagingBlockImprovesPrediction.
const evidenceN = 5000

// TestImagingBlockImprovesPrediction is the end-to-end evidence of the
// imaging fusion on simulated data: the latent degeneration/stenosis
// phenotype drives both the simulated MRIs and TFESI response, so an
// elastic net given the imaging block (radiomics + embedding, extracted
// from the images) must beat the same model without it on held-out
// patients (5-fold cross-fitting: every patient is predicted by models
// that never saw it). The paired DeLong test's 95 % interval of the AUC
// difference must exclude 0. It also checks that the phenotype shows in the images
// (the dural-sac volume shrinks with it).
//
// By default only the TFESI patients are imaged (quicker; a patient's image
// does not depend on who else is imaged); -imaging-all images everyone and
// reports odi_mcid15_12m too (its imaging effect is small: 1 ODI point
// per sd, and no assertion is made on it).
func TestImagingBlockImprovesPrediction(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("thousands of simulated MRIs: not under -short or -race")
	}
	co := mustGenerate(t, evidenceN, 2026)
	opts := &cohort.ImageOptions{Only: func(p *cohort.Patient) bool { return p.Treatment == cohort.TFESI }}
	outcomes := []string{"tfesi_response_2m"}
	if *imagingAll {
		opts.Only = nil
		outcomes = append(outcomes, "odi_mcid15_12m")
	}
	mustAddImages(t, co, opts)
	s := features.DefaultSchema()

	// The phenotype → image link, on the imaged patients.
	var z []float64
	cols := map[string][]float64{}
	for _, p := range co.Patients {
		if p.MRI == nil {
			continue
		}
		z = append(z, p.Imaging)
		for _, name := range []string{"img_morph_volume", "img_morph_sphericity", "img_stat_mean", "img_stat_skew", "img_ih_entropy", "img_emb_00"} {
			cols[name] = append(cols[name], p.Features[s.Index(name)])
		}
	}
	for _, name := range []string{"img_morph_volume", "img_morph_sphericity", "img_stat_mean", "img_stat_skew", "img_ih_entropy", "img_emb_00"} {
		t.Logf("r(%s, phenotype) = %+.3f over %d imaged patients", name, pearson(cols[name], z), len(z))
	}
	if r := pearson(cols["img_morph_volume"], z); !(r < -0.5) {
		t.Errorf("r(img_morph_volume, phenotype) = %.3f, want < -0.5 (the sac narrows with the phenotype)", r)
	}

	var without, with []int // feature columns of the two models
	for j, f := range s.Features {
		if f.Block == "imaging" {
			with = append(with, j)
		} else {
			without = append(without, j)
			with = append(with, j)
		}
	}
	for _, id := range outcomes {
		k := indexOf(co.OutcomeIDs, id)
		var all []*cohort.Patient
		for i := range co.Patients {
			if co.Patients[i].Observed[k] >= 0 {
				all = append(all, &co.Patients[i])
			}
		}
		y := labels(all, k)
		pImg, pNo := crossFit(t, all, with, without, k)
		r, err := predictors.DeLongPaired(pImg, pNo, y, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		imaged := 0
		for _, p := range all {
			if p.MRI != nil {
				imaged++
			}
		}
		truth := make([]float64, len(all))
		for i, p := range all {
			truth[i] = p.TrueP[k]
		}
		oracle, err := predictors.AUC(truth, y, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d patients (%d imaged), 5-fold cross-fitted: AUC with imaging %.4f, without %.4f, Δ %+.4f (SE %.4f, 95%% CI %+.4f to %+.4f), p = %.2g; oracle AUC %.4f",
			id, len(all), imaged, r.AUC1, r.AUC2, r.Diff, r.SE, r.Lower, r.Upper, r.P, oracle)
		if id == "tfesi_response_2m" && !(r.Lower > 0) {
			t.Errorf("%s: the imaging block does not beat the model without it: Δ AUC %+.4f, 95%% CI [%+.4f, %+.4f]", id, r.Diff, r.Lower, r.Upper)
		}
	}
}

// crossFit returns held-out predictions of the two feature sets for every
// patient: 5 stratified folds; each fold is predicted by models trained on
// the other four (fitPredict), so no prediction comes from a model that saw
// its patient.
func crossFit(tb testing.TB, ps []*cohort.Patient, colsA, colsB []int, k int) (pa, pb []float64) {
	tb.Helper()
	folds := predictors.StratifiedFolds(labels(ps, k), 5, 7)
	pa, pb = make([]float64, len(ps)), make([]float64, len(ps))
	for f := 1; f <= 5; f++ {
		var train, test []*cohort.Patient
		var idx []int
		for i, p := range ps {
			if folds[i] == f {
				test, idx = append(test, p), append(idx, i)
			} else {
				train = append(train, p)
			}
		}
		a, b := fitPredict(tb, train, test, colsA, k), fitPredict(tb, train, test, colsB, k)
		for j, i := range idx {
			pa[i], pb[i] = a[j], b[j]
		}
	}
	return pa, pb
}

func labels(ps []*cohort.Patient, k int) []bool {
	y := make([]bool, len(ps))
	for i, p := range ps {
		y[i] = p.Observed[k] == 1
	}
	return y
}

// fitPredict trains an elastic net (α = 0.5, λ by 5-fold cross-validated
// deviance) on the given feature columns of train — missing values imputed
// with the training mean (each has its missing indicator among the
// columns), columns constant in training dropped — and returns its
// probabilities for test.
func fitPredict(tb testing.TB, train, test []*cohort.Patient, cols []int, k int) []float64 {
	tb.Helper()
	var keep []int
	var mean []float64
	for _, j := range cols {
		var sum, n float64
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range train {
			if x := p.Features[j]; !math.IsNaN(x) {
				sum, n = sum+x, n+1
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
		if n > 0 && hi > lo {
			keep = append(keep, j)
			mean = append(mean, sum/n)
		}
	}
	design := func(ps []*cohort.Patient) *mat.Dense {
		x := mat.NewDense(len(ps), len(keep), nil)
		for i, p := range ps {
			for c, j := range keep {
				v := p.Features[j]
				if math.IsNaN(v) {
					v = mean[c]
				}
				x.Set(i, c, v)
			}
		}
		return x
	}
	xtr := design(train)
	ytr := labels(train, k)
	set := &predictors.ElasticNetSettings{Alpha: 0.5}
	cv, err := predictors.CrossValidateElasticNet(xtr, ytr, nil, predictors.StratifiedFolds(ytr, 5, 1), set)
	if err != nil {
		tb.Fatal(err)
	}
	m := cv.Path.Model(cv.IndexMin)
	p, err := m.Predict(design(test), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func pearson(a, b []float64) float64 {
	n := float64(len(a))
	var ma, mb float64
	for i := range a {
		ma += a[i] / n
		mb += b[i] / n
	}
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}
