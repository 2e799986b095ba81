package fhir

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

//go:embed data/proms.json
var promsJSON []byte

// Code is a coded concept the catalogue or a code list relies on, with
// whether it was verified against the named source.
type Code struct {
	System   string `json:"system"`
	Code     string `json:"code"`
	Display  string `json:"display,omitempty"`
	Verified bool   `json:"verified"`
	Source   string `json:"source,omitempty"`
	// BodySite restricts an Observation code to a body site group of the
	// catalogue ("back", "leg"), or to observations without one ("none").
	BodySite string `json:"body_site,omitempty"`
}

// UnitRule is a UCUM unit accepted for an instrument's score, with the
// factor that converts it to the instrument's unit.
type UnitRule struct {
	Code  string  `json:"code"`
	Scale float64 `json:"scale"`
	Note  string  `json:"note,omitempty"`
}

// Scoring says how to score an instrument from QuestionnaireResponse items.
type Scoring struct {
	// Method: "percent_of_answered" = sum / (ItemMax × answered) × 100.
	Method     string   `json:"method"`
	Items      int      `json:"items"`
	ItemMin    float64  `json:"item_min"`
	ItemMax    float64  `json:"item_max"`
	MaxMissing int      `json:"max_missing"`
	LinkIDs    []string `json:"link_ids"`
	// LinkIDsVerified is false when the linkIds are local conventions.
	LinkIDsVerified bool   `json:"link_ids_verified"`
	Rule            string `json:"rule"`
	RuleVerified    *bool  `json:"rule_verified,omitempty"`
	Source          string `json:"source"`
}

// Instrument is one PROM of the catalogue.
type Instrument struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Min            float64    `json:"min"`
	Max            float64    `json:"max"`
	Unit           string     `json:"unit"`
	Direction      string     `json:"direction"` // higher_worse or higher_better
	Codes          []Code     `json:"codes"`
	Units          []UnitRule `json:"units"`
	AllowUnitless  bool       `json:"allow_unitless,omitempty"`
	Questionnaires []string   `json:"questionnaires,omitempty"`
	// QuestionnairesVerified is false when the canonicals are local.
	QuestionnairesVerified bool     `json:"questionnaires_verified,omitempty"`
	Scoring                *Scoring `json:"scoring,omitempty"`
	RangeNote              string   `json:"range_note,omitempty"`
	Source                 string   `json:"source"`
}

// Catalogue is the versioned list of PROM instruments (data, not code).
type Catalogue struct {
	Version     string            `json:"version"`
	Description string            `json:"description"`
	LocalSystem string            `json:"local_system"`
	Instruments []Instrument      `json:"instruments"`
	BodySites   map[string][]Code `json:"body_sites"`
}

// DefaultCatalogue returns the embedded catalogue (a fresh copy).
func DefaultCatalogue() *Catalogue {
	c, err := ParseCatalogue(promsJSON)
	if err != nil {
		panic("fhir: embedded PROM catalogue: " + err.Error()) // a build defect, caught by tests
	}
	return c
}

// ParseCatalogue reads and checks a catalogue in the embedded file's format.
func ParseCatalogue(data []byte) (*Catalogue, error) {
	var c Catalogue
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse PROM catalogue: %w", err)
	}
	if c.Version == "" {
		return nil, fmt.Errorf("parse PROM catalogue: version is required")
	}
	seen := map[string]bool{}
	for _, in := range c.Instruments {
		switch {
		case in.ID == "" || seen[in.ID]:
			return nil, fmt.Errorf("parse PROM catalogue: instrument id %q empty or repeated", in.ID)
		case !(in.Min < in.Max):
			return nil, fmt.Errorf("parse PROM catalogue: %s: min must be below max", in.ID)
		case in.Direction != "higher_worse" && in.Direction != "higher_better":
			return nil, fmt.Errorf("parse PROM catalogue: %s: direction must be higher_worse or higher_better", in.ID)
		case len(in.Codes) == 0:
			return nil, fmt.Errorf("parse PROM catalogue: %s: no codes", in.ID)
		}
		for _, cd := range in.Codes {
			if cd.BodySite != "" && cd.BodySite != "none" && c.BodySites[cd.BodySite] == nil {
				return nil, fmt.Errorf("parse PROM catalogue: %s: unknown body site group %q", in.ID, cd.BodySite)
			}
		}
		if s := in.Scoring; s != nil {
			if s.Method != "percent_of_answered" || s.Items < 1 || !(s.ItemMin < s.ItemMax) || s.MaxMissing < 0 || s.MaxMissing >= s.Items {
				return nil, fmt.Errorf("parse PROM catalogue: %s: bad scoring", in.ID)
			}
			if len(s.LinkIDs) != 0 && len(s.LinkIDs) != s.Items {
				return nil, fmt.Errorf("parse PROM catalogue: %s: %d link ids for %d items", in.ID, len(s.LinkIDs), s.Items)
			}
		}
		seen[in.ID] = true
	}
	return &c, nil
}

// Instrument returns the instrument with the given id, or nil.
func (c *Catalogue) Instrument(id string) *Instrument {
	for i := range c.Instruments {
		if c.Instruments[i].ID == id {
			return &c.Instruments[i]
		}
	}
	return nil
}

// Score is one PROM score of a patient: from a score Observation or
// computed from a QuestionnaireResponse.
type Score struct {
	Instrument string
	Value      float64 // in the instrument's unit
	Date       Date
	Ref        string // the resource it came from
	Loc        string
}

// Scores finds every PROM score in the record, in no particular order.
// Observations whose unit, value or range do not fit their instrument are
// skipped with a warning (the value never appears in the issue).
func (c *Catalogue) Scores(r *Record) ([]Score, Issues) {
	var out []Score
	var is Issues
	for i := range r.Observations {
		o := &r.Observations[i]
		if o.Status == fm.ObservationStatusEnteredInError || o.Status == fm.ObservationStatusCancelled {
			continue
		}
		in := c.match(&o.Code, o.BodySite)
		if in == nil {
			continue
		}
		if o.Date.IsZero() {
			is.add(Warning, CodeRequired, o.Loc+".effective[x]", "%s score without a date not used", in.ID)
			continue
		}
		v, ok := in.value(o, &is)
		if !ok {
			continue
		}
		out = append(out, Score{Instrument: in.ID, Value: v, Date: o.Date, Ref: o.Ref, Loc: o.Loc})
	}
	for i := range r.QuestionnaireResponses {
		q := &r.QuestionnaireResponses[i]
		if q.Questionnaire == nil {
			continue
		}
		in := c.byQuestionnaire(*q.Questionnaire)
		if in == nil || in.Scoring == nil {
			continue
		}
		if q.Status != fm.QuestionnaireResponseStatusCompleted && q.Status != fm.QuestionnaireResponseStatusAmended {
			is.add(Information, CodeBusiness, q.Loc+".status", "%s response not completed: not scored", in.ID)
			continue
		}
		if q.Date.IsZero() {
			is.add(Warning, CodeRequired, q.Loc+".authored", "%s response without authored date not used", in.ID)
			continue
		}
		v, err := in.Scoring.Score(q.Item)
		if err != nil {
			is.add(Warning, CodeBusiness, q.Loc, "%s response not scored: %v", in.ID, err)
			continue
		}
		out = append(out, Score{Instrument: in.ID, Value: v, Date: q.Date, Ref: q.Ref, Loc: q.Loc})
	}
	return out, is
}

func (c *Catalogue) byQuestionnaire(canonical string) *Instrument {
	canonical, _, _ = strings.Cut(canonical, "|")
	for i := range c.Instruments {
		if slices.Contains(c.Instruments[i].Questionnaires, canonical) {
			return &c.Instruments[i]
		}
	}
	return nil
}

// match finds the instrument whose code (and body site rule) fits.
func (c *Catalogue) match(code *fm.CodeableConcept, site *fm.CodeableConcept) *Instrument {
	for i := range c.Instruments {
		in := &c.Instruments[i]
		for _, cd := range in.Codes {
			if !hasCoding(code, cd.System, cd.Code) {
				continue
			}
			switch cd.BodySite {
			case "":
				return in
			case "none":
				if site == nil || !c.inGroup(site, "back") && !c.inGroup(site, "leg") {
					return in
				}
			default:
				if site != nil && c.inGroup(site, cd.BodySite) {
					return in
				}
			}
		}
	}
	return nil
}

func (c *Catalogue) inGroup(cc *fm.CodeableConcept, group string) bool {
	for _, cd := range c.BodySites[group] {
		if hasCoding(cc, cd.System, cd.Code) {
			return true
		}
	}
	return false
}

func hasCoding(cc *fm.CodeableConcept, system, code string) bool {
	if cc == nil {
		return false
	}
	for _, cd := range cc.Coding {
		if cd.System != nil && cd.Code != nil && *cd.System == system && *cd.Code == code {
			return true
		}
	}
	return false
}

// value reads an Observation's score in the instrument's unit.
func (in *Instrument) value(o *Observation, is *Issues) (float64, bool) {
	var v float64
	switch {
	case o.ValueQuantity != nil && o.ValueQuantity.Value != nil:
		q := o.ValueQuantity
		f, err := q.Value.Float64()
		if err != nil {
			return 0, false
		}
		unit := ""
		if q.Code != nil {
			unit = *q.Code
		}
		scale := 0.0
		for _, u := range in.Units {
			if u.Code == unit {
				scale = u.Scale
			}
		}
		if scale == 0 {
			if unit == "" && in.AllowUnitless {
				scale = 1
			} else {
				loc := o.Loc + ".valueQuantity.code"
				if unit == "" {
					loc = o.Loc + ".valueQuantity.unit"
				}
				is.add(Warning, CodeValue, loc, "%s score: unit not accepted (want %s): not used", in.ID, in.unitList())
				return 0, false
			}
		}
		if q.Comparator != nil {
			is.add(Warning, CodeValue, o.Loc+".valueQuantity.comparator", "%s score with a comparator not used", in.ID)
			return 0, false
		}
		v = f * scale
	case o.ValueInteger != nil && in.AllowUnitless:
		v = float64(*o.ValueInteger)
	default:
		is.add(Warning, CodeRequired, o.Loc+".value[x]", "%s observation without a usable value", in.ID)
		return 0, false
	}
	if math.IsNaN(v) || v < in.Min || v > in.Max {
		is.add(Warning, CodeValue, o.Loc+".value[x]", "%s score outside %g–%g: not used", in.ID, in.Min, in.Max)
		return 0, false
	}
	return v, true
}

func (in *Instrument) unitList() string {
	var u []string
	for _, r := range in.Units {
		u = append(u, r.Code)
	}
	return strings.Join(u, ", ")
}

// Score scores a QuestionnaireResponse's items. An item counts as answered
// when it has one numeric answer within [ItemMin, ItemMax]: valueInteger,
// valueDecimal, or a valueCoding whose code is a number or that carries an
// ordinalValue extension. Two answers to one item, or an answer out of
// range, is an error; more than MaxMissing unanswered items is an error.
func (s *Scoring) Score(items []fm.QuestionnaireResponseItem) (float64, error) {
	answers := map[string]float64{}
	var walk func([]fm.QuestionnaireResponseItem) error
	walk = func(its []fm.QuestionnaireResponseItem) error {
		for i := range its {
			it := &its[i]
			if len(it.Answer) > 1 {
				return fmt.Errorf("item %q has %d answers", it.LinkId, len(it.Answer))
			}
			if len(it.Answer) == 1 {
				a := &it.Answer[0]
				v, ok := answerValue(a)
				if ok {
					if v < s.ItemMin || v > s.ItemMax || v != math.Trunc(v) {
						return fmt.Errorf("item %q answer out of the %g–%g item range", it.LinkId, s.ItemMin, s.ItemMax)
					}
					if _, dup := answers[it.LinkId]; dup {
						return fmt.Errorf("item %q answered twice", it.LinkId)
					}
					answers[it.LinkId] = v
				}
				if err := walk(a.Item); err != nil {
					return err
				}
			}
			if err := walk(it.Item); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(items); err != nil {
		return 0, err
	}
	var sum float64
	n := 0
	if len(s.LinkIDs) > 0 {
		for _, id := range s.LinkIDs {
			if v, ok := answers[id]; ok {
				sum += v
				n++
			}
		}
	} else {
		keys := make([]string, 0, len(answers))
		for k := range answers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) > s.Items {
			return 0, fmt.Errorf("%d numeric answers for a %d-item instrument", len(keys), s.Items)
		}
		for _, k := range keys {
			sum += answers[k]
			n++
		}
	}
	if missing := s.Items - n; missing > s.MaxMissing {
		return 0, fmt.Errorf("%d of %d items unanswered (at most %d allowed)", missing, s.Items, s.MaxMissing)
	}
	return (sum - s.ItemMin*float64(n)) / ((s.ItemMax - s.ItemMin) * float64(n)) * 100, nil
}

const ordinalURL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"

func answerValue(a *fm.QuestionnaireResponseItemAnswer) (float64, bool) {
	switch {
	case a.ValueInteger != nil:
		return float64(*a.ValueInteger), true
	case a.ValueDecimal != nil:
		f, err := a.ValueDecimal.Float64()
		return f, err == nil
	case a.ValueCoding != nil:
		for _, e := range a.ValueCoding.Extension {
			if e.Url == ordinalURL && e.ValueDecimal != nil {
				f, err := e.ValueDecimal.Float64()
				return f, err == nil
			}
		}
		if a.ValueCoding.Code != nil {
			f, err := strconv.ParseFloat(*a.ValueCoding.Code, 64)
			return f, err == nil
		}
	}
	return 0, false
}
