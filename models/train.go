package models

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/spinecast/spinecast/predictors"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// MissingPolicy is the documented treatment of missing feature values, the
// same in training and scoring.
const MissingPolicy = "median-imputation+indicators: a missing value is replaced by the training median of " +
	"its feature; a feature that was missing in at least one training row also gets a 0/1 input " +
	"'<name>_imputed' so the model can learn from missingness. A value missing at scoring time is " +
	"always reported (imputed), never silently filled."

// DefaultNotice is written into every artifact trained by this package.
const DefaultNotice = "Research model trained with spinecast: not validated for clinical use and not a medical device."

// TrainSettings configures Train. The zero value of each field means the
// default stated beside it.
type TrainSettings struct {
	Algorithm string // ElasticNet, RandomForest or MLP (required)

	// Elastic net.
	Alpha  float64  // mixing α; the CLI's default is 0.5 (the zero value here is ridge)
	Lambda *float64 // nil: chosen by cross-validation (λ.min, deviance)

	// Random forest.
	Trees, Mtry, MinLeaf, MaxDepth int // 0: 500, ⌊√p⌋, 1, unlimited

	// MLP.
	Hidden []int // nil: [16]
	Epochs int   // 0: 300

	// Cross-validation: FoldIDs (one per row, from a folds file) wins over
	// Folds (0: 5 stratified folds drawn with Seed).
	Folds       int
	FoldIDs     []int
	FoldsSource string

	// Outcome, when set, is recorded in the artifact: the versioned outcome
	// definition whose rule produced the target column.
	Outcome *OutcomeRef

	Calibration string // CalibrationPlatt (""), CalibrationIsotonic or CalibrationNone
	Bootstrap   int    // bootstrap refits for the elastic net and MLP intervals; 0: 50 / 20; <0: none
	Seed        uint64
	Workers     int // 0: GOMAXPROCS

	// Progress, when set, is called after each fitted model with the
	// number done and the total.
	Progress func(done, total int)
	// Now is the clock for the artifact's creation time (nil: time.Now).
	Now func() time.Time
}

// Train fits a model on t and returns its artifact (unsealed: Save seals it).
//
// Pipeline: (1) per-feature training statistics and the missing-value
// policy; (2) fold assignment; (3) for the elastic net without a fixed λ,
// cv.glmnet-style selection of λ.min by deviance on those folds; (4)
// out-of-fold predictions (each fold predicted by a model fitted on the
// others); (5) the calibrator fitted on all out-of-fold predictions
// (cross-fitting) and cross-validated metrics, uncalibrated and calibrated
// (each fold's calibrator fitted on the other folds); (6) the final model
// on all rows; (7) uncertainty: bootstrap refits (elastic net, MLP) or the
// forest's infinitesimal jackknife.
func Train(ctx context.Context, t *Table, s TrainSettings) (*Artifact, error) {
	if s.Calibration == "" {
		s.Calibration = CalibrationPlatt
	}
	switch s.Calibration {
	case CalibrationPlatt, CalibrationIsotonic, CalibrationNone:
	default:
		return nil, fmt.Errorf("unknown calibration %q (want platt, isotonic or none)", s.Calibration)
	}
	if s.Outcome != nil {
		if s.Outcome.ID == "" || s.Outcome.Version == "" {
			return nil, errors.New("outcome reference needs an id and a version")
		}
		ref := *s.Outcome
		s.Outcome = &ref
	}
	n := len(t.X)
	a := &Artifact{
		Format: Format, FormatVersion: FormatVersion, Algorithm: s.Algorithm, Target: t.Target, Positive: t.Positive, Outcome: s.Outcome,
		Notice: DefaultNotice, MissingPolicy: MissingPolicy,
		Uncertainty: Uncertainty{Level: 0.95},
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	a.Created = now().UTC().Truncate(time.Second)
	a.Features = featureStats(t)
	names := map[string]bool{}
	for _, f := range t.Features {
		names[f] = true
	}
	for _, f := range a.Features {
		if f.MissingIndicator && names[f.Name+ImputedSuffix] {
			return nil, fmt.Errorf("feature %q needs a missing-value indicator, but a column %q already exists", f.Name, f.Name+ImputedSuffix)
		}
	}
	z := design(a.Features, t.X)
	y := t.Y
	a.TrainingData.Rows = n
	for _, yi := range y {
		if yi {
			a.TrainingData.Events++
		}
	}

	folds, k, err := assignFolds(y, s)
	if err != nil {
		return nil, err
	}
	hp := Hyperparameters{Seed: s.Seed, Folds: k, FoldsSource: s.FoldsSource}
	if hp.FoldsSource == "" {
		hp.FoldsSource = fmt.Sprintf("stratified, seed %d", s.Seed)
	}

	var fit func(x *mat.Dense, y []bool, seed uint64) (predictors.Explainer, error)
	reps := s.Bootstrap
	switch s.Algorithm {
	case ElasticNet:
		alpha := s.Alpha
		hp.Alpha = &alpha
		var lambda float64
		if s.Lambda != nil {
			lambda = *s.Lambda
			hp.LambdaRule = "fixed"
		} else {
			cv, err := predictors.CrossValidateElasticNet(z, y, nil, folds, &predictors.ElasticNetSettings{Alpha: alpha})
			if err != nil {
				return nil, fmt.Errorf("choose lambda by cross-validation: %w", err)
			}
			lambda = cv.LambdaMin
			lmin, l1se := cv.LambdaMin, cv.Lambda1SE
			hp.LambdaMin, hp.Lambda1SE, hp.LambdaRule = &lmin, &l1se, "cv-min-deviance"
		}
		hp.Lambda = &lambda
		// Fits at the chosen λ converge to 1e-10 (glmnet's default
		// threshold, 1e-7, leaves coefficients ~1e-5 from the optimum).
		fixed := &predictors.ElasticNetSettings{Thresh: 1e-10}
		fit = func(x *mat.Dense, y []bool, _ uint64) (predictors.Explainer, error) {
			return predictors.FitElasticNet(x, y, nil, alpha, lambda, fixed)
		}
		if reps == 0 {
			reps = 50
		}
	case RandomForest:
		fs := predictors.ForestSettings{Trees: s.Trees, Mtry: s.Mtry, MinLeaf: s.MinLeaf, MaxDepth: s.MaxDepth, Workers: s.Workers}
		if fs.Trees == 0 {
			fs.Trees = 500
		}
		if fs.Mtry == 0 {
			fs.Mtry = max(1, int(math.Floor(math.Sqrt(float64(len(a.InputNames()))))))
		}
		if fs.MinLeaf == 0 {
			fs.MinLeaf = 1
		}
		hp.Trees, hp.Mtry, hp.MinLeaf, hp.MaxDepth = fs.Trees, fs.Mtry, fs.MinLeaf, fs.MaxDepth
		fit = func(x *mat.Dense, y []bool, seed uint64) (predictors.Explainer, error) {
			fs := fs
			fs.Seed = seed
			return predictors.FitForest(x, y, nil, &fs)
		}
		reps = 0 // the forest's interval comes from the infinitesimal jackknife
	case MLP:
		ms := predictors.MLPSettings{Hidden: s.Hidden, Epochs: s.Epochs}
		if ms.Hidden == nil {
			ms.Hidden = []int{16}
		}
		if ms.Epochs == 0 {
			ms.Epochs = 300
		}
		hp.Hidden, hp.Epochs = ms.Hidden, ms.Epochs
		fit = func(x *mat.Dense, y []bool, seed uint64) (predictors.Explainer, error) {
			ms := ms
			ms.Seed = seed
			return predictors.FitMLP(x, y, nil, &ms)
		}
		if reps == 0 {
			reps = 20
		}
	default:
		return nil, fmt.Errorf("unknown algorithm %q (want elasticnet, random-forest or mlp)", s.Algorithm)
	}
	if reps < 0 {
		reps = 0
	}
	hp.Bootstrap = reps
	a.Hyperparameters = hp

	total := k + 1 + reps
	done := 0
	step := func() {
		done++
		if s.Progress != nil {
			s.Progress(done, total)
		}
	}

	// Out-of-fold predictions.
	oof := make([]float64, n)
	for f := 1; f <= k; f++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		train, test := splitRows(folds, f)
		m, err := fit(subset(z, train), pick(y, train), s.Seed+uint64(f))
		if err != nil {
			return nil, fmt.Errorf("fit fold %d: %w", f, err)
		}
		p, err := m.Predict(subset(z, test), nil)
		if err != nil {
			return nil, fmt.Errorf("predict fold %d: %w", f, err)
		}
		for i, r := range test {
			oof[r] = p[i]
		}
		step()
	}
	a.CV.Folds = k
	um, err := predictors.Evaluate(oof, y)
	if err != nil {
		return nil, fmt.Errorf("cross-validated metrics: %w", err)
	}
	a.CV.Uncalibrated = &um
	a.Calibration.Method = s.Calibration
	if s.Calibration != CalibrationNone {
		calOOF := make([]float64, n)
		for f := 1; f <= k; f++ {
			train, test := splitRows(folds, f)
			c, err := fitCalibrator(s.Calibration, pick(oof, train), pick(y, train))
			if err != nil {
				return nil, fmt.Errorf("calibrate fold %d: %w", f, err)
			}
			for _, r := range test {
				calOOF[r] = c.Calibrate(oof[r])
			}
		}
		cm, err := predictors.Evaluate(calOOF, y)
		if err != nil {
			return nil, fmt.Errorf("cross-validated calibrated metrics: %w", err)
		}
		a.CV.Calibrated = &cm
		c, err := fitCalibrator(s.Calibration, oof, y)
		if err != nil {
			return nil, fmt.Errorf("fit calibrator: %w", err)
		}
		switch c := c.(type) {
		case *predictors.Platt:
			a.Calibration.Platt = c
		case *predictors.Isotonic:
			a.Calibration.Isotonic = c
		}
	}

	// The final model on every row.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	final, err := fit(z, y, s.Seed)
	if err != nil {
		return nil, fmt.Errorf("fit final model: %w", err)
	}
	step()
	switch m := final.(type) {
	case *predictors.ElasticNet:
		a.Model.ElasticNet = m
	case *predictors.Forest:
		a.Model.Forest = m
		a.Uncertainty.Method = "infinitesimal-jackknife"
		ij, err := m.InfinitesimalJackknife()
		if err != nil {
			return nil, fmt.Errorf("forest uncertainty: %w", err)
		}
		a.Uncertainty.ForestIJ = ij
	case *predictors.MLP:
		a.Model.MLP = m
	}

	// Bootstrap refits (stratified by class, so each resample has both).
	if reps > 0 {
		a.Uncertainty.Method = "bootstrap"
		rng := rand.New(rand.NewPCG(s.Seed, 0xb007))
		var pos, neg []int
		for i, yi := range y {
			if yi {
				pos = append(pos, i)
			} else {
				neg = append(neg, i)
			}
		}
		rows := make([]int, n)
		for b := 0; b < reps; b++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			i := 0
			for _, class := range [][]int{pos, neg} {
				for range class {
					rows[i] = class[rng.IntN(len(class))]
					i++
				}
			}
			m, err := fit(subset(z, rows), pick(y, rows), s.Seed+1000+uint64(b))
			if err != nil {
				return nil, fmt.Errorf("bootstrap refit %d: %w", b+1, err)
			}
			switch m := m.(type) {
			case *predictors.ElasticNet:
				a.Uncertainty.ElasticNets = append(a.Uncertainty.ElasticNets, m)
			case *predictors.MLP:
				a.Uncertainty.MLPs = append(a.Uncertainty.MLPs, m)
			}
			step()
		}
	}
	if a.Uncertainty.Method == "" {
		a.Uncertainty.Method = "none"
	}
	return a, nil
}

func fitCalibrator(method string, p []float64, y []bool) (predictors.Calibrator, error) {
	if method == CalibrationIsotonic {
		return predictors.FitIsotonic(p, y, nil)
	}
	return predictors.FitPlatt(p, y, nil)
}

// featureStats computes each feature's training statistics over its
// observed values.
func featureStats(t *Table) []Feature {
	fs := make([]Feature, len(t.Features))
	col := make([]float64, 0, len(t.X))
	for j, name := range t.Features {
		col = col[:0]
		for _, row := range t.X {
			if !math.IsNaN(row[j]) {
				col = append(col, row[j])
			}
		}
		sort.Float64s(col)
		mean, sd := stat.PopMeanStdDev(col, nil)
		fs[j] = Feature{
			Name: name, Mean: mean, SD: sd, Min: col[0], Max: col[len(col)-1],
			Median:       stat.Quantile(0.5, stat.LinInterp, col, nil),
			MissingCount: t.Missing[j], MissingIndicator: t.Missing[j] > 0,
		}
	}
	return fs
}

// design builds the model's input matrix: imputed values and indicators.
func design(fs []Feature, x [][]float64) *mat.Dense {
	p := 0
	for _, f := range fs {
		p++
		if f.MissingIndicator {
			p++
		}
	}
	z := mat.NewDense(len(x), p, nil)
	for i, row := range x {
		out := z.RawRowView(i)
		k := 0
		for j, f := range fs {
			v := row[j]
			miss := math.IsNaN(v)
			if miss {
				v = f.Median
			}
			out[k] = v
			k++
			if f.MissingIndicator {
				if miss {
					out[k] = 1
				}
				k++
			}
		}
	}
	return z
}

// assignFolds returns fold ids 1..k for each row.
func assignFolds(y []bool, s TrainSettings) ([]int, int, error) {
	if s.FoldIDs != nil {
		if len(s.FoldIDs) != len(y) {
			return nil, 0, fmt.Errorf("the folds file has %d rows, the data %d", len(s.FoldIDs), len(y))
		}
		ids := slices.Clone(s.FoldIDs)
		uniq := slices.Compact(slices.Sorted(slices.Values(ids)))
		if len(uniq) < 2 {
			return nil, 0, errors.New("the folds file has fewer than two folds")
		}
		remap := map[int]int{}
		for i, u := range uniq {
			remap[u] = i + 1
		}
		for i := range ids {
			ids[i] = remap[ids[i]]
		}
		return ids, len(uniq), nil
	}
	k := s.Folds
	if k == 0 {
		k = 5
	}
	var pos, neg int
	for _, yi := range y {
		if yi {
			pos++
		} else {
			neg++
		}
	}
	if k < 2 || k > min(pos, neg) {
		return nil, 0, fmt.Errorf("cannot make %d stratified folds from %d events and %d non-events (need 2 ≤ folds ≤ %d)", k, pos, neg, min(pos, neg))
	}
	return predictors.StratifiedFolds(y, k, s.Seed), k, nil
}

func splitRows(folds []int, f int) (train, test []int) {
	for i, fi := range folds {
		if fi == f {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	return train, test
}

func subset(z *mat.Dense, rows []int) *mat.Dense {
	_, c := z.Dims()
	out := mat.NewDense(len(rows), c, nil)
	for i, r := range rows {
		copy(out.RawRowView(i), z.RawRowView(r))
	}
	return out
}

func pick[T any](v []T, rows []int) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = v[r]
	}
	return out
}
