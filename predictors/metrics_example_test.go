package predictors_test

import (
	"fmt"

	"github.com/spinecast/spinecast/predictors"
)

func ExampleAUC() {
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	labels := []bool{false, false, true, true}
	auc, err := predictors.AUC(scores, labels, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AUC = %.2f\n", auc)
	// Weight 3 on the first row counts it three times.
	wauc, _ := predictors.AUC(scores, labels, []float64{3, 1, 1, 1})
	fmt.Printf("weighted AUC = %.3f\n", wauc)
	// Output:
	// AUC = 0.75
	// weighted AUC = 0.875
}

func ExampleDeLong() {
	scores := []float64{0.9, 0.8, 0.7, 0.95, 0.1, 0.2, 0.75, 0.3}
	labels := []bool{true, true, true, true, false, false, false, false}
	auc, lo, hi, err := predictors.DeLong(scores, labels, 0.95)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The upper bound is clipped at 1, as pROC does.
	fmt.Printf("AUC %.4f, 95%% CI [%.4f, %.4f]\n", auc, lo, hi)
	// Output:
	// AUC 0.9375, 95% CI [0.7643, 1.0000]
}

func ExampleCalibrationSlope() {
	// Predictions that are too extreme for the outcomes: slope < 1 (R's
	// glm(y ~ qlogis(p), family=binomial) gives 0.4430, 0.3442).
	p := []float64{0.05, 0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.95, 0.6, 0.4}
	y := []bool{false, true, false, true, true, false, true, true, false, true}
	a, b, err := predictors.CalibrationSlope(p, y, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("intercept %.3f, slope %.3f\n", a, b)
	// Output:
	// intercept 0.443, slope 0.344
}

func ExampleCalibrationCurve() {
	p := []float64{0.1, 0.2, 0.5, 0.8, 1.0}
	y := []bool{false, true, true, true, true}
	for _, b := range predictors.CalibrationCurve(p, y, 4) {
		fmt.Printf("[%.2f, %.2f): n=%d mean p %.2f observed %.2f (95%% CI %.2f–%.2f)\n",
			b.Lower, b.Upper, b.N, b.MeanPredicted, b.ObservedRate, b.CILower, b.CIUpper)
	}
	fmt.Printf("ECE %.2f\n", predictors.ECE(p, y, 4))
	// Output:
	// [0.00, 0.25): n=2 mean p 0.15 observed 0.50 (95% CI 0.09–0.91)
	// [0.50, 0.75): n=1 mean p 0.50 observed 1.00 (95% CI 0.21–1.00)
	// [0.75, 1.00): n=2 mean p 0.90 observed 1.00 (95% CI 0.34–1.00)
	// ECE 0.28
}

func ExampleEvaluate() {
	p := []float64{0.1, 0.3, 0.2, 0.6, 0.8, 0.4, 0.7, 0.9}
	y := []bool{false, false, true, false, true, true, true, true}
	m, err := predictors.Evaluate(p, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("n %d, events %.0f\n", m.N, m.Events)
	fmt.Printf("AUC %.3f [%.3f, %.3f]\n", m.AUC, m.AUCLower, m.AUCUpper)
	fmt.Printf("Brier %.3f, log-loss %.3f, ECE %.3f\n", m.Brier, m.LogLoss, m.ECE)
	fmt.Printf("calibration intercept %.3f, slope %.3f\n", *m.CalibrationIntercept, *m.CalibrationSlope)
	// Output:
	// n 8, events 5
	// AUC 0.800 [0.454, 1.000]
	// Brier 0.200, log-loss 0.574, ECE 0.375
	// calibration intercept 0.724, slope 0.904
}

func ExampleStratifiedFolds() {
	labels := []bool{true, true, true, false, false, false, false}
	folds := predictors.StratifiedFolds(labels, 3, 1)
	count := map[int][2]int{}
	for i, f := range folds {
		c := count[f]
		if labels[i] {
			c[0]++
		} else {
			c[1]++
		}
		count[f] = c
	}
	for f := 1; f <= 3; f++ {
		fmt.Printf("fold %d: %d positive, %d negative\n", f, count[f][0], count[f][1])
	}
	// Output:
	// fold 1: 1 positive, 2 negative
	// fold 2: 1 positive, 1 negative
	// fold 3: 1 positive, 1 negative
}
