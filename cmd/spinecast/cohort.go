package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/cohort"
)

func cohortCmd(e *env) *cobra.Command {
	var (
		n    int
		seed uint64
		out  string
	)
	c := &cobra.Command{
		Use:   "cohort --n N --seed S --out DIR",
		Short: "Simulate a spine registry with known true outcome probabilities (CSV and FHIR Bulk export)",
		Long: "cohort writes DIR/registry.csv (patient_id, the feature schema's columns, each outcome's observed value\n" +
			"1/0 or empty where it does not apply, and its true probability in true_p_<outcome>), DIR/index_dates.csv\n" +
			"(each patient's consultation date, the index date of the features) and a FHIR R4 Bulk Data export of the\n" +
			"same patients (DIR/<Type>.ndjson). The data are simulated (docs/cohort.md): for testing and demonstration,\n" +
			"not for clinical conclusions. The same --n and --seed give the same files.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("cohort: --out is required")
			}
			if n < 1 {
				return fmt.Errorf("cohort: --n must be ≥ 1, got %d", n)
			}
			co, err := cohort.Generate(n, seed, nil)
			if err != nil {
				return fmt.Errorf("cohort: %w", err)
			}
			if err := co.WriteDir(out); err != nil {
				return fmt.Errorf("cohort: %w", err)
			}
			fmt.Fprintf(e.stderr, "simulated %d patients (seed %d): wrote %s, %s and the FHIR export (%d resource types) in %s\n",
				n, seed, "registry.csv", "index_dates.csv", len(cohort.ResourceTypes), filepath.Clean(out))
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&n, "n", 1000, "number of patients")
	f.Uint64Var(&seed, "seed", 1, "random seed")
	f.StringVar(&out, "out", "", "output directory (created if needed)")
	return c
}
