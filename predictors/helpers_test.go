package predictors_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// vertebralFeatures are the six columns of the UCI Vertebral Column data, in
// file order (../testdata/vertebral_column_2C.csv, see testdata/README.md).
var vertebralFeatures = []string{"pelvic_incidence", "pelvic_tilt", "lumbar_lordosis_angle", "sacral_slope", "pelvic_radius", "degree_spondylolisthesis"}

// mustReadCSV reads a whole CSV file (header included).
func mustReadCSV(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	return rows
}

func mustFloat(tb testing.TB, s string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return v
}

// mustVertebral returns the 310×6 design matrix and labels (Abnormal = true).
func mustVertebral(tb testing.TB) (*mat.Dense, []bool) {
	tb.Helper()
	rows := mustReadCSV(tb, filepath.Join("..", "testdata", "vertebral_column_2C.csv"))[1:]
	x := mat.NewDense(len(rows), 6, nil)
	y := make([]bool, len(rows))
	for i, r := range rows {
		for j := 0; j < 6; j++ {
			x.Set(i, j, mustFloat(tb, r[j]))
		}
		y[i] = r[6] == "Abnormal"
	}
	return x, y
}

// mustVertebralFolds returns the shared stratified 5-fold assignment used by
// every reference run (fold numbers 1..5, one per row in file order).
func mustVertebralFolds(tb testing.TB) []int {
	tb.Helper()
	rows := mustReadCSV(tb, filepath.Join("testdata", "folds_vertebral2c.csv"))[1:]
	folds := make([]int, len(rows))
	for i, r := range rows {
		folds[i] = int(mustFloat(tb, r[1]))
	}
	return folds
}
