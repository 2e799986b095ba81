package features

import (
	"math"
	"sort"
	"time"

	"github.com/spinecast/spinecast/fhir"
)

// dayScore is one assessment day of an instrument.
type dayScore struct {
	day   time.Time
	value float64
	refs  []string
}

// proms fills the PROM history block of every catalogue instrument present
// in the schema.
func (x *extractor) proms() {
	scores, issues := x.cat.Scores(x.rec)
	x.v.Warnings = append(x.v.Warnings, issues...)
	by := map[string][]fhir.Score{}
	for _, s := range scores {
		if x.usable(s.Date) {
			by[s.Instrument] = append(by[s.Instrument], s)
		}
	}
	for _, in := range x.cat.Instruments {
		if x.v.schema.Index(in.ID+"_baseline") < 0 {
			continue // an instrument added to a catalogue but not to this schema
		}
		days := x.byDay(in.ID, by[in.ID])
		x.set(in.ID+"_n", float64(len(days)))
		if len(days) == 0 {
			continue
		}
		var all []string
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, d := range days {
			all = append(all, d.refs...)
			lo, hi = math.Min(lo, d.value), math.Max(hi, d.value)
		}
		last, first := days[len(days)-1], days[0]
		x.set(in.ID+"_baseline", last.value, last.refs...)
		x.v.Provenance[in.ID+"_n"] = all
		x.set(in.ID+"_min", lo, all...)
		x.set(in.ID+"_max", hi, all...)
		x.set(in.ID+"_change", last.value-first.value, append(append([]string(nil), first.refs...), last.refs...)...)
		x.set(in.ID+"_days_since_last", daysBetween(x.asOf, last.day), last.refs...)
		// Slope over the last 365 days, per 30 days.
		from := x.asOf.AddDate(0, 0, -365)
		var t, y []float64
		var refs []string
		for _, d := range days {
			if !d.day.Before(from) {
				t = append(t, daysBetween(d.day, from))
				y = append(y, d.value)
				refs = append(refs, d.refs...)
			}
		}
		if len(t) >= 2 {
			x.set(in.ID+"_slope_30d", 30*slope(t, y), refs...)
		}
	}
}

// byDay groups an instrument's scores by calendar day, oldest first. Equal
// scores on one day count once; different scores on one day are averaged
// with a warning (contradictory assessments).
func (x *extractor) byDay(id string, ss []fhir.Score) []dayScore {
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Date.LastDay().Before(ss[j].Date.LastDay()) })
	var out []dayScore
	for i := 0; i < len(ss); {
		j := i
		day := ss[i].Date.LastDay()
		sum, n, contradictory := 0.0, 0, false
		var refs []string
		for ; j < len(ss) && ss[j].Date.LastDay().Equal(day); j++ {
			if j > i && ss[j].Value != ss[i].Value {
				contradictory = true
			}
			sum += ss[j].Value
			n++
			refs = append(refs, ss[j].Ref)
		}
		if contradictory {
			x.warn(fhir.CodeBusiness, ss[i].Loc, "%s: %d different scores on one day: their mean is used", id, n)
		} else {
			sum, n = ss[i].Value, 1
		}
		out = append(out, dayScore{day: day, value: sum / float64(n), refs: refs})
		i = j
	}
	return out
}

// slope is the least-squares slope of y on t (at least two distinct t).
func slope(t, y []float64) float64 {
	var mt, my float64
	for i := range t {
		mt += t[i]
		my += y[i]
	}
	n := float64(len(t))
	mt, my = mt/n, my/n
	var sxy, sxx float64
	for i := range t {
		sxy += (t[i] - mt) * (y[i] - my)
		sxx += (t[i] - mt) * (t[i] - mt)
	}
	return sxy / sxx
}

// daysBetween is b to a in days, without time.Duration's 292-year saturation
// (both are midnights UTC, so the result is whole).
func daysBetween(a, b time.Time) float64 { return float64(a.Unix()-b.Unix()) / 86400 }
