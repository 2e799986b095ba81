package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/spinecast/spinecast/defaultmodels"
)

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
