package predictors_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/spinecast/spinecast/predictors"
)

const (
	// calPlattTol is the tolerance on Platt's A and B against scikit-learn.
	// sklearn fitted them with an iterative solver that stops at its own
	// tolerance; our Newton fit converges to 1e-12, and the measured gap is
	// 6.3e-8 (A) and 5.8e-7 (B).
	calPlattTol = 1e-6
	// calIsotonicTol is the tolerance on the isotonic thresholds.
	calIsotonicTol = 1e-9
)

// calSklearnSummary holds the part of sklearn_vertebral2c_summary.json used
// here.
type calSklearnSummary struct {
	Calibration struct {
		Platt struct {
			A float64 `json:"a"`
			B float64 `json:"b"`
		} `json:"platt_on_logit"`
		IsotonicX        []float64 `json:"isotonic_thresholds_X"`
		IsotonicY        []float64 `json:"isotonic_thresholds_y"`
		BrierAfterIsoIn  float64   `json:"brier_after_isotonic_in_sample"`
		CalibrationSlope float64   `json:"calibration_slope"`
	} `json:"calibration_rf_cv"`
}

// calMustSklearn reads the calibration figures of the sklearn reference run
// (testdata/sklearn_vertebral2c_summary.json, scikit-learn 1.2.1).
func calMustSklearn(tb testing.TB) calSklearnSummary {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sklearn_vertebral2c_summary.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var s calSklearnSummary
	if err := json.Unmarshal(b, &s); err != nil {
		tb.Fatal(err)
	}
	if len(s.Calibration.IsotonicX) == 0 || s.Calibration.Platt.A == 0 {
		tb.Fatal("calibration_rf_cv figures missing from the sklearn summary")
	}
	return s
}

// calMustRFCV returns the forest's 5-fold CV probabilities (column rf_cv of
// testdata/sklearn_vertebral2c_predictions.csv) and the labels (column y).
func calMustRFCV(tb testing.TB) ([]float64, []bool) {
	tb.Helper()
	rows := mustReadCSV(tb, filepath.Join("testdata", "sklearn_vertebral2c_predictions.csv"))
	col := map[string]int{}
	for j, h := range rows[0] {
		col[h] = j
	}
	p := make([]float64, len(rows)-1)
	y := make([]bool, len(rows)-1)
	for i, r := range rows[1:] {
		p[i] = mustFloat(tb, r[col["rf_cv"]])
		y[i] = r[col["y"]] == "1"
	}
	return p, y
}

// sklearn's reference: a logistic regression of y on logit(rf_cv)
// (platt_on_logit; the same figures appear as calibration_slope and
// calibration_intercept_joint). rf_cv holds two probabilities of exactly 1,
// whose logit our Logit clips to 34.5; their effect on A and B is below
// 1e-9 whatever the clip between 1e-15 and 1e-8.
func TestFitPlattMatchesSklearn(t *testing.T) {
	want := calMustSklearn(t).Calibration.Platt
	p, y := calMustRFCV(t)
	got, err := predictors.FitPlatt(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("A = %.12g (sklearn %.12g, diff %.2g), B = %.12g (sklearn %.12g, diff %.2g)",
		got.A, want.A, got.A-want.A, got.B, want.B, got.B-want.B)
	if math.Abs(got.A-want.A) > calPlattTol || math.Abs(got.B-want.B) > calPlattTol {
		t.Errorf("Platt = (%v, %v), want sklearn's (%v, %v) ± %v", got.A, got.B, want.A, want.B, calPlattTol)
	}
}

// Unit weights and duplicated rows are the same data set: weight 2 on a row
// must equal the row listed twice.
func TestFitPlattWeightsAreFrequencies(t *testing.T) {
	p, y := calMustRFCV(t)
	w := make([]float64, len(p))
	pp, yy := append([]float64{}, p...), append([]bool{}, y...)
	for i := range p {
		w[i] = 1
		if i%3 == 0 {
			w[i] = 2
			pp = append(pp, p[i])
			yy = append(yy, y[i])
		}
	}
	a, err := predictors.FitPlatt(p, y, w)
	if err != nil {
		t.Fatal(err)
	}
	b, err := predictors.FitPlatt(pp, yy, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.A-b.A) > 1e-9 || math.Abs(a.B-b.B) > 1e-9 {
		t.Errorf("weighted %+v, duplicated %+v", a, b)
	}
}

// Data simulated from a known miscalibration is recovered.
func TestFitPlattRecoversSimulatedMiscalibration(t *testing.T) {
	const n, a, b = 20000, 0.6, -0.4
	rng := rand.New(rand.NewPCG(3, 4))
	p := make([]float64, n)
	y := make([]bool, n)
	for i := range p {
		z := 2 * rng.NormFloat64()
		p[i] = predictors.Sigmoid(z)
		y[i] = rng.Float64() < predictors.Sigmoid(a*z+b)
	}
	got, err := predictors.FitPlatt(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Standard errors at n = 20000 are about 0.01 (A) and 0.017 (B): allow
	// four of them.
	if math.Abs(got.A-a) > 0.04 || math.Abs(got.B-b) > 0.07 {
		t.Errorf("Platt = %+v, want A ≈ %v, B ≈ %v", got, a, b)
	}
}

func TestFitPlattNegativeSlopeIsClampedToZero(t *testing.T) {
	p := []float64{0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.4, 0.6}
	y := []bool{true, true, false, false, true, false, true, false}
	got, err := predictors.FitPlatt(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.A != 0 || math.Abs(got.B-0) > 1e-12 { // half of the rows are positive: logit(0.5) = 0
		t.Errorf("Platt = %+v, want A = 0, B = 0", got)
	}
}

func TestFitPlattSeparatedFails(t *testing.T) {
	p := []float64{0.1, 0.2, 0.3, 0.7, 0.8, 0.9}
	y := []bool{false, false, false, true, true, true}
	if _, err := predictors.FitPlatt(p, y, nil); !errors.Is(err, predictors.ErrNoConvergence) {
		t.Errorf("err = %v, want ErrNoConvergence", err)
	}
}

// sklearn's reference (calibration_rf_cv in the summary) is
// IsotonicRegression(out_of_bounds="clip") fitted to the raw rf_cv
// probabilities (its X_thresholds_ run from min rf_cv = 0.03 to 1.0) and
// the 0/1 labels with unit weights; isotonic_thresholds_X/_y are its
// X_thresholds_ and y_thresholds_. R's r_vertebral2c_summary.json has no
// calibration figures.
func TestFitIsotonicMatchesSklearn(t *testing.T) {
	s := calMustSklearn(t).Calibration
	p, y := calMustRFCV(t)
	got, err := predictors.FitIsotonic(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.X) != len(s.IsotonicX) || len(got.Y) != len(s.IsotonicY) {
		t.Fatalf("got %d/%d thresholds, sklearn has %d/%d\nX = %v\nY = %v", len(got.X), len(got.Y), len(s.IsotonicX), len(s.IsotonicY), got.X, got.Y)
	}
	var maxDiff float64
	for k := range got.X {
		maxDiff = max(maxDiff, math.Abs(got.X[k]-s.IsotonicX[k]), math.Abs(got.Y[k]-s.IsotonicY[k]))
	}
	t.Logf("%d thresholds, max |diff| vs sklearn %.2g", len(got.X), maxDiff)
	if maxDiff > calIsotonicTol {
		t.Errorf("thresholds differ from sklearn's by %v > %v\nX = %v\nY = %v", maxDiff, calIsotonicTol, got.X, got.Y)
	}
	// In-sample Brier score after calibration (same JSON).
	var brier float64
	for i := range p {
		d := got.Calibrate(p[i])
		if y[i] {
			d--
		}
		brier += d * d
	}
	brier /= float64(len(p))
	if math.Abs(brier-s.BrierAfterIsoIn) > calIsotonicTol {
		t.Errorf("in-sample Brier %v, sklearn %v", brier, s.BrierAfterIsoIn)
	}
}

// A hand-worked example: ties pooled by weighted mean, then PAVA.
func TestFitIsotonicHandWorked(t *testing.T) {
	p := []float64{0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6}
	y := []bool{false, true, false, false, true, false, true}
	w := []float64{1, 3, 1, 2, 1, 1, 1}
	// Tie at 0.2: (3·1 + 1·0)/4 = 0.75 with weight 4. Sequence of
	// (value, weight): (0,1) (0.75,4) (0,2) (1,1) (0,1) (1,1).
	// Pool (0.75,4)+(0,2) → 0.5 (6); pool (1,1)+(0,1) → 0.5 (2); then
	// 0.5 ≥ 0.5 pools them too → 0.5 (8). Fitted per threshold:
	// 0.1→0, 0.2..0.5→0.5, 0.6→1. Reduced: 0.1, 0.2, 0.5, 0.6.
	got, err := predictors.FitIsotonic(p, y, w)
	if err != nil {
		t.Fatal(err)
	}
	wantX := []float64{0.1, 0.2, 0.5, 0.6}
	wantY := []float64{0, 0.5, 0.5, 1}
	if !calEqual(got.X, wantX) || !calEqual(got.Y, wantY) {
		t.Errorf("got X %v Y %v, want X %v Y %v", got.X, got.Y, wantX, wantY)
	}
	for _, c := range []struct{ p, want float64 }{
		{0, 0}, {0.1, 0}, {0.15, 0.25}, {0.3, 0.5}, {0.55, 0.75}, {0.6, 1}, {1, 1},
	} {
		if g := got.Calibrate(c.p); math.Abs(g-c.want) > 1e-15 {
			t.Errorf("Calibrate(%v) = %v, want %v", c.p, g, c.want)
		}
	}
}

func TestCalibratorsAreMonotone(t *testing.T) {
	p, y := calMustRFCV(t)
	platt, err := predictors.FitPlatt(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	iso, err := predictors.FitIsotonic(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The rows of a simulated, badly ordered data set must still give a
	// non-decreasing map.
	rng := rand.New(rand.NewPCG(5, 6))
	q := make([]float64, 500)
	z := make([]bool, 500)
	for i := range q {
		q[i] = rng.Float64()
		z[i] = rng.Float64() < 0.5+0.3*math.Sin(12*q[i])
	}
	iso2, err := predictors.FitIsotonic(q, z, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]predictors.Calibrator{"platt": platt, "isotonic": iso, "isotonic-wiggly": iso2} {
		prev := math.Inf(-1)
		for k := 0; k <= 10000; k++ {
			v := c.Calibrate(float64(k) / 10000)
			if v < prev || v < 0 || v > 1 {
				t.Errorf("%s: Calibrate(%v) = %v after %v", name, float64(k)/10000, v, prev)
				break
			}
			prev = v
		}
	}
	if !math.IsNaN(iso.Calibrate(math.NaN())) || !math.IsNaN(platt.Calibrate(math.NaN())) {
		t.Error("Calibrate(NaN) is not NaN")
	}
}

func TestCalibratorFitErrors(t *testing.T) {
	good := []float64{0.2, 0.4, 0.6}
	lab := []bool{false, true, true}
	cases := []struct {
		name string
		p    []float64
		y    []bool
		w    []float64
		is   error // nil: any error
	}{
		{"single class", good, []bool{true, true, true}, nil, predictors.ErrSingleClass},
		{"single class by weight", good, lab, []float64{0, 1, 1}, predictors.ErrSingleClass},
		{"NaN", []float64{0.2, math.NaN(), 0.6}, lab, nil, predictors.ErrNotFinite},
		{"Inf", []float64{0.2, math.Inf(1), 0.6}, lab, nil, predictors.ErrNotFinite},
		{"above 1", []float64{0.2, 1.2, 0.6}, lab, nil, nil},
		{"below 0", []float64{-0.1, 0.4, 0.6}, lab, nil, nil},
		{"negative weight", good, lab, []float64{1, -1, 1}, nil},
		{"empty", nil, nil, nil, predictors.ErrEmpty},
	}
	for _, c := range cases {
		_, errP := predictors.FitPlatt(c.p, c.y, c.w)
		_, errI := predictors.FitIsotonic(c.p, c.y, c.w)
		for name, err := range map[string]error{"platt": errP, "isotonic": errI} {
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("%s, %s: err = %v, want %v", name, c.name, err, c.is)
			}
		}
	}
	if _, err := predictors.FitPlatt([]float64{0.3, 0.3}, []bool{true, false}, nil); err == nil {
		t.Error("Platt with constant probabilities: no error")
	}
}

func TestIsotonicValidate(t *testing.T) {
	p, y := calMustRFCV(t)
	fitted, err := predictors.FitIsotonic(p, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fitted.Validate(); err != nil {
		t.Errorf("fitted map: %v", err)
	}
	for name, c := range map[string]predictors.Isotonic{
		"empty":          {},
		"lengths":        {X: []float64{0.1, 0.2}, Y: []float64{0}},
		"NaN":            {X: []float64{0.1, math.NaN()}, Y: []float64{0, 1}},
		"X not strictly": {X: []float64{0.1, 0.1}, Y: []float64{0, 1}},
		"Y decreasing":   {X: []float64{0.1, 0.2}, Y: []float64{0.6, 0.5}},
		"Y above 1":      {X: []float64{0.1, 0.2}, Y: []float64{0.5, 1.5}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func calEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-15 {
			return false
		}
	}
	return true
}
