// Command gendata writes the seeded logistic data set that every tool in the
// comparison reads (see package internal/synth for the model): a training
// file of -n rows and, with -test-out, an independent test file of -test-n
// rows drawn from the same model (another PCG stream of the same seed).
//
// It prints one JSON object: the row counts, the positive rates and the AUC
// of the true linear predictor on the test rows (the best AUC any model can
// expect on them), so that each tool's test AUC can be judged against it.
//
//	gendata -n 10000 -seed 1 -out train.csv -test-n 5000 -test-out test.csv
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/spinecast/spinecast/bench/internal/synth"
	"github.com/spinecast/spinecast/predictors"
)

type summary struct {
	Seed          uint64    `json:"seed"`
	Features      int       `json:"features"`
	TrainRows     int       `json:"train_rows"`
	TrainPositive float64   `json:"train_positive_rate"`
	TestRows      int       `json:"test_rows,omitempty"`
	TestPositive  float64   `json:"test_positive_rate,omitempty"`
	OracleTestAUC float64   `json:"oracle_test_auc,omitempty"`
	Intercept     float64   `json:"true_intercept"`
	Coef          []float64 `json:"true_coef"`
}

func main() {
	n := flag.Int("n", 10000, "training rows")
	seed := flag.Uint64("seed", 1, "PCG seed")
	out := flag.String("out", "train.csv", "training CSV path")
	testN := flag.Int("test-n", 5000, "test rows (written only with -test-out)")
	testOut := flag.String("test-out", "", "test CSV path; empty: no test file")
	flag.Parse()
	if *n <= 0 || (*testOut != "" && *testN <= 0) {
		fmt.Fprintln(os.Stderr, "gendata: row counts must be positive")
		os.Exit(2)
	}
	s := summary{Seed: *seed, Features: synth.Features, TrainRows: *n, Intercept: synth.Intercept, Coef: synth.Coef()}
	var err error
	if s.TrainPositive, _, _, err = write(*out, *n, synth.New(*seed, 1)); err != nil {
		fail(err)
	}
	if *testOut != "" {
		var eta []float64
		var y []bool
		if s.TestPositive, eta, y, err = write(*testOut, *testN, synth.New(*seed, 2)); err != nil {
			fail(err)
		}
		s.TestRows = *testN
		if s.OracleTestAUC, err = predictors.AUC(eta, y, nil); err != nil {
			fail(fmt.Errorf("oracle AUC: %w", err))
		}
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(s); err != nil {
		fail(err)
	}
}

// write writes n rows from g to path and returns the positive rate, the
// true linear predictors and the labels.
func write(path string, n int, g *synth.Generator) (rate float64, eta []float64, y []bool, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, nil, nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for j := 1; j <= synth.Features; j++ {
		fmt.Fprintf(w, "x%d,", j)
	}
	w.WriteString("y\n")
	x := make([]float64, synth.Features)
	eta = make([]float64, n)
	y = make([]bool, n)
	var buf []byte
	pos := 0
	for i := 0; i < n; i++ {
		y[i], eta[i] = g.Row(x)
		buf = buf[:0]
		for _, v := range x {
			buf = strconv.AppendFloat(buf, v, 'g', synth.Digits, 64)
			buf = append(buf, ',')
		}
		if y[i] {
			buf = append(buf, '1', '\n')
			pos++
		} else {
			buf = append(buf, '0', '\n')
		}
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, nil, nil, err
	}
	if err := f.Close(); err != nil {
		return 0, nil, nil, err
	}
	return float64(pos) / float64(n), eta, y, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gendata:", err)
	os.Exit(1)
}
