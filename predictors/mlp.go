package predictors

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// MLPSettings controls FitMLP. The zero value of every field means its
// default; a nil *MLPSettings means all defaults.
type MLPSettings struct {
	// Hidden is the number of units in each hidden layer, 1 to 3 layers of at
	// least one unit each. Nil means [16]; an empty non-nil slice is an error.
	Hidden []int `json:"hidden"`
	// Epochs is the maximum number of passes over the training rows. Zero
	// means 300.
	Epochs int `json:"epochs"`
	// BatchSize is the number of rows per Adam step. Zero means 32; it is
	// capped at the number of training rows.
	BatchSize int `json:"batch_size"`
	// LearningRate is Adam's step size α. Zero means 1e-3.
	LearningRate float64 `json:"learning_rate"`
	// L2 is the ridge penalty λ on the weights (not the biases): the
	// objective is the weighted mean cross-entropy plus λ/2·Σ W². Zero means
	// 1e-4; a negative value means no penalty.
	L2 float64 `json:"l2"`
	// ValidationFraction is the share of each class held out for early
	// stopping, in (0, 0.5]. Zero means 0.15.
	ValidationFraction float64 `json:"validation_fraction"`
	// Patience is the number of epochs without a lower validation loss
	// after which training stops. Zero means 20.
	Patience int `json:"patience"`
	// Seed drives the validation split, the initial weights and the order
	// of the minibatches: the same data, settings and seed give identical
	// weights.
	Seed uint64 `json:"seed"`
}

// Defaults of MLPSettings.
const (
	mlpDefaultHidden       = 16
	mlpDefaultEpochs       = 300
	mlpDefaultBatch        = 32
	mlpDefaultLearningRate = 1e-3
	mlpDefaultL2           = 1e-4
	mlpDefaultValidation   = 0.15
	mlpDefaultPatience     = 20
	mlpMaxHiddenLayers     = 3

	// Adam's constants (Kingma & Ba 2015).
	mlpAdamBeta1 = 0.9
	mlpAdamBeta2 = 0.999
	mlpAdamEps   = 1e-8

	// mlpMinImprovement is the decrease of the validation loss that counts
	// as an improvement for early stopping.
	mlpMinImprovement = 1e-7

	// PCG streams for the independent random sequences of a fit.
	mlpStreamSplit   = 1
	mlpStreamInit    = 2
	mlpStreamShuffle = 3
)

// MLPLayer is one fully connected layer: out_k = Σ_i Weights[k·In+i]·in_i +
// Biases[k]. Weights are row-major, Out rows of In columns.
type MLPLayer struct {
	In      int       `json:"in"`
	Out     int       `json:"out"`
	Weights []float64 `json:"weights"`
	Biases  []float64 `json:"biases"`
}

// MLP is a fitted multilayer perceptron for a binary outcome. With
// standardised inputs u_j = (x_j − Means[j])/SDs[j], hidden layers
// h = ReLU(W·h_prev + b) and a single output unit z = w·h_last + c on the
// log-odds scale, the predicted probability is Sigmoid(z).
//
// The exported fields are the whole model (it round-trips through JSON);
// the remaining fields describe the fit. A fitted MLP is read-only: its
// methods are safe for concurrent use. The predict and explain methods
// check the model's shape first, so a damaged artifact gives an error, not
// a panic.
type MLP struct {
	// Means and SDs standardise the inputs: the (weighted) training means
	// and population standard deviations, with SD 1 for a constant column.
	// Means is also the baseline point of the Shapley explanations.
	Means []float64 `json:"means"`
	SDs   []float64 `json:"sds"`
	// Layers are the hidden layers followed by the output layer (Out = 1).
	Layers []MLPLayer `json:"layers"`
	// Explanation controls Explain; the zero value means the defaults of
	// ShapleySettings.
	Explanation ShapleySettings `json:"explanation"`

	// Settings are the settings of the fit, defaults filled in.
	Settings MLPSettings `json:"settings"`
	// EpochsRun is the number of epochs trained before stopping; BestEpoch
	// (1-based) is the epoch whose weights were kept, and ValidationLoss
	// its weighted mean cross-entropy on the validation rows.
	EpochsRun      int     `json:"epochs_run"`
	BestEpoch      int     `json:"best_epoch"`
	ValidationLoss float64 `json:"validation_loss"`
}

var _ Explainer = (*MLP)(nil)

// mlpResolve fills in the defaults of s and validates it.
func mlpResolve(s *MLPSettings) (MLPSettings, error) {
	var r MLPSettings
	if s != nil {
		r = *s
	}
	if r.Hidden == nil {
		r.Hidden = []int{mlpDefaultHidden}
	} else {
		r.Hidden = slices.Clone(r.Hidden)
	}
	if len(r.Hidden) < 1 || len(r.Hidden) > mlpMaxHiddenLayers {
		return r, fmt.Errorf("mlp: %d hidden layers, want 1 to %d", len(r.Hidden), mlpMaxHiddenLayers)
	}
	for i, h := range r.Hidden {
		if h < 1 {
			return r, fmt.Errorf("mlp: hidden layer %d has %d units, want at least 1", i+1, h)
		}
	}
	if r.Epochs == 0 {
		r.Epochs = mlpDefaultEpochs
	}
	if r.BatchSize == 0 {
		r.BatchSize = mlpDefaultBatch
	}
	if r.LearningRate == 0 {
		r.LearningRate = mlpDefaultLearningRate
	}
	if r.L2 == 0 {
		r.L2 = mlpDefaultL2
	}
	if r.L2 < 0 {
		r.L2 = 0
	}
	if r.ValidationFraction == 0 {
		r.ValidationFraction = mlpDefaultValidation
	}
	if r.Patience == 0 {
		r.Patience = mlpDefaultPatience
	}
	switch {
	case r.Epochs < 0:
		return r, fmt.Errorf("mlp: epochs %d < 0", r.Epochs)
	case r.BatchSize < 0:
		return r, fmt.Errorf("mlp: batch size %d < 0", r.BatchSize)
	case !(r.LearningRate > 0) || math.IsInf(r.LearningRate, 0):
		return r, fmt.Errorf("mlp: learning rate %v must be positive and finite", r.LearningRate)
	case math.IsNaN(r.L2) || math.IsInf(r.L2, 0):
		return r, fmt.Errorf("mlp: L2 penalty %v must be finite", r.L2)
	case !(r.ValidationFraction > 0 && r.ValidationFraction <= 0.5):
		return r, fmt.Errorf("mlp: validation fraction %v outside (0, 0.5]", r.ValidationFraction)
	case r.Patience < 0:
		return r, fmt.Errorf("mlp: patience %d < 0", r.Patience)
	}
	return r, nil
}

// FitMLP trains a multilayer perceptron on x (one row per observation), the
// labels y and optional case weights w (nil means unit weights).
//
// Inputs are standardised with the weighted training means and population
// SDs. A seeded stratified split holds out round(ValidationFraction·n_c)
// rows of each class c (at least one, and at least one left for training,
// when the class has two rows or more). The network (ReLU hidden layers,
// He-initialised weights W ~ N(0, 2/fan_in), zero biases) is trained by Adam
// on shuffled minibatches B to minimise
//
//	J = Σ_{i∈B} w_i·ℓ_i / (|B|·w̄) + λ/2·Σ W²,
//	ℓ_i = −y_i·log p_i − (1−y_i)·log(1−p_i),
//
// where w̄ is the mean training weight and λ = L2. After every epoch the
// weighted mean cross-entropy on the validation rows is computed; the
// weights with the lowest one are kept, and training stops after Patience
// epochs without an improvement of at least 1e-7, or after Epochs epochs.
// The model is not refitted on the validation rows.
//
// Errors: NaN or Inf in x (ErrNotFinite), a single class with positive
// weight (ErrSingleClass), no rows (ErrEmpty), invalid settings, no
// validation or training weight after the split (ErrEmpty), a diverged fit
// (ErrNotFinite). A length mismatch between x, y and w panics.
func FitMLP(x mat.Matrix, y []bool, w []float64, s *MLPSettings) (*MLP, error) {
	set, err := mlpResolve(s)
	if err != nil {
		return nil, err
	}
	if err := checkTrainingData(x, y, w); err != nil {
		return nil, fmt.Errorf("mlp: %w", err)
	}
	n, p := x.Dims()
	wt := make([]float64, n)
	for i := range wt {
		wt[i] = 1
		if w != nil {
			wt[i] = w[i]
		}
	}

	m := &MLP{Settings: set}
	m.Means, m.SDs = mlpStandardisation(x, wt)
	u := mat.NewDense(n, p, nil) // standardised inputs
	for i := 0; i < n; i++ {
		row := u.RawRowView(i)
		for j := range row {
			row[j] = (x.At(i, j) - m.Means[j]) / m.SDs[j]
		}
	}
	train, valid := mlpSplit(y, set.ValidationFraction, set.Seed)
	var trainW, validW float64
	for _, i := range train {
		trainW += wt[i]
	}
	for _, i := range valid {
		validW += wt[i]
	}
	if !(trainW > 0) || !(validW > 0) {
		return nil, fmt.Errorf("mlp: validation split leaves no weight for training or validation: %w", ErrEmpty)
	}
	meanW := trainW / float64(len(train))

	m.Layers = mlpInit(p, set.Hidden, set.Seed)
	net := mlpNewTrainer(m.Layers, set)
	best := mlpCloneLayers(m.Layers)
	bestLoss := math.Inf(1)
	rng := rand.New(rand.NewPCG(set.Seed, mlpStreamShuffle))
	batch := min(set.BatchSize, len(train))
	order := slices.Clone(train)
	sinceBest := 0
	for epoch := 1; epoch <= set.Epochs; epoch++ {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for start := 0; start < len(order); start += batch {
			end := min(start+batch, len(order))
			net.step(m.Layers, u, y, wt, order[start:end], meanW)
		}
		m.EpochsRun = epoch
		loss := mlpLoss(m.Layers, u, y, wt, valid, net.buf)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("mlp: validation loss %v at epoch %d (diverged; lower the learning rate): %w", loss, epoch, ErrNotFinite)
		}
		if loss < bestLoss-mlpMinImprovement {
			bestLoss = loss
			m.BestEpoch = epoch
			mlpCopyLayers(best, m.Layers)
			sinceBest = 0
		} else {
			sinceBest++
			if sinceBest >= set.Patience {
				break
			}
		}
	}
	// Epochs ≥ 1 and a finite first loss guarantee BestEpoch ≥ 1.
	m.Layers = best
	m.ValidationLoss = bestLoss
	return m, nil
}

// mlpStandardisation returns the weighted means and population SDs of the
// columns of x; a column with zero spread gets SD 1.
func mlpStandardisation(x mat.Matrix, w []float64) (means, sds []float64) {
	n, p := x.Dims()
	means = make([]float64, p)
	sds = make([]float64, p)
	var sw float64
	for _, wi := range w {
		sw += wi
	}
	for j := 0; j < p; j++ {
		var s float64
		for i := 0; i < n; i++ {
			s += w[i] * x.At(i, j)
		}
		mu := s / sw
		var ss float64
		for i := 0; i < n; i++ {
			d := x.At(i, j) - mu
			ss += w[i] * d * d
		}
		sd := math.Sqrt(ss / sw)
		if !(sd > 0) {
			sd = 1
		}
		means[j], sds[j] = mu, sd
	}
	return means, sds
}

// mlpSplit returns the training and validation row indices of a stratified
// split seeded by seed: each class is shuffled and round(frac·n_c) of its
// rows (clamped to [1, n_c−1] when n_c ≥ 2) are held out. Both lists are
// sorted.
func mlpSplit(y []bool, frac float64, seed uint64) (train, valid []int) {
	rng := rand.New(rand.NewPCG(seed, mlpStreamSplit))
	var pos, neg []int
	for i, yi := range y {
		if yi {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	for _, class := range [][]int{pos, neg} {
		rng.Shuffle(len(class), func(a, b int) { class[a], class[b] = class[b], class[a] })
		k := int(math.Round(frac * float64(len(class))))
		if len(class) >= 2 {
			k = max(1, min(k, len(class)-1))
		} else {
			k = 0
		}
		valid = append(valid, class[:k]...)
		train = append(train, class[k:]...)
	}
	slices.Sort(train)
	slices.Sort(valid)
	return train, valid
}

// mlpInit returns He-initialised layers for p inputs, the hidden sizes and
// one output unit.
func mlpInit(p int, hidden []int, seed uint64) []MLPLayer {
	rng := rand.New(rand.NewPCG(seed, mlpStreamInit))
	sizes := append(append([]int{p}, hidden...), 1)
	layers := make([]MLPLayer, len(sizes)-1)
	for l := range layers {
		in, out := sizes[l], sizes[l+1]
		sd := math.Sqrt(2 / float64(in))
		wts := make([]float64, in*out)
		for k := range wts {
			wts[k] = sd * rng.NormFloat64()
		}
		layers[l] = MLPLayer{In: in, Out: out, Weights: wts, Biases: make([]float64, out)}
	}
	return layers
}

func mlpCloneLayers(src []MLPLayer) []MLPLayer {
	dst := make([]MLPLayer, len(src))
	for l, L := range src {
		dst[l] = MLPLayer{In: L.In, Out: L.Out, Weights: slices.Clone(L.Weights), Biases: slices.Clone(L.Biases)}
	}
	return dst
}

func mlpCopyLayers(dst, src []MLPLayer) {
	for l := range src {
		copy(dst[l].Weights, src[l].Weights)
		copy(dst[l].Biases, src[l].Biases)
	}
}

// mlpBuffers holds the activations of one forward pass: act[0] is the input
// and act[l+1] the output of layer l (after ReLU for hidden layers, the
// log-odds for the last one).
type mlpBuffers struct {
	act [][]float64
}

func mlpNewBuffers(layers []MLPLayer) *mlpBuffers {
	b := &mlpBuffers{act: make([][]float64, len(layers)+1)}
	b.act[0] = make([]float64, layers[0].In)
	for l, L := range layers {
		b.act[l+1] = make([]float64, L.Out)
	}
	return b
}

// mlpForward runs the network on the standardised input u and returns the
// log-odds, leaving the activations in b.
func mlpForward(layers []MLPLayer, u []float64, b *mlpBuffers) float64 {
	copy(b.act[0], u)
	return mlpForwardFrom(layers, 0, b)
}

// mlpForwardFrom runs layers first, first+1, … on the activations in
// b.act[first] and returns the log-odds.
func mlpForwardFrom(layers []MLPLayer, first int, b *mlpBuffers) float64 {
	last := len(layers) - 1
	for l := first; l < len(layers); l++ {
		L := &layers[l]
		in, out := b.act[l], b.act[l+1]
		for k := 0; k < L.Out; k++ {
			row := L.Weights[k*L.In : (k+1)*L.In]
			s := L.Biases[k]
			for i, v := range in {
				s += row[i] * v
			}
			if l < last && s < 0 {
				s = 0
			}
			out[k] = s
		}
	}
	return b.act[len(layers)][0]
}

// mlpBCE is the cross-entropy −y·log p − (1−y)·log(1−p) of p = Sigmoid(z),
// computed from z without overflow: log(1+e^z) − y·z.
func mlpBCE(z float64, y bool) float64 {
	var sp float64 // softplus(z) = log(1 + e^z)
	if z > 0 {
		sp = z + math.Log1p(math.Exp(-z))
	} else {
		sp = math.Log1p(math.Exp(z))
	}
	if y {
		return sp - z
	}
	return sp
}

// mlpLoss is the weighted mean cross-entropy over the rows idx of u.
func mlpLoss(layers []MLPLayer, u *mat.Dense, y []bool, w []float64, idx []int, b *mlpBuffers) float64 {
	var s, sw float64
	for _, i := range idx {
		if w[i] == 0 {
			continue
		}
		z := mlpForward(layers, u.RawRowView(i), b)
		s += w[i] * mlpBCE(z, y[i])
		sw += w[i]
	}
	return s / sw
}

// mlpTrainer holds Adam's state and the gradient buffers.
type mlpTrainer struct {
	set    MLPSettings
	t      int
	gW, gB [][]float64 // gradients
	mW, mB [][]float64 // first moments
	vW, vB [][]float64 // second moments
	delta  [][]float64 // ∂loss/∂(pre-activation) of each layer's outputs
	buf    *mlpBuffers
}

func mlpNewTrainer(layers []MLPLayer, set MLPSettings) *mlpTrainer {
	tr := &mlpTrainer{set: set, buf: mlpNewBuffers(layers)}
	alloc := func(f func(L MLPLayer) int) [][]float64 {
		out := make([][]float64, len(layers))
		for l, L := range layers {
			out[l] = make([]float64, f(L))
		}
		return out
	}
	nw := func(L MLPLayer) int { return len(L.Weights) }
	nb := func(L MLPLayer) int { return L.Out }
	tr.gW, tr.mW, tr.vW = alloc(nw), alloc(nw), alloc(nw)
	tr.gB, tr.mB, tr.vB, tr.delta = alloc(nb), alloc(nb), alloc(nb), alloc(nb)
	return tr
}

// step takes one Adam step on the minibatch rows idx.
func (tr *mlpTrainer) step(layers []MLPLayer, u *mat.Dense, y []bool, w []float64, idx []int, meanW float64) {
	tr.gradient(layers, u, y, w, idx, meanW)
	tr.update(layers)
}

// gradient leaves in tr.gW and tr.gB the gradient of the minibatch loss
// Σ_{i∈idx} w_i·ℓ_i / (|idx|·meanW), without the L2 term, by
// back-propagation.
func (tr *mlpTrainer) gradient(layers []MLPLayer, u *mat.Dense, y []bool, w []float64, idx []int, meanW float64) {
	for l := range layers {
		clear(tr.gW[l])
		clear(tr.gB[l])
	}
	scale := 1 / (float64(len(idx)) * meanW)
	last := len(layers) - 1
	for _, i := range idx {
		if w[i] == 0 {
			continue
		}
		z := mlpForward(layers, u.RawRowView(i), tr.buf)
		yi := 0.0
		if y[i] {
			yi = 1
		}
		// ∂ℓ/∂z = p − y for the sigmoid cross-entropy.
		tr.delta[last][0] = w[i] * scale * (Sigmoid(z) - yi)
		for l := last; l >= 0; l-- {
			L := &layers[l]
			in := tr.buf.act[l]
			d := tr.delta[l]
			gW, gB := tr.gW[l], tr.gB[l]
			for k := 0; k < L.Out; k++ {
				dk := d[k]
				if dk == 0 {
					continue
				}
				gB[k] += dk
				row := gW[k*L.In : (k+1)*L.In]
				for j, v := range in {
					row[j] += dk * v
				}
			}
			if l == 0 {
				break
			}
			// Back-propagate through the weights and the ReLU of layer l−1.
			prev := tr.delta[l-1]
			clear(prev)
			for k := 0; k < L.Out; k++ {
				dk := d[k]
				if dk == 0 {
					continue
				}
				row := L.Weights[k*L.In : (k+1)*L.In]
				for j := range prev {
					prev[j] += dk * row[j]
				}
			}
			for j, a := range in {
				if a <= 0 {
					prev[j] = 0
				}
			}
		}
	}
}

// update applies one Adam step with the gradient in tr.gW, tr.gB plus the
// L2 term on the weights.
func (tr *mlpTrainer) update(layers []MLPLayer) {
	tr.t++
	set := tr.set
	c1 := 1 - math.Pow(mlpAdamBeta1, float64(tr.t))
	c2 := 1 - math.Pow(mlpAdamBeta2, float64(tr.t))
	for l := range layers {
		L := &layers[l]
		mlpAdam(L.Weights, tr.gW[l], tr.mW[l], tr.vW[l], set.L2, set.LearningRate, c1, c2)
		mlpAdam(L.Biases, tr.gB[l], tr.mB[l], tr.vB[l], 0, set.LearningRate, c1, c2)
	}
}

// mlpAdam applies one bias-corrected Adam update to theta with gradient g
// plus the ridge term l2·theta.
func mlpAdam(theta, g, m, v []float64, l2, lr, c1, c2 float64) {
	for k := range theta {
		gk := g[k] + l2*theta[k]
		m[k] = mlpAdamBeta1*m[k] + (1-mlpAdamBeta1)*gk
		v[k] = mlpAdamBeta2*v[k] + (1-mlpAdamBeta2)*gk*gk
		theta[k] -= lr * (m[k] / c1) / (math.Sqrt(v[k]/c2) + mlpAdamEps)
	}
}

// NumFeatures is the number of input columns.
func (m *MLP) NumFeatures() int { return len(m.Means) }

// errMLPUnfitted is returned by the predict methods of a zero MLP.
var errMLPUnfitted = errors.New("mlp: model has no layers")

// logOdds standardises the raw row x into u and returns the network's
// log-odds. x must have NumFeatures elements.
func (m *MLP) logOdds(x, u []float64, b *mlpBuffers) float64 {
	for j, v := range x {
		u[j] = (v - m.Means[j]) / m.SDs[j]
	}
	return mlpForward(m.Layers, u, b)
}

// check reports a model that is not fitted or is malformed (as a damaged
// artifact could be): layer sizes must chain from NumFeatures inputs
// through 1 to 3 hidden layers to one output, and the SDs must be positive.
func (m *MLP) check() error {
	if len(m.Layers) == 0 {
		return errMLPUnfitted
	}
	p := len(m.Means)
	if len(m.SDs) != p {
		return fmt.Errorf("mlp: %d means and %d SDs", p, len(m.SDs))
	}
	for j, sd := range m.SDs {
		if !(sd > 0) || math.IsInf(sd, 0) || math.IsNaN(m.Means[j]) || math.IsInf(m.Means[j], 0) {
			return fmt.Errorf("mlp: feature %d has mean %v and SD %v", j, m.Means[j], sd)
		}
	}
	if h := len(m.Layers) - 1; h < 1 || h > mlpMaxHiddenLayers {
		return fmt.Errorf("mlp: %d hidden layers, want 1 to %d", h, mlpMaxHiddenLayers)
	}
	in := p
	for l, L := range m.Layers {
		if L.In != in || L.Out < 1 || len(L.Weights) != L.In*L.Out || len(L.Biases) != L.Out {
			return fmt.Errorf("mlp: layer %d is %d×%d with %d weights and %d biases, after %d units", l, L.Out, L.In, len(L.Weights), len(L.Biases), in)
		}
		in = L.Out
	}
	if in != 1 {
		return fmt.Errorf("mlp: %d output units, want 1", in)
	}
	return nil
}

// Predict writes P(y = positive | x) for each row of x into dst (allocated
// when nil) and returns it. A column count other than NumFeatures is an
// error wrapping ErrFeatureCount; a NaN or Inf in x is an error wrapping
// ErrNotFinite.
func (m *MLP) Predict(x mat.Matrix, dst []float64) ([]float64, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	dst, err := checkPredictInput(x, m.NumFeatures(), dst)
	if err != nil {
		return nil, fmt.Errorf("mlp: %w", err)
	}
	if err := checkFinite(x); err != nil {
		return nil, fmt.Errorf("mlp: %w", err)
	}
	r, p := x.Dims()
	row := make([]float64, p)
	u := make([]float64, p)
	b := mlpNewBuffers(m.Layers)
	for i := 0; i < r; i++ {
		mat.Row(row, i, x)
		dst[i] = Sigmoid(m.logOdds(row, u, b))
	}
	return dst, nil
}

// PredictLogOdds returns the network's output z on the log-odds scale for
// one row, so that PredictOne(x) = Sigmoid(z). It is the quantity Explain
// decomposes. Errors as for PredictOne.
func (m *MLP) PredictLogOdds(x []float64) (float64, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	if len(x) != m.NumFeatures() {
		return 0, fmt.Errorf("mlp: %w: got %d values, the model has %d", ErrFeatureCount, len(x), m.NumFeatures())
	}
	for j, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("mlp: feature %d: %w", j, ErrNotFinite)
		}
	}
	return m.logOdds(x, make([]float64, len(x)), mlpNewBuffers(m.Layers)), nil
}

// PredictOne returns P(y = positive | x) for one row. A length other than
// NumFeatures is an error wrapping ErrFeatureCount; a NaN or Inf an error
// wrapping ErrNotFinite.
func (m *MLP) PredictOne(x []float64) (float64, error) {
	z, err := m.PredictLogOdds(x)
	if err != nil {
		return 0, err
	}
	return Sigmoid(z), nil
}

// Explain attributes the log-odds z(x) of one row to its features with
// interventional Shapley values against the training means (see
// ShapleyValues, with the settings in m.Explanation): exact for up to 12
// features, sampled antithetic permutations above. The base value is
// z(Means), and base + Σ phi = z(x) = PredictLogOdds(x) to within 1e-9
// (which equals Logit(PredictOne(x)) while |z| is well below 34, where
// Logit stops clipping). Errors as for PredictOne; phi must have
// NumFeatures elements when not nil.
func (m *MLP) Explain(x, phi []float64) (float64, []float64, error) {
	if err := m.check(); err != nil {
		return 0, nil, err
	}
	p := m.NumFeatures()
	if len(x) != p {
		return 0, nil, fmt.Errorf("mlp: %w: got %d values, the model has %d", ErrFeatureCount, len(x), p)
	}
	u := make([]float64, p)
	b := mlpNewBuffers(m.Layers)
	f := func(z []float64) float64 { return m.logOdds(z, u, b) }
	walk := &mlpExplainWalker{m: m, ux: make([]float64, p), ub: make([]float64, p), a1: make([]float64, m.Layers[0].Out), b: mlpNewBuffers(m.Layers)}
	for j := range x {
		walk.ux[j] = (x[j] - m.Means[j]) / m.SDs[j]
		walk.ub[j] = 0 // the baseline is the means
	}
	phi, err := mlpShapleyValues(f, walk, x, m.Means, phi, &m.Explanation)
	if err != nil {
		return 0, nil, fmt.Errorf("mlp: explain: %w", err)
	}
	return f(m.Means), phi, nil
}

// mlpExplainWalker evaluates the log-odds incrementally while features are
// switched from the baseline (the means, 0 after standardisation) to x:
// switching feature j adds W1[:, j]·(u_j − 0) to the first layer's
// pre-activations, so each step costs O(H1) for the first layer instead of
// O(p·H1). Rounding drift over p steps is a few ulps of the
// pre-activations, far inside the 1e-9 additivity budget; additivity itself
// is exact by telescoping because the contributions are differences of the
// returned values.
type mlpExplainWalker struct {
	m      *MLP
	ux, ub []float64 // standardised x and baseline
	a1     []float64 // first-layer pre-activations at the current point
	b      *mlpBuffers
}

func (w *mlpExplainWalker) reset() float64 {
	L := &w.m.Layers[0]
	for k := 0; k < L.Out; k++ {
		row := L.Weights[k*L.In : (k+1)*L.In]
		s := L.Biases[k]
		for i, v := range w.ub {
			s += row[i] * v
		}
		w.a1[k] = s
	}
	return w.rest()
}

func (w *mlpExplainWalker) set(j int) float64 {
	L := &w.m.Layers[0]
	d := w.ux[j] - w.ub[j]
	for k := range w.a1 {
		w.a1[k] += L.Weights[k*L.In+j] * d
	}
	return w.rest()
}

// rest applies the first layer's ReLU and runs the remaining layers.
func (w *mlpExplainWalker) rest() float64 {
	h := w.b.act[1]
	for k, a := range w.a1 {
		h[k] = max(a, 0)
	}
	return mlpForwardFrom(w.m.Layers, 1, w.b)
}

// ExplanationScale returns LogOdds: Explain decomposes the log-odds.
func (m *MLP) ExplanationScale() Scale { return LogOdds }
