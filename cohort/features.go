package cohort

import (
	"math"
	"time"
)

// promIDs are the catalogue instruments with a history block in the
// feature schema; the simulator fills odi, nrs_back, nrs_leg, eq5d_index
// and promis_pf, the others have no assessments (n = 0, missing).
var promIDs = []string{"odi", "ndi", "nrs_back", "nrs_leg", "nrs_pain", "vas_pain", "eq5d_index", "eq5d_vas", "promis_pf", "mjoa", "comi"}

// features computes the patient's feature vector at the index date, in
// schema order, from the quantities the simulator writes to FHIR, by the
// definitions in features/data/schema.json (written independently of
// package features' code, so that the FHIR = CSV test checks both).
func (c *compiled) features(pt *Patient) []float64 {
	s := c.schema
	x := make([]float64, len(s.Features))
	for i := range x {
		x[i] = math.NaN()
	}
	set := func(name string, v float64) {
		i := s.Index(name)
		if i < 0 {
			panic("cohort: no feature " + name) // programmer error, caught by tests
		}
		x[i] = v
	}
	set("age_years", daysBetween(pt.Index, pt.BirthDate)/365.25)
	set("sex_female", b2f(pt.Female))
	if pt.BMIRecorded {
		set("bmi", pt.BMI)
	}
	if pt.SmokingRecorded {
		set("smoking_current", b2f(pt.Smoking == 2))
		set("smoking_former", b2f(pt.Smoking == 1))
	}
	for _, n := range []string{"diabetes", "depression", "anxiety", "hypertension", "coronary_disease", "osteoporosis"} {
		set(n, b2f(pt.Comorbid[n]))
	}
	set("prior_spine_surgery", b2f(pt.PriorSurgery))
	set("opioid_preop", b2f(pt.Opioid))
	if pt.ASARecorded {
		set("asa_class", float64(pt.ASA))
	}
	for _, n := range dxLists {
		set(n, b2f(pt.DxRecorded && pt.Dx == n))
	}
	if pt.DxRecorded {
		set("symptom_duration_months", daysBetween(pt.Index, pt.Onset)/30.4375)
	}
	set("proc_decompression", b2f(pt.Treatment == Decompression))
	set("proc_fusion", b2f(pt.Treatment == Fusion))
	set("proc_tfesi", b2f(pt.Treatment == TFESI))
	set("proc_levels", float64(pt.Levels))

	for _, id := range promIDs {
		var hist []Assessment
		for _, a := range pt.History {
			if a.Instrument == id {
				hist = append(hist, a)
			}
		}
		set(id+"_n", float64(len(hist)))
		if len(hist) == 0 {
			continue
		}
		first, last := hist[0], hist[len(hist)-1]
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, a := range hist {
			lo, hi = math.Min(lo, a.Value), math.Max(hi, a.Value)
		}
		set(id+"_baseline", last.Value)
		set(id+"_min", lo)
		set(id+"_max", hi)
		set(id+"_change", last.Value-first.Value)
		set(id+"_days_since_last", daysBetween(pt.Index, last.Date))
		if sl, ok := slope30(hist, pt.Index.AddDate(0, 0, -365)); ok {
			set(id+"_slope_30d", sl)
		}
	}
	// Missing indicators: 1 when a feature naming them is missing.
	for i, f := range s.Features {
		if f.Type == "indicator" && math.IsNaN(x[i]) {
			x[i] = 0
		}
	}
	for i, f := range s.Features {
		if f.MissingIndicator != "" && math.IsNaN(x[i]) {
			x[s.Index(f.MissingIndicator)] = 1
		}
	}
	return x
}

// slope30 is the least-squares slope per 30 days of the assessments dated
// on or after from (at least two).
func slope30(hist []Assessment, from time.Time) (float64, bool) {
	var t, y []float64
	for _, a := range hist {
		if !a.Date.Before(from) {
			t = append(t, daysBetween(a.Date, from))
			y = append(y, a.Value)
		}
	}
	if len(t) < 2 {
		return 0, false
	}
	n := float64(len(t))
	var mt, my float64
	for i := range t {
		mt += t[i] / n
		my += y[i] / n
	}
	var sxy, sxx float64
	for i := range t {
		sxy += (t[i] - mt) * (y[i] - my)
		sxx += (t[i] - mt) * (t[i] - mt)
	}
	return 30 * sxy / sxx, true
}
