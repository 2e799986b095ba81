package main

import (
	"bytes"
	"context"
	"fmt"
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

func TestCohortCommandImages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sim")
	_, stderr, err := runSub(t, cohortCmd, "--n", "10", "--seed", "3", "--out", dir, "--images")
	if err != nil {
		t.Fatalf("cohort --images: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "images: 10/10 patients\n") || strings.Count(stderr, "images: ") != 10 {
		t.Errorf("progress lines:\n%s", stderr)
	}
	rows := readCSV(t, filepath.Join(dir, "images.csv"))
	if want := fmt.Sprintf("simulated %d lumbar MRIs", len(rows)-1); !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	for _, f := range []string{"images.csv", "ImagingStudy.ndjson"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", f, err)
		}
	}
	if len(rows) < 2 {
		t.Fatalf("images.csv has %d rows", len(rows))
	}
	for _, r := range rows[1:] {
		for _, f := range r[2:4] {
			if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s missing or empty (%v)", f, err)
			}
		}
	}
	// The registry's imaging block is filled for the imaged patients.
	reg := readCSV(t, filepath.Join(dir, "registry.csv"))
	col := -1
	for i, h := range reg[0] {
		if h == "imaging_missing" {
			col = i
		}
	}
	filled := 0
	for _, r := range reg[1:] {
		if r[col] == "0" {
			filled++
		}
	}
	if filled != len(rows)-1 {
		t.Errorf("%d registry rows with imaging_missing = 0, %d images", filled, len(rows)-1)
	}
	// Without --images, no image files.
	dir2 := filepath.Join(t.TempDir(), "sim")
	if _, _, err := runSub(t, cohortCmd, "--n", "10", "--seed", "3", "--out", dir2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "images.csv")); err == nil {
		t.Error("images.csv written without --images")
	}
}
