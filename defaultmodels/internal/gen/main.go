// Command gen builds the embedded default models (make models): it trains
// them with defaultmodels.DefaultRecipe, writes defaultmodels/data, and
// evaluates every model on a held-out simulated registry (another seed),
// writing the default models' cards and a summary of all models into the
// cards directory. Re-running it gives byte-identical files.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spinecast/spinecast/cards"
	"github.com/spinecast/spinecast/cohort"
	"github.com/spinecast/spinecast/defaultmodels"
	"github.com/spinecast/spinecast/models"
)

func main() {
	out := flag.String("out", "defaultmodels/data", "directory of the embedded artifacts and manifest")
	cardDir := flag.String("cards", "docs/cards", "directory of the model cards (empty: none)")
	cardsOnly := flag.Bool("cards-only", false, "rewrite the cards of the artifacts already in -out, without training")
	flag.Parse()
	if err := run(*out, *cardDir, *cardsOnly); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out, cardDir string, cardsOnly bool) error {
	start := time.Now()
	r := defaultmodels.DefaultRecipe()
	if cardsOnly {
		built, err := readBuilt(out)
		if err != nil {
			return err
		}
		return writeCards(built, r, cardDir, start)
	}
	built, err := defaultmodels.Build(context.Background(), r, func(s string) {
		fmt.Fprintf(os.Stderr, "%6.1fs %s\n", time.Since(start).Seconds(), s)
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	m := defaultmodels.Manifest{Notice: defaultmodels.Notice}
	for _, b := range built {
		f, err := os.Create(filepath.Join(out, b.Entry.ID+".json.gz"))
		if err != nil {
			return err
		}
		if err := defaultmodels.Encode(f, b.Artifact); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		m.Models = append(m.Models, b.Entry)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if cardDir == "" {
		return nil
	}
	return writeCards(built, r, cardDir, start)
}

// readBuilt reads the manifest and artifacts of a models directory.
func readBuilt(dir string) ([]defaultmodels.Built, error) {
	js, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m defaultmodels.Manifest
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, err
	}
	var out []defaultmodels.Built
	for _, e := range m.Models {
		f, err := os.Open(filepath.Join(dir, e.ID+".json.gz"))
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		a, err := models.Read(zr)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.ID, err)
		}
		out = append(out, defaultmodels.Built{Entry: e, Artifact: a})
	}
	return out, nil
}

func writeCards(built []defaultmodels.Built, r defaultmodels.Recipe, cardDir string, start time.Time) error {
	// Held-out registry: another seed.
	held, err := r.Cohort(context.Background(), r.HeldoutN, r.HeldoutSeed)
	if err != nil {
		return err
	}
	var csv bytes.Buffer
	if err := held.WriteCSV(&csv); err != nil {
		return err
	}
	sum := sha256.Sum256(csv.Bytes())
	var summary bytes.Buffer
	fmt.Fprintf(&summary, "# Default model cards\n\n> **%s**\n\n", cards.DemoNotice)
	fmt.Fprintf(&summary, "Written by `make models`: every embedded model evaluated on a held-out simulated registry "+
		"(`spinecast cohort --n %d --seed %d`), which it never saw; the oracle AUC is that of the true probabilities "+
		"the simulator knows. Default models (★) have a full card.\n\n", r.HeldoutN, r.HeldoutSeed)
	fmt.Fprintf(&summary, "| Model | Default | n | Events | AUC | Oracle AUC | AUC − oracle | ECE | Calibration slope | Mean \\|p − true p\\| |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, b := range built {
		o := cardOptions(b.Entry, r)
		o.DataSha256 = hex.EncodeToString(sum[:])
		c, err := cards.Build(b.Artifact, bytes.NewReader(csv.Bytes()), &o)
		if err != nil {
			return fmt.Errorf("card of %s: %w", b.Entry.ID, err)
		}
		star, slope := "", "–"
		if b.Entry.Default {
			star = "★"
			if err := c.WriteDir(filepath.Join(cardDir, b.Entry.ID)); err != nil {
				return err
			}
		}
		if c.Calibration.Slope != nil {
			slope = fmt.Sprintf("%.3f", *c.Calibration.Slope)
		}
		name := b.Entry.ID
		if b.Entry.Default {
			name = fmt.Sprintf("[%s](%s/card.md)", b.Entry.ID, b.Entry.ID)
		}
		fmt.Fprintf(&summary, "| %s | %s | %d | %d | %.3f | %.3f | %+.3f | %.3f | %s | %.4f |\n", name, star, c.EvaluationData.N,
			c.EvaluationData.Events, c.Discrimination.AUC, c.Oracle.AUC, c.Discrimination.AUC-c.Oracle.AUC, c.Calibration.ECE, slope, c.Oracle.MeanAbsoluteError)
		fmt.Fprintf(os.Stderr, "%6.1fs card %s\n", time.Since(start).Seconds(), b.Entry.ID)
	}
	return os.WriteFile(filepath.Join(cardDir, "README.md"), summary.Bytes(), 0o644)
}

// CardOptions are the card options of a default model: what its artifact
// does not record about the simulated data.
func cardOptions(e defaultmodels.Entry, r defaultmodels.Recipe) cards.Options {
	o := cards.Options{
		ModelID:        e.ID,
		DataFile:       fmt.Sprintf("simulated held-out registry: spinecast cohort --n %d --seed %d", r.HeldoutN, r.HeldoutSeed),
		TrainingSource: fmt.Sprintf("simulated spine registry (package cohort, data-generating process in docs/cohort.md): spinecast cohort --n %d --seed %d", r.TrainN, r.TrainSeed),
		TrainingDates:  "simulated index dates " + cohort.DefaultParams().IndexStart + " plus up to " + fmt.Sprint(cohort.DefaultParams().IndexDays) + " days",
		Seed:           r.HeldoutSeed,
	}
	if slices.Contains(r.ImagingOutcomes, e.OutcomeID) {
		o.TrainingSource += "; MRIs simulated for its patients (as by --images), the imaging block computed from them"
		o.DataFile += "; MRIs simulated for its patients"
	}
	if e.OutcomeID == "tfesi_response_2m" {
		o.Groups = []string{"dx_disc_herniation"}
	} else {
		o.Groups = []string{"proc_fusion"}
	}
	return o
}
