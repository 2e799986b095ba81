package features

import (
	"context"
	"fmt"
	"sort"

	"github.com/spinecast/spinecast/fhir"
)

// ImagingLookup returns the imaging block (img_* name → value) computed
// for a DICOM series, as the imaging pipeline cached it (package store),
// and whether there is one. An error means the cache could not be read.
type ImagingLookup func(ctx context.Context, seriesUID string) (vals map[string]float64, found bool, err error)

// FillImaging fills v's imaging block from the cached features of the
// patient's most recent imaging study: among rec's ImagingStudy resources
// started on or before v.AsOf (never later: no leakage) and not
// cancelled or entered in error, newest first, the first series with
// cached features wins; its study is the features' provenance. It
// reports what it did as a warning when a study exists but no series has
// cached features (the pipeline has not run on it), and leaves the block
// missing (imaging_missing = 1). With no usable study, nothing changes.
// It returns whether the block was filled, and an error only when lookup
// fails or the cache holds values that do not fit the schema.
func FillImaging(ctx context.Context, v *Vector, rec *fhir.Record, lookup ImagingLookup) (bool, error) {
	if v == nil || rec == nil || lookup == nil {
		return false, fmt.Errorf("fill imaging: nil vector, record or lookup")
	}
	studies := make([]*fhir.ImagingStudy, 0, len(rec.ImagingStudies))
	for i := range rec.ImagingStudies {
		st := &rec.ImagingStudies[i]
		switch st.Status.Code() {
		case "cancelled", "entered-in-error":
			continue
		}
		if st.Date.IsZero() || st.Date.LastDay().After(v.AsOf) {
			continue
		}
		studies = append(studies, st)
	}
	// Newest first; ties by reference so the choice is deterministic.
	sort.SliceStable(studies, func(i, j int) bool {
		a, b := studies[i].Date.LastDay(), studies[j].Date.LastDay()
		if !a.Equal(b) {
			return a.After(b)
		}
		return studies[i].Ref < studies[j].Ref
	})
	searched := 0
	for _, st := range studies {
		for _, se := range st.Series {
			if se.Uid == "" {
				continue
			}
			searched++
			vals, found, err := lookup(ctx, se.Uid)
			if err != nil {
				return false, fmt.Errorf("fill imaging: %w", err)
			}
			if !found {
				continue
			}
			if err := v.SetImaging(vals, []string{st.Ref}); err != nil {
				return false, fmt.Errorf("fill imaging from %s: cached values do not fit feature schema %s: %w", st.Ref, v.SchemaVersion, err)
			}
			return true, nil
		}
	}
	if len(studies) > 0 {
		v.Warnings = append(v.Warnings, fhir.Issue{Severity: fhir.Warning, Code: fhir.CodeInformatn, Location: studies[0].Loc,
			Diagnostics: fmt.Sprintf("no imaging features have been computed for the %d usable imaging studies (%d series) yet (spinecast imaging ingest): the imaging block is missing",
				len(studies), searched)})
	}
	return false, nil
}
