package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/defaultmodels"
	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/predictors"
)

func evaluateCmd(e *env) *cobra.Command {
	var modelPath, data string
	c := &cobra.Command{
		Use:   "evaluate --model MODEL.json --data FILE.csv",
		Short: "Print the model's discrimination and calibration on labelled data as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelPath == "" || data == "" {
				return fmt.Errorf("evaluate: --model and --data are required")
			}
			a, err := defaultmodels.Resolve(modelPath)
			if err != nil {
				return fmt.Errorf("evaluate: %w", err)
			}
			sc, err := models.NewScorer(a)
			if err != nil {
				return fmt.Errorf("evaluate: %w", err)
			}
			in, done, err := openData(e, data, "evaluating")
			if err != nil {
				return fmt.Errorf("evaluate: %w", err)
			}
			defer done()
			src, err := newRowSource(in, a, "", true)
			if err != nil {
				return fmt.Errorf("evaluate: %s: %w", data, err)
			}
			var probs []float64
			var labels []bool
			warn := newWarnings(len(a.Features))
			rows, err := scoreAll(src, sc, false, func(_ string, y bool, p *models.Prediction) error {
				warn.add(p)
				probs = append(probs, p.Probability)
				labels = append(labels, y)
				return nil
			})
			if err != nil {
				return fmt.Errorf("evaluate: %s: %w", data, err)
			}
			if rows == 0 {
				return fmt.Errorf("evaluate: %s: the file has a header but no data rows", data)
			}
			m, err := predictors.Evaluate(probs, labels)
			if err != nil {
				return fmt.Errorf("evaluate: %s: %w", data, err)
			}
			warn.print(e.stderr, a, rows)
			if src.noTarget > 0 {
				fmt.Fprintf(e.stderr, "note: %d rows with an empty %q (outcome not applicable) were left out\n", src.noTarget, a.Target)
			}
			if a.Notice != "" {
				fmt.Fprintln(e.stderr, "note: "+a.Notice)
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(m)
		},
	}
	c.Flags().StringVar(&modelPath, "model", "", "model artifact (JSON)")
	c.Flags().StringVar(&data, "data", "", "labelled data (CSV with the model's features and target)")
	return c
}
