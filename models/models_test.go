package models_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/predictors"
)

func mustVertebralTable(tb testing.TB) *models.Table {
	tb.Helper()
	f, err := os.Open("../testdata/vertebral_column_2C.csv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	t, err := models.ReadTable(f, "status", "Abnormal", nil)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

var fixedClock = func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }

func mustTrain(tb testing.TB, t *models.Table, s models.TrainSettings) *models.Artifact {
	tb.Helper()
	s.Now = fixedClock
	a, err := models.Train(context.Background(), t, s)
	if err != nil {
		tb.Fatalf("train %s: %v", s.Algorithm, err)
	}
	return a
}

func TestArtifactRoundTripAndIntegrity(t *testing.T) {
	lambda := 0.05
	a := mustTrain(t, mustVertebralTable(t), models.TrainSettings{Algorithm: models.ElasticNet, Alpha: 0.5, Lambda: &lambda, Bootstrap: 5})
	var buf bytes.Buffer
	if err := a.Write(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := models.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if b.Sha256 != a.Sha256 || len(b.Sha256) != 64 {
		t.Fatalf("sha256 %q after round trip, want %q", b.Sha256, a.Sha256)
	}
	if got, want := b.Model.ElasticNet.Coef, a.Model.ElasticNet.Coef; !equalFloats(got, want) {
		t.Fatalf("coefficients changed in the round trip: %v vs %v", got, want)
	}

	doc := buf.String()
	for _, c := range []struct {
		name, from, to string
		want           error
	}{
		{"edited value", `"target": "status"`, `"target": "Status"`, models.ErrDigest},
		{"edited coefficient", `"lambda": 0.05`, `"lambda": 0.06`, models.ErrDigest},
		{"future version", `"format_version": 1`, `"format_version": 2`, models.ErrVersion},
		{"foreign format", `"format": "spinecast-model"`, `"format": "other"`, models.ErrNotArtifact},
		{"truncated", doc[len(doc)/2:], "", models.ErrNotArtifact},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(doc, c.from) {
				t.Fatalf("test setup: %q not in the document", c.from)
			}
			_, err := models.Read(strings.NewReader(strings.Replace(doc, c.from, c.to, 1)))
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestExplanationsAddUp checks, for every algorithm, that the scorer's
// contributions (missing indicators folded into their feature) add up to
// the uncalibrated model output on the stated scale.
func TestExplanationsAddUp(t *testing.T) {
	tab := withMissing(mustVertebralTable(t), 0.1, 7)
	for _, s := range []models.TrainSettings{
		{Algorithm: models.ElasticNet, Alpha: 0.5, Bootstrap: 5},
		{Algorithm: models.RandomForest, Trees: 50},
		{Algorithm: models.MLP, Hidden: []int{8}, Epochs: 50, Bootstrap: 3},
	} {
		t.Run(s.Algorithm, func(t *testing.T) {
			a := mustTrain(t, tab, s)
			if got := len(a.InputNames()); got != 12 {
				t.Fatalf("%d inputs, want 6 features + 6 missing indicators", got)
			}
			sc, err := models.NewScorer(a)
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range tab.X {
				p, err := sc.Score(row, true)
				if err != nil {
					t.Fatal(err)
				}
				sum := p.Base
				for _, c := range p.Contributions {
					sum += c
				}
				want := p.Output
				if p.Scale == predictors.Probability && want != p.Raw {
					t.Fatalf("row %d: probability-scale output %v differs from the raw probability %v", i, want, p.Raw)
				}
				if p.Scale == predictors.LogOdds && math.Abs(predictors.Sigmoid(want)-p.Raw) > 1e-12 {
					t.Fatalf("row %d: log-odds output %v does not give the raw probability %v", i, want, p.Raw)
				}
				if !(math.Abs(sum-want) <= 1e-9) {
					t.Fatalf("row %d: base + Σ contributions = %.12f, model output %.12f (%s)", i, sum, want, p.Scale)
				}
				if !(p.Lower <= p.Probability && p.Probability <= p.Upper) {
					t.Fatalf("row %d: %v not in [%v, %v]", i, p.Probability, p.Lower, p.Upper)
				}
				nMissing := 0
				for _, v := range row {
					if math.IsNaN(v) {
						nMissing++
					}
				}
				if len(p.Imputed) != nMissing {
					t.Fatalf("row %d: %d imputed reported, %d missing", i, len(p.Imputed), nMissing)
				}
			}
		})
	}
}

// withMissing blanks a fraction of the feature values at random.
func withMissing(t *models.Table, frac float64, seed uint64) *models.Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := &models.Table{Features: t.Features, Y: t.Y, Missing: make([]int, len(t.Features))}
	for _, row := range t.X {
		r := append([]float64(nil), row...)
		for j := range r {
			if rng.Float64() < frac {
				r[j] = math.NaN()
				out.Missing[j]++
			}
		}
		out.X = append(out.X, r)
	}
	return out
}

func TestScoreReportsOutOfRangeAndRejectsInf(t *testing.T) {
	lambda := 0.05
	tab := mustVertebralTable(t)
	a := mustTrain(t, tab, models.TrainSettings{Algorithm: models.ElasticNet, Alpha: 0.5, Lambda: &lambda, Bootstrap: -1})
	sc, err := models.NewScorer(a)
	if err != nil {
		t.Fatal(err)
	}
	row := append([]float64(nil), tab.X[0]...)
	row[5] = 1e6
	p, err := sc.Score(row, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.OutOfRange) != 1 || p.OutOfRange[0] != 5 {
		t.Fatalf("out of range = %v, want [5]", p.OutOfRange)
	}
	row[5] = math.Inf(1)
	if _, err := sc.Score(row, false); !errors.Is(err, predictors.ErrNotFinite) {
		t.Fatalf("Inf input: err = %v, want ErrNotFinite", err)
	}
	if _, err := sc.Score(row[:3], false); !errors.Is(err, predictors.ErrFeatureCount) {
		t.Fatalf("short row: err = %v, want ErrFeatureCount", err)
	}
}

// TestScoreRowsEqualsScore scores the vertebral rows (a tenth of the values
// missing, one row out of range, one with an Inf, one short) with ScoreRows
// and row by row with Score, for the forest (whose intervals ScoreRows
// computes in one batch) and the elastic net: every field equal, bit for
// bit, the same rows refused for the same reason.
func TestScoreRowsEqualsScore(t *testing.T) {
	tab := withMissing(mustVertebralTable(t), 0.1, 11)
	rows := append([][]float64(nil), tab.X...)
	rows[3] = append([]float64(nil), rows[3]...)
	rows[3][1] = 1e6
	rows[8] = append([]float64(nil), rows[8]...)
	rows[8][2] = math.Inf(-1)
	rows[9] = rows[9][:4]
	for _, s := range []models.TrainSettings{
		{Algorithm: models.RandomForest, Trees: 60},
		{Algorithm: models.ElasticNet, Alpha: 0.5, Bootstrap: 5},
	} {
		t.Run(s.Algorithm, func(t *testing.T) {
			sc, err := models.NewScorer(mustTrain(t, tab, s))
			if err != nil {
				t.Fatal(err)
			}
			preds, errs := sc.ScoreRows(rows, false)
			for i, row := range rows {
				want, werr := sc.Score(row, false)
				if (werr == nil) != (errs[i] == nil) || (werr != nil && werr.Error() != errs[i].Error()) {
					t.Fatalf("row %d: ScoreRows error %v, Score error %v", i, errs[i], werr)
				}
				if werr != nil {
					continue
				}
				got := preds[i]
				if got.Probability != want.Probability || got.Lower != want.Lower || got.Upper != want.Upper || got.Raw != want.Raw ||
					!slices.Equal(got.Imputed, want.Imputed) || !slices.Equal(got.OutOfRange, want.OutOfRange) {
					t.Fatalf("row %d: ScoreRows %+v, Score %+v", i, got, want)
				}
			}
			for _, i := range []int{8, 9} {
				if errs[i] == nil {
					t.Fatalf("row %d: no error", i)
				}
			}
			if preds[3] == nil || len(preds[3].OutOfRange) == 0 {
				t.Fatalf("row 3: out of range not reported: %+v", preds[3])
			}
		})
	}
}

// TestBootstrapIntervalCoverage simulates a logistic model with known true
// probabilities and checks that the elastic net's bootstrap intervals
// (λ small, no calibration) cover the truth at close to the nominal 95 %.
// 20 independent training sets × 25 test points = 500 intervals; with
// true coverage 0.95 and within-set correlation, the observed share lies in
// [0.88, 0.99] with high probability — a coverage of 0.80 (too narrow) or
// 1.00 (useless) fails.
func TestBootstrapIntervalCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("coverage simulation")
	}
	beta := []float64{0.8, -0.5, 0.3}
	const b0 = 0.2
	sim := func(rng *rand.Rand, n int) (*models.Table, []float64) {
		tab := &models.Table{Features: []string{"x1", "x2", "x3"}, Missing: make([]int, 3)}
		var truth []float64
		for i := 0; i < n; i++ {
			x := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
			eta := b0
			for j := range x {
				eta += beta[j] * x[j]
			}
			p := predictors.Sigmoid(eta)
			tab.X = append(tab.X, x)
			tab.Y = append(tab.Y, rng.Float64() < p)
			truth = append(truth, p)
		}
		return tab, truth
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	test, truth := sim(rng, 25)
	lambda := 1e-4
	covered, total := 0, 0
	for r := 0; r < 20; r++ {
		train, _ := sim(rng, 400)
		a := mustTrain(t, train, models.TrainSettings{Algorithm: models.ElasticNet, Alpha: 0.5, Lambda: &lambda,
			Calibration: models.CalibrationNone, Bootstrap: 100, Folds: 2, Seed: uint64(r)})
		sc, err := models.NewScorer(a)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range test.X {
			p, err := sc.Score(x, false)
			if err != nil {
				t.Fatal(err)
			}
			total++
			if p.Lower <= truth[i] && truth[i] <= p.Upper {
				covered++
			}
		}
	}
	share := float64(covered) / float64(total)
	t.Logf("bootstrap 95%% interval coverage of the true probability: %d/%d = %.3f", covered, total, share)
	if share < 0.88 || share > 0.99 {
		t.Fatalf("coverage %.3f outside [0.88, 0.99]", share)
	}
}
