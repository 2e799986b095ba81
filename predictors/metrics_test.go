package predictors_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/predictors"
)

// metricRefTol is the tolerance against the figures of the reference
// summaries: those are printed with 15–17 significant digits and computed
// from the same per-row probabilities, so only rounding differs.
const metricRefTol = 1e-12

// metricExactTol is the tolerance between two float64 computations of the
// same quantity in different summation orders on small data.
const metricExactTol = 1e-12

// metricReadColumn returns column col of a reference predictions CSV in
// testdata and the labels from its "y" column (1 = positive).
func metricReadColumn(tb testing.TB, file, col string) ([]float64, []bool) {
	tb.Helper()
	rows := mustReadCSV(tb, filepath.Join("testdata", file))
	ci, yi := -1, -1
	for j, h := range rows[0] {
		switch h {
		case col:
			ci = j
		case "y":
			yi = j
		}
	}
	if ci < 0 || yi < 0 {
		tb.Fatalf("%s: no column %q or y in header %v", file, col, rows[0])
	}
	p := make([]float64, len(rows)-1)
	y := make([]bool, len(rows)-1)
	for i, r := range rows[1:] {
		p[i] = mustFloat(tb, r[ci])
		y[i] = r[yi] == "1"
	}
	return p, y
}

// metricReference holds AUC, Brier and log-loss reported by a reference
// implementation for one column of a predictions file.
type metricReference struct {
	file, col           string
	auc, brier, logLoss float64
	source              string
}

// metricReferences are copied from testdata/r_vertebral2c_summary.json
// (randomForest, ranger; R 4.2.2) and testdata/sklearn_vertebral2c_summary.json
// (scikit-learn 1.2.1), computed there from the columns of
// r_vertebral2c_rf_predictions.csv and sklearn_vertebral2c_predictions.csv.
var metricReferences = []metricReference{
	{"r_vertebral2c_rf_predictions.csv", "rf_oob", 0.918357142857143, 0.104880804825082, 0.423571280126984, "r summary randomForest.oob"},
	{"r_vertebral2c_rf_predictions.csv", "rf_cv", 0.918952380952381, 0.106664064516129, 0.329215693357687, "r summary randomForest.cv5"},
	{"r_vertebral2c_rf_predictions.csv", "ranger_oob", 0.92152380952381, 0.104740460754942, 0.326980611939923, "r summary ranger.oob"},
	{"r_vertebral2c_rf_predictions.csv", "ranger_cv", 0.918285714285714, 0.108067110536417, 0.33479123389169, "r summary ranger.cv5"},
	{"sklearn_vertebral2c_predictions.csv", "rf_oob", 0.9206904761904762, 0.10458939303460031, 0.32687383446992113, "sklearn summary random_forest.oob"},
	{"sklearn_vertebral2c_predictions.csv", "rf_cv", 0.9175476190476191, 0.10863863225806451, 0.3343978088676179, "sklearn summary random_forest.cv5"},
	{"sklearn_vertebral2c_predictions.csv", "mlp_cv", 0.921142857142857, 0.10622148024194464, 0.33599225825629137, "sklearn summary mlp_8_hidden_cv5"},
}

func TestMetricReference(t *testing.T) {
	for _, ref := range metricReferences {
		t.Run(ref.source, func(t *testing.T) {
			p, y := metricReadColumn(t, ref.file, ref.col)
			auc, err := predictors.AUC(p, y, nil)
			if err != nil {
				t.Fatalf("AUC: %v", err)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"auc", auc, ref.auc},
				{"brier", predictors.Brier(p, y, nil), ref.brier},
				{"logloss", predictors.LogLoss(p, y, nil), ref.logLoss},
			} {
				if d := math.Abs(c.got - c.want); !(d <= metricRefTol) {
					t.Errorf("%s = %.17g, want %.17g (diff %.3g)", c.name, c.got, c.want, d)
				}
			}
		})
	}
}

// metricBruteAUC is the O(n²) weighted pair count with ties ½.
func metricBruteAUC(s []float64, y []bool, w []float64) float64 {
	var num, wp, wn float64
	for i := range s {
		if y[i] {
			wp += w[i]
		} else {
			wn += w[i]
		}
	}
	for i := range s {
		if !y[i] {
			continue
		}
		for j := range s {
			if y[j] {
				continue
			}
			switch {
			case s[i] > s[j]:
				num += w[i] * w[j]
			case s[i] == s[j]:
				num += w[i] * w[j] / 2
			}
		}
	}
	return num / (wp * wn)
}

// metricRandomData returns n scores rounded to one decimal (many ties),
// labels with P(true) rising with the score, and integer weights in 0..3.
func metricRandomData(rng *rand.Rand, n int) ([]float64, []bool, []float64) {
	s := make([]float64, n)
	y := make([]bool, n)
	w := make([]float64, n)
	for i := range s {
		s[i] = math.Round(rng.Float64()*10) / 10
		y[i] = rng.Float64() < 0.2+0.6*s[i]
		w[i] = float64(rng.IntN(4))
	}
	return s, y, w
}

func TestMetricAUCBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		s, y, w := metricRandomData(rng, 5+rng.IntN(200))
		unit := make([]float64, len(s))
		for i := range unit {
			unit[i] = 1
		}
		if got, err := predictors.AUC(s, y, nil); err == nil {
			if want := metricBruteAUC(s, y, unit); math.Abs(got-want) > metricExactTol {
				t.Errorf("trial %d: unweighted AUC = %.17g, brute force %.17g", trial, got, want)
			}
		} else if !errors.Is(err, predictors.ErrSingleClass) {
			t.Errorf("trial %d: %v", trial, err)
		}
		got, err := predictors.AUC(s, y, w)
		if err != nil {
			if !errors.Is(err, predictors.ErrSingleClass) && !errors.Is(err, predictors.ErrEmpty) {
				t.Errorf("trial %d: weighted: %v", trial, err)
			}
			continue
		}
		if want := metricBruteAUC(s, y, w); math.Abs(got-want) > metricExactTol {
			t.Errorf("trial %d: weighted AUC = %.17g, brute force %.17g", trial, got, want)
		}
		// Integer weights are row repetitions.
		var ds []float64
		var dy []bool
		for i := range s {
			for k := 0; k < int(w[i]); k++ {
				ds = append(ds, s[i])
				dy = append(dy, y[i])
			}
		}
		dup, err := predictors.AUC(ds, dy, nil)
		if err != nil {
			t.Fatalf("trial %d: duplicated rows: %v", trial, err)
		}
		if math.Abs(got-dup) > metricExactTol {
			t.Errorf("trial %d: weighted AUC %.17g, on duplicated rows %.17g", trial, got, dup)
		}
	}
}

func TestMetricAUCEdgeCases(t *testing.T) {
	y := []bool{true, false, true, false}
	for _, c := range []struct {
		name   string
		s      []float64
		y      []bool
		w      []float64
		want   float64
		target error // nil: no error
	}{
		{"all tied", []float64{3, 3, 3, 3}, y, nil, 0.5, nil},
		{"perfect", []float64{0.9, 0.1, 0.8, 0.2}, y, nil, 1, nil},
		{"reversed", []float64{0.1, 0.9, 0.2, 0.8}, y, nil, 0, nil},
		{"zero weight ignored", []float64{0.9, 0.1, 0.0, 0.2}, y, []float64{1, 1, 0, 1}, 1, nil},
		{"single class", []float64{1, 2}, []bool{true, true}, nil, 0, predictors.ErrSingleClass},
		{"single class by weight", []float64{1, 2, 3}, []bool{true, true, false}, []float64{1, 1, 0}, 0, predictors.ErrSingleClass},
		{"empty", nil, nil, nil, 0, predictors.ErrEmpty},
		{"zero weight", []float64{1, 2}, []bool{true, false}, []float64{0, 0}, 0, predictors.ErrEmpty},
		{"NaN score", []float64{1, math.NaN()}, []bool{true, false}, nil, 0, predictors.ErrNotFinite},
		{"Inf score", []float64{1, math.Inf(1)}, []bool{true, false}, nil, 0, predictors.ErrNotFinite},
		{"NaN weight", []float64{1, 2}, []bool{true, false}, []float64{1, math.NaN()}, 0, predictors.ErrNotFinite},
	} {
		got, err := predictors.AUC(c.s, c.y, c.w)
		if c.target != nil {
			if !errors.Is(err, c.target) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.target)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: AUC = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := predictors.AUC([]float64{1, 2}, []bool{true, false}, []float64{1, -1}); err == nil {
		t.Error("negative weight: no error")
	}
	metricMustPanic(t, "length mismatch", func() { _, _ = predictors.AUC([]float64{1}, []bool{true, false}, nil) })
	metricMustPanic(t, "weights mismatch", func() { _, _ = predictors.AUC([]float64{1}, []bool{true}, []float64{1, 2}) })
}

// metricMustPanic fails unless f panics with a "predictors: " message.
func metricMustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if s, ok := r.(string); !ok || !strings.HasPrefix(s, "predictors: ") {
			t.Errorf("%s: recovered %v, want a panic prefixed \"predictors: \"", name, r)
		}
	}()
	f()
}

func TestMetricROCCurve(t *testing.T) {
	// Hand-computed: positives at 0.9, 0.5, 0.5; negatives at 0.5, 0.2.
	s := []float64{0.9, 0.5, 0.5, 0.5, 0.2}
	y := []bool{true, true, true, false, false}
	got := predictors.ROCCurve(s, y, nil)
	want := []predictors.ROCPoint{
		{math.Inf(1), 0, 0},
		{0.9, 0, 1.0 / 3},
		{0.5, 0.5, 1},
		{0.2, 1, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("ROCCurve = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Threshold != want[i].Threshold || math.Abs(got[i].FPR-want[i].FPR) > metricExactTol || math.Abs(got[i].TPR-want[i].TPR) > metricExactTol {
			t.Errorf("point %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if predictors.ROCCurve([]float64{1, 2}, []bool{true, true}, nil) != nil {
		t.Error("single class: want nil")
	}
	if predictors.ROCCurve([]float64{1, math.NaN()}, []bool{true, false}, nil) != nil {
		t.Error("NaN: want nil")
	}

	// The trapezoidal area under the curve is the AUC.
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		s, y, w := metricRandomData(rng, 50+rng.IntN(100))
		auc, err := predictors.AUC(s, y, w)
		if err != nil {
			continue
		}
		pts := predictors.ROCCurve(s, y, w)
		var area float64
		for i := 1; i < len(pts); i++ {
			area += (pts[i].FPR - pts[i-1].FPR) * (pts[i].TPR + pts[i-1].TPR) / 2
		}
		if math.Abs(area-auc) > metricExactTol {
			t.Errorf("trial %d: area %.17g, AUC %.17g", trial, area, auc)
		}
	}
}

func TestMetricBrierLogLossCITL(t *testing.T) {
	p := []float64{0.8, 0.3, 0.0, 1.0}
	y := []bool{true, false, true, true}
	// Brier: (0.04 + 0.09 + 1 + 0)/4.
	if got, want := predictors.Brier(p, y, nil), (0.04+0.09+1)/4; math.Abs(got-want) > metricExactTol {
		t.Errorf("Brier = %v, want %v", got, want)
	}
	// Weights 2,1,0,1: (0.08 + 0.09 + 0)/4.
	w := []float64{2, 1, 0, 1}
	if got, want := predictors.Brier(p, y, w), (0.08+0.09)/4; math.Abs(got-want) > metricExactTol {
		t.Errorf("weighted Brier = %v, want %v", got, want)
	}
	// LogLoss: p = 0 for a positive is clipped to 1e-15.
	wantLL := (-math.Log(0.8) - math.Log(0.7) - math.Log(1e-15) - math.Log(1-1e-15)) / 4
	if got := predictors.LogLoss(p, y, nil); math.Abs(got-wantLL) > metricExactTol {
		t.Errorf("LogLoss = %v, want %v", got, wantLL)
	}
	// CITL: mean y 0.75 − mean p 0.525.
	if got, want := predictors.CalibrationInTheLarge(p, y, nil), 0.75-0.525; math.Abs(got-want) > metricExactTol {
		t.Errorf("CalibrationInTheLarge = %v, want %v", got, want)
	}
	if got, want := predictors.CalibrationInTheLarge(p, y, w), (2*0.2+1*(-0.3)+0)/4; math.Abs(got-want) > metricExactTol {
		t.Errorf("weighted CalibrationInTheLarge = %v, want %v", got, want)
	}
	for name, f := range map[string]func([]float64, []bool, []float64) float64{
		"Brier": predictors.Brier, "LogLoss": predictors.LogLoss, "CalibrationInTheLarge": predictors.CalibrationInTheLarge,
	} {
		for _, c := range []struct {
			name string
			p    []float64
			w    []float64
		}{
			{"empty", []float64{}, nil},
			{"NaN", []float64{0.5, math.NaN()}, nil},
			{"above 1", []float64{0.5, 1.5}, nil},
			{"negative weight", []float64{0.5, 0.5}, []float64{1, -1}},
			{"zero weight", []float64{0.5, 0.5}, []float64{0, 0}},
		} {
			if got := f(c.p, y[:len(c.p)], c.w); !math.IsNaN(got) {
				t.Errorf("%s(%s) = %v, want NaN", name, c.name, got)
			}
		}
	}
}

// metricSimulate returns n log-odds x ~ N(-0.5, 1.5²), the true
// probabilities σ(x) and outcomes drawn from them.
func metricSimulate(rng *rand.Rand, n int) (x, p []float64, y []bool) {
	x = make([]float64, n)
	p = make([]float64, n)
	y = make([]bool, n)
	for i := range x {
		x[i] = -0.5 + 1.5*rng.NormFloat64()
		p[i] = predictors.Sigmoid(x[i])
		y[i] = rng.Float64() < p[i]
	}
	return x, p, y
}

// metricFisherSE returns the standard errors of (a, b) in logit P = a + b·x
// at the true probabilities p: the square roots of the diagonal of the
// inverse Fisher information Σ p(1−p)·[1 x; x x²].
func metricFisherSE(x, p []float64) (seA, seB float64) {
	var h00, h01, h11 float64
	for i := range x {
		v := p[i] * (1 - p[i])
		h00 += v
		h01 += v * x[i]
		h11 += v * x[i] * x[i]
	}
	det := h00*h11 - h01*h01
	return math.Sqrt(h11 / det), math.Sqrt(h00 / det)
}

// metricSETol is the allowed distance of a simulated estimate from its true
// value in standard errors; a 4-SE miss has probability 6e-5 under
// normality.
const metricSETol = 4

func TestMetricCalibrationSimulated(t *testing.T) {
	const n = 20000
	rng := rand.New(rand.NewPCG(5, 6))
	x, p, y := metricSimulate(rng, n)
	seA, seB := metricFisherSE(x, p)
	t.Logf("n = %d: SE(intercept) = %.4f, SE(slope) = %.4f", n, seA, seB)

	// Well calibrated: intercept 0, slope 1.
	a, b, err := predictors.CalibrationSlope(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("true p: intercept %.4f, slope %.4f", a, b)
	if math.Abs(a) > metricSETol*seA || math.Abs(b-1) > metricSETol*seB {
		t.Errorf("true p: intercept %v, slope %v; want 0 ± %v, 1 ± %v", a, b, metricSETol*seA, metricSETol*seB)
	}
	// Calibration-in-the-large with offset logit(p): SE = 1/√Σp(1−p).
	var info float64
	for _, v := range p {
		info += v * (1 - v)
	}
	seOff := 1 / math.Sqrt(info)
	ci, err := predictors.CalibrationIntercept(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ci) > metricSETol*seOff {
		t.Errorf("true p: calibration intercept %v, want 0 ± %v", ci, metricSETol*seOff)
	}

	// Overconfident: logit(q) = 2·logit(p) gives slope 1/2 (the SE halves
	// with the scale of the predictor) and the intercept stays 0.
	q := make([]float64, n)
	for i := range q {
		q[i] = predictors.Sigmoid(2 * x[i])
	}
	a2, b2, err := predictors.CalibrationSlope(q, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("overconfident: intercept %.4f, slope %.4f", a2, b2)
	if math.Abs(a2) > metricSETol*seA || math.Abs(b2-0.5) > metricSETol*seB/2 {
		t.Errorf("overconfident: intercept %v, slope %v; want 0 ± %v, 0.5 ± %v", a2, b2, metricSETol*seA, metricSETol*seB/2)
	}
	// Exactly: scaling the logits by 2 scales the fitted slope by ½ (same
	// likelihood), up to the convergence tolerance.
	if math.Abs(b2-b/2) > 1e-8 || math.Abs(a2-a) > 1e-8 {
		t.Errorf("overconfident fit (%v, %v) is not (a, b/2) = (%v, %v)", a2, b2, a, b/2)
	}

	// Too low on average: logit(q) = logit(p) − 1 gives a calibration
	// intercept of 1; CITL is positive.
	for i := range q {
		q[i] = predictors.Sigmoid(x[i] - 1)
	}
	ci, err = predictors.CalibrationIntercept(q, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ci-1) > metricSETol*seOff {
		t.Errorf("shifted: calibration intercept %v, want 1 ± %v", ci, metricSETol*seOff)
	}
	if citl := predictors.CalibrationInTheLarge(q, y, nil); !(citl > 0) {
		t.Errorf("shifted: CalibrationInTheLarge = %v, want > 0", citl)
	}
}

// The joint calibration intercept and slope are the Platt fit on
// logit(rf_cv) reported in testdata/sklearn_vertebral2c_summary.json,
// "calibration_rf_cv"."platt_on_logit": a (slope) and b (intercept).
const (
	metricSklearnPlattSlope     = 1.123446569617168
	metricSklearnPlattIntercept = 0.05523063158859464
	// metricPlattTol: sklearn's fit stops at its own optimiser tolerance.
	metricPlattTol = 1e-6
)

// R glm goldens (R 4.2.2, Debian r-base-core), computed with
//
//	lg <- function(p) { p <- pmin(pmax(p, 1e-15), 1-1e-15); log(p/(1-p)) }
//	ctl <- glm.control(epsilon=1e-15, maxit=100)
//	coef(glm(s$y ~ lg(s$rf_cv), family=binomial, control=ctl))          # s: sklearn_vertebral2c_predictions.csv
//	coef(glm(r$y ~ lg(r$ranger_oob), family=binomial, control=ctl))     # r: r_vertebral2c_rf_predictions.csv
//	coef(glm(r$y ~ 1, offset=lg(r$ranger_oob), family=binomial, control=ctl))
const (
	metricGLMRFCVIntercept      = 0.055231207509754895
	metricGLMRFCVSlope          = 1.1234465064839099
	metricGLMRangerIntercept    = -0.047071772613395561
	metricGLMRangerSlope        = 1.226045784094266
	metricGLMRangerOffsetInterc = 0.012203336978183394
	// metricGLMTol: both fits are iterated to convergence in float64; the
	// remaining difference is rounding in different summation orders.
	metricGLMTol = 1e-9
)

func TestMetricCalibrationGLM(t *testing.T) {
	p, y := metricReadColumn(t, "sklearn_vertebral2c_predictions.csv", "rf_cv")
	a, b, err := predictors.CalibrationSlope(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a-metricGLMRFCVIntercept) > metricGLMTol || math.Abs(b-metricGLMRFCVSlope) > metricGLMTol {
		t.Errorf("sklearn rf_cv: intercept, slope = %.17g, %.17g; R glm %.17g, %.17g", a, b, metricGLMRFCVIntercept, metricGLMRFCVSlope)
	}
	p, y = metricReadColumn(t, "r_vertebral2c_rf_predictions.csv", "ranger_oob")
	a, b, err = predictors.CalibrationSlope(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a-metricGLMRangerIntercept) > metricGLMTol || math.Abs(b-metricGLMRangerSlope) > metricGLMTol {
		t.Errorf("ranger_oob: intercept, slope = %.17g, %.17g; R glm %.17g, %.17g", a, b, metricGLMRangerIntercept, metricGLMRangerSlope)
	}
	ci, err := predictors.CalibrationIntercept(p, y, nil)
	if err != nil || math.Abs(ci-metricGLMRangerOffsetInterc) > metricGLMTol {
		t.Errorf("ranger_oob: calibration intercept = %.17g, %v; R glm %.17g", ci, err, metricGLMRangerOffsetInterc)
	}
}

func TestMetricCalibrationSlopeSklearn(t *testing.T) {
	p, y := metricReadColumn(t, "sklearn_vertebral2c_predictions.csv", "rf_cv")
	a, b, err := predictors.CalibrationSlope(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("intercept %.12g (sklearn %.12g), slope %.12g (sklearn %.12g)", a, metricSklearnPlattIntercept, b, metricSklearnPlattSlope)
	if math.Abs(a-metricSklearnPlattIntercept) > metricPlattTol || math.Abs(b-metricSklearnPlattSlope) > metricPlattTol {
		t.Errorf("intercept, slope = %.12g, %.12g; want %.12g, %.12g", a, b, metricSklearnPlattIntercept, metricSklearnPlattSlope)
	}
}

// metricBruteLogLik is the weighted log-likelihood of y under a + b·logit(p).
func metricBruteLogLik(a, b float64, p []float64, y []bool, w []float64) float64 {
	var ll float64
	for i := range p {
		mu := predictors.Sigmoid(a + b*predictors.Logit(p[i]))
		if y[i] {
			ll += w[i] * math.Log(mu)
		} else {
			ll += w[i] * math.Log(1-mu)
		}
	}
	return ll
}

func TestMetricCalibrationSlopeWeightsAndOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	_, p, y := metricSimulate(rng, 300)
	w := make([]float64, len(p))
	var dp []float64
	var dy []bool
	for i := range w {
		w[i] = float64(rng.IntN(3))
		for k := 0; k < int(w[i]); k++ {
			dp = append(dp, p[i])
			dy = append(dy, y[i])
		}
	}
	a, b, err := predictors.CalibrationSlope(p, y, w)
	if err != nil {
		t.Fatal(err)
	}
	da, db, err := predictors.CalibrationSlope(dp, dy, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a-da) > 1e-9 || math.Abs(b-db) > 1e-9 {
		t.Errorf("weighted (%v, %v) != duplicated rows (%v, %v)", a, b, da, db)
	}
	// It is a maximum: small moves lower the log-likelihood.
	ll := metricBruteLogLik(a, b, p, y, w)
	for _, d := range [][2]float64{{1e-4, 0}, {-1e-4, 0}, {0, 1e-4}, {0, -1e-4}} {
		if l := metricBruteLogLik(a+d[0], b+d[1], p, y, w); l > ll {
			t.Errorf("log-likelihood %v at (a, b)+%v exceeds %v at the fit", l, d, ll)
		}
	}
}

func TestMetricCalibrationErrors(t *testing.T) {
	y := []bool{true, false, true, false}
	for _, c := range []struct {
		name   string
		p      []float64
		y      []bool
		target error // nil: some error without a sentinel
		// slopeOnly: CalibrationIntercept succeeds on this input.
		slopeOnly bool
	}{
		{"separated", []float64{0.9, 0.1, 0.8, 0.2}, y, predictors.ErrNoConvergence, true},
		{"quasi-separated", []float64{0.9, 0.5, 0.5, 0.2}, y, predictors.ErrNoConvergence, true},
		{"separated at 0 and 1", []float64{1, 0, 1, 0}, y, predictors.ErrNoConvergence, true},
		{"all equal", []float64{0.3, 0.3, 0.3, 0.3}, y, nil, true},
		{"single class", []float64{0.3, 0.4}, []bool{true, true}, predictors.ErrSingleClass, false},
		{"empty", nil, nil, predictors.ErrEmpty, false},
		{"NaN", []float64{0.3, math.NaN()}, []bool{true, false}, predictors.ErrNotFinite, false},
		{"outside [0, 1]", []float64{0.3, -0.1}, []bool{true, false}, nil, false},
	} {
		_, _, err := predictors.CalibrationSlope(c.p, c.y, nil)
		if err == nil || (c.target != nil && !errors.Is(err, c.target)) {
			t.Errorf("CalibrationSlope(%s): err = %v, want %v", c.name, err, c.target)
		}
		_, err = predictors.CalibrationIntercept(c.p, c.y, nil)
		if c.slopeOnly {
			if err != nil {
				t.Errorf("CalibrationIntercept(%s): %v", c.name, err)
			}
		} else if err == nil || (c.target != nil && !errors.Is(err, c.target)) {
			t.Errorf("CalibrationIntercept(%s): err = %v, want %v", c.name, err, c.target)
		}
	}
	// All predictions equal to the event rate: the intercept is 0.
	ci, err := predictors.CalibrationIntercept([]float64{0.5, 0.5, 0.5, 0.5}, y, nil)
	if err != nil || math.Abs(ci) > metricExactTol {
		t.Errorf("CalibrationIntercept(p = rate) = %v, %v; want 0", ci, err)
	}
	// Constant p: logit(rate) − logit(p) in closed form.
	ci, err = predictors.CalibrationIntercept([]float64{0.2, 0.2, 0.2, 0.2}, []bool{true, false, false, false}, nil)
	if want := predictors.Logit(0.25) - predictors.Logit(0.2); err != nil || math.Abs(ci-want) > metricExactTol {
		t.Errorf("CalibrationIntercept(constant 0.2, rate 0.25) = %v, %v; want %v", ci, err, want)
	}
}

func TestMetricECEAndCalibrationCurve(t *testing.T) {
	// Hand-computed with 4 bins [0, .25), [.25, .5), [.5, .75), [.75, 1]:
	//   bin 0: p 0.1, 0.2 (y 0, 1)  mean p 0.15, rate 0.5
	//   bin 1: empty
	//   bin 2: p 0.5 (y 1)          mean p 0.5, rate 1
	//   bin 3: p 0.8, 1.0 (y 1, 1)  mean p 0.9, rate 1
	// ECE = (2·0.35 + 1·0.5 + 2·0.1)/5 = 1.4/5.
	p := []float64{0.1, 0.2, 0.5, 0.8, 1.0}
	y := []bool{false, true, true, true, true}
	if got, want := predictors.ECE(p, y, 4), 1.4/5; math.Abs(got-want) > metricExactTol {
		t.Errorf("ECE = %v, want %v", got, want)
	}
	// One bin: |mean y − mean p| = |0.8 − 0.52|.
	if got, want := predictors.ECE(p, y, 1), 0.8-0.52; math.Abs(got-want) > metricExactTol {
		t.Errorf("ECE(1 bin) = %v, want %v", got, want)
	}
	got := predictors.CalibrationCurve(p, y, 4)
	// Wilson 95% for 1 of 2: (0.5 + z²/4 ± z·√(1/8 + z²/16))/(1 + z²/2).
	z := 1.959963984540054
	z2 := z * z
	w2 := z * math.Sqrt(0.125+z2/16) / (1 + z2/2)
	// For 1 of 1 and 2 of 2 (rate 1): lower = n/(n + z²), upper 1.
	want := []predictors.CalibrationBin{
		{Lower: 0, Upper: 0.25, MeanPredicted: 0.15, ObservedRate: 0.5, N: 2, CILower: 0.5 - w2, CIUpper: 0.5 + w2},
		{Lower: 0.5, Upper: 0.75, MeanPredicted: 0.5, ObservedRate: 1, N: 1, CILower: 1 / (1 + z2), CIUpper: 1},
		{Lower: 0.75, Upper: 1, MeanPredicted: 0.9, ObservedRate: 1, N: 2, CILower: 2 / (2 + z2), CIUpper: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("CalibrationCurve = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.N != w.N || g.Lower != w.Lower || g.Upper != w.Upper ||
			math.Abs(g.MeanPredicted-w.MeanPredicted) > metricExactTol || math.Abs(g.ObservedRate-w.ObservedRate) > metricExactTol ||
			math.Abs(g.CILower-w.CILower) > metricExactTol || math.Abs(g.CIUpper-w.CIUpper) > metricExactTol {
			t.Errorf("bin %d = %+v, want %+v", i, g, w)
		}
	}
	// ECE is Σ (N/n)|rate − mean p| over the curve.
	var ece float64
	for _, b := range got {
		ece += float64(b.N) / 5 * math.Abs(b.ObservedRate-b.MeanPredicted)
	}
	if math.Abs(ece-predictors.ECE(p, y, 4)) > metricExactTol {
		t.Errorf("ECE from curve %v != ECE %v", ece, predictors.ECE(p, y, 4))
	}
	for _, bad := range [][]float64{{}, {0.5, math.NaN()}, {0.5, 1.01}} {
		if v := predictors.ECE(bad, y[:len(bad)], 10); !math.IsNaN(v) {
			t.Errorf("ECE(%v) = %v, want NaN", bad, v)
		}
		if c := predictors.CalibrationCurve(bad, y[:len(bad)], 10); c != nil {
			t.Errorf("CalibrationCurve(%v) = %v, want nil", bad, c)
		}
	}
	metricMustPanic(t, "bins 0", func() { predictors.ECE(p, y, 0) })
}

// metricBootstrapTol bounds |bootstrap bound − DeLong bound| for the AUC on
// 310 rows: both estimate the same sampling distribution (the DeLong SE is
// 0.015 here); 2000 percentile replicates carry Monte Carlo error of about
// 0.002 in a 2.5% quantile, and the percentile interval follows the skew
// that the symmetric DeLong interval ignores, of the order of 0.005.
const metricBootstrapTol = 0.01

func TestMetricBootstrapCI(t *testing.T) {
	p, y := metricReadColumn(t, "r_vertebral2c_rf_predictions.csv", "ranger_oob")
	lo, hi, err := predictors.BootstrapCI(p, y, func(p []float64, y []bool) (float64, error) {
		return predictors.AUC(p, y, nil)
	}, 2000, 0.95, 42)
	if err != nil {
		t.Fatal(err)
	}
	_, dlo, dhi, err := predictors.DeLong(p, y, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bootstrap [%.4f, %.4f], DeLong [%.4f, %.4f]", lo, hi, dlo, dhi)
	if math.Abs(lo-dlo) > metricBootstrapTol || math.Abs(hi-dhi) > metricBootstrapTol {
		t.Errorf("bootstrap [%v, %v] far from DeLong [%v, %v]", lo, hi, dlo, dhi)
	}
	lo2, hi2, _ := predictors.BootstrapCI(p, y, func(p []float64, y []bool) (float64, error) {
		return predictors.AUC(p, y, nil)
	}, 2000, 0.95, 42)
	if lo2 != lo || hi2 != hi {
		t.Errorf("same seed: [%v, %v] then [%v, %v]", lo, hi, lo2, hi2)
	}

	// Stratified: every replicate keeps the class counts.
	npos := 0
	for _, l := range y {
		if l {
			npos++
		}
	}
	_, _, err = predictors.BootstrapCI(p, y, func(_ []float64, y []bool) (float64, error) {
		k := 0
		for _, l := range y {
			if l {
				k++
			}
		}
		if k != npos {
			return 0, errors.New("class count changed")
		}
		return 0, nil
	}, 200, 0.9, 1)
	if err != nil {
		t.Errorf("stratification: %v", err)
	}

	// Failing replicates are counted and wrapped.
	calls := 0
	errOdd := errors.New("odd")
	_, _, err = predictors.BootstrapCI(p, y, func(_ []float64, _ []bool) (float64, error) {
		calls++
		if calls%2 == 1 {
			return 0, errOdd
		}
		return 1, nil
	}, 10, 0.9, 1)
	if !errors.Is(err, errOdd) || !strings.Contains(err.Error(), "5 of 10") {
		t.Errorf("failing replicates: err = %v", err)
	}

	// Type-7 quantiles of a known set: replicate r returns r (0..4), so the
	// 0.5 interval is [Q(0.25), Q(0.75)] = [1, 3].
	r := -1.0
	lo, hi, err = predictors.BootstrapCI(p, y, func(_ []float64, _ []bool) (float64, error) { r++; return r, nil }, 5, 0.5, 1)
	if err != nil || lo != 1 || hi != 3 {
		t.Errorf("quantiles of 0..4 = [%v, %v], %v; want [1, 3]", lo, hi, err)
	}
	if _, _, err := predictors.BootstrapCI([]float64{1, 2}, []bool{true, true}, metricZeroMetric, 10, 0.9, 1); !errors.Is(err, predictors.ErrSingleClass) {
		t.Errorf("single class: %v", err)
	}
}

func metricZeroMetric(_ []float64, _ []bool) (float64, error) { return 0, nil }

func TestMetricEvaluate(t *testing.T) {
	p, y := metricReadColumn(t, "r_vertebral2c_rf_predictions.csv", "ranger_oob")
	p0, y0 := slices.Clone(p), slices.Clone(y)
	m, err := predictors.Evaluate(p, y)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p, p0) || !slices.Equal(y, y0) {
		t.Error("Evaluate modified its inputs")
	}
	want := predictors.Metrics{
		N: 310, Events: 210,
		// ranger.oob.auc in testdata/r_vertebral2c_summary.json; CI from pROC
		// (see delong_test.go).
		AUC: 0.92152380952381, AUCLower: 0.89215052959646868, AUCUpper: 0.95089708945115037,
		Brier: 0.104740460754942, LogLoss: 0.326980611939923,
		// R glm goldens above.
		CalibrationIntercept: ptr(metricGLMRangerOffsetInterc), CalibrationSlope: ptr(metricGLMRangerSlope),
		// numpy on the same column: bins min(floor(10p), 9),
		// Σ_b |Σy − Σp| / n.
		ECE: 0.0458725406714623,
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"events", m.Events, want.Events}, {"auc", m.AUC, want.AUC}, {"auc_ci_lower", m.AUCLower, want.AUCLower},
		{"auc_ci_upper", m.AUCUpper, want.AUCUpper}, {"brier", m.Brier, want.Brier}, {"log_loss", m.LogLoss, want.LogLoss},
		{"calibration_intercept", deref(m.CalibrationIntercept), *want.CalibrationIntercept},
		{"calibration_slope", deref(m.CalibrationSlope), *want.CalibrationSlope}, {"ece", m.ECE, want.ECE},
	} {
		tol := metricRefTol
		if strings.HasPrefix(c.name, "calibration") {
			tol = metricGLMTol
		}
		if !(math.Abs(c.got-c.want) <= tol) { // NaN (a missing metric) fails too
			t.Errorf("%s = %.17g, want %.17g", c.name, c.got, c.want)
		}
	}
	if m.N != want.N {
		t.Errorf("n = %d, want %d", m.N, want.N)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]float64
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"n", "events", "auc", "auc_ci_lower", "auc_ci_upper", "brier", "log_loss", "calibration_intercept", "calibration_slope", "ece"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON %s lacks %q", b, k)
		}
	}
	if len(keys) != 10 {
		t.Errorf("JSON %s has %d keys, want 10", b, len(keys))
	}

	// Separated predictions: the calibration slope is infinite, so it and
	// the intercept are null with notes, and the other metrics stand.
	sep, err := predictors.Evaluate([]float64{0.9, 0.8, 0.1, 0.2}, []bool{true, true, false, false})
	if err != nil {
		t.Fatalf("separated: %v", err)
	}
	if sep.CalibrationSlope != nil || len(sep.Notes) == 0 || !strings.Contains(strings.Join(sep.Notes, ";"), "calibration_slope") || sep.AUC != 1 {
		t.Errorf("separated: slope %v, notes %q, AUC %v; want null slope with a note and AUC 1", sep.CalibrationSlope, sep.Notes, sep.AUC)
	}
	if _, err := predictors.Evaluate(nil, nil); !errors.Is(err, predictors.ErrEmpty) {
		t.Errorf("empty: err = %v, want ErrEmpty", err)
	}
}

func ptr(v float64) *float64 { return &v }

// deref returns NaN for a nil pointer, so a missing metric fails the
// comparison instead of panicking.
func deref(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}
