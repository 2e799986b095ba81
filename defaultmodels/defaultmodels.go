package defaultmodels

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/spinecast/spinecast/models"
)

// Entry describes one embedded model.
type Entry struct {
	ID             string `json:"id"`
	OutcomeID      string `json:"outcome_id"`
	OutcomeVersion string `json:"outcome_version"`
	Algorithm      string `json:"algorithm"`
	Version        string `json:"version"`
	Default        bool   `json:"default"`
	Sha256         string `json:"sha256"`
}

// Manifest is data/manifest.json.
type Manifest struct {
	Notice string  `json:"notice"`
	Models []Entry `json:"models"`
}

//go:embed data
var data embed.FS

// ErrUnknown is returned by Load for an id that is not embedded.
var ErrUnknown = errors.New("no embedded model with this id")

func manifest() (*Manifest, error) {
	b, err := data.ReadFile("data/manifest.json")
	if err != nil {
		return nil, fmt.Errorf("embedded models: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("embedded models: manifest: %w", err)
	}
	return &m, nil
}

// List returns the embedded models (id order as built: by outcome, then
// algorithm). It is empty when the binary was built without models.
func List() []Entry {
	m, err := manifest()
	if err != nil {
		return nil
	}
	return slices.Clone(m.Models)
}

// Default returns the default model of an outcome.
func Default(outcomeID string) (Entry, bool) {
	for _, e := range List() {
		if e.OutcomeID == outcomeID && e.Default {
			return e, true
		}
	}
	return Entry{}, false
}

// Load reads and verifies an embedded model. Its sha256 must match the
// manifest's.
func Load(id string) (*models.Artifact, error) {
	m, err := manifest()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(m.Models, func(e Entry) bool { return e.ID == id })
	if i < 0 {
		return nil, fmt.Errorf("load embedded model %q: %w", id, ErrUnknown)
	}
	f, err := data.Open("data/" + id + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("load embedded model %q: %w", id, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("load embedded model %q: %w", id, err)
	}
	a, err := models.Read(zr)
	if err != nil {
		return nil, fmt.Errorf("load embedded model %q: %w", id, err)
	}
	if a.Sha256 != m.Models[i].Sha256 {
		return nil, fmt.Errorf("load embedded model %q: sha256 %s does not match the manifest", id, a.Sha256)
	}
	return a, nil
}

// Resolve loads a model named by a file path or an embedded model id: an
// existing file wins; otherwise an embedded id is loaded; otherwise the
// file error is returned. This is what every --model flag calls.
func Resolve(pathOrID string) (*models.Artifact, error) {
	if _, err := os.Stat(pathOrID); err == nil {
		return models.Load(pathOrID)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load model %s: %w", pathOrID, err)
	}
	a, err := Load(pathOrID)
	if errors.Is(err, ErrUnknown) {
		return nil, fmt.Errorf("load model %s: not a file and not an embedded model id (see spinecast models list)", pathOrID)
	}
	return a, err
}

// Encode writes an artifact as the gzip-compressed JSON the package
// embeds, byte-for-byte reproducible (no gzip timestamp or name).
func Encode(w io.Writer, a *models.Artifact) error {
	var buf bytes.Buffer
	if err := a.Write(&buf); err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return err
	}
	return zw.Close()
}

// All loads every embedded model: the artifacts keyed by model id and, per
// outcome id, the id of its default model — the two arguments of
// server.NewRegistry.
func All() (map[string]*models.Artifact, map[string]string, error) {
	arts := map[string]*models.Artifact{}
	defaults := map[string]string{}
	for _, e := range List() {
		a, err := Load(e.ID)
		if err != nil {
			return nil, nil, err
		}
		arts[e.ID] = a
		if e.Default {
			defaults[e.OutcomeID] = e.ID
		}
	}
	if len(arts) == 0 {
		return nil, nil, errors.New("no embedded models in this build (run make models)")
	}
	return arts, defaults, nil
}
