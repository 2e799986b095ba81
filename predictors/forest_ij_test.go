package predictors_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/spinecast/spinecast/predictors"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// ijSim draws n rows of a smooth 3-feature logistic model.
func ijSim(rng *rand.Rand, n int) (*mat.Dense, []bool) {
	x := mat.NewDense(n, 3, nil)
	y := make([]bool, n)
	for i := 0; i < n; i++ {
		a, b, c := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		x.SetRow(i, []float64{a, b, c})
		y[i] = rng.Float64() < predictors.Sigmoid(1.2*a-0.8*b+0.3*c)
	}
	return x, y
}

// TestForestIJMatchesSamplingVariance checks the infinitesimal jackknife
// against the truth it estimates: the variance of the forest's prediction
// over independent training sets. 40 training sets of 300 rows, 500 trees
// each (the CLI's default), at 10 test points.
//
// What it asserts, and what it measured when written:
//   - the mean IJ variance at each point is within a factor of two of the
//     empirical variance (measured ratios 0.65–1.12);
//   - the 95 % intervals from Interval cover E[p(x)] (estimated by the mean
//     over the 40 fits) in at least 80 % of the 400 cases (measured 0.833;
//     the same variances on the logit scale gave 0.865 and on the
//     probability scale 0.805 — see Interval for why arcsine was chosen).
//
// So the intervals UNDER-cover (nominal 0.95): they are a lower bound on
// the forest's estimation uncertainty; README.md says so. Forests are also
// biased, so the interval is not a statement about the true probability.
func TestForestIJMatchesSamplingVariance(t *testing.T) {
	if testing.Short() {
		t.Skip("sampling simulation")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	test, _ := ijSim(rng, 10)
	const reps, points = 40, 10
	type fit struct{ p, v, lo, hi float64 }
	fits := make([][]fit, points)
	for r := 0; r < reps; r++ {
		x, y := ijSim(rng, 300)
		f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 500, MinLeaf: 5, Seed: uint64(r)})
		if err != nil {
			t.Fatal(err)
		}
		ij, err := f.InfinitesimalJackknife()
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < points; k++ {
			row := test.RawRowView(k)
			v, err := ij.Variance(f, row)
			if err != nil {
				t.Fatal(err)
			}
			p, lo, hi, err := ij.Interval(f, row)
			if err != nil {
				t.Fatal(err)
			}
			if v < 0 || math.IsNaN(v) || !(lo <= p && p <= hi) {
				t.Fatalf("variance %v, interval %v [%v, %v]", v, p, lo, hi)
			}
			fits[k] = append(fits[k], fit{p, v, lo, hi})
		}
	}
	covered, total := 0, 0
	for k := 0; k < points; k++ {
		ps := make([]float64, reps)
		vs := make([]float64, reps)
		for r, f := range fits[k] {
			ps[r], vs[r] = f.p, f.v
		}
		mean, sd := stat.MeanStdDev(ps, nil)
		ratio := stat.Mean(vs, nil) / (sd * sd)
		t.Logf("point %d: E[p] %.3f, empirical var %.5f, IJ/empirical %.2f", k, mean, sd*sd, ratio)
		if ratio < 0.5 || ratio > 2 {
			t.Errorf("point %d: IJ variance / sampling variance = %.2f, want within [0.5, 2]", k, ratio)
		}
		for _, f := range fits[k] {
			total++
			if f.lo <= mean && mean <= f.hi {
				covered++
			}
		}
	}
	share := float64(covered) / float64(total)
	t.Logf("coverage of E[p(x)] by the 95%% intervals: %d/%d = %.3f", covered, total, share)
	if share < 0.80 {
		t.Errorf("coverage %.3f < 0.80", share)
	}
}

// TestForestIJNeedsItsForest: decoded forests carry no bootstrap counts,
// and an estimator applied to another forest is an error, not a number.
func TestForestIJNeedsItsForest(t *testing.T) {
	x, y := mustVertebral(t)
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 50, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ij, err := f.InfinitesimalJackknife()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(f)
	var g predictors.Forest
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if _, err := g.InfinitesimalJackknife(); err == nil {
		t.Fatal("a decoded forest has no bootstrap counts: want an error")
	}
	small, _ := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 10, Seed: 3})
	if _, err := ij.Variance(small, x.RawRowView(0)); err == nil {
		t.Fatal("IJ of a 50-tree forest applied to a 10-tree forest: want an error")
	}
	if _, err := ij.Variance(f, x.RawRowView(0)[:3]); err == nil {
		t.Fatal("short row: want an error")
	}
}
