package cohort

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
)

// TruePrefix prefixes the true-probability column of each outcome.
const TruePrefix = "true_p_"

// Columns returns the registry.csv header: patient_id, every feature-schema
// column under its schema name, each outcome's observed value and its true
// probability.
func (co *Cohort) Columns() []string {
	cols := []string{"patient_id"}
	cols = append(cols, features.DefaultSchema().Names()...)
	cols = append(cols, co.OutcomeIDs...)
	for _, id := range co.OutcomeIDs {
		cols = append(cols, TruePrefix+id)
	}
	return cols
}

func formatFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) {
		return b
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// WriteCSV writes registry.csv: one row per patient (see Columns). Missing
// features, outcomes that do not apply (or were lost to follow-up) and the
// true probabilities of outcomes that do not apply are empty cells.
func (co *Cohort) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	cols := co.Columns()
	var line []byte
	for i, c := range cols {
		if i > 0 {
			line = append(line, ',')
		}
		line = append(line, c...)
	}
	line = append(line, '\n')
	if _, err := bw.Write(line); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	for i := range co.Patients {
		p := &co.Patients[i]
		line = append(line[:0], p.ID...)
		for _, v := range p.Features {
			line = formatFloat(append(line, ','), v)
		}
		for _, o := range p.Observed {
			line = append(line, ',')
			if o >= 0 {
				line = strconv.AppendInt(line, int64(o), 10)
			}
		}
		for _, v := range p.TrueP {
			line = formatFloat(append(line, ','), v)
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("write registry: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	return nil
}

// ResourceTypes are the NDJSON files of the FHIR export, one per type.
var ResourceTypes = []string{"Patient", "Observation", "QuestionnaireResponse", "Condition", "MedicationStatement", "Procedure", "ServiceRequest"}

// WriteFHIR writes the cohort as a FHIR R4 Bulk Data export into dir (which
// must exist): <Type>.ndjson for each of ResourceTypes, and
// ImagingStudy.ndjson when patients have simulated MRIs (AddImages). Codes
// come from the embedded PROM catalogue and code lists (package fhir).
// Follow-up PROMs and the performed treatment are dated after the index
// date; the complications are not exported.
func (co *Cohort) WriteFHIR(dir string) error {
	enc, err := newEncoder()
	if err != nil {
		return fmt.Errorf("write fhir export: %w", err)
	}
	files := make([]*os.File, len(ResourceTypes))
	bufs := make([]*bufio.Writer, len(ResourceTypes))
	for k, t := range ResourceTypes {
		f, err := os.Create(filepath.Join(dir, t+".ndjson"))
		if err != nil {
			return fmt.Errorf("write fhir export: %w", err)
		}
		defer f.Close()
		files[k], bufs[k] = f, bufio.NewWriterSize(f, 1<<20)
	}
	// Patients are encoded in parallel chunks, a window at a time, and
	// written in order.
	const chunk = 512
	n := len(co.Patients)
	workers := runtime.GOMAXPROCS(0)
	window := 4 * workers * chunk
	for lo := 0; lo < n; lo += window {
		hi := min(n, lo+window)
		nc := (hi - lo + chunk - 1) / chunk
		out := make([][][]byte, nc)
		errs := make([]error, nc)
		var wg sync.WaitGroup
		for c := range nc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lines := make([][]byte, len(ResourceTypes))
				for i := lo + c*chunk; i < min(hi, lo+(c+1)*chunk); i++ {
					if err := enc.patient(&co.Patients[i], lines); err != nil {
						errs[c] = err
						return
					}
				}
				out[c] = lines
			}()
		}
		wg.Wait()
		for c := range nc {
			if errs[c] != nil {
				return fmt.Errorf("write fhir export: %w", errs[c])
			}
			for k, b := range out[c] {
				if _, err := bufs[k].Write(b); err != nil {
					return fmt.Errorf("write fhir export: %w", err)
				}
			}
		}
	}
	for k, b := range bufs {
		if err := b.Flush(); err != nil {
			return fmt.Errorf("write fhir export: %w", err)
		}
		if err := files[k].Close(); err != nil {
			return fmt.Errorf("write fhir export: %w", err)
		}
	}
	if co.HasImages() {
		if err := co.writeImagingStudies(dir); err != nil {
			return fmt.Errorf("write fhir export: %w", err)
		}
	}
	return nil
}

// WriteIndexDates writes patient_id,index_date (YYYY-MM-DD): the
// consultation date at which each patient's features were computed, i.e.
// the --as-of date to extract that patient's FHIR record with.
func (co *Cohort) WriteIndexDates(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("patient_id,index_date\n"); err != nil {
		return fmt.Errorf("write index dates: %w", err)
	}
	for i := range co.Patients {
		p := &co.Patients[i]
		if _, err := bw.WriteString(p.ID + "," + date(p.Index) + "\n"); err != nil {
			return fmt.Errorf("write index dates: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write index dates: %w", err)
	}
	return nil
}

// WriteDir writes registry.csv, index_dates.csv and the FHIR export
// (<Type>.ndjson) into dir, creating it, and, when patients have simulated
// MRIs, images.csv and images/ (WriteImages).
func (co *Cohort) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write cohort: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{"registry.csv": co.WriteCSV, "index_dates.csv": co.WriteIndexDates} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("write cohort: %w", err)
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write cohort: %w", err)
		}
	}
	if err := co.WriteImages(dir, 0); err != nil {
		return err
	}
	return co.WriteFHIR(dir)
}

// JSON shapes of the few FHIR elements written.
type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text,omitempty"`
}

type reference struct {
	Reference string `json:"reference"`
}

type quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

type answer struct {
	ValueInteger int `json:"valueInteger"`
}

type qrItem struct {
	LinkID string   `json:"linkId"`
	Answer []answer `json:"answer"`
}

type resource struct {
	ResourceType         string     `json:"resourceType"`
	ID                   string     `json:"id"`
	Status               string     `json:"status,omitempty"`
	Intent               string     `json:"intent,omitempty"`
	Gender               string     `json:"gender,omitempty"`
	BirthDate            string     `json:"birthDate,omitempty"`
	Questionnaire        string     `json:"questionnaire,omitempty"`
	Code                 *concept   `json:"code,omitempty"`
	MedicationCodeable   *concept   `json:"medicationCodeableConcept,omitempty"`
	ClinicalStatus       *concept   `json:"clinicalStatus,omitempty"`
	VerificationStatus   *concept   `json:"verificationStatus,omitempty"`
	BodySite             *concept   `json:"bodySite,omitempty"` // Observation.bodySite is 0..1
	Subject              *reference `json:"subject,omitempty"`
	EffectiveDateTime    string     `json:"effectiveDateTime,omitempty"`
	OnsetDateTime        string     `json:"onsetDateTime,omitempty"`
	PerformedDateTime    string     `json:"performedDateTime,omitempty"`
	AuthoredOn           string     `json:"authoredOn,omitempty"`
	Authored             string     `json:"authored,omitempty"`
	ValueQuantity        *quantity  `json:"valueQuantity,omitempty"`
	ValueInteger         *int       `json:"valueInteger,omitempty"`
	ValueCodeableConcept *concept   `json:"valueCodeableConcept,omitempty"`
	Item                 []qrItem   `json:"item,omitempty"`
}

// encoder holds the codes the export uses, looked up once.
type encoder struct {
	systems  map[string]string
	lists    map[string]coding // first code of a list
	primary  map[string]coding // first non-add-on CPT code of a procedure list
	addOn    map[string]coding // first add-on CPT code of a procedure list
	opioids  []coding
	proms    map[string]promCode
	odiQ     string
	odiLinks []string
}

type promCode struct {
	code concept
	site *concept
	unit string
}

func newEncoder() (*encoder, error) {
	cl := fhir.DefaultCodeLists()
	cat := fhir.DefaultCatalogue()
	e := &encoder{systems: cl.Systems, lists: map[string]coding{}, primary: map[string]coding{}, addOn: map[string]coding{}, proms: map[string]promCode{}}
	sys := func(s string) string {
		if u, ok := cl.Systems[s]; ok {
			return u
		}
		return s
	}
	for _, name := range []string{"diabetes", "depression", "anxiety", "hypertension", "coronary_disease", "osteoporosis",
		"dx_disc_herniation", "dx_stenosis", "dx_spondylolisthesis", "dx_deformity", "smoking_current", "smoking_former",
		"smoking_never", "bmi", "smoking_status", "asa_class"} {
		l, ok := cl.Lists[name]
		if !ok || len(l.Codes) == 0 {
			return nil, fmt.Errorf("code list %s missing or empty", name)
		}
		c := l.Codes[0]
		e.lists[name] = coding{System: sys(c.System), Code: c.Code, Display: c.Display}
	}
	for _, name := range []string{"proc_decompression", "proc_fusion", "proc_tfesi"} {
		for _, c := range cl.Lists[name].Codes {
			if c.System != "cpt" {
				continue
			}
			cd := coding{System: sys(c.System), Code: c.Code, Display: c.Display}
			if _, ok := e.primary[name]; !ok && !c.AddOn {
				e.primary[name] = cd
			} else if _, ok := e.addOn[name]; !ok && c.AddOn {
				e.addOn[name] = cd
			}
		}
		if _, ok := e.addOn[name]; !ok {
			return nil, fmt.Errorf("code list %s has no primary and add-on CPT codes", name)
		}
	}
	for _, c := range cl.Lists["opioid"].Codes {
		e.opioids = append(e.opioids, coding{System: sys(c.System), Code: c.Code, Display: c.Display})
	}
	if len(e.opioids) == 0 {
		return nil, errors.New("code list opioid is empty")
	}
	for _, id := range []string{"odi", "nrs_back", "nrs_leg", "eq5d_index", "promis_pf"} {
		in := cat.Instrument(id)
		if in == nil || len(in.Codes) == 0 || len(in.Units) == 0 {
			return nil, fmt.Errorf("PROM catalogue has no usable instrument %s", id)
		}
		c := in.Codes[0]
		pc := promCode{code: concept{Coding: []coding{{System: c.System, Code: c.Code, Display: c.Display}}}, unit: in.Units[0].Code}
		if c.BodySite != "" && c.BodySite != "none" {
			bs := cat.BodySites[c.BodySite]
			if len(bs) == 0 {
				return nil, fmt.Errorf("PROM catalogue: no body site %s", c.BodySite)
			}
			pc.site = &concept{Coding: []coding{{System: bs[0].System, Code: bs[0].Code, Display: bs[0].Display}}}
		}
		e.proms[id] = pc
	}
	odi := cat.Instrument("odi")
	if len(odi.Questionnaires) == 0 || odi.Scoring == nil || len(odi.Scoring.LinkIDs) != 10 {
		return nil, errors.New("PROM catalogue: odi has no 10-item questionnaire scoring")
	}
	e.odiQ, e.odiLinks = odi.Questionnaires[0], odi.Scoring.LinkIDs
	return e, nil
}

func date(t time.Time) string { return t.Format(time.DateOnly) }

const ucum = "http://unitsofmeasure.org"

// patient appends the patient's resources as NDJSON lines to lines (one
// buffer per entry of ResourceTypes).
func (e *encoder) patient(p *Patient, lines [][]byte) error {
	subj := &reference{Reference: "Patient/" + p.ID}
	seq := 0
	add := func(k int, r *resource) error {
		seq++
		r.ResourceType = ResourceTypes[k]
		if r.ID == "" {
			r.ID = p.ID + "-" + strconv.Itoa(seq)
		}
		if k > 0 {
			r.Subject = subj
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		lines[k] = append(append(lines[k], b...), '\n')
		return nil
	}
	const (
		kPatient = iota
		kObservation
		kQR
		kCondition
		kMedStatement
		kProcedure
		kServiceRequest
	)
	gender := "male"
	if p.Female {
		gender = "female"
	}
	if err := add(kPatient, &resource{ID: p.ID, Gender: gender, BirthDate: date(p.BirthDate)}); err != nil {
		return err
	}
	one := func(c coding) *concept { return &concept{Coding: []coding{c}} }
	// A deterministic per-patient choice of "when" for undated details.
	h := int(p.Index.Unix()/86400) + len(p.ID)
	if p.BMIRecorded {
		if err := add(kObservation, &resource{Status: "final", Code: one(e.lists["bmi"]), EffectiveDateTime: date(day(p.Index, -(h % 200))),
			ValueQuantity: &quantity{Value: p.BMI, Unit: "kg/m2", System: ucum, Code: "kg/m2"}}); err != nil {
			return err
		}
	}
	if p.SmokingRecorded {
		v := e.lists[[]string{"smoking_never", "smoking_former", "smoking_current"}[p.Smoking]]
		if err := add(kObservation, &resource{Status: "final", Code: one(e.lists["smoking_status"]), EffectiveDateTime: date(day(p.Index, -(h % 300))),
			ValueCodeableConcept: one(v)}); err != nil {
			return err
		}
	}
	if p.ASARecorded {
		asa := p.ASA
		if err := add(kObservation, &resource{Status: "final", Code: one(e.lists["asa_class"]), EffectiveDateTime: date(day(p.Index, -(h % 20))),
			ValueInteger: &asa}); err != nil {
			return err
		}
	}
	for _, a := range append(append([]Assessment(nil), p.History...), p.FollowUp...) {
		pc := e.proms[a.Instrument]
		if a.Questionnaire {
			sum := int(math.Round(a.Value / 2)) // ODI % = 2 × the sum of ten 0–5 items
			items := make([]qrItem, 10)
			for j := range items {
				v := sum / 10 // spread evenly over the sections
				if j < sum%10 {
					v++
				}
				items[j] = qrItem{LinkID: e.odiLinks[j], Answer: []answer{{ValueInteger: v}}}
			}
			if err := add(kQR, &resource{Status: "completed", Questionnaire: e.odiQ, Authored: date(a.Date), Item: items}); err != nil {
				return err
			}
			continue
		}
		code := pc.code
		if err := add(kObservation, &resource{Status: "final", Code: &code, BodySite: pc.site, EffectiveDateTime: date(a.Date),
			ValueQuantity: &quantity{Value: a.Value, Unit: pc.unit, System: ucum, Code: pc.unit}}); err != nil {
			return err
		}
	}
	for _, n := range []string{"diabetes", "depression", "anxiety", "hypertension", "coronary_disease", "osteoporosis"} {
		if p.Comorbid[n] {
			if err := add(kCondition, &resource{Code: one(e.lists[n]), OnsetDateTime: date(day(p.Index, -(30 + (h*7+len(n))%3000)))}); err != nil {
				return err
			}
		}
	}
	if p.DxRecorded {
		if err := add(kCondition, &resource{Code: one(e.lists[p.Dx]), OnsetDateTime: date(p.Onset)}); err != nil {
			return err
		}
	}
	if p.Opioid || p.OpioidPast {
		when := day(p.Index, -(h % 80))
		if p.OpioidPast {
			when = day(p.Index, -(120 + h%600))
		}
		if err := add(kMedStatement, &resource{Status: "active", MedicationCodeable: one(e.opioids[h%len(e.opioids)]), EffectiveDateTime: date(when)}); err != nil {
			return err
		}
	}
	if p.PriorSurgery {
		if err := add(kProcedure, &resource{Status: "completed", Code: one(e.primary["proc_decompression"]), PerformedDateTime: date(p.PriorSurgeryDate)}); err != nil {
			return err
		}
	}
	list := "proc_" + p.Treatment
	for l := 0; l < p.Levels; l++ {
		c := e.primary[list]
		if l > 0 {
			c = e.addOn[list]
		}
		if err := add(kServiceRequest, &resource{Status: "active", Intent: "order", Code: one(c), AuthoredOn: date(p.Index)}); err != nil {
			return err
		}
	}
	// The treatment itself, performed after the index date.
	return add(kProcedure, &resource{Status: "completed", Code: one(e.primary[list]), PerformedDateTime: date(p.TreatmentDate)})
}
