package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

// runEmbed runs `imaging embed` with args in-process.
func runEmbed(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	var o, e bytes.Buffer
	cmd := imagingEmbedCmd(&env{stdin: strings.NewReader(""), stdout: &o, stderr: &e})
	cmd.SetArgs(args)
	cmd.SetOut(&o)
	cmd.SetErr(&e)
	cmd.SilenceUsage = true
	err = cmd.ExecuteContext(context.Background())
	return o.String(), e.String(), err
}

// writeEmbedInputs writes a small image and a label map (labels 1 and 2)
// as NIfTI files.
func writeEmbedInputs(tb testing.TB) (image, mask string) {
	tb.Helper()
	g := imaging.Geometry{Dims: [3]int{40, 36, 10}, Spacing: [3]float64{0.8, 0.8, 3}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	lab := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	for k := 0; k < 10; k++ {
		for j := 0; j < 36; j++ {
			for i := 0; i < 40; i++ {
				idx := g.Index(i, j, k)
				v.Data[idx] = float64(100 + (i*7+j*3+k*11)%23)
				if i >= 10 && i < 25 && j >= 8 && j < 20 && k >= 2 && k < 8 {
					lab.Data[idx] = 1
					v.Data[idx] += 300
				}
				if i >= 28 && j >= 25 {
					lab.Data[idx] = 2
				}
			}
		}
	}
	dir := tb.TempDir()
	image, mask = filepath.Join(dir, "image.nii.gz"), filepath.Join(dir, "mask.nii")
	for _, f := range []struct {
		path string
		v    *imaging.Volume
		gz   bool
	}{{image, v, true}, {mask, lab, false}} {
		var b bytes.Buffer
		if err := imaging.WriteNIfTI(&b, f.v, f.gz); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(f.path, b.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return image, mask
}

func TestImagingEmbed(t *testing.T) {
	lib := os.Getenv(imaging.LibraryEnv)
	if lib == "" {
		t.Skipf("%s not set: run scripts/onnxruntime.sh to test imaging embed", imaging.LibraryEnv)
	}
	if _, err := imaging.RuntimeVersion(lib); err != nil {
		t.Skipf("onnx runtime unusable: %v", err)
	}
	image, mask := writeEmbedInputs(t)
	out := filepath.Join(t.TempDir(), "emb.json")
	_, stderr, err := runEmbed(t, "--image", image, "--mask", mask, "--label", "1", "--imaging-device", "cpu", "--out", out)
	if err != nil {
		t.Fatalf("embed: %v\n%s", err, stderr)
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n") + 1; n != 1 || !strings.Contains(stderr, `"device":"cpu"`) {
		t.Errorf("want one log line naming device cpu, got:\n%s", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Encoder   string    `json:"encoder"`
		SHA256    string    `json:"encoder_sha256"`
		Device    string    `json:"device"`
		Embedding []float64 `json:"embedding"`
		ROI       int       `json:"roi_voxels"`
		Centre    []float64 `json:"patch_centre_mm"`
		Mask      bool      `json:"mask"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	spec, _ := imaging.LookupEncoder(imaging.DefaultEncoder)
	if got.Encoder != spec.Name || got.SHA256 != spec.SHA256 || got.Device != "cpu" || len(got.Embedding) != spec.OutputDim || !got.Mask {
		t.Errorf("output header wrong: %s", b)
	}
	if got.ROI != 15*12*6 {
		t.Errorf("roi voxels %d, want %d (label 1 only)", got.ROI, 15*12*6)
	}
	// Centre of the label-1 box i 10..24, j 8..19, k 2..7 in mm.
	want := []float64{17 * 0.8, 13.5 * 0.8, 4.5 * 3}
	for a := range want {
		if d := got.Centre[a] - want[a]; d > 1e-4 || d < -1e-4 {
			t.Errorf("patch centre %v mm, want %v", got.Centre, want)
			break
		}
	}

	// The same embedding from the committed ONNX file, written to stdout.
	stdout, _, err := runEmbed(t, "--image", image, "--mask", mask, "--label", "1", "--imaging-device", "cpu",
		"--encoder-file", "../../imaging/testdata/encoder/"+spec.Name+".onnx", "--out", "-")
	if err != nil {
		t.Fatal(err)
	}
	var again struct {
		Embedding []float64 `json:"embedding"`
	}
	if err := json.Unmarshal([]byte(stdout), &again); err != nil {
		t.Fatal(err)
	}
	for i := range again.Embedding {
		if again.Embedding[i] != got.Embedding[i] {
			t.Fatalf("embedding[%d] differs between runs: %v vs %v", i, again.Embedding[i], got.Embedding[i])
		}
	}
}

func TestImagingEmbedErrors(t *testing.T) {
	image, mask := writeEmbedInputs(t)
	out := filepath.Join(t.TempDir(), "emb.json")
	t.Setenv(imaging.LibraryEnv, "")
	_, _, err := runEmbed(t, "--image", image, "--mask", mask, "--out", out)
	if !errors.Is(err, imaging.ErrUnavailable) || !strings.Contains(err.Error(), "imaging embeddings unavailable") {
		t.Errorf("without onnx runtime: err = %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output file was written although embedding failed")
	}
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mask", mask, "--out", out}, "--image"},
		{[]string{"--image", image, "--imaging-device", "gpu", "--out", out}, "gpu"},
		{[]string{"--image", image, "--encoder", "nope", "--out", out}, "nope"},
		{[]string{"--image", image, "--encoder-file", bad, "--out", out}, "sha256"},
		{[]string{"--image", filepath.Join(t.TempDir(), "missing.nii"), "--out", out}, "missing.nii"},
		{[]string{"--image", image, "--mask", mask, "--label", "9", "--out", out}, "no voxel"},
	} {
		_, _, err := runEmbed(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("embed %v: err = %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

// TestImagingEmbedRealScans embeds real scans from ../shared (skipped when
// absent): the spinal-cord T2 MRI around its manual cord mask, and the
// TotalSegmentator CT around its T12 mask (label 32). ONNX Runtime must
// agree with the plain-Go pass on these real patches too.
func TestImagingEmbedRealScans(t *testing.T) {
	lib := os.Getenv(imaging.LibraryEnv)
	if lib == "" {
		t.Skipf("%s not set: run scripts/onnxruntime.sh to test imaging embed", imaging.LibraryEnv)
	}
	const shared = "../../../shared/data/"
	enc, err := imaging.NewEncoder(imaging.DefaultEncoder)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, image, mask, label string
	}{
		{"sct T2 cord", "images/sct_spine_mri/t2/t2.nii.gz", "images/sct_spine_mri/t2/t2_seg-manual.nii.gz", "1"},
		{"CT T12", "dicom/totalsegmentator_ct/nifti/example_ct_sm.nii.gz", "dicom/totalsegmentator_ct/nifti/example_seg.nii.gz", "32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			image, mask := shared+tc.image, shared+tc.mask
			if _, err := os.Stat(image); err != nil {
				t.Skipf("real scan absent: %v", err)
			}
			stdout, stderr, err := runEmbed(t, "--image", image, "--mask", mask, "--label", tc.label, "--imaging-device", "cpu", "--out", "-")
			if err != nil {
				t.Fatalf("embed: %v\n%s", err, stderr)
			}
			var got struct {
				Embedding []float32 `json:"embedding"`
				Inside    float64   `json:"patch_inside_fraction"`
				Clipped   float64   `json:"patch_clipped_fraction"`
				ROI       int       `json:"roi_voxels"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatal(err)
			}
			vol, err := imaging.ReadNIfTI(image)
			if err != nil {
				t.Fatal(err)
			}
			lab, _ := strconv.ParseFloat(tc.label, 64)
			m, err := imaging.ReadNIfTIMask(mask, lab)
			if err != nil {
				t.Fatal(err)
			}
			p, err := imaging.ExtractPatch(vol, m, enc.Spec())
			if err != nil {
				t.Fatal(err)
			}
			want, err := enc.Forward(p.Data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.ROI != m.Count() || len(got.Embedding) != len(want) {
				t.Fatalf("roi %d (mask %d), %d values (want %d)", got.ROI, m.Count(), len(got.Embedding), len(want))
			}
			worst, norm := 0.0, 0.0
			for i := range want {
				d := float64(got.Embedding[i] - want[i])
				worst = max(worst, max(d, -d))
				norm += float64(want[i]) * float64(want[i])
			}
			t.Logf("%d ROI voxels, %.2f of the patch inside the image, %.2f clipped, |embedding| %.3f, largest |onnx runtime − Go| %.3g",
				got.ROI, got.Inside, got.Clipped, math.Sqrt(norm), worst)
			if worst > 1e-5 {
				t.Errorf("onnx runtime and Go differ by %.3g on a real scan", worst)
			}
			if !(norm > 0) || got.Inside <= 0 || got.Inside > 1 {
				t.Errorf("implausible embedding: |e|² %v, inside fraction %v", norm, got.Inside)
			}
		})
	}
}
