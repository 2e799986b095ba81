package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
)

// ErrNotFound is returned (wrapped) when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ImagingKey identifies one computation of imaging features: the DICOM
// series, the mask it was computed in, the radiomics settings and the
// encoder. Each part is what changes the numbers, so features computed with
// other settings, another mask or another encoder are never mixed. The
// three digests are lower-case hex sha256 (package imaging computes them).
type ImagingKey struct {
	SeriesUID      string `json:"series_uid"`
	MaskSHA256     string `json:"mask_sha256"`
	SettingsSHA256 string `json:"settings_sha256"`
	EncoderSHA256  string `json:"encoder_sha256"`
}

// ImagingFeatures is one cached computation: the feature-schema values of
// the imaging block (img_* name → value) and where they came from.
type ImagingFeatures struct {
	ImagingKey
	// Study is the FHIR reference of the ImagingStudy holding the series
	// ("ImagingStudy/123"), the provenance the feature vector reports; it
	// may be empty when the study is not (yet) known to the FHIR server.
	Study      string             `json:"study,omitempty"`
	ComputedAt time.Time          `json:"computed_at"`
	Values     map[string]float64 `json:"values"`
}

var (
	dicomUID = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$`)
	hexSHA   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Validate checks the key: a DICOM UID (digits and dots, at most 64
// characters, PS3.5 §9.1) and three lower-case hex sha256 digests.
func (k ImagingKey) Validate() error {
	if len(k.SeriesUID) == 0 || len(k.SeriesUID) > 64 || !dicomUID.MatchString(k.SeriesUID) {
		return errors.New("imaging key: series UID is not a DICOM UID (digits and dots, at most 64 characters)")
	}
	for name, d := range map[string]string{"mask": k.MaskSHA256, "settings": k.SettingsSHA256, "encoder": k.EncoderSHA256} {
		if !hexSHA.MatchString(d) {
			return fmt.Errorf("imaging key: %s digest is not a lower-case hex sha256", name)
		}
	}
	return nil
}

// PutImagingFeatures stores f, replacing an earlier computation with the
// same key. Values must be finite; a zero ComputedAt means now.
func (s *Store) PutImagingFeatures(ctx context.Context, f *ImagingFeatures) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if len(f.Values) == 0 {
		return errors.New("imaging features: no values")
	}
	for name, v := range f.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("imaging features: %s is not finite", name)
		}
	}
	vals, err := json.Marshal(f.Values)
	if err != nil {
		return fmt.Errorf("encode imaging features: %w", err)
	}
	at := f.ComputedAt
	if at.IsZero() {
		at = time.Now()
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO imaging_features
		(series_uid, mask_sha256, settings_sha256, encoder_sha256, study, computed_at_us, feature_values)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (series_uid, mask_sha256, settings_sha256, encoder_sha256)
		DO UPDATE SET study = excluded.study, computed_at_us = excluded.computed_at_us, feature_values = excluded.feature_values`,
		f.SeriesUID, f.MaskSHA256, f.SettingsSHA256, f.EncoderSHA256, f.Study, at.UnixMicro(), string(vals))
	if err != nil {
		return fmt.Errorf("store imaging features: %w", err)
	}
	return nil
}

// ImagingFeatures returns the computation stored under k, or an error
// wrapping ErrNotFound.
func (s *Store) ImagingFeatures(ctx context.Context, k ImagingKey) (*ImagingFeatures, error) {
	return s.oneImaging(ctx, `SELECT series_uid, mask_sha256, settings_sha256, encoder_sha256, study, computed_at_us, feature_values
		FROM imaging_features WHERE series_uid = $1 AND mask_sha256 = $2 AND settings_sha256 = $3 AND encoder_sha256 = $4`,
		k.SeriesUID, k.MaskSHA256, k.SettingsSHA256, k.EncoderSHA256)
}

// LatestImagingFeatures returns the newest computation for a series with
// the given settings and encoder, whatever its mask (a series is
// re-segmented when the segmentation improves; the newest mask wins), or an
// error wrapping ErrNotFound.
func (s *Store) LatestImagingFeatures(ctx context.Context, seriesUID, settingsSHA256, encoderSHA256 string) (*ImagingFeatures, error) {
	return s.oneImaging(ctx, `SELECT series_uid, mask_sha256, settings_sha256, encoder_sha256, study, computed_at_us, feature_values
		FROM imaging_features WHERE series_uid = $1 AND settings_sha256 = $2 AND encoder_sha256 = $3
		ORDER BY computed_at_us DESC, mask_sha256 LIMIT 1`, seriesUID, settingsSHA256, encoderSHA256)
}

func (s *Store) oneImaging(ctx context.Context, query string, args ...any) (*ImagingFeatures, error) {
	var f ImagingFeatures
	var at int64
	var vals string
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&f.SeriesUID, &f.MaskSHA256, &f.SettingsSHA256, &f.EncoderSHA256,
		&f.Study, &at, &vals)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("imaging features: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read imaging features: %w", err)
	}
	if err := json.Unmarshal([]byte(vals), &f.Values); err != nil {
		return nil, fmt.Errorf("read imaging features: stored values: %w", err)
	}
	f.ComputedAt = time.UnixMicro(at).UTC()
	return &f, nil
}
