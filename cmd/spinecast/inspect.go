package main

import (
	"encoding/json"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/defaultmodels"
	"github.com/spinecast/spinecast/models"
)

// inspection is what `spinecast inspect` prints.
type inspection struct {
	Algorithm       string                 `json:"algorithm"`
	Features        []string               `json:"features"`
	Inputs          []string               `json:"inputs"`
	Target          string                 `json:"target"`
	Positive        string                 `json:"positive"`
	Outcome         *models.OutcomeRef     `json:"outcome,omitempty"`
	Alpha           *float64               `json:"alpha,omitempty"`
	Lambda          *float64               `json:"lambda,omitempty"`
	Intercept       *float64               `json:"intercept,omitempty"`
	Coefficients    map[string]float64     `json:"coefficients,omitempty"`
	Importance      map[string]float64     `json:"impurity_importance,omitempty"`
	Hyperparameters models.Hyperparameters `json:"hyperparameters"`
	CV              models.CVSummary       `json:"cross_validation"`
	Calibration     models.Calibration     `json:"calibration"`
	Uncertainty     string                 `json:"uncertainty"`
	TrainingData    models.TrainingData    `json:"training_data"`
	Created         string                 `json:"created"`
	Notice          string                 `json:"notice,omitempty"`
	Sha256          string                 `json:"sha256"`
}

func inspectCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect MODEL.json",
		Short: "Print a model's algorithm, features, parameters and cross-validated metrics as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := defaultmodels.Resolve(args[0])
			if err != nil {
				return err
			}
			in := inspection{
				Algorithm: a.Algorithm, Inputs: a.InputNames(), Target: a.Target, Positive: a.Positive, Outcome: a.Outcome,
				Hyperparameters: a.Hyperparameters, CV: a.CV, Calibration: a.Calibration,
				Uncertainty: a.Uncertainty.Method, TrainingData: a.TrainingData,
				Created: a.Created.Format("2006-01-02T15:04:05Z07:00"), Notice: a.Notice, Sha256: a.Sha256,
			}
			for _, f := range a.Features {
				in.Features = append(in.Features, f.Name)
			}
			if m := a.Model.ElasticNet; m != nil {
				in.Alpha, in.Lambda, in.Intercept = &m.Alpha, &m.Lambda, &m.Intercept
				in.Coefficients = map[string]float64{}
				for j, name := range in.Inputs {
					in.Coefficients[name] = m.Coef[j]
				}
			}
			if m := a.Model.Forest; m != nil {
				in.Importance = map[string]float64{}
				for j, v := range m.ImpurityImportance() {
					in.Importance[in.Inputs[j]] = v
				}
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(in)
		},
	}
}
