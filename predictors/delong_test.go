package predictors_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/spinecast/spinecast/predictors"
	"gonum.org/v1/gonum/stat/distuv"
)

// metricPROC holds R pROC 1.18.0 (Debian r-cran-proc 1.18.0-1+b1, R 4.2.2)
// results for one column of a reference predictions file, produced by
//
//	ro <- roc(y, x, levels=c(0,1), direction="<", quiet=TRUE)
//	ci.auc(ro, method="delong", conf.level=0.95)   # lower, auc, upper
//	ci.auc(ro, method="delong", conf.level=0.90)   # lower90, upper90
//	var(ro, method="delong")
//
// printed with sprintf("%.17g").
var metricPROC = []struct {
	file, col                   string
	lower, auc, upper, variance float64
	lower90, upper90            float64
}{
	{"r_vertebral2c_rf_predictions.csv", "ranger_oob", 0.89215052959646868, 0.92152380952380952, 0.95089708945115037, 0.00022459945920597551, 0.89687297593449455, 0.94617464311312438},
	{"r_vertebral2c_rf_predictions.csv", "rf_oob", 0.8862939087677657, 0.91835714285714287, 0.95042037694652004, 0.00026761994030289769, 0.89144882857192775, 0.94526545714235799},
	// rf_cv holds many ties (vote fractions of 500 trees).
	{"sklearn_vertebral2c_predictions.csv", "rf_cv", 0.88787391315068631, 0.91754761904761906, 0.9472213249445518, 0.00022921730070727563, 0.89264466003681098, 0.94245057805842714},
	{"sklearn_vertebral2c_predictions.csv", "mlp_cv", 0.8915938956740842, 0.92114285714285715, 0.9506918186116301, 0.00022729415168512915, 0.89634458695629227, 0.94594112732942204},
}

// metricCITol is the tolerance against pROC's interval: the same formula in
// float64; only qnorm against gonum's normal quantile and summation order
// differ.
const metricCITol = 1e-12

func TestMetricDeLongPROC(t *testing.T) {
	for _, ref := range metricPROC {
		t.Run(ref.col, func(t *testing.T) {
			x, y := metricReadColumn(t, ref.file, ref.col)
			auc, lo, hi, err := predictors.DeLong(x, y, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			_, lo90, hi90, err := predictors.DeLong(x, y, 0.90)
			if err != nil {
				t.Fatal(err)
			}
			z := distuv.UnitNormal.Quantile(0.975)
			variance := math.Pow((hi-lo)/(2*z), 2)
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"auc", auc, ref.auc}, {"lower", lo, ref.lower}, {"upper", hi, ref.upper},
				{"lower90", lo90, ref.lower90}, {"upper90", hi90, ref.upper90}, {"variance", variance, ref.variance},
			} {
				if math.Abs(c.got-c.want) > metricCITol {
					t.Errorf("%s = %.17g, pROC %.17g", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestMetricDeLongClipped(t *testing.T) {
	// pROC 1.18.0, as in metricPROC:
	//   y <- c(1,1,1,1,0,0,0,0); x <- c(0.9,0.8,0.7,0.95,0.1,0.2,0.75,0.3)
	//   -> 0.76426202195629034 0.9375 1, var 0.0078125
	//   y <- c(1,1,1,0,0,0,0); x <- c(0.2,0.2,0.1,0.8,0.9,0.1,0.95)
	//   -> 0 0.20833333333333334 0.62474560846286675, var 0.045138888888888895
	for _, c := range []struct {
		x                 []float64
		y                 []bool
		lower, auc, upper float64
	}{
		{[]float64{0.9, 0.8, 0.7, 0.95, 0.1, 0.2, 0.75, 0.3}, []bool{true, true, true, true, false, false, false, false}, 0.76426202195629034, 0.9375, 1},
		{[]float64{0.2, 0.2, 0.1, 0.8, 0.9, 0.1, 0.95}, []bool{true, true, true, false, false, false, false}, 0, 0.20833333333333334, 0.62474560846286675},
	} {
		auc, lo, hi, err := predictors.DeLong(c.x, c.y, 0.95)
		if err != nil || math.Abs(auc-c.auc) > metricCITol || math.Abs(lo-c.lower) > metricCITol || math.Abs(hi-c.upper) > metricCITol {
			t.Errorf("DeLong(%v) = %.17g [%.17g, %.17g], %v; pROC %.17g [%.17g, %.17g]", c.x, auc, lo, hi, err, c.auc, c.lower, c.upper)
		}
	}
}

// metricBruteDeLongVar is the O(m·n) DeLong variance straight from the
// structural components.
func metricBruteDeLongVar(s []float64, y []bool) float64 {
	var xs, ys []float64
	for i, v := range s {
		if y[i] {
			xs = append(xs, v)
		} else {
			ys = append(ys, v)
		}
	}
	psi := func(a, b float64) float64 {
		switch {
		case a > b:
			return 1
		case a == b:
			return 0.5
		}
		return 0
	}
	m, n := float64(len(xs)), float64(len(ys))
	v10 := make([]float64, len(xs))
	v01 := make([]float64, len(ys))
	var auc float64
	for i, a := range xs {
		for j, b := range ys {
			v10[i] += psi(a, b) / n
			v01[j] += psi(a, b) / m
			auc += psi(a, b)
		}
	}
	auc /= m * n
	var s10, s01 float64
	for _, v := range v10 {
		s10 += (v - auc) * (v - auc)
	}
	for _, v := range v01 {
		s01 += (v - auc) * (v - auc)
	}
	return s10/(m-1)/m + s01/(n-1)/n
}

func TestMetricDeLongBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	z := distuv.UnitNormal.Quantile(0.975)
	checked := 0
	for trial := 0; trial < 100; trial++ {
		s, y, _ := metricRandomData(rng, 10+rng.IntN(60))
		auc, lo, hi, err := predictors.DeLong(s, y, 0.95)
		if err != nil {
			continue
		}
		if lo == 0 || hi == 1 {
			continue // clipped: the half-width no longer gives the SE
		}
		checked++
		got := math.Pow((hi-lo)/(2*z), 2)
		want := metricBruteDeLongVar(s, y)
		if math.Abs(got-want) > metricExactTol {
			t.Errorf("trial %d: variance %.17g, brute force %.17g", trial, got, want)
		}
		if math.Abs((hi+lo)/2-auc) > metricExactTol {
			t.Errorf("trial %d: interval [%v, %v] not centred on %v", trial, lo, hi, auc)
		}
	}
	if checked < 80 {
		t.Errorf("only %d of 100 trials checked", checked)
	}
}

func TestMetricDeLongCoverage(t *testing.T) {
	// Binormal: positives N(μ, 1), negatives N(0, 1); true AUC = Φ(μ/√2).
	const (
		reps = 400
		m, n = 100, 100
		mu   = 1.0
	)
	truth := distuv.UnitNormal.CDF(mu / math.Sqrt2)
	rng := rand.New(rand.NewPCG(13, 14))
	s := make([]float64, m+n)
	y := make([]bool, m+n)
	covered := 0
	for r := 0; r < reps; r++ {
		for i := range s {
			y[i] = i < m
			s[i] = rng.NormFloat64()
			if y[i] {
				s[i] += mu
			}
		}
		_, lo, hi, err := predictors.DeLong(s, y, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if lo <= truth && truth <= hi {
			covered++
		}
	}
	rate := float64(covered) / reps
	t.Logf("coverage of AUC %.4f: %d/%d = %.3f", truth, covered, reps, rate)
	// 0.95 ± 1.8 binomial SDs (√(0.95·0.05/400) = 0.011).
	if rate < 0.93 || rate > 0.97 {
		t.Errorf("coverage %.3f outside [0.93, 0.97]", rate)
	}
}

func TestMetricDeLongEdgeCases(t *testing.T) {
	auc, lo, hi, err := predictors.DeLong([]float64{1, 1, 1, 1}, []bool{true, false, true, false}, 0.95)
	if err != nil || auc != 0.5 || lo != 0.5 || hi != 0.5 {
		t.Errorf("all tied: %v [%v, %v], %v; want 0.5 [0.5, 0.5]", auc, lo, hi, err)
	}
	for _, c := range []struct {
		name   string
		s      []float64
		y      []bool
		target error
	}{
		{"empty", nil, nil, predictors.ErrEmpty},
		{"single class", []float64{1, 2}, []bool{false, false}, predictors.ErrSingleClass},
		{"NaN", []float64{1, 2, math.NaN(), 3}, []bool{true, false, true, false}, predictors.ErrNotFinite},
		{"one positive", []float64{1, 2, 3}, []bool{true, false, false}, nil},
	} {
		_, lo, hi, err := predictors.DeLong(c.s, c.y, 0.95)
		if err == nil || (c.target != nil && !errors.Is(err, c.target)) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.target)
		}
		if !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("%s: bounds [%v, %v], want NaN", c.name, lo, hi)
		}
	}
	metricMustPanic(t, "level 1", func() { _, _, _, _ = predictors.DeLong([]float64{1, 2}, []bool{true, false}, 1) })
	metricMustPanic(t, "length", func() { _, _, _, _ = predictors.DeLong([]float64{1, 2}, []bool{true}, 0.9) })
}
