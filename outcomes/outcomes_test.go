package outcomes_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/outcomes"
)

func TestDefaultDefinitions(t *testing.T) {
	s := outcomes.Default()
	want := []string{"odi_mcid15_12m", "odi_mcid30pct_12m", "nrs_back_mcid2_12m", "nrs_leg_mcid2_12m", "ndi_mcid15_12m",
		"eq5d_mcid_12m", "promis_pf_mcid_12m", "tfesi_response_2m", "complication_any_90d", "ssi_90d", "reoperation_1y", "readmission_30d"}
	for _, id := range want {
		d, ok := s.Get(id)
		if !ok {
			t.Errorf("definition %s missing", id)
			continue
		}
		if d.Source == "" || d.Version == "" {
			t.Errorf("%s: no source or version", id)
		}
	}
	odi, _ := s.Get("odi_mcid15_12m")
	if odi.Threshold != 15 || odi.Relative || odi.Instrument != "odi" || odi.TimepointDays != 365 {
		t.Errorf("odi_mcid15_12m = %+v, want 15 points absolute on odi at 365 days", odi)
	}
	tf, _ := s.Get("tfesi_response_2m")
	if tf.Threshold != 0.5 || !tf.Relative || tf.TimepointDays != 60 {
		t.Errorf("tfesi_response_2m = %+v, want 50 %% relative at 60 days", tf)
	}
	// Default returns a copy: editing it leaves the embedded set alone.
	s.Outcomes[0].Threshold = 99
	if d, _ := outcomes.Default().Get(s.Outcomes[0].ID); d.Threshold == 99 {
		t.Error("Default shares its slice with the embedded set")
	}
}

func TestMet(t *testing.T) {
	s := outcomes.Default()
	get := func(id string) outcomes.Definition { d, _ := s.Get(id); return d }
	for _, c := range []struct {
		id                 string
		baseline, followup float64
		met, ok            bool
	}{
		{"odi_mcid15_12m", 40, 25, true, true},
		{"odi_mcid15_12m", 40, 25.5, false, true},
		{"odi_mcid15_12m", 14, 0, false, false}, // cannot improve by 15
		{"odi_mcid15_12m", 40, math.NaN(), false, false},
		{"odi_mcid30pct_12m", 50, 35, true, true}, // exactly 30 %
		{"odi_mcid30pct_12m", 50, 36, false, true},
		{"odi_mcid30pct_12m", 0, 0, false, false},
		{"eq5d_mcid_12m", 0.4, 0.5, true, true},
		{"eq5d_mcid_12m", 0.4, 0.45, false, true},
		{"promis_pf_mcid_12m", 30, 35, true, true},
		{"tfesi_response_2m", 8, 4, true, true},
		{"tfesi_response_2m", 8, 4.5, false, true},
		{"complication_any_90d", 1, 1, false, false},
	} {
		met, ok := get(c.id).Met(c.baseline, c.followup)
		if met != c.met || ok != c.ok {
			t.Errorf("%s.Met(%v, %v) = %v, %v; want %v, %v", c.id, c.baseline, c.followup, met, ok, c.met, c.ok)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"not json", `{`, "parse outcome definitions"},
		{"no version", `{"outcomes":[]}`, "no version"},
		{"bad id", `{"version":"1","outcomes":[{"id":"Bad-Id"}]}`, "snake_case"},
		{"dup", `{"version":"1","outcomes":[` + ev("a") + `,` + ev("a") + `]}`, "twice"},
		{"kind", `{"version":"1","outcomes":[{"id":"a","version":"1","rule":"r","source":"s","timepoint_days":1,"kind":"x"}]}`, "unknown kind"},
		{"threshold", `{"version":"1","outcomes":[{"id":"a","version":"1","rule":"r","source":"s","timepoint_days":1,"kind":"prom_change","instrument":"odi","direction":"decrease","threshold":2,"relative":true}]}`, "threshold"},
		{"no source", `{"version":"1","outcomes":[{"id":"a","version":"1","rule":"r","timepoint_days":1,"kind":"event"}]}`, "required"},
	} {
		_, err := outcomes.Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func ev(id string) string {
	return `{"id":"` + id + `","version":"1","rule":"r","source":"s","timepoint_days":1,"kind":"event"}`
}

func ExampleDefinition_Met() {
	d, _ := outcomes.Default().Get("odi_mcid15_12m")
	met, ok := d.Met(42, 24) // 18 points better
	fmt.Println(d.Ref(), met, ok)
	// Output: odi_mcid15_12m@1 true true
}

// FuzzParse: Parse returns a set or an error, never panics, and a parsed
// set evaluates Met without panicking.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":"1","outcomes":[` + ev("a") + `]}`))
	f.Add([]byte(`{"version":"1","outcomes":[{"id":"a","version":"1","rule":"r","source":"s","timepoint_days":1,"kind":"prom_change","instrument":"odi","direction":"increase","threshold":0.5,"relative":true}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := outcomes.Parse(data)
		if err != nil {
			return
		}
		for _, d := range s.Outcomes {
			d.Met(1, 0)
			d.Met(0, math.NaN())
		}
	})
}
