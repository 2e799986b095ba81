package predictors_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// enetExampleData reads the vertebral data (310 rows, 6 features; y =
// Abnormal) and the shared folds.
func enetExampleData() (*mat.Dense, []bool, []int) {
	read := func(path string) [][]string {
		f, err := os.Open(path)
		if err != nil {
			panic(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			panic(err)
		}
		return rows[1:]
	}
	rows := read("../testdata/vertebral_column_2C.csv")
	x := mat.NewDense(len(rows), 6, nil)
	y := make([]bool, len(rows))
	for i, r := range rows {
		for j := 0; j < 6; j++ {
			v, err := strconv.ParseFloat(r[j], 64)
			if err != nil {
				panic(err)
			}
			x.Set(i, j, v)
		}
		y[i] = r[6] == "Abnormal"
	}
	var folds []int
	for _, r := range read("testdata/folds_vertebral2c.csv") {
		k, err := strconv.Atoi(r[1])
		if err != nil {
			panic(err)
		}
		folds = append(folds, k)
	}
	return x, y, folds
}

// Fit at one λ; the coefficients equal glmnet's (alpha = 0.5, lambda = 0.05).
// pelvic_incidence is exactly pelvic_tilt + sacral_slope, and the elastic
// net keeps it at zero.
func ExampleFitElasticNet() {
	x, y, _ := enetExampleData()
	m, err := predictors.FitElasticNet(x, y, nil, 0.5, 0.05, &predictors.ElasticNetSettings{Thresh: 1e-14})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("intercept %.4f\n", m.Intercept)
	fmt.Printf("coef %.4f\n", m.Coef)
	p, _ := m.PredictOne([]float64{63.03, 22.55, 39.61, 40.48, 98.67, -0.25})
	fmt.Printf("P(abnormal) %.3f\n", p)
	// Output:
	// intercept 4.4314
	// coef [0.0000 0.0311 0.0000 0.0000 -0.0406 0.0344]
	// P(abnormal) 0.753
}

// The default path: glmnet's 100 log-spaced λ values from λ_max, stopped
// early when the deviance ratio stops improving (glmnet also stops after
// 89 values at its default thresh here, after 88 at thresh = 1e-14).
func ExampleFitElasticNetPath() {
	x, y, _ := enetExampleData()
	path, err := predictors.FitElasticNetPath(x, y, nil, &predictors.ElasticNetSettings{Alpha: 0.5})
	if err != nil {
		fmt.Println(err)
		return
	}
	last := len(path.Lambda) - 1
	fmt.Printf("%d lambdas from %.4f to %.6f\n", len(path.Lambda), path.Lambda[0], path.Lambda[last])
	fmt.Printf("df %d -> %d, deviance explained %.3f -> %.3f\n", path.Df[0], path.Df[last], path.DevRatio[0], path.DevRatio[last])
	// Output:
	// 89 lambdas from 0.4148 to 0.000115
	// df 0 -> 5, deviance explained 0.000 -> 0.543
}

// Cross-validation on given folds, as cv.glmnet(type.measure = "deviance").
func ExampleCrossValidateElasticNet() {
	x, y, folds := enetExampleData()
	cv, err := predictors.CrossValidateElasticNet(x, y, nil, folds, &predictors.ElasticNetSettings{Alpha: 0.5, Thresh: 1e-14})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("lambda.min %.6f (cvm %.4f)\n", cv.LambdaMin, cv.CVM[cv.IndexMin])
	fmt.Printf("lambda.1se %.6f (cvm %.4f)\n", cv.Lambda1SE, cv.CVM[cv.Index1SE])
	// Output:
	// lambda.min 0.001881 (cvm 0.6533)
	// lambda.1se 0.014565 (cvm 0.7096)
}

// Linear SHAP values against the training means add up to the log-odds.
func ExampleElasticNet_Explain() {
	x, y, _ := enetExampleData()
	m, err := predictors.FitElasticNet(x, y, nil, 0.5, 0.05, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	row := mat.Row(nil, 0, x)
	base, phi, _ := m.Explain(row, nil)
	sum := base
	for _, v := range phi {
		sum += v
	}
	p, _ := m.PredictOne(row)
	fmt.Printf("base %.3f, phi %.3f\n", base, phi)
	fmt.Printf("sigmoid(base + sum phi) %.4f = prediction %.4f\n", predictors.Sigmoid(sum), p)
	// Output:
	// base 1.090, phi [0.000 0.156 0.000 0.000 0.782 -0.914]
	// sigmoid(base + sum phi) 0.7529 = prediction 0.7529
}
