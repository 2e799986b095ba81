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
	"github.com/spinecast/spinecast/imaging"
	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
)

// fhirExtractor adapts the FHIR reader and the feature pipeline to the
// server: a Bundle becomes a server.Vector keyed by schema feature names,
// with units from the schema, provenance and warnings. The imaging block
// comes from the imaging cache through lookup (nil: it stays missing).
type fhirExtractor struct {
	schema *features.Schema
	lookup features.ImagingLookup
}

var (
	_ server.Extractor     = fhirExtractor{}
	_ server.FeatureSchema = fhirExtractor{}
)

func newExtractor(lookup features.ImagingLookup) server.Extractor {
	return fhirExtractor{schema: features.DefaultSchema(), lookup: lookup}
}

// imagingLookup reads the imaging block cached by `spinecast imaging
// ingest`: the newest computation for a series with the schema's radiomics
// settings and the default encoder (whatever runtime computed it).
func imagingLookup(st *store.Store) (features.ImagingLookup, error) {
	settings, encoder, err := imagingCacheKey()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, uid string) (map[string]float64, bool, error) {
		f, err := st.LatestImagingFeatures(ctx, uid, settings, encoder)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return f.Values, true, nil
	}, nil
}

// imagingCacheKey returns the settings and encoder digests the imaging
// block is computed with (imaging ingest) and looked up under.
func imagingCacheKey() (settingsSHA256, encoderSHA256 string, err error) {
	enc, err := imaging.NewEncoder(imaging.DefaultEncoder)
	if err != nil {
		return "", "", err
	}
	x, err := imaging.NewSchemaExtractor(enc, nil)
	if err != nil {
		return "", "", err
	}
	return x.SettingsSHA256(), enc.Spec().SHA256, nil
}

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
	if x.lookup != nil {
		if _, err := features.FillImaging(ctx, v, rec, x.lookup); err != nil {
			return nil, err
		}
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
