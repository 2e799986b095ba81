package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spinecast/spinecast/predictors"
)

// Format identifies a Spinecast model artifact; FormatVersion is the
// version of its layout that this code reads and writes.
const (
	Format        = "spinecast-model"
	FormatVersion = 1
)

// Algorithm names, as the CLI takes them.
const (
	ElasticNet   = "elasticnet"
	RandomForest = "random-forest"
	MLP          = "mlp"
)

// Calibration methods.
const (
	CalibrationPlatt    = "platt"
	CalibrationIsotonic = "isotonic"
	CalibrationNone     = "none"
)

// Artifact is the JSON document of one trained model. Every field is data;
// Sha256 is the hex sha256 of the document's canonical JSON encoding with
// Sha256 itself empty (see Digest).
type Artifact struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"format_version"`
	Algorithm     string    `json:"algorithm"`
	Created       time.Time `json:"created"`
	Demonstration bool      `json:"demonstration"`
	Notice        string    `json:"notice,omitempty"`
	Target        string    `json:"target"`
	Positive      string    `json:"positive"`
	// Outcome names the versioned outcome definition the model predicts
	// (package outcomes), when it was trained for one; nil for a model of a
	// plain target column.
	Outcome         *OutcomeRef     `json:"outcome,omitempty"`
	Hyperparameters Hyperparameters `json:"hyperparameters"`
	Features        []Feature       `json:"features"`
	MissingPolicy   string          `json:"missing_policy"`
	TrainingData    TrainingData    `json:"training_data"`
	CV              CVSummary       `json:"cross_validation"`
	Calibration     Calibration     `json:"calibration"`
	Uncertainty     Uncertainty     `json:"uncertainty"`
	Model           ModelPayload    `json:"model"`
	Sha256          string          `json:"sha256"`
}

// OutcomeRef names a versioned outcome definition, e.g.
// {"odi_mcid15_12m", "1"}: the labels a model was trained on follow that
// definition's rule, so a change of rule is a new version and a new model.
type OutcomeRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// Hyperparameters are the settings the model was trained with; fields that
// do not apply to the algorithm are omitted.
type Hyperparameters struct {
	Alpha       *float64 `json:"alpha,omitempty"`
	Lambda      *float64 `json:"lambda,omitempty"`
	LambdaRule  string   `json:"lambda_rule,omitempty"` // "fixed", "cv-min-deviance"
	LambdaMin   *float64 `json:"lambda_min,omitempty"`
	Lambda1SE   *float64 `json:"lambda_1se,omitempty"`
	Trees       int      `json:"trees,omitempty"`
	Mtry        int      `json:"mtry,omitempty"`
	MinLeaf     int      `json:"min_leaf,omitempty"`
	MaxDepth    int      `json:"max_depth,omitempty"`
	Hidden      []int    `json:"hidden,omitempty"`
	Epochs      int      `json:"epochs,omitempty"`
	Seed        uint64   `json:"seed"`
	Folds       int      `json:"folds"`
	FoldsSource string   `json:"folds_source"` // "stratified(seed)" or the folds file name
	Bootstrap   int      `json:"bootstrap,omitempty"`
}

// Feature describes one input column as seen in training. Mean, SD (the
// population SD), Min, Max and Median are over the observed (non-missing)
// training values. When MissingIndicator is set the model has an extra
// 0/1 input "<name>_imputed" right after the imputed value.
type Feature struct {
	Name             string  `json:"name"`
	Mean             float64 `json:"mean"`
	SD               float64 `json:"sd"`
	Min              float64 `json:"min"`
	Max              float64 `json:"max"`
	Median           float64 `json:"median"`
	MissingCount     int     `json:"missing_count"`
	MissingIndicator bool    `json:"missing_indicator"`
}

// TrainingData fingerprints the rows the model was fitted on.
type TrainingData struct {
	File   string `json:"file,omitempty"`
	Sha256 string `json:"sha256"` // of the file's bytes
	Rows   int    `json:"rows"`
	Events int    `json:"events"`
}

// CVSummary holds cross-validated performance: Uncalibrated is the metrics
// of the out-of-fold predictions; Calibrated applies to each fold a
// calibrator fitted on the other folds' out-of-fold predictions, so neither
// figure has seen its own rows.
type CVSummary struct {
	Folds        int                 `json:"folds"`
	Uncalibrated *predictors.Metrics `json:"uncalibrated"`
	Calibrated   *predictors.Metrics `json:"calibrated,omitempty"`
}

// Calibration is the calibrator applied to the model's raw probability.
type Calibration struct {
	Method   string               `json:"method"`
	Platt    *predictors.Platt    `json:"platt,omitempty"`
	Isotonic *predictors.Isotonic `json:"isotonic,omitempty"`
}

// Uncertainty holds what the 95 % interval of a prediction is computed
// from (see Scorer): bootstrap refits of the model for the elastic net and
// the MLP, the infinitesimal jackknife for the forest.
type Uncertainty struct {
	Method      string                   `json:"method"`
	Level       float64                  `json:"level"`
	ElasticNets []*predictors.ElasticNet `json:"elasticnet_replicates,omitempty"`
	MLPs        []*predictors.MLP        `json:"mlp_replicates,omitempty"`
	ForestIJ    *predictors.ForestIJ     `json:"forest_ij,omitempty"`
}

// ModelPayload holds exactly one fitted predictor.
type ModelPayload struct {
	ElasticNet *predictors.ElasticNet `json:"elasticnet,omitempty"`
	Forest     *predictors.Forest     `json:"random_forest,omitempty"`
	MLP        *predictors.MLP        `json:"mlp,omitempty"`
}

// Digest returns the hex sha256 of the artifact's canonical JSON encoding
// (compact encoding/json output with the Sha256 field empty).
func (a *Artifact) Digest() (string, error) {
	c := *a
	c.Sha256 = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("encode artifact: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Seal sets Sha256 to the artifact's digest.
func (a *Artifact) Seal() error {
	d, err := a.Digest()
	if err != nil {
		return err
	}
	a.Sha256 = d
	return nil
}

// Write seals the artifact and writes it as indented JSON.
func (a *Artifact) Write(w io.Writer) error {
	if err := a.Seal(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(a)
}

// Save writes the artifact to path atomically (a temporary file renamed
// into place), so a crash never leaves half a model behind.
func (a *Artifact) Save(path string) error {
	var buf bytes.Buffer
	if err := a.Write(&buf); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// ErrNotArtifact, ErrVersion and ErrDigest classify Load failures.
var (
	ErrNotArtifact = errors.New("not a Spinecast model artifact")
	ErrVersion     = errors.New("unsupported model format version")
	ErrDigest      = errors.New("model content does not match its sha256 (corrupt or edited file)")
)

// Read decodes and verifies an artifact: the format tag, the version, the
// digest and the internal consistency of the payload.
func Read(r io.Reader) (*Artifact, error) {
	var a Artifact
	dec := json.NewDecoder(r)
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotArtifact, err)
	}
	if a.Format != Format {
		return nil, fmt.Errorf("%w: format is %q, want %q", ErrNotArtifact, a.Format, Format)
	}
	if a.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%w: %d (this build reads version %d)", ErrVersion, a.FormatVersion, FormatVersion)
	}
	d, err := a.Digest()
	if err != nil {
		return nil, err
	}
	if a.Sha256 == "" || d != a.Sha256 {
		return nil, ErrDigest
	}
	if err := a.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotArtifact, err)
	}
	return &a, nil
}

// Load reads and verifies the artifact at path.
func Load(path string) (*Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return a, nil
}

// ImputedSuffix names a feature's missing-value indicator input.
const ImputedSuffix = "_imputed"

// InputNames returns the model's input columns in order: each feature,
// followed by "<name>_imputed" where it has a missing indicator.
func (a *Artifact) InputNames() []string {
	var names []string
	for _, f := range a.Features {
		names = append(names, f.Name)
		if f.MissingIndicator {
			names = append(names, f.Name+ImputedSuffix)
		}
	}
	return names
}

// model returns the fitted predictor.
func (a *Artifact) model() predictors.Explainer {
	switch {
	case a.Model.ElasticNet != nil:
		return a.Model.ElasticNet
	case a.Model.Forest != nil:
		return a.Model.Forest
	case a.Model.MLP != nil:
		return a.Model.MLP
	}
	return nil
}

func (a *Artifact) validate() error {
	n := 0
	for _, m := range []bool{a.Model.ElasticNet != nil, a.Model.Forest != nil, a.Model.MLP != nil} {
		if m {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("the model payload holds %d predictors, want 1", n)
	}
	want := map[string]bool{ElasticNet: a.Model.ElasticNet != nil, RandomForest: a.Model.Forest != nil, MLP: a.Model.MLP != nil}
	if !want[a.Algorithm] {
		return fmt.Errorf("algorithm %q does not match the payload", a.Algorithm)
	}
	if len(a.Features) == 0 {
		return errors.New("no features")
	}
	if a.Outcome != nil && (a.Outcome.ID == "" || a.Outcome.Version == "") {
		return errors.New("outcome reference without id or version")
	}
	if got, w := a.model().NumFeatures(), len(a.InputNames()); got != w {
		return fmt.Errorf("the predictor takes %d inputs, the feature list gives %d", got, w)
	}
	switch a.Calibration.Method {
	case CalibrationNone:
	case CalibrationPlatt:
		if a.Calibration.Platt == nil {
			return errors.New("platt calibration without parameters")
		}
	case CalibrationIsotonic:
		if a.Calibration.Isotonic == nil {
			return errors.New("isotonic calibration without thresholds")
		}
		if err := a.Calibration.Isotonic.Validate(); err != nil {
			return fmt.Errorf("isotonic calibration: %w", err)
		}
	default:
		return fmt.Errorf("unknown calibration method %q", a.Calibration.Method)
	}
	return nil
}
