package predictors_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/spinecast/spinecast/predictors"
)

// pairedPROC holds R pROC 1.18.0 (R 4.2.2) results of
//
//	roc.test(roc(y, a, levels=c(0,1), direction="<"), roc(y, b, ...),
//	         paired=TRUE, method="delong", conf.level=level)
//
// on testdata/delong_paired.csv (80 cases, scores with ties), produced by
// `Rscript delong_paired.R` in predictors/testdata and printed with
// sprintf("%.17g"): estimate (AUCs), statistic (Z), p.value, conf.int.
var pairedPROC = []struct {
	a, b                     string
	level                    float64
	auc1, auc2, z, p, lo, hi float64
}{
	{"s1", "s2", 0.95, 0.70245003223726632, 0.74532559638942619, -0.83559753316942909, 0.40338135698992639, -0.14344379014527137, 0.057692661840951856},
	{"s1", "s2", 0.90, 0.70245003223726632, 0.74532559638942619, -0.83559753316942909, 0.40338135698992639, -0.12727507995227491, 0.041523951647955387},
	{"s1", "s3", 0.95, 0.70245003223726632, 0.54803352675693096, 1.9557216798598613, 0.050497949392950943, -0.00033495658950055684, 0.30916796755017129},
	{"s1", "s3", 0.90, 0.70245003223726632, 0.54803352675693096, 1.9557216798598613, 0.050497949392950943, 0.024544984539430631, 0.28428802642124007},
}

// pairedTol is the tolerance against pROC: the same formulas in float64;
// summation order and the normal quantile/CDF implementations differ.
const pairedTol = 1e-10

func TestDeLongPairedPROC(t *testing.T) {
	for _, ref := range pairedPROC {
		t.Run(fmt.Sprintf("%s-%s-%.2f", ref.a, ref.b, ref.level), func(t *testing.T) {
			x1, y := metricReadColumn(t, "delong_paired.csv", ref.a)
			x2, _ := metricReadColumn(t, "delong_paired.csv", ref.b)
			r, err := predictors.DeLongPaired(x1, x2, y, ref.level)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"auc1", r.AUC1, ref.auc1}, {"auc2", r.AUC2, ref.auc2}, {"diff", r.Diff, ref.auc1 - ref.auc2},
				{"z", r.Z, ref.z}, {"p", r.P, ref.p}, {"lower", r.Lower, ref.lo}, {"upper", r.Upper, ref.hi},
				{"se", r.SE, (ref.auc1 - ref.auc2) / ref.z},
			} {
				if math.Abs(c.got-c.want) > pairedTol {
					t.Errorf("%s = %.17g, pROC %.17g", c.name, c.got, c.want)
				}
			}
		})
	}
}

// pairedBruteVar is the DeLong paired variance from its O(m·n) definition.
func pairedBruteVar(s1, s2 []float64, y []bool) (auc1, auc2, v float64) {
	psi := func(x, z float64) float64 {
		switch {
		case x > z:
			return 1
		case x == z:
			return 0.5
		}
		return 0
	}
	var pos, neg []int
	for i, l := range y {
		if l {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	m, n := float64(len(pos)), float64(len(neg))
	v10 := func(s []float64, i int) float64 {
		var a float64
		for _, j := range neg {
			a += psi(s[i], s[j])
		}
		return a / n
	}
	v01 := func(s []float64, j int) float64 {
		var a float64
		for _, i := range pos {
			a += psi(s[i], s[j])
		}
		return a / m
	}
	for _, i := range pos {
		auc1 += v10(s1, i) / m
		auc2 += v10(s2, i) / m
	}
	var s10, s01 float64 // variance of the difference of placements
	for _, i := range pos {
		d := (v10(s1, i) - auc1) - (v10(s2, i) - auc2)
		s10 += d * d
	}
	for _, j := range neg {
		d := (v01(s1, j) - auc1) - (v01(s2, j) - auc2)
		s01 += d * d
	}
	return auc1, auc2, s10/(m-1)/m + s01/(n-1)/n
}

func TestDeLongPairedBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for trial := range 20 {
		n := 10 + r.IntN(60)
		s1, s2, y := make([]float64, n), make([]float64, n), make([]bool, n)
		for i := range y {
			y[i] = i < 2 || i >= 4 && r.IntN(2) == 0 // at least 2 of each class
			if i >= 2 && i < 4 {
				y[i] = false
			}
			s1[i] = math.Round(4*r.NormFloat64()+2*b2f(y[i])) / 2 // ties
			s2[i] = 0.5*s1[i] + r.NormFloat64()
		}
		got, err := predictors.DeLongPaired(s1, s2, y, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		a1, a2, v := pairedBruteVar(s1, s2, y)
		if math.Abs(got.AUC1-a1) > 1e-12 || math.Abs(got.AUC2-a2) > 1e-12 || math.Abs(got.SE*got.SE-v) > 1e-12 {
			t.Errorf("trial %d: AUCs %v %v, var %v; brute force %v %v %v", trial, got.AUC1, got.AUC2, got.SE*got.SE, a1, a2, v)
		}
		// Each AUC is the unpaired one.
		auc, _, _, err := predictors.DeLong(s1, y, 0.95)
		if err != nil || math.Abs(auc-got.AUC1) > 1e-12 {
			t.Errorf("trial %d: AUC1 %v, DeLong %v (%v)", trial, got.AUC1, auc, err)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestDeLongPairedEdgeCases(t *testing.T) {
	s := []float64{0.1, 0.4, 0.35, 0.8, 0.7, 0.2}
	y := []bool{false, false, true, true, true, false}
	same, err := predictors.DeLongPaired(s, s, y, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if same.Diff != 0 || same.SE != 0 || same.Z != 0 || same.P != 1 || same.Lower != 0 || same.Upper != 0 {
		t.Errorf("identical scores: %+v", same)
	}
	// A monotone transform has the same ranks: no difference either.
	sq := make([]float64, len(s))
	for i, v := range s {
		sq[i] = v * v
	}
	if r, err := predictors.DeLongPaired(s, sq, y, 0.95); err != nil || r.Diff != 0 || r.P != 1 {
		t.Errorf("monotone transform: %+v, %v", r, err)
	}
	if _, err := predictors.DeLongPaired(s, s, make([]bool, len(s)), 0.95); !errors.Is(err, predictors.ErrSingleClass) {
		t.Errorf("single class: err = %v", err)
	}
	bad := append([]float64(nil), s...)
	bad[2] = math.NaN()
	if _, err := predictors.DeLongPaired(s, bad, y, 0.95); !errors.Is(err, predictors.ErrNotFinite) {
		t.Errorf("NaN score: err = %v", err)
	}
	if _, err := predictors.DeLongPaired(s[:3], s[:3], []bool{true, false, false}, 0.95); err == nil {
		t.Error("one positive accepted")
	}
	for _, f := range []func(){
		func() { predictors.DeLongPaired(s, s, y, 1) },
		func() { predictors.DeLongPaired(s, s[:5], y, 0.95) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

func ExampleDeLongPaired() {
	// Two scores of the same eight cases: the second ranks one positive
	// below a negative.
	y := []bool{true, true, true, true, false, false, false, false}
	a := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}
	b := []float64{0.9, 0.8, 0.7, 0.35, 0.5, 0.4, 0.3, 0.2}
	r, err := predictors.DeLongPaired(a, b, y, 0.95)
	if err != nil {
		panic(err)
	}
	fmt.Printf("AUC %.4f vs %.4f, difference %.4f (SE %.4f), p = %.3f\n", r.AUC1, r.AUC2, r.Diff, r.SE, r.P)
	// Output: AUC 1.0000 vs 0.8750, difference 0.1250 (SE 0.1443), p = 0.386
}
