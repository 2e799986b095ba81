package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const imagingTestdata = "../../imaging/testdata"

// runImaging runs `spinecast imaging ARGS` through imagingCmd.
func runImaging(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := imagingCmd(&env{stdin: strings.NewReader(""), stdout: &o, stderr: &e})
	cmd.SetArgs(args)
	cmd.SetOut(&o)
	cmd.SetErr(&e)
	cmd.SilenceUsage = true
	err := cmd.Execute()
	return o.String(), e.String(), err
}

func TestImagingRadiomicsPhantom(t *testing.T) {
	dir := t.TempDir()
	settings := filepath.Join(dir, "s.json")
	if err := os.WriteFile(settings, []byte(`{"discretisation":"fbs","bin_width":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "f.json")
	_, stderr, err := runImaging(t, "radiomics",
		"--image", filepath.Join(imagingTestdata, "ibsi", "phantom.nii.gz"),
		"--mask", filepath.Join(imagingTestdata, "ibsi", "mask.nii.gz"), "--label", "1",
		"--settings", settings, "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Mask struct {
			Voxels    int     `json:"voxels"`
			VolumeMM3 float64 `json:"volume_mm3"`
		} `json:"mask"`
		Features []struct {
			Name     string   `json:"name"`
			IBSICode string   `json:"ibsi_code"`
			Value    *float64 `json:"value"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Mask.Voxels != 74 || got.Mask.VolumeMM3 != 592 {
		t.Errorf("mask %+v, want 74 voxels, 592 mm³", got.Mask)
	}
	found := map[string]float64{}
	for _, f := range got.Features {
		if f.Value != nil {
			found[f.IBSICode] = *f.Value
		}
	}
	// IBSI reference values: mesh volume 556 ± 4, mean 2.15.
	if v := found["RNU0"]; math.Abs(v-556) > 4 {
		t.Errorf("mesh volume %v, want 556 ± 4", v)
	}
	if v := found["Q4LE"]; math.Abs(v-2.15) > 0.005 {
		t.Errorf("mean %v, want 2.15", v)
	}
}

func TestImagingIBSICheck(t *testing.T) {
	out, _, err := runImaging(t, "ibsi-check")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Morphological features", "reference values matched", "of 482"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestImagingRadiomicsErrors(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(imagingTestdata, "ibsi", "phantom.nii.gz")
	mask := filepath.Join(imagingTestdata, "ibsi", "mask.nii.gz")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"bins":"many"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.json")
	if err := os.WriteFile(unknown, []byte(`{"binz":3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(imagingTestdata, "sct_t2_cord_crop_mask.nii.gz")
	for name, args := range map[string][]string{
		"no mask":        {"radiomics", "--image", img, "--out", "-"},
		"missing image":  {"radiomics", "--image", filepath.Join(dir, "none.nii"), "--mask", mask, "--out", "-"},
		"bad settings":   {"radiomics", "--image", img, "--mask", mask, "--settings", bad, "--out", "-"},
		"unknown field":  {"radiomics", "--image", img, "--mask", mask, "--settings", unknown, "--out", "-"},
		"absent label":   {"radiomics", "--image", img, "--mask", mask, "--label", "7", "--out", "-"},
		"grid mismatch":  {"radiomics", "--image", img, "--mask", other, "--out", "-"},
		"series on file": {"radiomics", "--image", img, "--mask", mask, "--series", "1.2", "--out", "-"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := runImaging(t, args...); err == nil {
				t.Error("no error")
			}
		})
	}
}
