package predictors

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// enetCVProbMin is cv.glmnet's clipping of predicted probabilities for the
// binomial deviance (prob_min = 1e-5, prob_max = 1 − prob_min).
const enetCVProbMin = 1e-5

// ElasticNetCV is a cross-validated elastic-net path, as cv.glmnet with
// type.measure = "deviance" and grouped = TRUE computes it.
type ElasticNetCV struct {
	// Lambda is the λ sequence of the full-data fit (Path.Lambda).
	Lambda []float64 `json:"lambda"`
	// CVM[l] is the weighted mean over folds of each fold's weighted mean
	// held-out binomial deviance at Lambda[l]; the fold weights are the sums
	// of the held-out case weights.
	CVM []float64 `json:"cvm"`
	// CVSD[l] = sqrt( Σ_k W_k (cvm_k − CVM)² / Σ_k W_k / (K − 1) ), the
	// standard error of CVM over the K folds.
	CVSD []float64 `json:"cvsd"`
	// LambdaMin is the largest λ with the smallest CVM, at IndexMin.
	LambdaMin float64 `json:"lambda_min"`
	IndexMin  int     `json:"index_min"`
	// Lambda1SE is the largest λ with CVM ≤ CVM[IndexMin] + CVSD[IndexMin],
	// at Index1SE.
	Lambda1SE float64 `json:"lambda_1se"`
	Index1SE  int     `json:"index_1se"`
	// Path is the fit on all the data.
	Path *ElasticNetPath `json:"path"`
}

// enetFolds groups row indices by fold id (ids in increasing order).
type enetFolds struct {
	ids     []int
	holdout [][]int
	train   [][]int
}

func enetSplit(folds []int, n int) (enetFolds, error) {
	if len(folds) != n {
		panic(fmt.Sprintf("predictors: %d fold ids for %d rows", len(folds), n))
	}
	idx := map[int]int{}
	var f enetFolds
	for _, id := range folds {
		if _, ok := idx[id]; !ok {
			idx[id] = 0
			f.ids = append(f.ids, id)
		}
	}
	if len(f.ids) < 2 {
		return f, fmt.Errorf("elastic net: cross-validation needs at least 2 folds, got %d", len(f.ids))
	}
	sort.Ints(f.ids)
	for k, id := range f.ids {
		idx[id] = k
	}
	f.holdout = make([][]int, len(f.ids))
	f.train = make([][]int, len(f.ids))
	for i, id := range folds {
		k := idx[id]
		f.holdout[k] = append(f.holdout[k], i)
		for kk := range f.ids {
			if kk != k {
				f.train[kk] = append(f.train[kk], i)
			}
		}
	}
	return f, nil
}

// enetParallel runs job(k) for k in [0, n) on up to GOMAXPROCS goroutines
// and returns the error of the lowest k that failed.
func enetParallel(n int, job func(k int) error) error {
	errs := make([]error, n)
	workers := min(n, runtime.GOMAXPROCS(0))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				errs[k] = job(k)
			}
		}()
	}
	for k := 0; k < n; k++ {
		next <- k
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// CrossValidateElasticNet cross-validates the elastic-net path like
// cv.glmnet(x, y, family = "binomial", weights = w, foldid = folds,
// type.measure = "deviance", grouped = TRUE). folds holds one fold id per
// row (any ints; at least 2 distinct values). The path is first fitted on
// all the data with s; its λ sequence is the CV's. Each training fold is
// then fitted exactly as glmnet 4.1-6's cv.glmnet does it, which passes its
// own lambda argument on to the fold fits:
//
//   - with a user sequence (s.Lambda), each fold fits that sequence in full;
//   - with the default path (s.Lambda nil), each fold fits its OWN default
//     path (its own λ_max and early stopping), and its predictions at the
//     full-data λ values are interpolated linearly in λ between the two
//     neighbouring fold solutions, clamped to the fold's λ range
//     (predict.glmnet's lambda.interp).
//
// Each held-out row i then scores the binomial deviance
//
//	d_i = −2 [y_i log p_i + (1 − y_i) log(1 − p_i)],  p_i clipped to [1e-5, 1 − 1e-5].
//
// Fold k's value is cvm_k = Σ_{i∈k} w_i d_i / W_k with W_k = Σ_{i∈k} w_i; CVM
// and CVSD are their W_k-weighted mean and standard error over the K folds
// (see ElasticNetCV); LambdaMin and Lambda1SE follow getOptcv.glmnet. A fold
// whose held-out weight is 0 is left out (K counts the others; cv.glmnet
// would still count it in K). Folds are fitted concurrently; the result does
// not depend on scheduling. Errors as for FitElasticNetPath, for the full
// data or any training fold (for instance ErrSingleClass when a training
// fold holds one class).
func CrossValidateElasticNet(x mat.Matrix, y []bool, w []float64, folds []int, s *ElasticNetSettings) (*ElasticNetCV, error) {
	if err := checkTrainingData(x, y, w); err != nil {
		return nil, fmt.Errorf("elastic net: %w", err)
	}
	cfg, err := enetResolve(s)
	if err != nil {
		return nil, err
	}
	cols, n, p := enetColumnMajor(x)
	fs, err := enetSplit(folds, n)
	if err != nil {
		return nil, err
	}
	full, err := enetNewProblem(cols, n, p, nil, y, w)
	if err != nil {
		return nil, fmt.Errorf("elastic net: %w", err)
	}
	path, err := enetRunPath(full, cfg, n)
	if err != nil {
		return nil, err
	}
	nl := len(path.Lambda)
	// cv.glmnet passes its own lambda argument to the fold fits: the user
	// sequence when there is one, else NULL, so that each training fold
	// gets its own default path. cfg is used unchanged for both.
	K := len(fs.ids)
	cvraw := make([][]float64, K) // [fold][λ]
	foldW := make([]float64, K)
	err = enetParallel(K, func(k int) error {
		pr, err := enetNewProblem(cols, n, p, fs.train[k], y, w)
		if err != nil {
			return fmt.Errorf("elastic net: fold %d: %w", fs.ids[k], err)
		}
		fp, err := enetRunPath(pr, cfg, len(fs.train[k]))
		if err != nil {
			return fmt.Errorf("fold %d: %w", fs.ids[k], err)
		}
		var wk float64
		for _, i := range fs.holdout[k] {
			wk += enetWeight(w, i)
		}
		foldW[k] = wk
		row := make([]float64, nl)
		cvraw[k] = row
		if wk == 0 {
			return nil
		}
		coef := make([]float64, p)
		for l, lam := range path.Lambda {
			b0 := enetInterpolate(fp, lam, coef)
			var sum float64
			for _, i := range fs.holdout[k] {
				wi := enetWeight(w, i)
				if wi == 0 {
					continue
				}
				eta := b0
				for j, c := range coef {
					eta += c * cols[j*n+i]
				}
				pi := math.Min(math.Max(Sigmoid(eta), enetCVProbMin), 1-enetCVProbMin)
				var d float64
				if y[i] {
					d = -2 * math.Log(pi)
				} else {
					d = -2 * math.Log(1-pi)
				}
				sum += wi * d
			}
			row[l] = sum / wk
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if used := enetCountPositive(foldW); used < 2 {
		return nil, fmt.Errorf("elastic net: %d folds hold positive held-out weight, cross-validation needs 2", used)
	}
	cv := &ElasticNetCV{
		Lambda: append([]float64(nil), path.Lambda...),
		CVM:    make([]float64, nl),
		CVSD:   make([]float64, nl),
		Path:   path,
	}
	for l := 0; l < nl; l++ {
		var sw, sm float64
		nk := 0
		for k := 0; k < K; k++ {
			if foldW[k] == 0 {
				continue
			}
			sw += foldW[k]
			sm += foldW[k] * cvraw[k][l]
			nk++
		}
		m := sm / sw
		var ss float64
		for k := 0; k < K; k++ {
			if foldW[k] == 0 {
				continue
			}
			d := cvraw[k][l] - m
			ss += foldW[k] * d * d
		}
		cv.CVM[l] = m
		cv.CVSD[l] = math.Sqrt(ss / sw / float64(nk-1))
	}
	cv.IndexMin = -1
	for l, m := range cv.CVM {
		if !math.IsNaN(m) && (cv.IndexMin < 0 || m < cv.CVM[cv.IndexMin]) {
			cv.IndexMin = l
		}
	}
	if cv.IndexMin < 0 {
		return nil, fmt.Errorf("elastic net: cross-validated deviance is undefined at every lambda")
	}
	limit := cv.CVM[cv.IndexMin] + cv.CVSD[cv.IndexMin]
	for l, m := range cv.CVM {
		if m <= limit {
			cv.Index1SE = l
			break
		}
	}
	cv.LambdaMin = cv.Lambda[cv.IndexMin]
	cv.Lambda1SE = cv.Lambda[cv.Index1SE]
	return cv, nil
}

func enetCountPositive(v []float64) int {
	c := 0
	for _, x := range v {
		if x > 0 {
			c++
		}
	}
	return c
}

func enetWeight(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// ElasticNetOOF returns out-of-fold probabilities: for each fold id in
// folds (one per row, any ints, at least 2 distinct values), the model is
// refitted at (alpha, lambda) on the other folds with FitElasticNet and
// predicts the fold's rows. Rows of weight 0 get predictions too. Folds are
// fitted concurrently with deterministic results. Errors as for
// FitElasticNet on any training fold.
func ElasticNetOOF(x mat.Matrix, y []bool, w []float64, folds []int, alpha, lambda float64, s *ElasticNetSettings) ([]float64, error) {
	if err := checkTrainingData(x, y, w); err != nil {
		return nil, fmt.Errorf("elastic net: %w", err)
	}
	var one ElasticNetSettings
	if s != nil {
		one = *s
	}
	one.Alpha = alpha
	one.Lambda = []float64{lambda}
	cfg, err := enetResolve(&one)
	if err != nil {
		return nil, err
	}
	cols, n, p := enetColumnMajor(x)
	fs, err := enetSplit(folds, n)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	err = enetParallel(len(fs.ids), func(k int) error {
		pr, err := enetNewProblem(cols, n, p, fs.train[k], y, w)
		if err != nil {
			return fmt.Errorf("elastic net: fold %d: %w", fs.ids[k], err)
		}
		fp, err := enetRunPath(pr, cfg, len(fs.train[k]))
		if err != nil {
			return fmt.Errorf("fold %d: %w", fs.ids[k], err)
		}
		for _, i := range fs.holdout[k] {
			eta := fp.Intercept[0]
			for j, c := range fp.Coef[0] {
				eta += c * cols[j*n+i]
			}
			out[i] = Sigmoid(eta)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// enetInterpolate writes the original-scale coefficients of path at λ = s
// into coef and returns the intercept, interpolating linearly in λ between
// the two neighbouring fitted values and clamping s to the fitted range, as
// predict.glmnet does (lambda.interp).
func enetInterpolate(path *ElasticNetPath, s float64, coef []float64) float64 {
	lams := path.Lambda
	k := len(lams)
	left, right, frac := 0, 0, 1.0
	if k > 1 && lams[0] != lams[k-1] {
		// Work in glmnet's normalised coordinate (λ_1 − λ)/(λ_1 − λ_k), which
		// increases from 0 to 1 along the path.
		span := lams[0] - lams[k-1]
		norm := func(l float64) float64 { return (lams[0] - l) / span }
		sf := math.Min(math.Max(norm(s), 0), 1)
		left = k - 1
		right = k - 1
		for j := 0; j < k; j++ {
			nj := norm(lams[j])
			if nj == sf {
				left, right = j, j
				break
			}
			if nj > sf {
				left, right = j-1, j
				nl, nr := norm(lams[left]), nj
				frac = (sf - nr) / (nl - nr)
				break
			}
		}
	}
	for j := range coef {
		coef[j] = frac*path.Coef[left][j] + (1-frac)*path.Coef[right][j]
	}
	return frac*path.Intercept[left] + (1-frac)*path.Intercept[right]
}
