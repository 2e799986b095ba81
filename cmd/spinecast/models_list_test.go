package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/defaultmodels"
)

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
