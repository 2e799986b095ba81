package features

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// SchemaVersion is the version of the embedded feature schema. Models record
// it and refuse vectors of another version; it changes whenever a feature's
// name, meaning, unit or order changes.
const SchemaVersion = "1.0.0"

//go:embed data/schema.json
var schemaJSON []byte

// Feature describes one column of the feature vector.
type Feature struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"` // number, binary, count, indicator
	Unit        string   `json:"unit"`
	Min         *float64 `json:"min"`
	Max         *float64 `json:"max"`
	Description string   `json:"description"`
	Source      string   `json:"source"`
	Block       string   `json:"block"` // clinical, prom, imaging
	// MissingIndicator names the 0/1 feature that is 1 when this one is
	// missing; empty for features that are never missing.
	MissingIndicator string `json:"missing_indicator,omitempty"`
}

// Block is a group of features and who fills it.
type Block struct {
	Name                string   `json:"name"`
	FilledBy            string   `json:"filled_by"`
	Indicator           string   `json:"indicator,omitempty"`
	Radiomics           []string `json:"radiomics,omitempty"`
	EmbeddingDimensions int      `json:"embedding_dimensions,omitempty"`
}

// Schema is the versioned list of features, in column order.
type Schema struct {
	Version              string    `json:"version"`
	Description          string    `json:"description"`
	MissingPolicy        string    `json:"missing_policy"`
	IndexDatePolicy      string    `json:"index_date_policy"`
	PROMCatalogueVersion string    `json:"prom_catalogue_version"`
	Blocks               []Block   `json:"blocks"`
	Features             []Feature `json:"features"`

	index map[string]int
}

var defaultSchema = mustSchema()

func mustSchema() *Schema {
	s, err := parseSchema(schemaJSON)
	if err != nil {
		panic("features: embedded schema: " + err.Error()) // a build defect, caught by tests
	}
	if s.Version != SchemaVersion {
		panic("features: embedded schema version " + s.Version + " differs from SchemaVersion " + SchemaVersion)
	}
	return s
}

func parseSchema(data []byte) (*Schema, error) {
	var s Schema
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	s.index = make(map[string]int, len(s.Features))
	for i, f := range s.Features {
		if !snake(f.Name) {
			return nil, fmt.Errorf("parse schema: feature name %q is not snake_case", f.Name)
		}
		if _, dup := s.index[f.Name]; dup {
			return nil, fmt.Errorf("parse schema: feature %q appears twice", f.Name)
		}
		switch f.Type {
		case "number", "binary", "count", "indicator":
		default:
			return nil, fmt.Errorf("parse schema: feature %q: unknown type %q", f.Name, f.Type)
		}
		s.index[f.Name] = i
	}
	for _, f := range s.Features {
		if f.MissingIndicator != "" {
			j, ok := s.index[f.MissingIndicator]
			if !ok || s.Features[j].Type != "indicator" {
				return nil, fmt.Errorf("parse schema: feature %q: missing indicator %q is not an indicator feature", f.Name, f.MissingIndicator)
			}
		}
	}
	return &s, nil
}

func snake(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return !strings.Contains(s, "__") && !strings.HasSuffix(s, "_")
}

// DefaultSchema returns the embedded schema (shared; do not modify).
func DefaultSchema() *Schema { return defaultSchema }

// Names returns the feature names in column order.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Features))
	for i, f := range s.Features {
		out[i] = f.Name
	}
	return out
}

// Index returns the column of a feature, or -1.
func (s *Schema) Index(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}

// WriteJSON writes the schema as indented JSON.
func (s *Schema) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(s)
}

// WriteMarkdown writes the schema as a Markdown document with one table row
// per feature.
func (s *Schema) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Spinecast feature schema %s\n\n%s\n\n", s.Version, s.Description)
	fmt.Fprintf(&b, "**Missing data.** %s\n\n**Index date.** %s\n\nPROM catalogue version: %s.\n\n", s.MissingPolicy, s.IndexDatePolicy, s.PROMCatalogueVersion)
	block := ""
	for _, f := range s.Features {
		if f.Block != block {
			block = f.Block
			fmt.Fprintf(&b, "\n## %s\n\n| # | name | type | unit | valid range | missing indicator | description | source |\n|---|---|---|---|---|---|---|---|\n", block)
		}
		rng := ""
		if f.Min != nil && f.Max != nil {
			rng = fmt.Sprintf("%g – %g", *f.Min, *f.Max)
		}
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s | %s | %s | %s |\n", s.index[f.Name]+1, f.Name, f.Type, mdCell(f.Unit), rng,
			mdCell(f.MissingIndicator), mdCell(f.Description), mdCell(f.Source))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// CheckVersion returns an error unless version is this package's
// SchemaVersion: a model trained on another schema must refuse its vectors.
func CheckVersion(version string) error {
	if version != SchemaVersion {
		return fmt.Errorf("feature schema %q does not match this build's schema %s", version, SchemaVersion)
	}
	return nil
}
