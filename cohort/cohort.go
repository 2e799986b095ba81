package cohort

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/outcomes"
)

// Treatments.
const (
	TFESI         = "tfesi"
	Decompression = "decompression"
	Fusion        = "fusion"
)

// Diagnosis groups (the spine Condition coded for a patient).
var dxLists = []string{"dx_disc_herniation", "dx_stenosis", "dx_spondylolisthesis", "dx_deformity"}

// vars are the design variables of the linear predictors.
var vars = []string{"age10", "female", "bmi5", "depression", "anxiety", "smoking_current", "smoking_former", "diabetes",
	"hypertension", "coronary", "osteoporosis", "imaging", "dx_herniation", "dx_stenosis", "dx_spondylolisthesis",
	"dx_deformity", "duration_yr", "opioid", "asa", "prior_surgery", "severity", "fusion", "decompression", "tfesi",
	"levels_extra", "odi_b", "nrs_back_b", "nrs_leg_b", "eq5d_b", "pf_b", "leg_dominance", "ssi", "other_complication"}

// Vars returns the names of the design variables the parameters may use.
func Vars() []string { return append([]string(nil), vars...) }

var varIndex = func() map[string]int {
	m := map[string]int{}
	for i, v := range vars {
		m[v] = i
	}
	return m
}()

// Assessment is one dated PROM score.
type Assessment struct {
	Instrument string
	Date       time.Time
	Value      float64
	// Questionnaire is set when the score is exported as a scored
	// QuestionnaireResponse (ODI items) rather than a score Observation.
	Questionnaire bool
}

// Patient is one simulated patient: what the registry records and the
// latent quantities behind it.
type Patient struct {
	ID        string
	Index     time.Time // the consultation (index) date
	BirthDate time.Time
	Female    bool

	BMI                float64 // true BMI (recorded when BMIRecorded)
	BMIRecorded        bool
	Smoking            int // 0 never, 1 former, 2 current
	SmokingRecorded    bool
	Comorbid           map[string]bool // diabetes, depression, anxiety, hypertension, coronary_disease, osteoporosis
	Opioid, OpioidPast bool
	ASA                int
	ASARecorded        bool
	Dx                 string // one of the dx_* code lists
	DxRecorded         bool
	Onset              time.Time
	PriorSurgery       bool
	PriorSurgeryDate   time.Time
	Imaging            float64 // latent phenotype, never exported (only through the simulated MRI)
	// MRI is the simulated lumbar MRI study; nil without one or before
	// Cohort.AddImages.
	MRI           *MRI
	Treatment     string
	Levels        int
	TreatmentDate time.Time
	History       []Assessment // before or on the index date, oldest first
	FollowUp      []Assessment // after the treatment
	// Features holds the feature-schema vector (schema order, NaN missing)
	// the simulator computes from the record it writes.
	Features []float64
	// Observed and TrueP are indexed like Outcomes(): the observed outcome
	// (-1 where it does not apply or the patient was lost to follow-up)
	// and its true probability (NaN where it does not apply).
	Observed []int8
	TrueP    []float64
}

// Cohort is a simulated registry.
type Cohort struct {
	Seed     uint64
	Patients []Patient
	// OutcomeIDs are the simulated outcome definitions, in column order.
	OutcomeIDs []string

	params *Params // as given to Generate; nil means DefaultParams
}

func (co *Cohort) schema() *features.Schema { return features.DefaultSchema() }

// Outcomes returns the ids of the outcome definitions the simulator labels
// (package outcomes; ndi_mcid15_12m is not simulated: the registry is
// lumbar).
func Outcomes() []string {
	return []string{"odi_mcid15_12m", "odi_mcid30pct_12m", "nrs_back_mcid2_12m", "nrs_leg_mcid2_12m", "eq5d_mcid_12m",
		"promis_pf_mcid_12m", "tfesi_response_2m", "complication_any_90d", "ssi_90d", "reoperation_1y", "readmission_30d"}
}

type term struct {
	i int
	c float64
}

type clin struct {
	b     float64
	terms []term
}

func (l *clin) eval(v *[len0]float64) float64 {
	s := l.b
	for _, t := range l.terms {
		s += t.c * v[t.i]
	}
	return s
}

const len0 = 33 // len(vars), checked at init

func init() {
	if len(vars) != len0 {
		panic("cohort: len0 out of date")
	}
}

func compile(name string, l Linear) (clin, error) {
	c := clin{b: l.Intercept}
	for _, t := range l.Terms {
		i, ok := varIndex[t.Var]
		if !ok {
			return c, fmt.Errorf("%s: unknown variable %q", name, t.Var)
		}
		if math.IsNaN(t.Coef) || math.IsInf(t.Coef, 0) {
			return c, fmt.Errorf("%s: coefficient of %s is not finite", name, t.Var)
		}
		c.terms = append(c.terms, term{i, t.Coef})
	}
	return c, nil
}

// compiled is Params with every linear predictor resolved.
type compiled struct {
	p                                                      *Params
	start                                                  time.Time
	dep, anx, smokeCur, smokeFormer, diab, hyp, cor, osteo clin
	img, opioid, asa, prior, tfesi, fusion                 clin
	dx                                                     [4]clin
	proms                                                  []clin
	odi, back, leg, eq5d, pf, tfesiCh                      clin
	ssi, other, readm, reop                                clin
	defs                                                   []outcomes.Definition
	schema                                                 *features.Schema
	promIndex                                              map[string]int
}

func compileParams(p *Params) (*compiled, error) {
	c := &compiled{p: p, promIndex: map[string]int{}}
	var err error
	c.start, err = time.Parse(time.DateOnly, p.IndexStart)
	if err != nil {
		return nil, fmt.Errorf("index_start: %w", err)
	}
	if p.IndexDays < 0 {
		return nil, errors.New("index_days must be ≥ 0")
	}
	for _, x := range []struct {
		name string
		l    Linear
		dst  *clin
	}{
		{"depression", p.Depression, &c.dep}, {"anxiety", p.Anxiety, &c.anx}, {"smoking_current", p.SmokingCurrent, &c.smokeCur},
		{"smoking_former", p.SmokingFormer, &c.smokeFormer}, {"diabetes", p.Diabetes, &c.diab}, {"hypertension", p.Hypertension, &c.hyp},
		{"coronary", p.Coronary, &c.cor}, {"osteoporosis", p.Osteoporosis, &c.osteo}, {"imaging", p.Imaging, &c.img},
		{"opioid", p.Opioid, &c.opioid}, {"asa", p.ASA, &c.asa}, {"prior_surgery", p.PriorSurgery, &c.prior},
		{"tfesi", p.TFESI, &c.tfesi}, {"fusion", p.Fusion, &c.fusion},
		{"dx_herniation", p.DxHerniation, &c.dx[0]}, {"dx_stenosis", p.DxStenosis, &c.dx[1]},
		{"dx_spondylolisthesis", p.DxSpondylolisthesis, &c.dx[2]}, {"dx_deformity", p.DxDeformity, &c.dx[3]},
		{"odi_change", p.ODIChange.Mean, &c.odi}, {"nrs_back_change", p.NRSBackChange.Mean, &c.back},
		{"nrs_leg_change", p.NRSLegChange.Mean, &c.leg}, {"eq5d_change", p.EQ5DChange.Mean, &c.eq5d},
		{"pf_change", p.PFChange.Mean, &c.pf}, {"tfesi_change", p.TFESIChange.Mean, &c.tfesiCh},
		{"ssi", p.SSI, &c.ssi}, {"other_complication", p.OtherComplication, &c.other},
		{"readmission", p.Readmission, &c.readm}, {"reoperation", p.Reoperation, &c.reop},
	} {
		if *x.dst, err = compile(x.name, x.l); err != nil {
			return nil, err
		}
	}
	need := []string{"odi", "nrs_back", "nrs_leg", "eq5d_index", "promis_pf"}
	if len(p.PROMs) != len(need) {
		return nil, fmt.Errorf("want the %d instruments %v in PROMs", len(need), need)
	}
	for i, pr := range p.PROMs {
		if pr.Instrument != need[i] {
			return nil, fmt.Errorf("PROMs[%d] is %q, want %q", i, pr.Instrument, need[i])
		}
		l, err := compile(pr.Instrument, pr.Base)
		if err != nil {
			return nil, err
		}
		c.proms = append(c.proms, l)
		c.promIndex[pr.Instrument] = i
	}
	if len(p.HistoryCountP) == 0 {
		return nil, errors.New("history_count_p is empty")
	}
	for _, ch := range []Change{p.ODIChange, p.NRSBackChange, p.NRSLegChange, p.EQ5DChange, p.PFChange, p.TFESIChange} {
		if !(ch.Scale > 0) {
			return nil, errors.New("every change model needs a positive scale")
		}
	}
	set := outcomes.Default()
	for _, id := range Outcomes() {
		d, ok := set.Get(id)
		if !ok {
			return nil, fmt.Errorf("outcome definition %s missing", id)
		}
		c.defs = append(c.defs, d)
	}
	c.schema = features.DefaultSchema()
	return c, nil
}

// Generate simulates n patients with the given seed and parameters (nil:
// DefaultParams). The same n, seed and parameters give the same cohort;
// patient i depends only on the seed, i and the parameters, so a larger n
// extends a smaller one.
func Generate(n int, seed uint64, p *Params) (*Cohort, error) {
	if n < 0 {
		return nil, fmt.Errorf("simulate cohort: n must be ≥ 0, got %d", n)
	}
	if p == nil {
		p = DefaultParams()
	}
	c, err := compileParams(p)
	if err != nil {
		return nil, fmt.Errorf("simulate cohort: parameters: %w", err)
	}
	co := &Cohort{Seed: seed, Patients: make([]Patient, n), OutcomeIDs: Outcomes(), params: p}
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				c.patient(&co.Patients[i], i, seed)
			}
		}()
	}
	wg.Wait()
	return co, nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func bern(r *rand.Rand, p float64) bool { return r.Float64() < p }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// roundStep rounds x to a multiple of step, keeping the shortest decimal.
func roundStep(x, step float64) float64 {
	k := math.Round(x / step)
	switch step {
	case 0.001:
		return k / 1000
	case 0.1:
		return k / 10
	case 0.01:
		return k / 100
	}
	return k * step
}

func day(t time.Time, d int) time.Time { return t.AddDate(0, 0, d) }

func (c *compiled) patient(pt *Patient, i int, seed uint64) {
	p := c.p
	r := rand.New(rand.NewPCG(seed, uint64(i)+1))
	var v [len0]float64
	set := func(name string, x float64) { v[varIndex[name]] = x }

	pt.ID = fmt.Sprintf("sim%07d", i+1)
	pt.Index = day(c.start, r.IntN(p.IndexDays+1))
	age := clamp(p.AgeMean+p.AgeSD*r.NormFloat64(), p.AgeMin, p.AgeMax)
	pt.BirthDate = day(pt.Index, -int(math.Round(age*365.25)))
	age = daysBetween(pt.Index, pt.BirthDate) / 365.25
	set("age10", (age-57)/10)
	pt.Female = bern(r, p.FemaleP)
	set("female", b2f(pt.Female))
	pt.BMI = roundStep(clamp(p.BMIMean+p.BMISD*r.NormFloat64(), p.BMIMin, p.BMIMax), 0.1)
	pt.BMIRecorded = !bern(r, p.BMIMissingP)
	set("bmi5", (pt.BMI-28.5)/5)

	pt.Comorbid = map[string]bool{}
	flag := func(name, list string, l *clin) bool {
		b := bern(r, sigmoid(l.eval(&v)))
		set(name, b2f(b))
		if list != "" {
			pt.Comorbid[list] = b
		}
		return b
	}
	flag("depression", "depression", &c.dep)
	flag("anxiety", "anxiety", &c.anx)
	switch {
	case bern(r, sigmoid(c.smokeCur.eval(&v))):
		pt.Smoking = 2
	case bern(r, sigmoid(c.smokeFormer.eval(&v))):
		pt.Smoking = 1
	}
	set("smoking_current", b2f(pt.Smoking == 2))
	set("smoking_former", b2f(pt.Smoking == 1))
	pt.SmokingRecorded = !bern(r, p.SmokingMissingP)
	flag("diabetes", "diabetes", &c.diab)
	flag("hypertension", "hypertension", &c.hyp)
	flag("coronary", "coronary_disease", &c.cor)
	flag("osteoporosis", "osteoporosis", &c.osteo)
	pt.Imaging = c.img.eval(&v) + r.NormFloat64()
	set("imaging", pt.Imaging)

	// Diagnosis group (multinomial logit) and symptom duration.
	var w [4]float64
	tot := 0.0
	for k := range w {
		w[k] = math.Exp(c.dx[k].eval(&v))
		tot += w[k]
	}
	u, k := r.Float64()*tot, 0
	for k < 3 && u >= w[k] {
		u -= w[k]
		k++
	}
	pt.Dx = dxLists[k]
	set(pt.Dx, 1)
	pt.DxRecorded = !bern(r, p.DxMissingP)
	months := clamp(p.DurationMedianMonths*math.Exp(p.DurationSDLog*r.NormFloat64()), p.DurationMin, p.DurationMax)
	pt.Onset = day(pt.Index, -int(math.Round(months*30.4375)))
	set("duration_yr", daysBetween(pt.Index, pt.Onset)/30.4375/12)

	pt.Opioid = flag("opioid", "", &c.opioid)
	pt.OpioidPast = !pt.Opioid && bern(r, p.OpioidPastP)
	lat := c.asa.eval(&v) + p.ASANoise*r.NormFloat64()
	pt.ASA = 1
	for _, cut := range p.ASACuts {
		if lat >= cut {
			pt.ASA++
		}
	}
	pt.ASARecorded = !bern(r, p.ASAMissingP)
	set("asa", float64(pt.ASA-2))
	pt.PriorSurgery = flag("prior_surgery", "", &c.prior)
	if pt.PriorSurgery {
		pt.PriorSurgeryDate = day(pt.Index, -(365 + r.IntN(3286)))
	}

	// PROMs: a shared severity, the baseline (latest) score of each
	// instrument, and a history of 1–4 assessments before it.
	set("severity", p.Severity*r.NormFloat64())
	nHist := 1
	for u, acc := r.Float64(), 0.0; nHist <= len(p.HistoryCountP); nHist++ {
		acc += p.HistoryCountP[nHist-1]
		if u < acc {
			break
		}
	}
	nHist = min(nHist, len(p.HistoryCountP))
	base := make([]float64, len(p.PROMs))
	recorded := make([]bool, len(p.PROMs))
	for j := range p.PROMs {
		pr := &p.PROMs[j]
		x := c.proms[j].eval(&v) + pr.Noise*r.NormFloat64()
		base[j] = roundStep(clamp(x, pr.Min, pr.Max), pr.Step)
		recorded[j] = !bern(r, pr.MissingP)
		trend := pr.Trend + pr.TrendSD*r.NormFloat64()
		if !pr.HigherWorse {
			trend = -trend
		}
		if !recorded[j] {
			continue
		}
		// Dates: the latest 0–21 days before the index, then 30–180 days apart.
		d := -r.IntN(22)
		hist := make([]Assessment, nHist)
		for h := nHist - 1; h >= 0; h-- {
			val := base[j]
			if h < nHist-1 {
				d -= 30 + r.IntN(151)
				back := float64(hist[nHist-1].Date.Sub(day(pt.Index, d)).Hours()/24) / 30
				val = roundStep(clamp(base[j]-trend*back+pr.MeasureSD*r.NormFloat64(), pr.Min, pr.Max), pr.Step)
			}
			hist[h] = Assessment{Instrument: pr.Instrument, Date: day(pt.Index, d), Value: val,
				Questionnaire: pr.Instrument == "odi" && r.IntN(3) == 0}
		}
		pt.History = append(pt.History, hist...)
	}
	for j, name := range []string{"odi_b", "nrs_back_b", "nrs_leg_b", "eq5d_b", "pf_b"} {
		set(name, base[j])
	}
	set("leg_dominance", base[2]-base[1])

	// Treatment.
	switch {
	case bern(r, sigmoid(c.tfesi.eval(&v))):
		pt.Treatment = TFESI
		pt.Levels = 1 + int(b2f(bern(r, 0.25)))
		pt.TreatmentDate = day(pt.Index, 7+r.IntN(22))
	case bern(r, sigmoid(c.fusion.eval(&v))):
		pt.Treatment = Fusion
		pt.Levels = 1 + int(b2f(bern(r, 0.3)))
		if pt.Dx == "dx_deformity" {
			pt.Levels += 2 + r.IntN(3)
		}
		pt.TreatmentDate = day(pt.Index, 14+r.IntN(62))
	default:
		pt.Treatment = Decompression
		st := b2f(pt.Dx == "dx_stenosis")
		pt.Levels = 1 + int(b2f(bern(r, 0.25+0.2*st))) + int(b2f(bern(r, 0.1*st)))
		pt.TreatmentDate = day(pt.Index, 14+r.IntN(62))
	}
	set(pt.Treatment, 1)
	set("levels_extra", float64(pt.Levels-1))

	c.outcomes(pt, r, &v, base, recorded)
	pt.Features = c.features(pt)
}

// outcomes draws the follow-up PROMs and events and their probabilities.
func (c *compiled) outcomes(pt *Patient, r *rand.Rand, v *[len0]float64, base []float64, recorded []bool) {
	p := c.p
	nOut := len(c.defs)
	pt.Observed = make([]int8, nOut)
	pt.TrueP = make([]float64, nOut)
	for k := range pt.TrueP {
		pt.Observed[k], pt.TrueP[k] = -1, math.NaN()
	}
	lost := bern(r, p.LossToFollowUpP)
	type chg struct {
		prom int
		ch   *Change
		mean *clin
		when bool // treatment matches
	}
	surgery := pt.Treatment != TFESI
	changes := []chg{
		{0, &p.ODIChange, &c.odi, surgery}, {1, &p.NRSBackChange, &c.back, surgery}, {2, &p.NRSLegChange, &c.leg, surgery},
		{3, &p.EQ5DChange, &c.eq5d, surgery}, {4, &p.PFChange, &c.pf, surgery}, {2, &p.TFESIChange, &c.tfesiCh, !surgery},
	}
	for _, x := range changes {
		// Draw the noise whatever happens, so the stream does not depend
		// on which outcomes apply.
		u := r.Float64()
		if !x.when || !recorded[x.prom] {
			continue
		}
		pr := &p.PROMs[x.prom]
		mu := x.mean.eval(v)
		logis := math.Log(u / (1 - u))
		delta := mu + x.ch.Scale*logis
		if x.ch.Relative {
			delta *= base[x.prom]
		}
		dir := -1.0
		if !pr.HigherWorse {
			dir = 1
		}
		follow := roundStep(clamp(base[x.prom]+dir*delta, pr.Min, pr.Max), 0.01)
		days := 365
		if !surgery {
			days = 60
		}
		if !lost {
			pt.FollowUp = append(pt.FollowUp, Assessment{Instrument: pr.Instrument, Date: day(pt.TreatmentDate, days), Value: follow})
		}
		for k, d := range c.defs {
			if !c.fits(d, pr.Instrument, surgery, x.ch.Relative) || !d.Applies(base[x.prom]) {
				continue
			}
			// The improvement in the instrument's unit needed, and whether
			// the scale leaves room for it (a clamped follow-up cannot
			// improve past the scale's end).
			need := d.Threshold
			if d.Relative {
				need *= base[x.prom]
			}
			room := base[x.prom] - pr.Min
			if !pr.HigherWorse {
				room = pr.Max - base[x.prom]
			}
			thr := need
			if x.ch.Relative {
				thr = d.Threshold // mu is a fraction of the baseline
			}
			pt.TrueP[k] = 0
			if room >= need-1e-9 {
				pt.TrueP[k] = sigmoid((mu - thr) / x.ch.Scale)
			}
			if !lost {
				met, _ := d.Met(base[x.prom], follow)
				pt.Observed[k] = int8(b2f(met))
			}
		}
	}
	// Complications (surgery only): SSI and other complications
	// independently given the covariates; readmission and reoperation
	// depend on them, so their marginal probabilities mix over the four
	// combinations.
	uS, uO, uR, uE := r.Float64(), r.Float64(), r.Float64(), r.Float64()
	if !surgery {
		return
	}
	pS, pO := sigmoid(c.ssi.eval(v)), sigmoid(c.other.eval(v))
	ssi, other := uS < pS, uO < pO
	mix := func(l *clin) (marginal, given float64) {
		for _, s := range []bool{false, true} {
			for _, o := range []bool{false, true} {
				v[varIndex["ssi"]], v[varIndex["other_complication"]] = b2f(s), b2f(o)
				q := sigmoid(l.eval(v))
				w := (b2f(s)*pS + b2f(!s)*(1-pS)) * (b2f(o)*pO + b2f(!o)*(1-pO))
				marginal += w * q
				if s == ssi && o == other {
					given = q
				}
			}
		}
		return marginal, given
	}
	mR, gR := mix(&c.readm)
	mE, gE := mix(&c.reop)
	ev := map[string][2]float64{ // true p, event
		"complication_any_90d": {1 - (1-pS)*(1-pO), b2f(ssi || other)},
		"ssi_90d":              {pS, b2f(ssi)},
		"readmission_30d":      {mR, b2f(uR < gR)},
		"reoperation_1y":       {mE, b2f(uE < gE)},
	}
	for k, d := range c.defs {
		if e, ok := ev[d.ID]; ok {
			pt.TrueP[k], pt.Observed[k] = e[0], int8(e[1])
		}
	}
}

// fits reports whether definition d is evaluated by the change model of
// instrument on this treatment path: TFESI response at 2 months, the
// surgical definitions at 12 months; a relative change model serves only
// relative definitions.
func (c *compiled) fits(d outcomes.Definition, instrument string, surgery, relative bool) bool {
	if d.Kind != outcomes.KindPROMChange || d.Instrument != instrument || relative && !d.Relative {
		return false
	}
	return (d.TimepointDays == 60) != surgery
}

// daysBetween is b to a in days (both midnights UTC).
func daysBetween(a, b time.Time) float64 { return float64(a.Unix()-b.Unix()) / 86400 }
