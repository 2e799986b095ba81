package defaultmodels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spinecast/spinecast/cohort"
	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/outcomes"
)

// Notice is written into every default artifact and carried by every output
// that shows one of their predictions.
const Notice = "Demonstration model trained on simulated data (spinecast cohort): not for clinical use, not a medical device."

// ModelVersion is the version of the default model set.
const ModelVersion = "1.1.0"

// Recipe is how the default models are built: everything `make models`
// depends on, in one place, so that re-running it gives identical bytes.
type Recipe struct {
	TrainN    int
	TrainSeed uint64
	// HeldoutN and HeldoutSeed give the held-out registry of the cards.
	HeldoutN    int
	HeldoutSeed uint64
	// Created is the artifacts' creation time (fixed for reproducibility).
	Created time.Time
	// Training settings per algorithm (Seed is set per model).
	Settings map[string]models.TrainSettings
	// Workers is the number of outcomes trained at once (0: GOMAXPROCS).
	Workers int
	// Outcomes restricts the build to these outcome ids (nil: every
	// simulated outcome).
	Outcomes []string
	// ImagingOutcomes are the outcomes whose patients get simulated MRIs,
	// so that their models see the imaging block (radiomics + embedding;
	// imaging.SchemaExtractor with the plain-Go encoder). A patient
	// without an MRI (a fifth of them) has the block missing, which the
	// models impute with missing indicators, as for any input.
	ImagingOutcomes []string
	// ParsimonyMargin: the elastic net is the default unless another
	// algorithm's cross-validated calibrated log loss is lower by more than
	// this.
	ParsimonyMargin float64
}

// Cohort simulates a registry of n patients as the recipe trains and
// evaluates on: cohort.Generate, plus simulated MRIs for the patients with
// an observed ImagingOutcomes outcome (a patient's image depends only on
// the seed and the patient, so who else is imaged changes nothing).
func (r Recipe) Cohort(ctx context.Context, n int, seed uint64) (*cohort.Cohort, error) {
	co, err := cohort.Generate(n, seed, nil)
	if err != nil {
		return nil, err
	}
	var ks []int
	for k, id := range co.OutcomeIDs {
		if slices.Contains(r.ImagingOutcomes, id) && (r.Outcomes == nil || slices.Contains(r.Outcomes, id)) {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return co, nil
	}
	only := func(p *cohort.Patient) bool {
		for _, k := range ks {
			if p.Observed[k] >= 0 {
				return true
			}
		}
		return false
	}
	if err := co.AddImages(ctx, &cohort.ImageOptions{Only: only}); err != nil {
		return nil, err
	}
	return co, nil
}

// dataDescription names the simulated registry a model was trained or
// evaluated on.
func (r Recipe) dataDescription(what string, n int, seed uint64) string {
	s := fmt.Sprintf("%s: spinecast cohort --n %d --seed %d (registry.csv)", what, n, seed)
	if len(r.ImagingOutcomes) > 0 {
		s += "; MRIs simulated (as by --images) for the patients of " + strings.Join(r.ImagingOutcomes, ", ")
	}
	return s
}

// Algorithms in build order.
var Algorithms = []string{models.ElasticNet, models.RandomForest, models.MLP}

// DefaultRecipe returns the recipe of the committed models.
func DefaultRecipe() Recipe {
	return Recipe{
		TrainN: 40000, TrainSeed: 20261129, HeldoutN: 20000, HeldoutSeed: 20261130,
		// TFESI response depends on the imaging phenotype most (docs/cohort.md).
		ImagingOutcomes: []string{"tfesi_response_2m"},
		Created:         time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC),
		Settings: map[string]models.TrainSettings{
			models.ElasticNet:   {Algorithm: models.ElasticNet, Alpha: 0.5, Bootstrap: 10},
			models.RandomForest: {Algorithm: models.RandomForest, Trees: 60, MaxDepth: 7, MinLeaf: 40},
			models.MLP:          {Algorithm: models.MLP, Hidden: []int{8}, Epochs: 60, Bootstrap: 5},
		},
		ParsimonyMargin: 0.001,
	}
}

// ModelID is the id of the default model for an outcome and algorithm.
func ModelID(outcomeID, algorithm string) string { return outcomeID + "." + algorithm }

// FeatureColumns returns the schema columns a model of outcome k is
// trained on: every non-indicator schema column observed in at least one
// training row and not constant there (the models add their own missing
// indicators).
func FeatureColumns(co *cohort.Cohort, k int) []string {
	s := features.DefaultSchema()
	var out []string
	for j, f := range s.Features {
		if f.Type == "indicator" {
			continue
		}
		first, varies, seen := math.NaN(), false, false
		for i := range co.Patients {
			p := &co.Patients[i]
			if p.Observed[k] < 0 {
				continue
			}
			v := p.Features[j]
			if math.IsNaN(v) {
				varies = varies || seen // missing next to observed: informative
				continue
			}
			if !seen {
				first, seen = v, true
			} else if v != first {
				varies = true
			}
		}
		if seen && varies {
			out = append(out, f.Name)
		}
	}
	return out
}

// Table builds the training table of outcome k: the rows where it was
// observed, with the given feature columns.
func Table(co *cohort.Cohort, k int, cols []string) *models.Table {
	s := features.DefaultSchema()
	idx := make([]int, len(cols))
	for j, c := range cols {
		idx[j] = s.Index(c)
	}
	t := &models.Table{Target: co.OutcomeIDs[k], Positive: "1", Features: cols, Missing: make([]int, len(cols))}
	for i := range co.Patients {
		p := &co.Patients[i]
		if p.Observed[k] < 0 {
			continue
		}
		row := make([]float64, len(cols))
		for j, c := range idx {
			row[j] = p.Features[c]
			if math.IsNaN(row[j]) {
				t.Missing[j]++
			}
		}
		t.X = append(t.X, row)
		t.Y = append(t.Y, p.Observed[k] == 1)
	}
	return t
}

// Built is one trained default model.
type Built struct {
	Entry    Entry
	Artifact *models.Artifact
}

// Build trains an elastic net, a random forest and an MLP for every
// simulated outcome on a simulated registry and marks one default per
// outcome. progress, when set, is told about each model.
func Build(ctx context.Context, r Recipe, progress func(string)) ([]Built, error) {
	co, err := r.Cohort(ctx, r.TrainN, r.TrainSeed)
	if err != nil {
		return nil, fmt.Errorf("build default models: %w", err)
	}
	var csv bytes.Buffer
	if err := co.WriteCSV(&csv); err != nil {
		return nil, fmt.Errorf("build default models: %w", err)
	}
	sum := sha256.Sum256(csv.Bytes())
	defs := outcomes.Default()
	var jobs []int
	for k, id := range co.OutcomeIDs {
		if r.Outcomes == nil || slices.Contains(r.Outcomes, id) {
			jobs = append(jobs, k)
		}
	}
	// Outcomes are trained in parallel; each model depends only on its
	// outcome, algorithm and seed, so the result does not depend on the
	// schedule.
	res := make([][]Built, len(jobs))
	errs := make([]error, len(jobs))
	workers := r.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, workers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for j, k := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res[j], errs[j] = buildOutcome(ctx, r, co, k, defs, hex.EncodeToString(sum[:]), func(msg string) {
				if progress != nil {
					mu.Lock()
					progress(msg)
					mu.Unlock()
				}
			})
		}()
	}
	wg.Wait()
	var out []Built
	for j := range jobs {
		if errs[j] != nil {
			return nil, fmt.Errorf("build default models: %w", errs[j])
		}
		out = append(out, res[j]...)
	}
	return out, nil
}

func buildOutcome(ctx context.Context, r Recipe, co *cohort.Cohort, k int, defs *outcomes.Set, dataSum string, progress func(string)) ([]Built, error) {
	id := co.OutcomeIDs[k]
	def, ok := defs.Get(id)
	if !ok {
		return nil, fmt.Errorf("no definition %s", id)
	}
	t := Table(co, k, FeatureColumns(co, k))
	var out []Built
	for ai, alg := range Algorithms {
		s := r.Settings[alg]
		s.Seed = r.TrainSeed + uint64(100*k+ai)
		s.Now = func() time.Time { return r.Created }
		s.Workers = 1
		s.Outcome = &models.OutcomeRef{ID: def.ID, Version: def.Version}
		a, err := models.Train(ctx, t, s)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", id, alg, err)
		}
		a.Demonstration = true
		a.Notice = Notice
		a.TrainingData.File = r.dataDescription("simulated registry", r.TrainN, r.TrainSeed)
		a.TrainingData.Sha256 = dataSum
		if err := a.Seal(); err != nil {
			return nil, err
		}
		out = append(out, Built{Entry: Entry{ID: ModelID(id, alg), OutcomeID: id, OutcomeVersion: def.Version,
			Algorithm: alg, Version: ModelVersion, Sha256: a.Sha256}, Artifact: a})
		m := cvMetrics(a)
		progress(fmt.Sprintf("%s: %d rows, %d events, CV AUC %.3f, log loss %.4f", ModelID(id, alg), a.TrainingData.Rows, a.TrainingData.Events, m.AUC, m.LogLoss))
	}
	// The default: the elastic net unless another algorithm's
	// cross-validated calibrated log loss is lower by the margin.
	best := 0
	for i := 1; i < len(out); i++ {
		if cvMetrics(out[i].Artifact).LogLoss < cvMetrics(out[best].Artifact).LogLoss-r.ParsimonyMargin {
			best = i
		}
	}
	out[best].Entry.Default = true
	return out, nil
}

func cvMetrics(a *models.Artifact) struct{ AUC, LogLoss float64 } {
	m := a.CV.Uncalibrated
	if a.CV.Calibrated != nil {
		m = a.CV.Calibrated
	}
	return struct{ AUC, LogLoss float64 }{m.AUC, m.LogLoss}
}
