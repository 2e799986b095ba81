package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spinecast/spinecast/models"
)

// Model is one served model: a verified artifact, its scorer and the
// outcome it predicts.
type Model struct {
	// ID is the model's name in URLs: its artifact file name without
	// ".json" for models loaded from a directory.
	ID string
	// Outcome is the outcome id the model predicts: the artifact's outcome
	// definition when it names one, otherwise its target column.
	Outcome string
	// OutcomeVersion is the outcome definition's version ("" when the
	// artifact names no definition).
	OutcomeVersion string
	// Version identifies the artifact's content: the first 12 hex digits
	// of its sha256 (artifacts carry no release version yet).
	Version  string
	Default  bool // the outcome's default model
	Artifact *models.Artifact
	Scorer   *models.Scorer
}

// Registry is the immutable set of served models.
type Registry struct {
	list      []*Model // sorted by ID
	byID      map[string]*Model
	byOutcome map[string][]*Model // each sorted by ID, default first
}

// NewRegistry builds a registry from artifacts keyed by model id. Each
// outcome's default model is the one named in defaults[outcome] when given,
// otherwise its first model by id.
func NewRegistry(arts map[string]*models.Artifact, defaults map[string]string) (*Registry, error) {
	r := &Registry{byID: map[string]*Model{}, byOutcome: map[string][]*Model{}}
	for id, a := range arts {
		if !validID(id) {
			return nil, fmt.Errorf("model id %q: use letters, digits, '-', '_' and '.'", id)
		}
		sc, err := models.NewScorer(a)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", id, err)
		}
		outcome, outcomeVersion := a.Target, ""
		if a.Outcome != nil {
			outcome, outcomeVersion = a.Outcome.ID, a.Outcome.Version
		}
		if outcome == "" {
			return nil, fmt.Errorf("model %s: artifact names no target", id)
		}
		m := &Model{ID: id, Outcome: outcome, OutcomeVersion: outcomeVersion, Version: shortSha(a.Sha256), Artifact: a, Scorer: sc}
		r.list = append(r.list, m)
		r.byID[id] = m
		r.byOutcome[outcome] = append(r.byOutcome[outcome], m)
	}
	sort.Slice(r.list, func(i, j int) bool { return r.list[i].ID < r.list[j].ID })
	for outcome, ms := range r.byOutcome {
		sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
		def := 0
		if want, ok := defaults[outcome]; ok {
			def = -1
			for i, m := range ms {
				if m.ID == want {
					def = i
				}
			}
			if def < 0 {
				return nil, fmt.Errorf("default model %q for outcome %q is not loaded", want, outcome)
			}
		}
		ms[def].Default = true
		ms[0], ms[def] = ms[def], ms[0]
		if len(ms) > 1 {
			rest := ms[1:]
			sort.Slice(rest, func(i, j int) bool { return rest[i].ID < rest[j].ID })
		}
	}
	for outcome := range defaults {
		if _, ok := r.byOutcome[outcome]; !ok {
			return nil, fmt.Errorf("default model named for outcome %q, which no model predicts", outcome)
		}
	}
	return r, nil
}

// LoadModelDir loads every *.json artifact in dir (not recursively); each
// must verify. The model id is the file name without ".json".
func LoadModelDir(dir string, defaults map[string]string) (*Registry, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list models in %s: %w", dir, err)
	}
	if len(paths) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("models directory: %w", err)
		}
		return nil, fmt.Errorf("no *.json model artifacts in %s", dir)
	}
	arts := map[string]*models.Artifact{}
	for _, p := range paths {
		a, err := models.Load(p)
		if err != nil {
			return nil, err
		}
		arts[strings.TrimSuffix(filepath.Base(p), ".json")] = a
	}
	return NewRegistry(arts, defaults)
}

// Models returns the models sorted by id.
func (r *Registry) Models() []*Model { return r.list }

// Model returns the model with the given id.
func (r *Registry) Model(id string) (*Model, bool) {
	m, ok := r.byID[id]
	return m, ok
}

// Outcomes returns the outcome ids, sorted.
func (r *Registry) Outcomes() []string {
	var out []string
	for o := range r.byOutcome {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// ForOutcome returns the outcome's models, default first.
func (r *Registry) ForOutcome(outcome string) []*Model { return r.byOutcome[outcome] }

// pick chooses the model for outcome: the default, or with algorithm set
// the outcome's default if it uses that algorithm, else its first model
// that does.
func (r *Registry) pick(outcome, algorithm string) (*Model, error) {
	ms, ok := r.byOutcome[outcome]
	if !ok {
		return nil, errorf(CodeUnprocessable, "unknown outcome %q (GET /v1/outcomes lists them)", outcome)
	}
	if algorithm == "" {
		return ms[0], nil
	}
	for _, m := range ms {
		if m.Artifact.Algorithm == algorithm {
			return m, nil
		}
	}
	return nil, errorf(CodeUnprocessable, "no %q model for outcome %q", algorithm, outcome)
}

func shortSha(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
