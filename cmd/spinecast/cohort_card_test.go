package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/defaultmodels"
)

// runSub runs one command constructor in-process (independent of its
// registration in run).
func runSub(tb testing.TB, mk func(*env) *cobra.Command, args ...string) (string, string, error) {
	tb.Helper()
	var o, e bytes.Buffer
	c := mk(&env{stdin: strings.NewReader(""), stdout: &o, stderr: &e})
	c.SetArgs(args)
	c.SetOut(&o)
	c.SetErr(&e)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.ExecuteContext(context.Background())
	return o.String(), e.String(), err
}

func TestCohortCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sim")
	if _, stderr, err := runSub(t, cohortCmd, "--n", "120", "--seed", "3", "--out", dir); err != nil {
		t.Fatalf("cohort: %v\n%s", err, stderr)
	}
	for _, f := range []string{"registry.csv", "index_dates.csv", "Patient.ndjson", "Observation.ndjson", "QuestionnaireResponse.ndjson",
		"Condition.ndjson", "MedicationStatement.ndjson", "Procedure.ndjson", "ServiceRequest.ndjson"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", f, err)
		}
	}
	rows := readCSV(t, filepath.Join(dir, "registry.csv"))
	if len(rows) != 121 || rows[0][0] != "patient_id" {
		t.Errorf("registry.csv: %d rows, header starts %q", len(rows), rows[0][0])
	}
	// The same seed gives the same file.
	dir2 := filepath.Join(t.TempDir(), "sim")
	if _, _, err := runSub(t, cohortCmd, "--n", "120", "--seed", "3", "--out", dir2); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "Observation.ndjson"))
	b, _ := os.ReadFile(filepath.Join(dir2, "Observation.ndjson"))
	if !bytes.Equal(a, b) {
		t.Error("same seed, different FHIR export")
	}
	for _, args := range [][]string{{"--n", "10"}, {"--n", "0", "--out", dir}} {
		if _, _, err := runSub(t, cohortCmd, args...); err == nil {
			t.Errorf("cohort %v: no error", args)
		}
	}
}

func TestModelsListCommand(t *testing.T) {
	if len(defaultmodels.List()) == 0 {
		t.Skip("no embedded models")
	}
	out, _, err := runSub(t, modelsCmd, "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Notice string                `json:"notice"`
		Models []defaultmodels.Entry `json:"models"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Models) != len(defaultmodels.List()) || !strings.Contains(got.Notice, "not for clinical use") {
		t.Errorf("models list --json: %d models, notice %q", len(got.Models), got.Notice)
	}
	out, stderr, err := runSub(t, modelsCmd, "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "odi_mcid15_12m.elasticnet") || !strings.Contains(out, "DEFAULT") || !strings.Contains(stderr, "not for clinical use") {
		t.Errorf("models list:\n%s\n%s", out, stderr)
	}
}

func TestCardCommand(t *testing.T) {
	list := defaultmodels.List()
	if len(list) == 0 {
		t.Skip("no embedded models")
	}
	dir := t.TempDir()
	if _, _, err := runSub(t, cohortCmd, "--n", "1500", "--seed", "9", "--out", dir); err != nil {
		t.Fatal(err)
	}
	id := "complication_any_90d.elasticnet"
	out := filepath.Join(dir, "card")
	_, stderr, err := runSub(t, cardCmd, id, "--data", filepath.Join(dir, "registry.csv"), "--out", out)
	if err != nil {
		t.Fatalf("card: %v\n%s", err, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "card.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Model card: " + id, "DEMONSTRATION MODEL", "not for clinical use", "complication_any_90d` version 1", "Oracle AUC"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("card.md lacks %q", want)
		}
	}
	for _, f := range []string{"card.json", "calibration.png", "roc.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, _, err := runSub(t, cardCmd, "no_such_model", "--data", filepath.Join(dir, "registry.csv"), "--out", out); err == nil {
		t.Error("unknown model accepted")
	}
}
