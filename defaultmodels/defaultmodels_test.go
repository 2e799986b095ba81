package defaultmodels_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/cohort"
	"github.com/spinecast/spinecast/defaultmodels"
	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/predictors"
)

func TestEmbeddedModels(t *testing.T) {
	list := defaultmodels.List()
	if len(list) == 0 {
		t.Fatal("no embedded models: run make models")
	}
	defaults := map[string]int{}
	algs := map[string]int{}
	for _, e := range list {
		a, err := defaultmodels.Load(e.ID)
		if err != nil {
			t.Fatalf("%s: %v", e.ID, err)
		}
		if a.Target != e.OutcomeID || a.Algorithm != e.Algorithm || a.Sha256 != e.Sha256 {
			t.Errorf("%s: artifact target %s algorithm %s does not match the manifest", e.ID, a.Target, a.Algorithm)
		}
		if a.Outcome == nil || a.Outcome.ID != e.OutcomeID || a.Outcome.Version != e.OutcomeVersion {
			t.Errorf("%s: artifact outcome %+v, manifest %s@%s", e.ID, a.Outcome, e.OutcomeID, e.OutcomeVersion)
		}
		if !a.Demonstration || !strings.Contains(a.Notice, "not for clinical use") {
			t.Errorf("%s: not marked as a demonstration model (%q)", e.ID, a.Notice)
		}
		if e.Default {
			defaults[e.OutcomeID]++
		}
		algs[e.OutcomeID]++
	}
	for _, id := range cohort.Outcomes() {
		if defaults[id] != 1 || algs[id] != 3 {
			t.Errorf("outcome %s: %d defaults, %d models; want 1 and 3", id, defaults[id], algs[id])
		}
		if e, ok := defaultmodels.Default(id); !ok || e.OutcomeID != id {
			t.Errorf("Default(%s) = %+v, %v", id, e, ok)
		}
	}
}

func TestAll(t *testing.T) {
	arts, defaults, err := defaultmodels.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != len(defaultmodels.List()) || len(defaults) != len(cohort.Outcomes()) {
		t.Errorf("All: %d artifacts, %d defaults", len(arts), len(defaults))
	}
	for outcome, id := range defaults {
		if a := arts[id]; a == nil || a.Target != outcome {
			t.Errorf("default %s of %s not loaded or for another outcome", id, outcome)
		}
	}
}

func TestResolve(t *testing.T) {
	list := defaultmodels.List()
	if len(list) == 0 {
		t.Skip("no embedded models")
	}
	a, err := defaultmodels.Resolve(list[0].ID)
	if err != nil || a.Sha256 != list[0].Sha256 {
		t.Fatalf("Resolve(embedded id) = %v", err)
	}
	// A file path wins over an embedded id.
	path := filepath.Join(t.TempDir(), "m.json")
	if err := a.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := defaultmodels.Resolve(path)
	if err != nil || b.Sha256 != a.Sha256 {
		t.Fatalf("Resolve(path) = %v", err)
	}
	if _, err := defaultmodels.Resolve("no_such_model"); err == nil || !strings.Contains(err.Error(), "not a file and not an embedded model") {
		t.Errorf("Resolve(unknown) = %v", err)
	}
	if _, err := defaultmodels.Load("no_such_model"); !errors.Is(err, defaultmodels.ErrUnknown) {
		t.Errorf("Load(unknown) = %v", err)
	}
}

// TestHeldOutAgainstTruth is the issue's evidence: on a fresh simulated
// registry (a seed used neither for training nor for the committed cards)
// each default model's AUC is within 0.02 of the oracle AUC (that of the
// true probabilities) and its ECE against the observed outcomes is at most
// 0.03; the mean absolute error against the true probabilities is
// reported.
func TestHeldOutAgainstTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("scores 20,000 simulated patients with every default model")
	}
	const aucTol, eceMax = 0.02, 0.03
	r := defaultmodels.DefaultRecipe()
	if raceEnabled {
		// Simulating thousands of MRIs under the race detector takes many
		// minutes: the imaging outcomes are checked by the plain pass of
		// `make test` (go test -run TestHeldOutAgainstTruth ./defaultmodels/).
		r.ImagingOutcomes = nil
	}
	co, err := r.Cohort(context.Background(), 20000, 777)
	if err != nil {
		t.Fatal(err)
	}
	schema := features.DefaultSchema()
	for k, id := range co.OutcomeIDs {
		e, ok := defaultmodels.Default(id)
		if !ok {
			t.Errorf("%s: no default model", id)
			continue
		}
		if raceEnabled && slices.Contains(defaultmodels.DefaultRecipe().ImagingOutcomes, id) {
			t.Logf("%s: uses the imaging block; checked without -race only", id)
			continue
		}
		a, err := defaultmodels.Load(e.ID)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := models.NewScorer(a)
		if err != nil {
			t.Fatal(err)
		}
		idx := make([]int, len(a.Features))
		for j, f := range a.Features {
			idx[j] = schema.Index(f.Name)
		}
		var p, truth []float64
		var y []bool
		raw := make([]float64, len(idx))
		for i := range co.Patients {
			pt := &co.Patients[i]
			if pt.Observed[k] < 0 {
				continue
			}
			for j, c := range idx {
				raw[j] = pt.Features[c]
			}
			pr, err := sc.Score(raw, false)
			if err != nil {
				t.Fatal(err)
			}
			p = append(p, pr.Probability)
			truth = append(truth, pt.TrueP[k])
			y = append(y, pt.Observed[k] == 1)
		}
		auc, err := predictors.AUC(p, y, nil)
		if err != nil {
			t.Fatal(err)
		}
		oracle, err := predictors.AUC(truth, y, nil)
		if err != nil {
			t.Fatal(err)
		}
		ece := predictors.ECE(p, y, 10)
		mae := 0.0
		for i := range p {
			mae += math.Abs(p[i] - truth[i])
		}
		mae /= float64(len(p))
		t.Logf("%-36s n=%5d AUC %.3f oracle %.3f (Δ %+.3f) ECE %.4f mean|p−true p| %.4f", e.ID, len(y), auc, oracle, auc-oracle, ece, mae)
		switch {
		case slices.Contains(r.ImagingOutcomes, id):
			// The truth of an imaging outcome depends on the latent imaging
			// phenotype, which no model sees: the images are noisy proxies of
			// it (r ≈ −0.77 at best, docs/cohort.md), so the oracle AUC is out
			// of reach by construction. The reference is instead what a linear
			// model of the same inputs can show at most on these patients: an
			// elastic net fitted in-sample on them (λ = 1e-4; optimistic).
			ref := inSampleAUC(t, co, k, a)
			t.Logf("%-36s in-sample elastic-net reference AUC %.3f (Δ %+.3f)", e.ID, ref, auc-ref)
			if ref-auc > aucTol {
				t.Errorf("%s: AUC %.4f, in-sample reference %.4f: more than %.2f below", e.ID, auc, ref, aucTol)
			}
		case math.Abs(auc-oracle) > aucTol:
			t.Errorf("%s: AUC %.4f, oracle AUC %.4f: differ by more than %.2f", e.ID, auc, oracle, aucTol)
		}
		if ece > eceMax {
			t.Errorf("%s: ECE %.4f > %.2f", e.ID, ece, eceMax)
		}
	}
}

// inSampleAUC fits an elastic net (α = 0.5, λ = 1e-4, no calibration) on
// outcome k's rows of co with the inputs of artifact a, and returns the
// AUC of its predictions on those same rows.
func inSampleAUC(t *testing.T, co *cohort.Cohort, k int, a *models.Artifact) float64 {
	t.Helper()
	cols := make([]string, len(a.Features))
	for j, f := range a.Features {
		cols[j] = f.Name
	}
	tab := defaultmodels.Table(co, k, cols)
	lambda := 1e-4
	fit, err := models.Train(context.Background(), tab, models.TrainSettings{Algorithm: models.ElasticNet, Alpha: 0.5,
		Lambda: &lambda, Folds: 2, Calibration: models.CalibrationNone, Bootstrap: -1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := models.NewScorer(fit)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, len(tab.X))
	for i, row := range tab.X {
		pr, err := sc.Score(row, false)
		if err != nil {
			t.Fatal(err)
		}
		p[i] = pr.Probability
	}
	auc, err := predictors.AUC(p, tab.Y, nil)
	if err != nil {
		t.Fatal(err)
	}
	return auc
}

// TestBuildReproducible builds a small recipe twice: the encoded artifacts
// must be byte-identical (what makes `make models` reproducible).
func TestBuildReproducible(t *testing.T) {
	r := defaultmodels.DefaultRecipe()
	r.TrainN = 1500
	r.Outcomes = []string{"complication_any_90d"}
	r.Settings[models.ElasticNet] = models.TrainSettings{Algorithm: models.ElasticNet, Alpha: 0.5, Bootstrap: 3}
	r.Settings[models.RandomForest] = models.TrainSettings{Algorithm: models.RandomForest, Trees: 10, MaxDepth: 4, MinLeaf: 20}
	r.Settings[models.MLP] = models.TrainSettings{Algorithm: models.MLP, Hidden: []int{4}, Epochs: 10, Bootstrap: 2}
	enc := func() [][]byte {
		built, err := defaultmodels.Build(context.Background(), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(built) != 3 {
			t.Fatalf("built %d models, want 3", len(built))
		}
		var out [][]byte
		for _, b := range built {
			var buf bytes.Buffer
			if err := defaultmodels.Encode(&buf, b.Artifact); err != nil {
				t.Fatal(err)
			}
			out = append(out, buf.Bytes())
		}
		return out
	}
	first, second := enc(), enc()
	for i := range first {
		if !bytes.Equal(first[i], second[i]) {
			t.Errorf("model %d: two builds differ", i)
		}
	}
}

func ExampleList() {
	for _, e := range defaultmodels.List() {
		if e.OutcomeID == "odi_mcid15_12m" && e.Default {
			fmt.Println(e.OutcomeID, e.Version)
		}
	}
	// Output: odi_mcid15_12m 1.1.0
}
