package store_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spinecast/spinecast/store"
)

func sha(c byte) string { return strings.Repeat(string(c), 64) }

// testImaging runs on every backend (TestStore).
func testImaging(t *testing.T, s *store.Store) {
	ctx := context.Background()
	key := store.ImagingKey{SeriesUID: "2.25.1234567890", MaskSHA256: sha('a'), SettingsSHA256: sha('b'), EncoderSHA256: sha('c')}
	if _, err := s.ImagingFeatures(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty cache: %v, want ErrNotFound", err)
	}
	// Values survive exactly (JSON keeps the shortest round-tripping form).
	vals := map[string]float64{"img_stat_mean": 0.1 + 0.2, "img_morph_volume": 1234.5e-7, "img_emb_00": -math.SmallestNonzeroFloat64}
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
	if err := s.PutImagingFeatures(ctx, &store.ImagingFeatures{ImagingKey: key, Study: "ImagingStudy/s1", ComputedAt: t0, Values: vals}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ImagingFeatures(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.ImagingKey != key || got.Study != "ImagingStudy/s1" || !got.ComputedAt.Equal(t0) || len(got.Values) != 3 {
		t.Errorf("got %+v", got)
	}
	for k, v := range vals {
		if got.Values[k] != v {
			t.Errorf("%s = %v, want %v exactly", k, got.Values[k], v)
		}
	}
	// Same key again replaces; another mask is another row; the latest
	// (by computation time) wins the series lookup.
	vals2 := map[string]float64{"img_stat_mean": 2}
	if err := s.PutImagingFeatures(ctx, &store.ImagingFeatures{ImagingKey: key, ComputedAt: t0.Add(time.Hour), Values: vals2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ImagingFeatures(ctx, key); got == nil || got.Values["img_stat_mean"] != 2 || len(got.Values) != 1 || got.Study != "" {
		t.Errorf("replace: %+v", got)
	}
	key2 := key
	key2.MaskSHA256 = sha('d')
	if err := s.PutImagingFeatures(ctx, &store.ImagingFeatures{ImagingKey: key2, ComputedAt: t0.Add(2 * time.Hour), Values: map[string]float64{"img_stat_mean": 3}}); err != nil {
		t.Fatal(err)
	}
	latest, err := s.LatestImagingFeatures(ctx, key.SeriesUID, key.SettingsSHA256, key.EncoderSHA256)
	if err != nil || latest.MaskSHA256 != key2.MaskSHA256 || latest.Values["img_stat_mean"] != 3 {
		t.Errorf("latest: %+v %v", latest, err)
	}
	// Other settings or another encoder never match.
	if _, err := s.LatestImagingFeatures(ctx, key.SeriesUID, sha('e'), key.EncoderSHA256); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other settings: %v", err)
	}
	if _, err := s.LatestImagingFeatures(ctx, key.SeriesUID, key.SettingsSHA256, sha('e')); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other encoder: %v", err)
	}
	// Bad input is refused before the database sees it.
	for name, f := range map[string]*store.ImagingFeatures{
		"uid with letters": {ImagingKey: store.ImagingKey{SeriesUID: "2.25.abc", MaskSHA256: sha('a'), SettingsSHA256: sha('b'), EncoderSHA256: sha('c')}, Values: vals},
		"uid leading zero": {ImagingKey: store.ImagingKey{SeriesUID: "2.05", MaskSHA256: sha('a'), SettingsSHA256: sha('b'), EncoderSHA256: sha('c')}, Values: vals},
		"uid too long":     {ImagingKey: store.ImagingKey{SeriesUID: "2." + strings.Repeat("1", 63), MaskSHA256: sha('a'), SettingsSHA256: sha('b'), EncoderSHA256: sha('c')}, Values: vals},
		"short digest":     {ImagingKey: store.ImagingKey{SeriesUID: "2.25.1", MaskSHA256: "abc", SettingsSHA256: sha('b'), EncoderSHA256: sha('c')}, Values: vals},
		"upper-case hex":   {ImagingKey: store.ImagingKey{SeriesUID: "2.25.1", MaskSHA256: sha('A'), SettingsSHA256: sha('b'), EncoderSHA256: sha('c')}, Values: vals},
		"no values":        {ImagingKey: key},
		"NaN value":        {ImagingKey: key, Values: map[string]float64{"img_stat_mean": math.NaN()}},
		"Inf value":        {ImagingKey: key, Values: map[string]float64{"img_stat_mean": math.Inf(1)}},
	} {
		if err := s.PutImagingFeatures(ctx, f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
