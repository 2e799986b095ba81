package cards_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spinecast/spinecast/cards"
	"github.com/spinecast/spinecast/cohort"
	"github.com/spinecast/spinecast/defaultmodels"
	"github.com/spinecast/spinecast/models"
)

// mustModel trains a small elastic net for complication_any_90d on a
// simulated registry.
func mustModel(tb testing.TB, demo bool) *models.Artifact {
	tb.Helper()
	co, err := cohort.Generate(3000, 21, nil)
	if err != nil {
		tb.Fatal(err)
	}
	k := indexOf(co.OutcomeIDs, "complication_any_90d")
	t := defaultmodels.Table(co, k, defaultmodels.FeatureColumns(co, k))
	lambda := 0.01
	a, err := models.Train(context.Background(), t, models.TrainSettings{Algorithm: models.ElasticNet, Alpha: 0.5, Lambda: &lambda,
		Bootstrap: -1, Seed: 1, Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		tb.Fatal(err)
	}
	a.Demonstration = demo
	if err := a.Seal(); err != nil {
		tb.Fatal(err)
	}
	return a
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func heldout(tb testing.TB, n int) []byte {
	tb.Helper()
	co, err := cohort.Generate(n, 22, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := co.WriteCSV(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func TestBuildAndWrite(t *testing.T) {
	a := mustModel(t, true)
	data := heldout(t, 2500)
	c, err := cards.Build(a, bytes.NewReader(data), &cards.Options{Groups: []string{"proc_fusion"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Outcome.ID != "complication_any_90d" || c.Outcome.Version != "1" || !c.Outcome.Registered {
		t.Errorf("outcome = %+v", c.Outcome)
	}
	if !strings.Contains(c.Notice, "not for clinical use") || !c.Demonstration {
		t.Errorf("notice %q of a demonstration model", c.Notice)
	}
	d := c.Discrimination
	if !(d.AUCLower < d.AUC && d.AUC < d.AUCUpper) || d.AUC < 0.6 {
		t.Errorf("AUC %v (%v–%v)", d.AUC, d.AUCLower, d.AUCUpper)
	}
	if c.Oracle == nil || c.Oracle.AUC < 0.6 || c.Oracle.MeanAbsoluteError <= 0 || c.Oracle.MeanAbsoluteError > 0.1 {
		t.Errorf("oracle = %+v", c.Oracle)
	}
	// Only surgical patients have the outcome: the TFESI rows are skipped.
	if c.EvaluationData.Skipped == 0 || c.EvaluationData.N+c.EvaluationData.Skipped != 2500 {
		t.Errorf("evaluation rows %d, skipped %d", c.EvaluationData.N, c.EvaluationData.Skipped)
	}
	levels := map[string]int{}
	for _, s := range c.Subgroups {
		levels[s.Group+"="+s.Level] += s.N
	}
	for _, want := range []string{"sex=female", "sex=male", "age band=<50", "age band=50-64", "age band=>=65", "proc_fusion=1", "proc_fusion=0"} {
		if levels[want] == 0 {
			t.Errorf("no subgroup %s in %v", want, levels)
		}
	}
	if levels["sex=female"]+levels["sex=male"] != c.EvaluationData.N {
		t.Errorf("sex subgroups do not add up to n")
	}

	dir := t.TempDir()
	if err := c.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{cards.CalibrationFile, cards.ROCFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, cards.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DEMONSTRATION MODEL", "complication_any_90d` version 1", "Intended use", "Missing data",
		"Calibration slope", "Performance by subgroup", "Limitations", a.Sha256, "calibration.png"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("card.md lacks %q", want)
		}
	}
	var back map[string]any
	js, _ := os.ReadFile(filepath.Join(dir, cards.JSONFile))
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back["demonstration"] != true {
		t.Error("card.json lacks demonstration: true")
	}
}

func TestBuildNotDemo(t *testing.T) {
	a := mustModel(t, false)
	c, err := cards.Build(a, bytes.NewReader(heldout(t, 600)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Notice, "DEMONSTRATION") {
		t.Errorf("a research model's card says %q", c.Notice)
	}
}

func TestBuildErrors(t *testing.T) {
	a := mustModel(t, true)
	data := string(heldout(t, 50))
	for _, c := range []struct{ name, csv, want string }{
		{"no outcome column", strings.Replace(data, "complication_any_90d,", "x_any,", 1), "no outcome column"},
		{"no feature column", strings.Replace(data, "age_years,", "age,", 1), "no feature column"},
		{"bad outcome", strings.Split(data, "\n")[0] + "\n" + badRow(data), "not 1, 0"},
		{"empty", "", "empty"},
	} {
		_, err := cards.Build(a, strings.NewReader(c.csv), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := cards.Build(a, strings.NewReader(data), &cards.Options{Groups: []string{"nope"}}); err == nil {
		t.Error("unknown group column accepted")
	}
}

// badRow returns the first data row with its complication_any_90d cell
// replaced by "yes".
func badRow(data string) string {
	lines := strings.Split(data, "\n")
	head := strings.Split(lines[0], ",")
	k := indexOf(head, "complication_any_90d")
	for _, l := range lines[1:] {
		cells := strings.Split(l, ",")
		if len(cells) == len(head) && cells[k] != "" {
			cells[k] = "yes"
			return strings.Join(cells, ",")
		}
	}
	return ""
}
