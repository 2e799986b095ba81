package cards

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/outcomes"
	"github.com/spinecast/spinecast/predictors"
)

// DemoNotice heads the card of a demonstration artifact.
const DemoNotice = "DEMONSTRATION MODEL trained on simulated data — not for clinical use, not a medical device."

// Options describe what the artifact does not record. Zero values give
// the stated defaults.
type Options struct {
	// ModelID names the model (default: the outcome and algorithm).
	ModelID string
	// DataFile names the held-out file in the card.
	DataFile string
	// DataSha256 is the hex sha256 of the held-out file.
	DataSha256 string
	// TrainingSource and TrainingDates describe the training data
	// (default: "not recorded in the artifact").
	TrainingSource, TrainingDates string
	// IntendedUse and IntendedUsers (defaults below).
	IntendedUse, IntendedUsers string
	// Groups are extra categorical columns to report performance by,
	// besides sex (sex_female), age band (age_years) and every column
	// named group_*.
	Groups []string
	// Limitations are added to the generic ones.
	Limitations []string
	// Seed drives the bootstrap CIs (default 1).
	Seed uint64
}

// Calibration summarises calibration on the held-out data.
type Calibration struct {
	Intercept *float64                    `json:"intercept"`
	Slope     *float64                    `json:"slope"`
	ECE       float64                     `json:"ece"`
	ECELower  float64                     `json:"ece_ci_lower"`
	ECEUpper  float64                     `json:"ece_ci_upper"`
	Bins      []predictors.CalibrationBin `json:"bins"`
}

// Subgroup is the performance in one level of a grouping column.
type Subgroup struct {
	Group    string  `json:"group"`
	Level    string  `json:"level"`
	N        int     `json:"n"`
	Events   int     `json:"events"`
	AUC      float64 `json:"auc,omitempty"`
	AUCLower float64 `json:"auc_ci_lower,omitempty"`
	AUCUpper float64 `json:"auc_ci_upper,omitempty"`
	// ObservedRate and MeanPredicted compare calibration in the large.
	ObservedRate  float64 `json:"observed_rate"`
	MeanPredicted float64 `json:"mean_predicted"`
	ECE           float64 `json:"ece"`
	Note          string  `json:"note,omitempty"`
}

// Oracle compares the predictions with the true probabilities of a
// simulated registry.
type Oracle struct {
	AUC               float64 `json:"oracle_auc"`
	AUCLower          float64 `json:"oracle_auc_ci_lower"`
	AUCUpper          float64 `json:"oracle_auc_ci_upper"`
	MeanAbsoluteError float64 `json:"mean_abs_error_vs_true_p"`
	ECEOfTruth        float64 `json:"ece_of_true_p"`
}

// Card is the model card (card.json).
type Card struct {
	Notice        string `json:"notice"`
	ModelNotice   string `json:"model_notice,omitempty"` // the artifact's own notice
	Demonstration bool   `json:"demonstration"`
	Model         struct {
		ID              string                 `json:"id"`
		Algorithm       string                 `json:"algorithm"`
		Created         string                 `json:"created"`
		Sha256          string                 `json:"sha256"`
		FormatVersion   int                    `json:"format_version"`
		Hyperparameters models.Hyperparameters `json:"hyperparameters"`
		Calibration     string                 `json:"calibration_method"`
		Uncertainty     string                 `json:"uncertainty_method"`
	} `json:"model"`
	IntendedUse   string `json:"intended_use"`
	IntendedUsers string `json:"intended_users"`
	Outcome       struct {
		Column     string `json:"column"`
		ID         string `json:"id,omitempty"`
		Version    string `json:"version,omitempty"`
		Name       string `json:"name,omitempty"`
		Rule       string `json:"rule,omitempty"`
		AppliesTo  string `json:"applies_to,omitempty"`
		Source     string `json:"source,omitempty"`
		Verified   bool   `json:"threshold_verified"`
		Registered bool   `json:"registered"`
	} `json:"outcome"`
	TrainingData struct {
		Source string              `json:"source"`
		Dates  string              `json:"dates"`
		File   string              `json:"file"`
		Sha256 string              `json:"sha256"`
		N      int                 `json:"n"`
		Events int                 `json:"events"`
		CV     *predictors.Metrics `json:"cross_validated,omitempty"`
	} `json:"training_data"`
	EvaluationData struct {
		File    string `json:"file"`
		Sha256  string `json:"sha256,omitempty"`
		N       int    `json:"n"`
		Events  int    `json:"events"`
		Skipped int    `json:"rows_without_outcome"`
	} `json:"evaluation_data"`
	Predictors     []models.Feature `json:"predictors"`
	MissingData    string           `json:"missing_data"`
	Discrimination struct {
		AUC      float64 `json:"auc"`
		AUCLower float64 `json:"auc_ci_lower"`
		AUCUpper float64 `json:"auc_ci_upper"`
		Brier    float64 `json:"brier"`
	} `json:"discrimination"`
	Calibration Calibration           `json:"calibration"`
	Subgroups   []Subgroup            `json:"subgroups"`
	Oracle      *Oracle               `json:"simulation_truth,omitempty"`
	ROC         []predictors.ROCPoint `json:"-"`
	Limitations []string              `json:"limitations"`
	Notes       []string              `json:"notes,omitempty"`
}

// heldout is the evaluation data read from CSV.
type heldout struct {
	p, truth []float64
	y        []bool
	groups   map[string][]string
	skipped  int
}

// Build scores the held-out CSV r (a header row; the artifact's feature
// columns, its target column with 1/0 or the artifact's positive value,
// empty where the outcome does not apply — such rows are skipped) with the
// artifact and computes the card.
func Build(a *models.Artifact, r io.Reader, o *Options) (*Card, error) {
	if o == nil {
		o = &Options{}
	}
	sc, err := models.NewScorer(a)
	if err != nil {
		return nil, fmt.Errorf("build card: %w", err)
	}
	h, err := read(sc, r, o)
	if err != nil {
		return nil, fmt.Errorf("build card: %w", err)
	}
	c := &Card{Demonstration: a.Demonstration, Notice: a.Notice, ModelNotice: a.Notice}
	if a.Demonstration {
		c.Notice = DemoNotice
	}
	c.Model.ID = o.ModelID
	if c.Model.ID == "" {
		c.Model.ID = a.Target + "." + a.Algorithm
	}
	c.Model.Algorithm, c.Model.Sha256, c.Model.FormatVersion = a.Algorithm, a.Sha256, a.FormatVersion
	c.Model.Created = a.Created.Format("2006-01-02T15:04:05Z07:00")
	c.Model.Hyperparameters, c.Model.Calibration, c.Model.Uncertainty = a.Hyperparameters, a.Calibration.Method, a.Uncertainty.Method
	c.IntendedUse = o.IntendedUse
	if c.IntendedUse == "" {
		c.IntendedUse = "Estimate, before treatment, the probability of the outcome below for an adult patient like those in the training data, to support (not replace) shared decision-making."
		if a.Demonstration {
			c.IntendedUse = "Demonstration and software testing only: show how Spinecast predictions, intervals and cards look. Not for decisions about patients."
		}
	}
	c.IntendedUsers = o.IntendedUsers
	if c.IntendedUsers == "" {
		c.IntendedUsers = "Spine surgeons and outcomes researchers; patients through their clinician."
		if a.Demonstration {
			c.IntendedUsers = "Developers, integrators and reviewers of Spinecast."
		}
	}
	c.Outcome.Column = a.Target
	if d, ok := outcomes.Default().Get(a.Target); ok {
		c.Outcome.ID, c.Outcome.Version, c.Outcome.Name, c.Outcome.Rule = d.ID, d.Version, d.Name, d.Rule
		c.Outcome.AppliesTo, c.Outcome.Source, c.Outcome.Verified, c.Outcome.Registered = d.AppliesTo, d.Source, d.Verified, true
	}
	c.TrainingData.Source, c.TrainingData.Dates = o.TrainingSource, o.TrainingDates
	if c.TrainingData.Source == "" {
		c.TrainingData.Source = "not recorded in the artifact"
	}
	if c.TrainingData.Dates == "" {
		c.TrainingData.Dates = "not recorded in the artifact"
	}
	c.TrainingData.File, c.TrainingData.Sha256 = a.TrainingData.File, a.TrainingData.Sha256
	c.TrainingData.N, c.TrainingData.Events = a.TrainingData.Rows, a.TrainingData.Events
	c.TrainingData.CV = a.CV.Calibrated
	if c.TrainingData.CV == nil {
		c.TrainingData.CV = a.CV.Uncalibrated
	}
	c.EvaluationData.File, c.EvaluationData.Sha256 = o.DataFile, o.DataSha256
	c.EvaluationData.N, c.EvaluationData.Skipped = len(h.y), h.skipped
	for _, y := range h.y {
		if y {
			c.EvaluationData.Events++
		}
	}
	c.Predictors = a.Features
	c.MissingData = a.MissingPolicy

	m, err := predictors.Evaluate(h.p, h.y)
	if err != nil {
		return nil, fmt.Errorf("build card: evaluate: %w", err)
	}
	c.Discrimination.AUC, c.Discrimination.AUCLower, c.Discrimination.AUCUpper, c.Discrimination.Brier = m.AUC, m.AUCLower, m.AUCUpper, m.Brier
	c.Calibration = Calibration{Intercept: m.CalibrationIntercept, Slope: m.CalibrationSlope, ECE: m.ECE,
		Bins: predictors.CalibrationCurve(h.p, h.y, 10)}
	c.Notes = append(c.Notes, m.Notes...)
	seed := o.Seed
	if seed == 0 {
		seed = 1
	}
	c.Calibration.ECELower, c.Calibration.ECEUpper, err = predictors.BootstrapCI(h.p, h.y,
		func(p []float64, y []bool) (float64, error) { return predictors.ECE(p, y, 10), nil }, 200, 0.95, seed)
	if err != nil {
		c.Notes = append(c.Notes, "ECE interval: "+err.Error())
	}
	c.ROC = predictors.ROCCurve(h.p, h.y, nil)
	c.Subgroups = subgroups(h)
	if h.truth != nil {
		or := &Oracle{}
		if or.AUC, or.AUCLower, or.AUCUpper, err = predictors.DeLong(h.truth, h.y, 0.95); err != nil {
			return nil, fmt.Errorf("build card: oracle AUC: %w", err)
		}
		for i := range h.p {
			or.MeanAbsoluteError += math.Abs(h.p[i] - h.truth[i])
		}
		or.MeanAbsoluteError /= float64(len(h.p))
		or.ECEOfTruth = predictors.ECE(h.truth, h.y, 10)
		c.Oracle = or
	}
	c.Limitations = []string{
		"Performance holds for patients like those in the training data; it must be checked on local data (external validation) before use elsewhere.",
		"Calibration drifts with case mix, practice and time: monitor it and recalibrate when needed.",
		"Subgroups with few events have wide intervals; a subgroup not shown was not evaluated.",
	}
	if !c.Outcome.Verified && c.Outcome.Registered {
		c.Limitations = append(c.Limitations, "The outcome threshold was recalled from the literature and is not marked verified in the outcome definitions.")
	}
	if a.Demonstration {
		c.Limitations = append([]string{"Trained and evaluated on simulated patients (spinecast cohort): the figures show the software works, not that the model predicts real patients' outcomes."}, c.Limitations...)
	}
	c.Limitations = append(c.Limitations, o.Limitations...)
	return c, nil
}

func read(sc *models.Scorer, r io.Reader, o *Options) (*heldout, error) {
	a := sc.Artifact()
	rr, err := models.NewRowReader(r)
	if err != nil {
		return nil, err
	}
	ti := rr.Index(a.Target)
	if ti < 0 {
		return nil, fmt.Errorf("the data have no outcome column %q", a.Target)
	}
	fi := make([]int, len(a.Features))
	for j, f := range a.Features {
		if fi[j] = rr.Index(f.Name); fi[j] < 0 {
			return nil, fmt.Errorf("the data have no feature column %q", f.Name)
		}
	}
	tp := rr.Index("true_p_" + a.Target)
	groupCols := map[string]int{}
	for i, h := range rr.Header() {
		if strings.HasPrefix(h, "group_") || h == "sex_female" || h == "age_years" {
			groupCols[h] = i
		}
	}
	for _, g := range o.Groups {
		i := rr.Index(g)
		if i < 0 {
			return nil, fmt.Errorf("the data have no group column %q", g)
		}
		groupCols[g] = i
	}
	h := &heldout{groups: map[string][]string{}}
	if tp >= 0 {
		h.truth = []float64{}
	}
	raw := make([]float64, len(a.Features))
	for {
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		cell := strings.TrimSpace(rec[ti])
		if models.IsMissing(cell) {
			h.skipped++
			continue
		}
		y := cell == a.Positive
		if !y && cell != "0" && cell != "1" && a.Positive == "1" {
			return nil, rr.CellErr(ti, fmt.Errorf("outcome %q is not 1, 0 or empty", cell))
		}
		for j, c := range fi {
			if raw[j], err = models.ParseValue(rec[c]); err != nil {
				return nil, rr.CellErr(c, err)
			}
		}
		pr, err := sc.Score(raw, false)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", rr.Row(), err)
		}
		h.p = append(h.p, pr.Probability)
		h.y = append(h.y, y)
		if tp >= 0 {
			v, err := models.ParseValue(rec[tp])
			if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
				return nil, rr.CellErr(tp, errors.New("true probability must be a number in [0, 1] where the outcome is present"))
			}
			h.truth = append(h.truth, v)
		}
		for g, i := range groupCols {
			h.groups[g] = append(h.groups[g], groupLevel(g, rec[i]))
		}
	}
	if len(h.y) == 0 {
		return nil, errors.New("no rows with the outcome present")
	}
	return h, nil
}

// groupLevel maps a cell to its subgroup level: sex from sex_female, a
// 3-band age from age_years, the cell itself otherwise.
func groupLevel(col, cell string) string {
	cell = strings.TrimSpace(cell)
	if models.IsMissing(cell) {
		return "missing"
	}
	switch col {
	case "sex_female":
		switch cell {
		case "1":
			return "female"
		case "0":
			return "male"
		}
	case "age_years":
		v, err := models.ParseValue(cell)
		if err == nil {
			switch {
			case v < 50:
				return "<50"
			case v < 65:
				return "50-64"
			default:
				return ">=65"
			}
		}
	}
	return cell
}

var groupNames = map[string]string{"sex_female": "sex", "age_years": "age band"}

func subgroups(h *heldout) []Subgroup {
	cols := make([]string, 0, len(h.groups))
	for g := range h.groups {
		cols = append(cols, g)
	}
	sort.Slice(cols, func(i, j int) bool { return groupOrder(cols[i]) < groupOrder(cols[j]) })
	var out []Subgroup
	for _, g := range cols {
		levels := map[string][]int{}
		for i, l := range h.groups[g] {
			levels[l] = append(levels[l], i)
		}
		names := make([]string, 0, len(levels))
		for l := range levels {
			names = append(names, l)
		}
		sort.Slice(names, func(i, j int) bool { return levelKey(g, names[i]) < levelKey(g, names[j]) })
		for _, l := range names {
			rows := levels[l]
			name := g
			if n, ok := groupNames[g]; ok {
				name = n
			}
			s := Subgroup{Group: name, Level: l, N: len(rows)}
			p := make([]float64, len(rows))
			y := make([]bool, len(rows))
			for k, i := range rows {
				p[k], y[k] = h.p[i], h.y[i]
				s.MeanPredicted += p[k]
				if y[k] {
					s.Events++
				}
			}
			s.MeanPredicted /= float64(len(rows))
			s.ObservedRate = float64(s.Events) / float64(len(rows))
			s.ECE = predictors.ECE(p, y, 10)
			if auc, lo, hi, err := predictors.DeLong(p, y, 0.95); err == nil {
				s.AUC, s.AUCLower, s.AUCUpper = auc, lo, hi
			} else {
				s.Note = "AUC not estimable: " + err.Error()
			}
			out = append(out, s)
		}
	}
	return out
}

func groupOrder(g string) string {
	switch g {
	case "sex_female":
		return "0"
	case "age_years":
		return "1"
	}
	return "2" + g
}

// thin keeps at most n points of an ROC curve, always the first and last.
func thin(r []predictors.ROCPoint, n int) []predictors.ROCPoint {
	if len(r) <= n {
		return r
	}
	out := make([]predictors.ROCPoint, 0, n+1)
	step := float64(len(r)-1) / float64(n-1)
	for i := 0; i < n; i++ {
		out = append(out, r[int(math.Round(float64(i)*step))])
	}
	return out
}

// levelKey orders the levels of a group: age bands by age, "missing" last,
// the rest alphabetically.
func levelKey(group, level string) string {
	if group == "age_years" {
		switch level {
		case "<50":
			return "0"
		case "50-64":
			return "1"
		case ">=65":
			return "2"
		}
	}
	if level == "missing" {
		return "~"
	}
	return "3" + level
}
