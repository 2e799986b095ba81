package outcomes

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
)

//go:embed data/outcomes.json
var outcomesJSON []byte

// Kinds of outcome definition.
const (
	// KindPROMChange is reaching a change threshold on a PROM between the
	// baseline and a follow-up assessment.
	KindPROMChange = "prom_change"
	// KindEvent is an event (a complication, a readmission) within a window.
	KindEvent = "event"
)

// Definition is one versioned outcome definition.
type Definition struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	// Instrument is the PROM catalogue id (package fhir) of a PROM change.
	Instrument string `json:"instrument,omitempty"`
	// Direction is "decrease" when improvement lowers the score (ODI, NRS)
	// and "increase" when it raises it (EQ-5D, PROMIS-PF).
	Direction string `json:"direction,omitempty"`
	// Threshold is the improvement needed: in the instrument's unit, or a
	// fraction of the baseline when Relative.
	Threshold     float64 `json:"threshold,omitempty"`
	Relative      bool    `json:"relative"`
	Timepoint     string  `json:"timepoint"`
	TimepointDays int     `json:"timepoint_days"`
	Rule          string  `json:"rule"`
	AppliesTo     string  `json:"applies_to"`
	Source        string  `json:"source"`
	Verified      bool    `json:"verified"`
	Note          string  `json:"note,omitempty"`
}

// Set is the versioned list of definitions.
type Set struct {
	Version     string       `json:"version"`
	Description string       `json:"description"`
	Outcomes    []Definition `json:"outcomes"`
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Parse reads and checks a definition set in the embedded file's format:
// unique snake_case ids, a version, a source and a known kind for each;
// a PROM change needs an instrument, a direction and a positive threshold
// (at most 1 when relative).
func Parse(data []byte) (*Set, error) {
	var s Set
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse outcome definitions: %w", err)
	}
	if s.Version == "" {
		return nil, errors.New("parse outcome definitions: no version")
	}
	seen := map[string]bool{}
	for i, d := range s.Outcomes {
		if !idPattern.MatchString(d.ID) {
			return nil, fmt.Errorf("parse outcome definitions: outcome %d: id %q is not snake_case", i, d.ID)
		}
		if seen[d.ID] {
			return nil, fmt.Errorf("parse outcome definitions: id %q appears twice", d.ID)
		}
		seen[d.ID] = true
		if d.Version == "" || d.Source == "" || d.Rule == "" || d.TimepointDays <= 0 {
			return nil, fmt.Errorf("parse outcome definitions: %s: version, rule, source and timepoint_days are required", d.ID)
		}
		switch d.Kind {
		case KindEvent:
		case KindPROMChange:
			if d.Instrument == "" || (d.Direction != "decrease" && d.Direction != "increase") {
				return nil, fmt.Errorf("parse outcome definitions: %s: a PROM change needs an instrument and direction decrease or increase", d.ID)
			}
			if !(d.Threshold > 0) || d.Relative && d.Threshold > 1 {
				return nil, fmt.Errorf("parse outcome definitions: %s: threshold must be positive (at most 1 when relative)", d.ID)
			}
		default:
			return nil, fmt.Errorf("parse outcome definitions: %s: unknown kind %q", d.ID, d.Kind)
		}
	}
	return &s, nil
}

var defaultSet = func() *Set {
	s, err := Parse(outcomesJSON)
	if err != nil {
		panic("outcomes: embedded definitions: " + err.Error()) // a build defect, caught by tests
	}
	return s
}()

// Default returns the embedded definitions (a fresh copy).
func Default() *Set {
	c := *defaultSet
	c.Outcomes = append([]Definition(nil), defaultSet.Outcomes...)
	return &c
}

// Get returns the definition with the given id.
func (s *Set) Get(id string) (Definition, bool) {
	for _, d := range s.Outcomes {
		if d.ID == id {
			return d, true
		}
	}
	return Definition{}, false
}

// Ref is the "id@version" reference a model records.
func (d Definition) Ref() string { return d.ID + "@" + d.Version }

// improvement is the change from baseline to follow-up in the improving
// direction, absolute or (when Relative) as a fraction of the baseline.
func (d Definition) improvement(baseline, followup float64) float64 {
	ch := followup - baseline
	if d.Direction == "decrease" {
		ch = -ch
	}
	if d.Relative {
		return ch / baseline
	}
	return ch
}

// Applies reports whether the definition can be evaluated for a patient
// with this baseline: an absolute improvement threshold must be reachable
// on a "decrease" scale that ends at 0 (baseline ≥ threshold), and a
// relative one needs a positive baseline. It is false for events and for
// a NaN baseline.
func (d Definition) Applies(baseline float64) bool {
	if d.Kind != KindPROMChange || math.IsNaN(baseline) {
		return false
	}
	if d.Relative {
		return baseline > 0
	}
	if d.Direction == "decrease" {
		return baseline >= d.Threshold
	}
	return true
}

// Met evaluates a PROM-change definition: ok is false when it does not
// apply (see Applies) or followup is NaN; met reports whether the
// improvement reaches the threshold.
func (d Definition) Met(baseline, followup float64) (met, ok bool) {
	if !d.Applies(baseline) || math.IsNaN(followup) {
		return false, false
	}
	// A tolerance of 1e-9 keeps a change that equals the threshold in
	// decimal (e.g. 0.3 of 50) from failing through binary rounding.
	return d.improvement(baseline, followup) >= d.Threshold-1e-9, true
}
