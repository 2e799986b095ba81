package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
