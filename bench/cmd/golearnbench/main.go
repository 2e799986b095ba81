// Command golearnbench runs golearn's RandomForest
// (github.com/sjwhitworth/golearn/ensemble) on a benchmark CSV written by
// gendata and prints one JSON object: fit time, batch-predict time for every
// training row, and accuracy and AUC on the -test file.
//
// golearn's forest returns class labels only (its Predict is a majority vote
// of the trees, with no probabilities), so the AUC reported is that of 0/1
// labels: a point on the ROC curve, not a ranking. Its Fit starts one
// goroutine per tree; the number of threads is set only through GOMAXPROCS.
// Its randomness comes from the global math/rand source, so the run cannot
// be seeded.
//
// With -logistic it instead tries golearn's LogisticRegression (liblinear
// through cgo) on the same data, recovering any panic and reporting it; run
// it once with the default GODEBUG and once with GODEBUG=cgocheck=0 to see
// what the pointer check stops and what the model then does with negative
// feature values.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"github.com/spinecast/spinecast/bench/internal/jsonout"
	"math"
	"math/rand"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/sjwhitworth/golearn/base"
	"github.com/sjwhitworth/golearn/ensemble"
	"github.com/sjwhitworth/golearn/linear_models"

	"github.com/spinecast/spinecast/bench/internal/cputime"
	"github.com/spinecast/spinecast/bench/internal/csvdata"
	"github.com/spinecast/spinecast/predictors"
)

type forestResult struct {
	Tool           string  `json:"tool"`
	Rows           int     `json:"rows"`
	Features       int     `json:"features"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
	Trees          int     `json:"forest_trees"`
	FeaturesPerRun int     `json:"forest_features_per_tree"`
	FitS           float64 `json:"forest_fit_s"`
	FitCPU         float64 `json:"forest_fit_cpu_s"`
	PredictS       float64 `json:"forest_predict_s"`
	PredictCPU     float64 `json:"forest_predict_cpu_s"`
	TrainAccuracy  float64 `json:"forest_train_accuracy"`
	TestAccuracy   float64 `json:"forest_test_accuracy,omitempty"`
	TestAUC        float64 `json:"forest_test_auc,omitempty"`
	// TestLabelsSHA256 fingerprints the predicted test labels, so that two
	// runs can be compared for reproducibility.
	TestLabelsSHA256 string `json:"test_labels_sha256,omitempty"`
	GlobalSeed       int64  `json:"global_seed,omitempty"`
	Output           string `json:"output"`
	Error            string `json:"error,omitempty"`
}

type logisticResult struct {
	Tool     string `json:"tool"`
	Rows     int    `json:"rows"`
	GODEBUG  string `json:"godebug"`
	FitPanic string `json:"fit_panic,omitempty"`
	// PredictPanic is set when Predict panicked.
	PredictPanic string `json:"predict_panic,omitempty"`
	// TestAccuracy of the predicted labels on the test rows.
	TestAccuracy float64 `json:"test_accuracy,omitempty"`
	// SameLabelsNegativesZeroed counts test rows whose predicted label does
	// not change when every negative feature value is replaced by 0; if
	// negatives are ignored it equals the number of rows.
	SameLabelsNegativesZeroed int `json:"same_labels_when_negatives_zeroed"`
	// SameLabelsPositivesZeroed is the same count when the positive values
	// are zeroed instead (a control: those values do count).
	SameLabelsPositivesZeroed int    `json:"same_labels_when_positives_zeroed"`
	Compared                  int    `json:"rows_compared"`
	Note                      string `json:"note"`
}

func main() {
	train := flag.String("train", "", "training CSV (from gendata)")
	test := flag.String("test", "", "held-out CSV for accuracy and AUC")
	trees := flag.Int("trees", 500, "trees in the forest")
	feats := flag.Int("features", 0, "features drawn per tree; 0 means ⌊√p⌋")
	logistic := flag.Bool("logistic", false, "try LogisticRegression instead of the forest")
	globalSeed := flag.Int64("global-seed", 0, "call math/rand.Seed with this value first (0: do not); a no-op since Go 1.24 unless GODEBUG=randseednop=0")
	out := flag.String("out", "", "write the JSON here instead of standard output")
	flag.Parse()
	if *train == "" {
		fmt.Fprintln(os.Stderr, "golearnbench: -train is required")
		os.Exit(2)
	}
	d, err := csvdata.ReadFile(*train)
	check(err)
	var td *csvdata.Data
	if *test != "" {
		td, err = csvdata.ReadFile(*test)
		check(err)
	}
	if *logistic {
		check(jsonout.Write(*out, runLogistic(d, td)))
		return
	}
	if *feats == 0 {
		*feats = int(math.Floor(math.Sqrt(float64(d.P))))
	}
	if *globalSeed != 0 {
		// golearn draws from the global math/rand source, so this is the
		// only seed it can be given.
		rand.Seed(*globalSeed) //lint:ignore SA1019 the deprecated global seed is what golearn would need
	}
	r := runForest(d, td, *trees, *feats)
	r.GlobalSeed = *globalSeed
	check(jsonout.Write(*out, r))
}

// runForest fits and predicts, turning a panic in this goroutine into an
// error field so that the comparison records it. (A panic or fatal error in
// one of the goroutines golearn starts ends the process; compare.sh then
// records the exit status and the message.)
func runForest(d, td *csvdata.Data, trees, feats int) (r forestResult) {
	r = forestResult{Tool: "golearn", Rows: d.N, Features: d.P, GOMAXPROCS: runtime.GOMAXPROCS(0),
		Trees: trees, FeaturesPerRun: feats,
		Output: "class labels only (majority vote); no probabilities"}
	defer func() {
		if p := recover(); p != nil {
			r.Error = fmt.Sprintf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	inst := instances(d, false)
	rf := ensemble.NewRandomForest(trees, feats)
	runtime.GC()
	c0, t0 := cputime.Seconds(), time.Now()
	if err := rf.Fit(inst); err != nil {
		r.Error = "fit: " + err.Error()
		return r
	}
	r.FitS, r.FitCPU = time.Since(t0).Seconds(), cputime.Seconds()-c0
	runtime.GC()
	c0, t0 = cputime.Seconds(), time.Now()
	pred, err := rf.Predict(inst)
	if err != nil {
		r.Error = "predict: " + err.Error()
		return r
	}
	r.PredictS, r.PredictCPU = time.Since(t0).Seconds(), cputime.Seconds()-c0
	if _, r.TrainAccuracy, err = score(pred, d.Y); err != nil {
		r.Error = "train predictions: " + err.Error()
		return r
	}
	if td != nil {
		tinst := instances(td, false)
		pred, err := rf.Predict(tinst)
		if err != nil {
			r.Error = "predict test: " + err.Error()
			return r
		}
		labels, acc, err := score(pred, td.Y)
		if err != nil {
			r.Error = "test predictions: " + err.Error()
			return r
		}
		r.TestAccuracy = acc
		h := sha256.New()
		for _, v := range labels {
			h.Write([]byte{byte(v)})
		}
		r.TestLabelsSHA256 = hex.EncodeToString(h.Sum(nil))
		if r.TestAUC, err = predictors.AUC(labels, td.Y, nil); err != nil {
			r.Error = "AUC: " + err.Error()
		}
	}
	return r
}

// score turns golearn's predicted classes into 0/1 values and their
// accuracy against y.
func score(pred base.FixedDataGrid, y []bool) (labels []float64, acc float64, err error) {
	labels = make([]float64, len(y))
	correct := 0
	for i := range labels {
		switch c := base.GetClass(pred, i); c {
		case "1":
			labels[i] = 1
		case "0":
		default:
			return nil, 0, fmt.Errorf("row %d: unexpected class %q", i, c)
		}
		if (labels[i] == 1) == y[i] {
			correct++
		}
	}
	return labels, float64(correct) / float64(len(y)), nil
}

// runLogistic fits golearn's L2 logistic regression (C = 1) and, when that
// works, checks how its predictions react to negative feature values.
func runLogistic(d, td *csvdata.Data) (r logisticResult) {
	r = logisticResult{Tool: "golearn-logistic", Rows: d.N, GODEBUG: os.Getenv("GODEBUG")}
	if td == nil {
		td = d
	}
	lr, err := linear_models.NewLogisticRegression("l2", 1.0, 1e-6)
	check(err)
	inst := instances(d, true)
	if msg := try(func() { check(lr.Fit(inst)) }); msg != "" {
		r.FitPanic = msg
		r.Note = "Fit panicked"
		return r
	}
	predict := func(x *csvdata.Data) (labels []string) {
		ti := instances(x, true)
		if msg := try(func() {
			out, err := lr.Predict(ti)
			check(err)
			for i := 0; i < x.N; i++ {
				labels = append(labels, base.GetClass(out, i))
			}
		}); msg != "" {
			r.PredictPanic = msg
		}
		return labels
	}
	orig := predict(td)
	if r.PredictPanic != "" {
		r.Note = "Fit worked, Predict panicked"
		return r
	}
	correct := 0
	for i, c := range orig {
		if (c == "1" || c == "1.0" || c == "1.00") == td.Y[i] {
			correct++
		}
	}
	r.TestAccuracy = float64(correct) / float64(td.N)
	negZero := modify(td, func(v float64) float64 { return math.Max(v, 0) })
	posZero := modify(td, func(v float64) float64 { return math.Min(v, 0) })
	a, b := predict(negZero), predict(posZero)
	for i := range orig {
		if a[i] == orig[i] {
			r.SameLabelsNegativesZeroed++
		}
		if b[i] == orig[i] {
			r.SameLabelsPositivesZeroed++
		}
	}
	r.Compared = len(orig)
	r.Note = "labels only; compare the two counts with rows_compared"
	return r
}

// instances converts d into golearn's DenseInstances: one FloatAttribute per
// feature and the label as a categorical class ("0"/"1"), or as a float
// class when floatClass is set (LogisticRegression requires one).
func instances(d *csvdata.Data, floatClass bool) *base.DenseInstances {
	inst := base.NewDenseInstances()
	specs := make([]base.AttributeSpec, d.P+1)
	for j, name := range d.Names {
		specs[j] = inst.AddAttribute(base.NewFloatAttribute(name))
	}
	var class base.Attribute
	if floatClass {
		class = base.NewFloatAttribute("y")
	} else {
		c := base.NewCategoricalAttribute()
		c.SetName("y")
		class = c
	}
	specs[d.P] = inst.AddAttribute(class)
	check(inst.AddClassAttribute(class))
	check(inst.Extend(d.N))
	for i := 0; i < d.N; i++ {
		for j, v := range d.Row(i) {
			inst.Set(specs[j], i, base.PackFloatToBytes(v))
		}
		label, value := "0", 0.0
		if d.Y[i] {
			label, value = "1", 1
		}
		if floatClass {
			inst.Set(specs[d.P], i, base.PackFloatToBytes(value))
		} else {
			inst.Set(specs[d.P], i, class.GetSysValFromString(label))
		}
	}
	return inst
}

// modify returns a copy of d with f applied to every feature value.
func modify(d *csvdata.Data, f func(float64) float64) *csvdata.Data {
	c := *d
	c.X = make([]float64, len(d.X))
	for i, v := range d.X {
		c.X[i] = f(v)
	}
	return &c
}

// try runs fn and returns the panic value and stack if it panicked.
func try(fn func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
	}()
	fn()
	return ""
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "golearnbench:", err)
		os.Exit(1)
	}
}
