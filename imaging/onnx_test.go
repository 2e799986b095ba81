package imaging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

// roundTripTol is the largest allowed absolute difference between ONNX
// Runtime's embedding (float32 arithmetic) and the plain-Go forward pass
// (float64 accumulation) — the 1e-5.
const roundTripTol = 1e-5

// runtimeLib returns the ONNX Runtime library path, or skips the test.
func runtimeLib(tb testing.TB) string {
	tb.Helper()
	lib := os.Getenv(imaging.LibraryEnv)
	if lib == "" {
		tb.Skipf("%s not set: run scripts/onnxruntime.sh and export its output to test ONNX Runtime", imaging.LibraryEnv)
	}
	if _, err := os.Stat(lib); err != nil {
		tb.Skipf("%s=%s: %v", imaging.LibraryEnv, lib, err)
	}
	if _, err := imaging.RuntimeVersion(lib); err != nil {
		tb.Skipf("onnx runtime unusable: %v", err)
	}
	return lib
}

// mustEmbedder opens an embedder on the CPU, logging into log.
func mustEmbedder(tb testing.TB, lib string, dev imaging.Device, log *bytes.Buffer) *imaging.Embedder {
	tb.Helper()
	var h slog.Handler = slog.DiscardHandler
	if log != nil {
		h = slog.NewJSONHandler(log, nil)
	}
	e, err := imaging.NewEmbedder(&imaging.EmbedderOptions{Library: lib, Device: dev, Logger: slog.New(h)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Error(err)
		}
	})
	return e
}

func TestRuntimeVersionAtLeast124(t *testing.T) {
	lib := runtimeLib(t)
	v, err := imaging.RuntimeVersion(lib)
	if err != nil {
		t.Fatal(err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("version %q: %v", v, err)
	}
	if major < 1 || (major == 1 && minor < 24) {
		t.Errorf("onnx runtime %s, onnxruntime_go v1.27.0 needs >= 1.24", v)
	}
	t.Logf("onnx runtime %s", v)
}

// TestONNXRoundTrip is the evidence: the model written from Go and
// run by ONNX Runtime gives the plain-Go forward pass's embedding.
func TestONNXRoundTrip(t *testing.T) {
	t.Parallel()
	lib := runtimeLib(t)
	emb := mustEmbedder(t, lib, imaging.DeviceCPU, nil)
	enc := mustEncoder(t)
	spec := enc.Spec()

	var patches [][]float32
	for s := uint64(1); s <= 2; s++ {
		v, m := spineVolume(s, 40)
		p, err := imaging.ExtractPatch(v, m, spec)
		if err != nil {
			t.Fatal(err)
		}
		patches = append(patches, p.Data)
		p, err = imaging.ExtractPatch(v, nil, spec)
		if err != nil {
			t.Fatal(err)
		}
		patches = append(patches, p.Data)
	}
	r := rand.New(rand.NewPCG(3, 4))
	noise := make([]float32, len(patches[0]))
	for i := range noise {
		noise[i] = float32(max(-5, min(5, 2*r.NormFloat64())))
	}
	patches = append(patches, noise)

	worst := 0.0
	for pi, p := range patches {
		want, err := enc.Forward(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := emb.Run(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("patch %d: %d values from onnx runtime, %d from Go", pi, len(got), len(want))
		}
		for i := range got {
			d := math.Abs(float64(got[i] - want[i]))
			worst = math.Max(worst, d)
			if d > roundTripTol {
				t.Errorf("patch %d embedding[%d]: onnx runtime %v, Go %v (|diff| %.3g)", pi, i, got[i], want[i], d)
			}
		}
	}
	t.Logf("%d patches: largest |onnx runtime − Go| = %.3g (tolerance %g)", len(patches), worst, roundTripTol)
}

func TestEmbedderDeviceChoice(t *testing.T) {
	lib := runtimeLib(t)
	var log bytes.Buffer
	auto := mustEmbedder(t, lib, imaging.DeviceAuto, &log)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("device choice logged %d lines, want 1:\n%s", len(lines), log.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["device"] != string(auto.Device()) || rec["requested"] != "auto" {
		t.Errorf("log line %s does not say device %s for request auto", lines[0], auto.Device())
	}
	t.Logf("auto chose %s: %s", auto.Device(), lines[0])

	if auto.Device() == imaging.DeviceCUDA {
		t.Log("CUDA is available here: the fallback path is not exercised")
		return
	}
	if _, ok := rec["cuda_unavailable"]; !ok {
		t.Errorf("fallback to cpu without the reason in the log line: %s", lines[0])
	}
	_, err := imaging.NewEmbedder(&imaging.EmbedderOptions{Library: lib, Device: imaging.DeviceCUDA, Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, imaging.ErrUnavailable) || !strings.Contains(err.Error(), "cuda") {
		t.Errorf("device cuda without CUDA: err = %v, want ErrUnavailable naming cuda", err)
	}
	cpu := mustEmbedder(t, lib, imaging.DeviceCPU, nil)
	if cpu.Device() != imaging.DeviceCPU {
		t.Errorf("device cpu ran on %s", cpu.Device())
	}
	// The fallback session computes the same embedding.
	v, m := spineVolume(5, 20)
	a, err := auto.Embed(v, m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cpu.Embed(v, m)
	if err != nil {
		t.Fatal(err)
	}
	if d := dist(a.Vector, b.Vector); d > 1e-6 {
		t.Errorf("auto (cpu fallback) and cpu embeddings differ by %g", d)
	}
}

func TestEmbedderUnavailable(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	t.Setenv(imaging.LibraryEnv, "")
	_, err := imaging.NewEmbedder(&imaging.EmbedderOptions{Logger: quiet})
	if !errors.Is(err, imaging.ErrUnavailable) || !strings.HasPrefix(err.Error(), "imaging embeddings unavailable: ") {
		t.Errorf("no library: err = %v, want ErrUnavailable", err)
	}
	_, err = imaging.NewEmbedder(&imaging.EmbedderOptions{Library: "/nonexistent/libonnxruntime.so.1", Logger: quiet})
	// Built without cgo, the reason is that instead of the path.
	if !errors.Is(err, imaging.ErrUnavailable) || !(strings.Contains(err.Error(), "/nonexistent/libonnxruntime.so.1") || strings.Contains(err.Error(), "without cgo")) {
		t.Errorf("missing library: err = %v, want ErrUnavailable naming the path", err)
	}
	_, err = imaging.NewEmbedder(&imaging.EmbedderOptions{Device: "tpu", Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("unknown device: err = %v", err)
	}
	_, err = imaging.NewEmbedder(&imaging.EmbedderOptions{Encoder: "nope", Logger: quiet})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown encoder: err = %v", err)
	}
	model, err := mustEncoder(t).MarshalONNX()
	if err != nil {
		t.Fatal(err)
	}
	model[100] ^= 0xff
	_, err = imaging.NewEmbedder(&imaging.EmbedderOptions{Model: model, Library: "/nonexistent", Logger: quiet})
	if err == nil || errors.Is(err, imaging.ErrUnavailable) || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("altered model: err = %v, want a sha256 mismatch before loading anything", err)
	}
}

func TestEmbedderEmbed(t *testing.T) {
	lib := runtimeLib(t)
	emb := mustEmbedder(t, lib, imaging.DeviceCPU, nil)
	v, m := spineVolume(9, 25)
	got, err := emb.Embed(v, m)
	if err != nil {
		t.Fatal(err)
	}
	spec := emb.Spec()
	if got.Encoder != spec.Name || got.SHA256 != spec.SHA256 || got.Device != imaging.DeviceCPU || len(got.Vector) != spec.OutputDim {
		t.Errorf("embedding header %+v does not match spec %s", got, spec.Name)
	}
	if got.ROIVoxels != m.Count() {
		t.Errorf("ROI voxels %d, mask has %d", got.ROIVoxels, m.Count())
	}
	if _, err := emb.Run(make([]float32, 10), nil); err == nil {
		t.Error("Run accepted a short patch")
	}
	other := spec
	other.Spacing = [3]float64{2, 2, 2}
	p, err := imaging.ExtractPatch(v, m, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emb.EmbedPatch(p); err == nil {
		t.Error("EmbedPatch accepted a patch made for another spacing")
	}
	if err := emb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := emb.Embed(v, m); err == nil {
		t.Error("Embed after Close succeeded")
	}
}

// TestEmbedderCUDA runs only where SPINECAST_REQUIRE_CUDA=1 (scripts/gpu-check.sh
// sets it on a machine with a GPU): the CUDA execution provider must load,
// and its embedding must match the plain-Go pass like the CPU's does.
func TestEmbedderCUDA(t *testing.T) {
	if os.Getenv("SPINECAST_REQUIRE_CUDA") != "1" {
		t.Skip("SPINECAST_REQUIRE_CUDA is not 1: the GPU check runs in scripts/gpu-check.sh")
	}
	lib := runtimeLib(t)
	var log bytes.Buffer
	emb := mustEmbedder(t, lib, imaging.DeviceCUDA, &log)
	if emb.Device() != imaging.DeviceCUDA {
		t.Fatalf("device cuda ran on %s", emb.Device())
	}
	t.Log(strings.TrimSpace(log.String()))
	enc := mustEncoder(t)
	worst := 0.0
	for s := uint64(1); s <= 3; s++ {
		v, m := spineVolume(s, 40)
		p, err := imaging.ExtractPatch(v, m, enc.Spec())
		if err != nil {
			t.Fatal(err)
		}
		want, err := enc.Forward(p.Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := emb.EmbedPatch(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(got.Vector[i]-want[i])))
		}
	}
	t.Logf("largest |cuda − Go| = %.3g (tolerance %g)", worst, roundTripTol)
	if worst > roundTripTol {
		t.Errorf("cuda embedding differs from the plain-Go pass by %.3g > %g", worst, roundTripTol)
	}
}
