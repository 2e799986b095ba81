package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/outcomes"
)

func trainCmd(e *env) *cobra.Command {
	var (
		data, target, positive, algorithm, out, foldsFile, calibration, features, hidden, idColumn, outcome string
		alpha, lambda                                                                                       float64
		folds, trees, mtry, minLeaf, maxDepth, epochs, bootstrap                                            int
		seed                                                                                                uint64
	)
	c := &cobra.Command{
		Use:   "train --data FILE.csv --target COL --positive VALUE --algorithm elasticnet|random-forest|mlp --out MODEL.json",
		Short: "Train a model on a CSV file and write its artifact",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, req := range []struct{ name, v string }{{"--data", data}, {"--target", target}, {"--positive", positive}, {"--algorithm", algorithm}, {"--out", out}} {
				if req.v == "" {
					return fmt.Errorf("train: %s is required", req.name)
				}
			}
			raw, err := os.ReadFile(data)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			var feats []string
			if features != "" {
				for _, f := range strings.Split(features, ",") {
					if f = strings.TrimSpace(f); f != "" {
						feats = append(feats, f)
					}
				}
			}
			var exclude []string
			if idColumn != "" {
				exclude = append(exclude, idColumn)
			}
			t, err := models.ReadTable(bytes.NewReader(raw), target, positive, feats, exclude...)
			if err != nil {
				return fmt.Errorf("train: %s: %w", data, err)
			}
			s := models.TrainSettings{
				Algorithm: algorithm, Alpha: alpha, Folds: folds, Trees: trees, Mtry: mtry, MinLeaf: minLeaf,
				MaxDepth: maxDepth, Epochs: epochs, Seed: seed, Calibration: calibration, Bootstrap: bootstrap,
			}
			if outcome != "" {
				if s.Outcome, err = outcomeRef(outcome); err != nil {
					return fmt.Errorf("train: %w", err)
				}
			}
			if cmd.Flags().Changed("lambda") {
				if !(lambda >= 0) {
					return fmt.Errorf("train: --lambda must be ≥ 0, got %v", lambda)
				}
				s.Lambda = &lambda
			}
			if !(alpha >= 0 && alpha <= 1) {
				return fmt.Errorf("train: --alpha must lie in [0, 1], got %v", alpha)
			}
			for _, v := range []struct {
				name string
				v    int
			}{{"--trees", trees}, {"--mtry", mtry}, {"--min-leaf", minLeaf}, {"--max-depth", maxDepth}, {"--epochs", epochs}, {"--folds", folds}} {
				if v.v < 0 {
					return fmt.Errorf("train: %s must be ≥ 0, got %d", v.name, v.v)
				}
			}
			if hidden != "" {
				for _, h := range strings.Split(hidden, ",") {
					k, err := strconv.Atoi(strings.TrimSpace(h))
					if err != nil || k < 1 {
						return fmt.Errorf("train: --hidden %q: want 1 to 3 positive layer sizes like 16,8", hidden)
					}
					s.Hidden = append(s.Hidden, k)
				}
				if len(s.Hidden) > 3 {
					return fmt.Errorf("train: --hidden %q: at most 3 hidden layers", hidden)
				}
			}
			if foldsFile != "" {
				ids, err := readFoldsFile(foldsFile, len(t.Y))
				if err != nil {
					return fmt.Errorf("train: %w", err)
				}
				s.FoldIDs, s.FoldsSource = ids, filepath.Base(foldsFile)
			}
			if e.interactive {
				bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("training "+algorithm),
					progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
				s.Progress = func(done, total int) {
					bar.ChangeMax(total)
					_ = bar.Set(done)
				}
				defer bar.Finish()
			}
			if t.NoTarget > 0 {
				fmt.Fprintf(e.stderr, "note: %d rows with an empty %q (outcome not applicable) were left out\n", t.NoTarget, target)
			}
			a, err := models.Train(cmd.Context(), t, s)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			sum := sha256.Sum256(raw)
			a.TrainingData.File = filepath.Base(data)
			a.TrainingData.Sha256 = hex.EncodeToString(sum[:])
			if err := a.Save(out); err != nil {
				return fmt.Errorf("train: %w", err)
			}
			m := a.CV.Uncalibrated
			if a.CV.Calibrated != nil {
				m = a.CV.Calibrated
			}
			fmt.Fprintf(e.stderr, "trained %s on %d rows (%d events): %d-fold CV AUC %.3f (95%% CI %.3f–%.3f), Brier %.4f; wrote %s\n",
				algorithm, a.TrainingData.Rows, a.TrainingData.Events, a.CV.Folds, m.AUC, m.AUCLower, m.AUCUpper, m.Brier, out)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&data, "data", "", "training data (CSV with a header row)")
	f.StringVar(&target, "target", "", "outcome column")
	f.StringVar(&positive, "positive", "", "value of the outcome column that counts as an event")
	f.StringVar(&algorithm, "algorithm", "", "elasticnet, random-forest or mlp")
	f.StringVar(&features, "features", "", "comma-separated feature columns (default: every column but the target and --id-column)")
	f.StringVar(&idColumn, "id-column", "", "identifier column to leave out of the features (e.g. patient_id)")
	f.Float64Var(&alpha, "alpha", 0.5, "elastic net mixing: 1 lasso, 0 ridge")
	f.Float64Var(&lambda, "lambda", 0, "elastic net penalty (default: chosen by cross-validation, λ.min by deviance)")
	f.IntVar(&folds, "folds", 5, "number of stratified cross-validation folds")
	f.StringVar(&foldsFile, "folds-file", "", "CSV with columns row,fold (rows numbered from 1 in file order)")
	f.IntVar(&trees, "trees", 500, "random forest: number of trees")
	f.IntVar(&mtry, "mtry", 0, "random forest: features tried per split (default ⌊√p⌋)")
	f.IntVar(&minLeaf, "min-leaf", 1, "random forest: minimum samples in a leaf")
	f.IntVar(&maxDepth, "max-depth", 0, "random forest: maximum depth (0: unlimited)")
	f.StringVar(&hidden, "hidden", "16", "mlp: hidden layer sizes, e.g. 16,8")
	f.IntVar(&epochs, "epochs", 300, "mlp: maximum epochs (early stopping on a validation split)")
	f.IntVar(&bootstrap, "bootstrap", 0, "bootstrap refits for the intervals of the elastic net (default 50) and mlp (default 20); -1: none")
	f.Uint64Var(&seed, "seed", 42, "random seed")
	f.StringVar(&calibration, "calibration", "platt", "platt, isotonic or none (fitted on out-of-fold predictions)")
	f.StringVar(&out, "out", "", "model artifact to write (JSON)")
	f.StringVar(&outcome, "outcome", "", "outcome definition the target column follows, ID or ID@VERSION (spinecast models list shows them); recorded in the artifact")
	return c
}

// readFoldsFile reads a row,fold CSV covering rows 1..n exactly once.
func readFoldsFile(path string, n int) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rr, err := models.NewRowReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ri, fi := rr.Index("row"), rr.Index("fold")
	if ri < 0 || fi < 0 {
		return nil, fmt.Errorf("%s: want columns row and fold, found %s", path, strings.Join(rr.Header(), ", "))
	}
	ids := make([]int, n)
	seen := make([]bool, n)
	for {
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		r, err := strconv.Atoi(strings.TrimSpace(rec[ri]))
		if err != nil || r < 1 || r > n {
			return nil, fmt.Errorf("%s: %w", path, rr.CellErr(ri, fmt.Errorf("%q is not a data row number in 1..%d", rec[ri], n)))
		}
		if seen[r-1] {
			return nil, fmt.Errorf("%s: %w", path, rr.CellErr(ri, fmt.Errorf("row %d is listed twice", r)))
		}
		k, err := strconv.Atoi(strings.TrimSpace(rec[fi]))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, rr.CellErr(fi, fmt.Errorf("%q is not an integer fold id", rec[fi])))
		}
		seen[r-1], ids[r-1] = true, k
	}
	for i, s := range seen {
		if !s {
			return nil, fmt.Errorf("%s: data row %d has no fold", path, i+1)
		}
	}
	return ids, nil
}

// outcomeRef resolves "ID" or "ID@VERSION" against the embedded outcome
// definitions: the id must exist and a given version must be this build's.
func outcomeRef(s string) (*models.OutcomeRef, error) {
	id, version, hasVersion := strings.Cut(s, "@")
	def, ok := outcomes.Default().Get(id)
	if !ok {
		var ids []string
		for _, d := range outcomes.Default().Outcomes {
			ids = append(ids, d.ID)
		}
		return nil, fmt.Errorf("--outcome %q: no such outcome definition (known: %s)", id, strings.Join(ids, ", "))
	}
	if hasVersion && version != def.Version {
		return nil, fmt.Errorf("--outcome %s: this build defines version %s of %s, not %q", s, def.Version, id, version)
	}
	return &models.OutcomeRef{ID: def.ID, Version: def.Version}, nil
}
