package features

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"github.com/spinecast/spinecast/fhir"
)

// Options for Extract. A nil *Options means the embedded catalogue and
// code lists.
type Options struct {
	Catalogue *fhir.Catalogue
	CodeLists *fhir.CodeLists
}

var defaults = sync.OnceValues(func() (*fhir.Catalogue, *fhir.CodeLists) {
	return fhir.DefaultCatalogue(), fhir.DefaultCodeLists()
})

// Vector is one patient's feature vector at an index date.
type Vector struct {
	SchemaVersion string
	// PROMCatalogueVersion and CodeListsVersion name the clinical data the
	// vector was computed with.
	PROMCatalogueVersion string
	CodeListsVersion     string
	// Patient is the patient's reference, "Patient/123".
	Patient string
	AsOf    time.Time
	// Values holds the features in schema order; NaN means missing.
	Values []float64
	// Provenance lists, per feature name, the FHIR references it came from.
	Provenance map[string][]string
	// Warnings holds the record's issues and those found while extracting.
	Warnings fhir.Issues

	schema *Schema
}

// Value returns a feature's value and whether it is present.
func (v *Vector) Value(name string) (float64, bool) {
	i := v.schema.Index(name)
	if i < 0 || math.IsNaN(v.Values[i]) {
		return math.NaN(), false
	}
	return v.Values[i], true
}

// MarshalJSON writes the vector with features by name (null = missing).
func (v *Vector) MarshalJSON() ([]byte, error) {
	feats := make(map[string]*float64, len(v.Values))
	for i, f := range v.schema.Features {
		if math.IsNaN(v.Values[i]) {
			feats[f.Name] = nil
		} else {
			x := v.Values[i]
			feats[f.Name] = &x
		}
	}
	w := v.Warnings
	if w == nil {
		w = fhir.Issues{}
	}
	return json.Marshal(struct {
		SchemaVersion string              `json:"schema_version"`
		PROMCatalogue string              `json:"prom_catalogue_version"`
		CodeLists     string              `json:"code_lists_version"`
		Patient       string              `json:"patient"`
		AsOf          string              `json:"as_of"`
		Features      map[string]*float64 `json:"features"`
		Provenance    map[string][]string `json:"provenance"`
		Warnings      fhir.Issues         `json:"warnings"`
	}{v.SchemaVersion, v.PROMCatalogueVersion, v.CodeListsVersion, v.Patient, v.AsOf.Format(time.DateOnly), feats, v.Provenance, w})
}

// SetImaging fills the imaging block from the imaging pipeline's output
// (feature name → value) and clears imaging_missing. Every img_ feature must
// be given, finite; otherwise nothing changes and an error is returned.
func (v *Vector) SetImaging(vals map[string]float64, refs []string) error {
	var idx []int
	for i, f := range v.schema.Features {
		if f.Block != "imaging" || f.Type == "indicator" {
			continue
		}
		x, ok := vals[f.Name]
		if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("set imaging: feature %s missing or not finite", f.Name)
		}
		idx = append(idx, i)
	}
	if len(vals) != len(idx) {
		return errors.New("set imaging: unknown imaging feature names given")
	}
	for _, i := range idx {
		v.Values[i] = vals[v.schema.Features[i].Name]
		v.Provenance[v.schema.Features[i].Name] = refs
	}
	v.Values[v.schema.Index("imaging_missing")] = 0
	return nil
}

// extractor accumulates one vector.
type extractor struct {
	v    *Vector
	rec  *fhir.Record
	asOf time.Time
	cat  *fhir.Catalogue
	cl   *fhir.CodeLists
}

func (x *extractor) set(name string, val float64, refs ...string) {
	i := x.v.schema.Index(name)
	if i < 0 {
		panic("features: no feature " + name) // programmer error, caught by tests
	}
	x.v.Values[i] = val
	if len(refs) > 0 {
		x.v.Provenance[name] = append(x.v.Provenance[name], refs...)
	}
}

func (x *extractor) warn(code, loc, format string, args ...any) {
	x.v.Warnings = append(x.v.Warnings, fhir.Issue{Severity: fhir.Warning, Code: code, Location: loc, Diagnostics: fmt.Sprintf(format, args...)})
}

// usable reports whether a resource dated d may be used at the index date:
// dated, and its last possible day on or before the index date.
func (x *extractor) usable(d fhir.Date) bool {
	return !d.IsZero() && !d.LastDay().After(x.asOf)
}

// Extract computes the feature vector of rec at the index date asOf (its
// calendar day is used). Nothing dated after asOf contributes. The record's
// issues are carried into the vector's warnings.
func Extract(rec *fhir.Record, asOf time.Time, opts *Options) (*Vector, error) {
	if rec == nil {
		return nil, errors.New("extract features: nil record")
	}
	if asOf.IsZero() {
		return nil, errors.New("extract features: an index date is required")
	}
	y, m, d := asOf.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	s := defaultSchema
	x := &extractor{rec: rec, asOf: day, v: &Vector{
		SchemaVersion: s.Version, Patient: rec.Patient.Ref, AsOf: day, Values: make([]float64, len(s.Features)),
		Provenance: map[string][]string{}, Warnings: append(fhir.Issues(nil), rec.Issues...), schema: s,
	}}
	x.cat, x.cl = defaults()
	if opts != nil && opts.Catalogue != nil {
		x.cat = opts.Catalogue
	}
	if opts != nil && opts.CodeLists != nil {
		x.cl = opts.CodeLists
	}
	x.v.PROMCatalogueVersion, x.v.CodeListsVersion = x.cat.Version, x.cl.Version
	for i := range x.v.Values {
		x.v.Values[i] = math.NaN()
	}
	x.demographics()
	x.observations()
	x.conditions()
	x.procedures()
	x.medications()
	x.proms()
	// A value outside its schema range (an implausible date or record) is
	// reported and left missing, never passed on.
	for i, f := range s.Features {
		val := x.v.Values[i]
		if !math.IsNaN(val) && f.Min != nil && f.Max != nil && (val < *f.Min || val > *f.Max) {
			if f.MissingIndicator == "" {
				return nil, fmt.Errorf("extract features: internal error: %s = %v outside %v–%v", f.Name, val, *f.Min, *f.Max)
			}
			x.warn(fhir.CodeValue, "", "%s outside its valid range %g–%g (implausible dates or values in the record): left missing", f.Name, *f.Min, *f.Max)
			x.v.Values[i] = math.NaN()
			delete(x.v.Provenance, f.Name)
		}
	}
	// Missing indicators follow their features; the rest must be set.
	for i, f := range s.Features {
		if f.Type == "indicator" && math.IsNaN(x.v.Values[i]) {
			x.v.Values[i] = 0
		}
	}
	for i, f := range s.Features {
		if f.MissingIndicator == "" {
			if math.IsNaN(x.v.Values[i]) {
				return nil, fmt.Errorf("extract features: internal error: %s left unset", f.Name)
			}
			continue
		}
		if math.IsNaN(x.v.Values[i]) {
			x.v.Values[s.Index(f.MissingIndicator)] = 1
		}
	}
	return x.v, nil
}

func (x *extractor) demographics() {
	p := &x.rec.Patient
	ref := p.Ref
	if !p.BirthDate.IsZero() {
		b := p.BirthDate.FirstDay()
		if b.After(x.asOf) {
			x.warn(fhir.CodeValue, p.Loc+".birthDate", "birth date after the index date: age not computed")
		} else {
			x.set("age_years", daysBetween(x.asOf, b)/365.25, ref)
			if p.BirthDate.Precision < fhir.Day {
				x.warn(fhir.CodeValue, p.Loc+".birthDate", "partial birth date: age counted from its first possible day")
			}
		}
	}
	if p.Gender != nil {
		switch *p.Gender {
		case fm.AdministrativeGenderFemale:
			x.set("sex_female", 1, ref)
		case fm.AdministrativeGenderMale:
			x.set("sex_female", 0, ref)
		}
	}
}

// latestObs returns the usable observations for which ok is true, dated
// on or after since, latest first.
func latestObs(x *extractor, ok func(*fhir.Observation) bool, since time.Time) []*fhir.Observation {
	var out []*fhir.Observation
	for i := range x.rec.Observations {
		o := &x.rec.Observations[i]
		if o.Status == fm.ObservationStatusEnteredInError || o.Status == fm.ObservationStatusCancelled || !x.usable(o.Date) || o.Date.LastDay().Before(since) {
			continue
		}
		if ok(o) {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Date.Time.After(out[j].Date.Time) })
	return out
}

func (x *extractor) observations() {
	// BMI: latest within 730 days, UCUM kg/m2 only.
	for _, o := range latestObs(x, func(o *fhir.Observation) bool { _, ok := x.cl.Match("bmi", &o.Code); return ok }, x.asOf.AddDate(0, 0, -730)) {
		q := o.ValueQuantity
		if q == nil || q.Value == nil {
			x.warn(fhir.CodeRequired, o.Loc+".valueQuantity", "BMI observation without a quantity: not used")
			continue
		}
		if q.Code == nil || q.System == nil || *q.System != fhir.UCUM || *q.Code != "kg/m2" {
			x.warn(fhir.CodeValue, o.Loc+".valueQuantity.code", "BMI unit is not UCUM kg/m2: not used")
			continue
		}
		v, err := q.Value.Float64()
		if err != nil || v < 10 || v > 80 {
			x.warn(fhir.CodeValue, o.Loc+".valueQuantity.value", "BMI outside 10–80 kg/m2: not used")
			continue
		}
		x.set("bmi", v, o.Ref)
		break
	}
	// Smoking status: the latest usable one decides.
	for _, o := range latestObs(x, func(o *fhir.Observation) bool { _, ok := x.cl.Match("smoking_status", &o.Code); return ok }, time.Time{}) {
		vc := o.ValueCodeableConcept
		switch {
		case vc == nil:
			x.warn(fhir.CodeRequired, o.Loc+".valueCodeableConcept", "smoking status without a coded value: not used")
			continue
		case match(x.cl, "smoking_current", vc):
			x.set("smoking_current", 1, o.Ref)
			x.set("smoking_former", 0, o.Ref)
		case match(x.cl, "smoking_former", vc):
			x.set("smoking_current", 0, o.Ref)
			x.set("smoking_former", 1, o.Ref)
		case match(x.cl, "smoking_never", vc):
			x.set("smoking_current", 0, o.Ref)
			x.set("smoking_former", 0, o.Ref)
		default:
			x.warn(fhir.CodeValue, o.Loc+".valueCodeableConcept", "smoking status code in no list (unknown status): smoking left missing")
		}
		break
	}
	// ASA class.
	for _, o := range latestObs(x, func(o *fhir.Observation) bool { _, ok := x.cl.Match("asa_class", &o.Code); return ok }, time.Time{}) {
		c := 0.0
		switch {
		case o.ValueInteger != nil:
			c = float64(*o.ValueInteger)
		case o.ValueQuantity != nil && o.ValueQuantity.Value != nil:
			c, _ = o.ValueQuantity.Value.Float64()
		case o.ValueCodeableConcept != nil:
			c = float64(x.cl.ASAClass(o.ValueCodeableConcept))
		}
		if c < 1 || c > 6 || c != math.Trunc(c) {
			x.warn(fhir.CodeValue, o.Loc+".value[x]", "ASA class not an integer 1–6: not used")
			continue
		}
		x.set("asa_class", c, o.Ref)
		break
	}
}

func match(cl *fhir.CodeLists, list string, cc *fm.CodeableConcept) bool {
	_, ok := cl.Match(list, cc)
	return ok
}

var comorbidities = []string{"diabetes", "depression", "anxiety", "hypertension", "coronary_disease", "osteoporosis",
	"dx_disc_herniation", "dx_stenosis", "dx_spondylolisthesis", "dx_deformity"}

func (x *extractor) conditions() {
	for _, n := range comorbidities {
		x.set(n, 0)
	}
	var onset time.Time
	var onsetRefs []string
	undated := 0
	for i := range x.rec.Conditions {
		c := &x.rec.Conditions[i]
		if vs := c.VerificationStatus; vs != nil && (hasCode(vs, "refuted") || hasCode(vs, "entered-in-error")) {
			continue
		}
		if c.Date.IsZero() {
			undated++
			continue
		}
		if !x.usable(c.Date) {
			continue
		}
		if c.AbatementDateTime != nil {
			if a, err := fhir.ParseDateTime(*c.AbatementDateTime); err == nil && !a.LastDay().After(x.asOf) {
				continue // resolved before the index date
			}
		}
		spine := false
		for _, n := range comorbidities {
			if match(x.cl, n, c.Code) {
				x.set(n, 1, c.Ref)
				spine = spine || n[:3] == "dx_"
			}
		}
		if spine || match(x.cl, "spine_symptom", c.Code) {
			f := c.Date.FirstDay()
			if onset.IsZero() || f.Before(onset) {
				onset = f
			}
			onsetRefs = append(onsetRefs, c.Ref)
		}
	}
	if !onset.IsZero() {
		x.set("symptom_duration_months", daysBetween(x.asOf, onset)/30.4375, onsetRefs...)
	}
	if undated > 0 {
		x.v.Warnings = append(x.v.Warnings, fhir.Issue{Severity: fhir.Information, Code: fhir.CodeInformatn,
			Diagnostics: fmt.Sprintf("%d undated Condition(s) not used: they cannot be placed before the index date", undated)})
	}
}

func hasCode(cc *fm.CodeableConcept, code string) bool {
	for _, c := range cc.Coding {
		if c.Code != nil && *c.Code == code {
			return true
		}
	}
	return false
}

var procKinds = []string{"proc_decompression", "proc_fusion", "proc_tfesi"}

func (x *extractor) procedures() {
	x.set("prior_spine_surgery", 0)
	for _, k := range procKinds {
		x.set(k, 0)
	}
	levels := map[string]int{}
	addPlanned := func(cc *fm.CodeableConcept, ref string) {
		if cc == nil {
			return
		}
		for _, k := range procKinds {
			for _, cd := range cc.Coding {
				one := fm.CodeableConcept{Coding: []fm.Coding{cd}}
				if _, ok := x.cl.Match(k, &one); !ok {
					continue
				}
				x.set(k, 1, ref)
				levels[k]++
			}
		}
	}
	for i := range x.rec.Procedures {
		p := &x.rec.Procedures[i]
		if !x.usable(p.Date) {
			continue
		}
		switch p.Status {
		case fm.EventStatusCompleted:
			if p.Date.LastDay().Before(x.asOf) && (match(x.cl, "proc_decompression", p.Code) || match(x.cl, "proc_fusion", p.Code)) {
				x.set("prior_spine_surgery", 1, p.Ref)
			}
		case fm.EventStatusPreparation:
			addPlanned(p.Code, p.Ref)
		}
	}
	for i := range x.rec.ServiceRequests {
		r := &x.rec.ServiceRequests[i]
		if r.Status == fm.RequestStatusRevoked || r.Status == fm.RequestStatusEnteredInError || !x.usable(r.Date) {
			continue
		}
		addPlanned(r.Code, r.Ref)
	}
	best := 0
	var refs []string
	for _, k := range procKinds {
		best = max(best, levels[k])
		x.v.Provenance[k] = dedupe(x.v.Provenance[k])
		refs = append(refs, x.v.Provenance[k]...)
		if len(x.v.Provenance[k]) == 0 {
			delete(x.v.Provenance, k)
		}
	}
	if best > 0 {
		x.set("proc_levels", float64(min(best, 10)), dedupe(refs)...)
	}
}

func dedupe(s []string) []string {
	if len(s) < 2 {
		return s
	}
	sort.Strings(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

func (x *extractor) medications() {
	x.set("opioid_preop", 0)
	from := x.asOf.AddDate(0, 0, -90)
	in := func(d fhir.Date) bool { return x.usable(d) && !d.LastDay().Before(from) }
	for i := range x.rec.MedicationRequests {
		r := &x.rec.MedicationRequests[i]
		if r.Status == "entered-in-error" || r.Status == "cancelled" || r.Status == "draft" || !in(r.Date) {
			continue
		}
		if match(x.cl, "opioid", &r.MedicationCodeableConcept) {
			x.set("opioid_preop", 1, r.Ref)
		}
	}
	for i := range x.rec.MedicationStatements {
		s := &x.rec.MedicationStatements[i]
		if s.Status == "entered-in-error" || s.Status == "not-taken" || !in(s.Date) {
			continue
		}
		if match(x.cl, "opioid", &s.MedicationCodeableConcept) {
			x.set("opioid_preop", 1, s.Ref)
		}
	}
}
