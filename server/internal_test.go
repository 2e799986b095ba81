package server

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCardSummaryCountsCharacters(t *testing.T) {
	s := &Server{cfg: Config{PublicURL: "http://x"}.withDefaults()}
	// A long outcome label in a script of 3-byte characters: the summary
	// must stay under 140 characters, whatever its byte length.
	label := strings.Repeat("脊椎手術の転帰", 30)
	p := OutcomePrediction{Outcome: OutcomeRef{ID: label, Positive: "はい"}, Model: ModelInfo{ID: "m", Version: "v"},
		Probability: 0.42, Interval: Interval{Lower: 0.3, Upper: 0.55, Level: 0.95}}
	c := s.card(p)
	if n := utf8.RuneCountInString(c.Summary); n >= MaxSummary {
		t.Errorf("summary has %d characters, want < %d", n, MaxSummary)
	}
	if len(c.Summary) <= MaxSummary {
		t.Errorf("test is vacuous: summary is only %d bytes", len(c.Summary))
	}
	if !utf8.ValidString(c.Summary) || !strings.HasSuffix(c.Summary, "…") {
		t.Errorf("summary %q: want valid UTF-8 cut with an ellipsis", c.Summary)
	}
	// A short summary is left whole and carries the figures.
	p.Outcome = OutcomeRef{ID: "mcid_odi_12m", Positive: "1"}
	c = s.card(p)
	if want := "mcid_odi_12m = 1: 42% (95% CI 30%–55%), demonstration model"; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
}

func TestIndicator(t *testing.T) {
	s := &Server{cfg: Config{Thresholds: map[string]Threshold{"c": {Warning: 0.1, Critical: 0.3}, "w": {Warning: 0.5}}}}
	for _, c := range []struct {
		outcome string
		p       float64
		want    string
	}{
		{"c", 0.05, "info"}, {"c", 0.1, "warning"}, {"c", 0.29, "warning"}, {"c", 0.3, "critical"},
		{"w", 0.99, "warning"}, {"w", 0.2, "info"}, {"none", 0.99, "info"},
	} {
		if got := s.indicator(c.outcome, c.p); got != c.want {
			t.Errorf("indicator(%s, %v) = %s, want %s", c.outcome, c.p, got, c.want)
		}
	}
}

func TestAllowedFHIR(t *testing.T) {
	s := &Server{cfg: Config{FHIRAllowlist: []string{"https://ehr.example/fhir", "https://tenant.example/"}}}
	for u, want := range map[string]bool{
		"https://ehr.example/fhir":          true,
		"https://ehr.example/fhir/":         true,
		"https://ehr.example/fhir2":         false,
		"https://ehr.example/fhir/../admin": false,
		"https://tenant.example/a/fhir":     true,
		"https://tenant.example.evil.com/":  false,
		"https://user@ehr.example/fhir":     false,
		"ftp://ehr.example/fhir":            false,
		"https://ehr.example":               false,
	} {
		if got := s.allowedFHIR(u); got != want {
			t.Errorf("allowedFHIR(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestNumericDate(t *testing.T) {
	if _, err := numericDate(nil); err == nil {
		t.Error("nil: no error")
	}
	for _, bad := range []string{"-1", "1e300", "NaN"} {
		n := jsonNumber(bad)
		if _, err := numericDate(&n); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	n := jsonNumber("1422568860.5")
	got, err := numericDate(&n)
	if err != nil || got.Unix() != 1422568860 || math.Abs(float64(got.Nanosecond())-5e8) > 1e3 {
		t.Errorf("fractional date: %v %v", got, err)
	}
}

func jsonNumber(s string) json.Number { return json.Number(s) }

func TestWarningSummary(t *testing.T) {
	if got := warningSummary(nil); got != "" {
		t.Errorf("no warnings: %q", got)
	}
	var ws []Warning
	for i := range 24 {
		ws = append(ws, Warning{Code: "missing-input", Feature: fmt.Sprintf("img_emb_%02d", i)})
	}
	for _, f := range []string{"bmi", "asa_class", "odi_baseline", "odi_slope_30d", "eq5d_index_baseline", "smoking_current", "smoking_former", "promis_pf_baseline"} {
		ws = append(ws, Warning{Code: "missing-input", Feature: f})
	}
	v := 1000.0
	ws = append(ws, Warning{Code: "out-of-range", Feature: "pelvic_tilt", Value: &v}, Warning{Code: "unused-input", Feature: "x"})
	got := warningSummary(ws)
	for _, want := range []string{
		"Missing inputs, replaced by training medians: imaging (no computed MRI features: 24 inputs), bmi, asa_class, odi_baseline, odi_slope_30d, eq5d_index_baseline and 3 more.",
		"Outside the training range: pelvic_tilt.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "1000") || strings.Contains(got, "img_emb") {
		t.Errorf("summary shows values or imaging column names: %q", got)
	}
}
