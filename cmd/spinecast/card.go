package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/cards"
	"github.com/spinecast/spinecast/defaultmodels"
)

func cardCmd(e *env) *cobra.Command {
	var (
		data, out, source, dates, use, users, id string
		groups                                   []string
		seed                                     uint64
	)
	c := &cobra.Command{
		Use:   "card MODEL.json --data HELDOUT.csv --out DIR",
		Short: "Write a TRIPOD+AI model card (card.json, card.md, calibration.png, roc.png) from held-out data",
		Long: "card evaluates the model (a file or an embedded model id) on held-out labelled data and writes its model card:\n" +
			"intended use, outcome definition, data, predictors, missing-data handling, algorithm, discrimination (AUC with\n" +
			"DeLong CI), calibration (intercept, slope, ECE, curve with 95% band), performance by sex, age band and every\n" +
			"group_* or --group column, limitations, version and sha256. Rows whose outcome is empty are skipped; a\n" +
			"true_p_<outcome> column (a simulated registry) adds the oracle AUC and the error against the true probabilities.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if data == "" || out == "" {
				return fmt.Errorf("card: --data and --out are required")
			}
			a, err := defaultmodels.Resolve(args[0])
			if err != nil {
				return fmt.Errorf("card: %w", err)
			}
			raw, err := os.ReadFile(data)
			if err != nil {
				return fmt.Errorf("card: %w", err)
			}
			sum := sha256.Sum256(raw)
			o := &cards.Options{ModelID: id, DataFile: filepath.Base(data), DataSha256: hex.EncodeToString(sum[:]),
				TrainingSource: source, TrainingDates: dates, IntendedUse: use, IntendedUsers: users, Groups: groups, Seed: seed}
			if o.ModelID == "" {
				if _, statErr := os.Stat(args[0]); statErr != nil {
					o.ModelID = args[0] // an embedded id
				}
			}
			c, err := cards.Build(a, bytes.NewReader(raw), o)
			if err != nil {
				return fmt.Errorf("card: %s: %w", data, err)
			}
			if err := c.WriteDir(out); err != nil {
				return fmt.Errorf("card: %w", err)
			}
			fmt.Fprintf(e.stderr, "card of %s on %d rows (%d events): AUC %.3f (%.3f–%.3f), ECE %.3f; wrote %s\n",
				c.Model.ID, c.EvaluationData.N, c.EvaluationData.Events, c.Discrimination.AUC, c.Discrimination.AUCLower,
				c.Discrimination.AUCUpper, c.Calibration.ECE, out)
			if a.Notice != "" {
				fmt.Fprintln(e.stderr, "note: "+a.Notice)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&data, "data", "", "held-out CSV: the model's feature columns and its outcome column")
	f.StringVar(&out, "out", "", "directory to write the card into")
	f.StringVar(&id, "id", "", "model id shown on the card (default: the embedded id, or outcome.algorithm)")
	f.StringVar(&source, "training-source", "", "describe the training data (not recorded in the artifact)")
	f.StringVar(&dates, "training-dates", "", "the training data's date range")
	f.StringVar(&use, "intended-use", "", "intended use statement")
	f.StringVar(&users, "intended-users", "", "intended users")
	f.StringSliceVar(&groups, "group", nil, "extra subgroup column (repeatable)")
	f.Uint64Var(&seed, "seed", 1, "seed of the bootstrap CI of the ECE")
	return c
}
