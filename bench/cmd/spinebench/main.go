// Command spinebench times Spinecast's predictors on a benchmark CSV written
// by gendata and prints one JSON object (seconds for fits and batch
// predictions, wall-clock and process CPU; microseconds for single rows):
//
//   - elastic-net path fit: FitElasticNetPath with α = -alpha and glmnet's
//     defaults otherwise (100 λ, λ_min/λ_max = 1e-4 when n ≥ p), the median of
//     -enet-reps fits;
//   - forest fit: FitForest with -trees trees, Mtry ⌊√p⌋, -workers goroutines,
//     seed -seed (one fit; it includes the out-of-bag predictions FitForest
//     computes);
//   - forest batch predict: Forest.Predict on every training row (the median
//     of -predict-reps calls, as the scikit-learn script);
//   - single row predict + explain: PredictOne followed by Explain, the
//     median over -enet-rows rows for the elastic net (the model at the
//     smallest λ of the path) and over up to -forest-rows rows for the forest
//     (stopping early after -forest-budget); PredictOne alone is timed too,
//     in a separate pass over the same rows.
//
// With -test it also reports the AUC of each model on that held-out file, so
// that a fast but wrong model shows.
package main

import (
	"flag"
	"fmt"
	"github.com/spinecast/spinecast/bench/internal/jsonout"
	"math"
	"os"
	"runtime"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/bench/internal/cputime"
	"github.com/spinecast/spinecast/bench/internal/csvdata"
	"github.com/spinecast/spinecast/predictors"
)

type result struct {
	Tool       string `json:"tool"`
	Rows       int    `json:"rows"`
	Features   int    `json:"features"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`

	EnetAlpha       float64   `json:"enet_alpha"`
	EnetPathFitS    float64   `json:"enet_path_fit_s"`
	EnetPathFitAllS []float64 `json:"enet_path_fit_all_s"`
	EnetPathFitCPU  float64   `json:"enet_path_fit_cpu_s"`
	EnetLambdas     int       `json:"enet_path_lambdas"`
	EnetLambdaMax   float64   `json:"enet_lambda_max"`
	EnetLastLambda  float64   `json:"enet_last_lambda"`
	EnetLastDevRat  float64   `json:"enet_last_dev_ratio"`
	EnetLastInter   float64   `json:"enet_last_intercept"`
	EnetLastCoef    []float64 `json:"enet_last_coef"`
	EnetTestAUC     float64   `json:"enet_test_auc,omitempty"`
	EnetOneUS       float64   `json:"enet_predict_one_us"`
	EnetOneExplUS   float64   `json:"enet_predict_explain_us"`
	EnetOneRows     int       `json:"enet_single_rows"`

	ForestTrees      int       `json:"forest_trees"`
	ForestMtry       int       `json:"forest_mtry"`
	ForestWorkers    int       `json:"forest_workers"`
	ForestFitS       float64   `json:"forest_fit_s"`
	ForestFitCPU     float64   `json:"forest_fit_cpu_s"`
	ForestPredictS   float64   `json:"forest_predict_s"`
	ForestPredictAll []float64 `json:"forest_predict_all_s"`
	ForestPredictCPU float64   `json:"forest_predict_cpu_s"`
	ForestNodes      float64   `json:"forest_mean_nodes_per_tree"`
	ForestDepth      float64   `json:"forest_mean_max_depth"`
	ForestTestAUC    float64   `json:"forest_test_auc,omitempty"`
	ForestTrainAUC   float64   `json:"forest_train_auc"`
	ForestOneUS      float64   `json:"forest_predict_one_us"`
	ForestOneExplUS  float64   `json:"forest_predict_explain_us"`
	ForestOneRows    int       `json:"forest_single_rows"`
	ForestExplMaxErr float64   `json:"forest_explain_max_additivity_error"`
	EnetExplMaxErr   float64   `json:"enet_explain_max_additivity_error"`
}

func main() {
	train := flag.String("train", "", "training CSV (from gendata)")
	test := flag.String("test", "", "optional held-out CSV for AUC")
	alpha := flag.Float64("alpha", 0.5, "elastic-net mixing parameter α")
	enetReps := flag.Int("enet-reps", 3, "elastic-net path fits (median reported)")
	predictReps := flag.Int("predict-reps", 3, "forest batch predictions of every training row (median reported)")
	trees := flag.Int("trees", 500, "forest trees")
	workers := flag.Int("workers", 2, "forest goroutines (fit and batch predict)")
	seed := flag.Uint64("seed", 1, "forest seed")
	enetRows := flag.Int("enet-rows", 2000, "rows for the elastic-net single-row median")
	forestRows := flag.Int("forest-rows", 500, "at most this many rows for the forest single-row median")
	forestBudget := flag.Duration("forest-budget", 30*time.Second, "stop the forest single-row loop after this long (at least 5 rows)")
	skipForest := flag.Bool("skip-forest", false, "time the elastic net only")
	out := flag.String("out", "", "write the JSON here instead of standard output")
	flag.Parse()
	if *train == "" {
		fmt.Fprintln(os.Stderr, "spinebench: -train is required")
		os.Exit(2)
	}
	d, err := csvdata.ReadFile(*train)
	check(err)
	x := mat.NewDense(d.N, d.P, d.X)
	var td *csvdata.Data
	var tx *mat.Dense
	if *test != "" {
		td, err = csvdata.ReadFile(*test)
		check(err)
		if td.P != d.P {
			check(fmt.Errorf("test file has %d features, training file %d", td.P, d.P))
		}
		tx = mat.NewDense(td.N, td.P, td.X)
	}
	r := result{Tool: "spinecast", Rows: d.N, Features: d.P, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}

	// Elastic-net path.
	r.EnetAlpha = *alpha
	var path *predictors.ElasticNetPath
	var cpu []float64
	for range max(*enetReps, 1) {
		runtime.GC()
		c0, t0 := cputime.Seconds(), time.Now()
		path, err = predictors.FitElasticNetPath(x, d.Y, nil, &predictors.ElasticNetSettings{Alpha: *alpha})
		r.EnetPathFitAllS = append(r.EnetPathFitAllS, time.Since(t0).Seconds())
		cpu = append(cpu, cputime.Seconds()-c0)
		check(err)
	}
	r.EnetPathFitS, r.EnetPathFitCPU = median(r.EnetPathFitAllS), median(cpu)
	k := len(path.Lambda) - 1
	r.EnetLambdas, r.EnetLambdaMax, r.EnetLastLambda = len(path.Lambda), path.Lambda[0], path.Lambda[k]
	r.EnetLastDevRat, r.EnetLastInter, r.EnetLastCoef = path.DevRatio[k], path.Intercept[k], path.Coef[k]
	enet := path.Model(k)
	if tx != nil {
		p, err := enet.Predict(tx, nil)
		check(err)
		r.EnetTestAUC, err = predictors.AUC(p, td.Y, nil)
		check(err)
	}
	r.EnetOneUS, r.EnetOneExplUS, r.EnetOneRows, r.EnetExplMaxErr = singleRow(d, enet, predictors.Logit, *enetRows, time.Hour)

	if !*skipForest {
		r.ForestTrees, r.ForestWorkers = *trees, *workers
		r.ForestMtry = int(math.Floor(math.Sqrt(float64(d.P))))
		runtime.GC()
		c0, t0 := cputime.Seconds(), time.Now()
		f, err := predictors.FitForest(x, d.Y, nil, &predictors.ForestSettings{
			Trees: *trees, Mtry: r.ForestMtry, Seed: *seed, Workers: *workers,
		})
		r.ForestFitS, r.ForestFitCPU = time.Since(t0).Seconds(), cputime.Seconds()-c0
		check(err)
		var nodes, depth float64
		for i := range f.Trees {
			nodes += float64(len(f.Trees[i].Feature))
			depth += float64(treeDepth(&f.Trees[i]))
		}
		r.ForestNodes, r.ForestDepth = nodes/float64(len(f.Trees)), depth/float64(len(f.Trees))

		dst := make([]float64, d.N)
		var cpus []float64
		for range *predictReps {
			runtime.GC()
			c0, t0 = cputime.Seconds(), time.Now()
			_, err = f.Predict(x, dst)
			check(err)
			r.ForestPredictAll = append(r.ForestPredictAll, time.Since(t0).Seconds())
			cpus = append(cpus, cputime.Seconds()-c0)
		}
		r.ForestPredictS, r.ForestPredictCPU = median(r.ForestPredictAll), median(cpus)
		r.ForestTrainAUC, err = predictors.AUC(dst, d.Y, nil)
		check(err)
		if tx != nil {
			p, err := f.Predict(tx, nil)
			check(err)
			r.ForestTestAUC, err = predictors.AUC(p, td.Y, nil)
			check(err)
		}
		ident := func(p float64) float64 { return p }
		r.ForestOneUS, r.ForestOneExplUS, r.ForestOneRows, r.ForestExplMaxErr = singleRow(d, f, ident, *forestRows, *forestBudget)
	}

	check(jsonout.Write(*out, r))
}

// oneRow is what the single-row timing needs from a model.
type oneRow interface {
	PredictOne(x []float64) (float64, error)
	Explain(x, phi []float64) (float64, []float64, error)
}

// singleRow times, on rows spread evenly over the data, first PredictOne
// alone (one pass over at most maxRows rows) and then PredictOne followed by
// Explain (a second pass, stopping after budget once 5 rows are done). It
// returns the two medians in µs, the rows of the second pass and the largest
// |base + Σφ − scale(p)| seen, a check that the explanation was really
// computed.
func singleRow(d *csvdata.Data, m oneRow, scale func(float64) float64, maxRows int, budget time.Duration) (oneUS, explUS float64, rows int, maxErr float64) {
	maxRows = min(max(maxRows, 1), d.N)
	step := d.N / maxRows
	phi := make([]float64, d.P)
	for i := range min(3, d.N) { // warm up lazily built state
		_, err := m.PredictOne(d.Row(i))
		check(err)
		_, _, err = m.Explain(d.Row(i), phi)
		check(err)
	}
	one := make([]float64, 0, maxRows)
	for i := 0; i < maxRows; i++ {
		row := d.Row(i * step)
		t0 := time.Now()
		_, err := m.PredictOne(row)
		t1 := time.Now()
		check(err)
		one = append(one, t1.Sub(t0).Seconds()*1e6)
	}
	var expl []float64
	start := time.Now()
	for i := 0; i < maxRows; i++ {
		row := d.Row(i * step)
		t0 := time.Now()
		p, err := m.PredictOne(row)
		check(err)
		base, ph, err := m.Explain(row, phi)
		t1 := time.Now()
		check(err)
		expl = append(expl, t1.Sub(t0).Seconds()*1e6)
		sum := base
		for _, v := range ph {
			sum += v
		}
		maxErr = math.Max(maxErr, math.Abs(sum-scale(p)))
		if i >= 4 && time.Since(start) > budget {
			break
		}
	}
	return median(one), median(expl), len(expl), maxErr
}

// treeDepth is the largest depth of a leaf of t (the root has depth 0).
func treeDepth(t *predictors.Tree) int {
	depth := make([]int, len(t.Feature))
	best := 0
	for k := range t.Feature { // children come after their parent
		if t.Feature[k] >= 0 {
			depth[t.Left[k]] = depth[k] + 1
			depth[t.Right[k]] = depth[k] + 1
		} else {
			best = max(best, depth[k])
		}
	}
	return best
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "spinebench:", err)
		os.Exit(1)
	}
}
