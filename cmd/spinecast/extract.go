package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
	"github.com/spinecast/spinecast/server"
)

// fhirExtractor adapts the FHIR reader and the feature pipeline to the
// server: a Bundle becomes a server.Vector keyed by schema feature names,
// with units from the schema, provenance and warnings.
type fhirExtractor struct{ schema *features.Schema }

var (
	_ server.Extractor     = fhirExtractor{}
	_ server.FeatureSchema = fhirExtractor{}
)

func newExtractor() server.Extractor { return fhirExtractor{schema: features.DefaultSchema()} }

func (x fhirExtractor) Extract(ctx context.Context, bundle []byte, asOf time.Time) (*server.Vector, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec, err := fhir.Parse(bundle, nil)
	if err != nil {
		var re *fhir.RejectError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("%w: %v", server.ErrBadRecord, err)
		}
		return nil, fmt.Errorf("read record: %w", err)
	}
	v, err := features.Extract(rec, asOf, nil)
	if err != nil {
		return nil, fmt.Errorf("extract features: %w", err)
	}
	out := &server.Vector{
		SchemaVersion: v.SchemaVersion,
		PatientID:     strings.TrimPrefix(v.Patient, "Patient/"),
		Values:        make(map[string]float64, len(v.Values)),
		Units:         map[string]string{},
		Provenance:    v.Provenance,
	}
	for i, f := range x.schema.Features {
		out.Values[f.Name] = v.Values[i]
		if f.Unit != "" {
			out.Units[f.Name] = f.Unit
		}
	}
	for _, is := range v.Warnings {
		out.Warnings = append(out.Warnings, is.String())
	}
	return out, nil
}

func (x fhirExtractor) JSON() ([]byte, error) {
	var b bytes.Buffer
	if err := x.schema.WriteJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (x fhirExtractor) Unit(feature string) string {
	if i := x.schema.Index(feature); i >= 0 {
		return x.schema.Features[i].Unit
	}
	return ""
}
