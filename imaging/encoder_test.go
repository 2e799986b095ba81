package imaging_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/spinecast/spinecast/imaging"
)

var updateEncoder = flag.Bool("update-encoder", false, "rewrite testdata/encoder/*.onnx from the Go construction")

// mustEncoder returns the default built-in encoder.
func mustEncoder(tb testing.TB) *imaging.Encoder {
	tb.Helper()
	e, err := imaging.NewEncoder(imaging.DefaultEncoder)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// spineVolume makes a small lumbar-MRI-like volume: a bright elliptical
// vertebral body (the mask) in a darker background, with voxel noise of
// standard deviation rough and a smooth intensity gradient. Deterministic
// for a seed.
func spineVolume(seed uint64, rough float64) (*imaging.Volume, *imaging.Mask) {
	g := imaging.Geometry{
		Dims:      [3]int{96, 96, 20},
		Spacing:   [3]float64{0.75, 0.75, 3.3},
		Origin:    [3]float64{-36, -40, 100},
		Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1},
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	m := &imaging.Mask{Geometry: g, In: make([]bool, g.Len())}
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				idx := g.Index(i, j, k)
				x, y := (float64(i)-50)/20, (float64(j)-44)/15
				in := x*x+y*y <= 1 && k >= 4 && k < 16
				base := 120 + 0.5*float64(j)
				if in {
					base = 420 + 2*float64(i)
				}
				m.In[idx] = in
				v.Data[idx] = base + rough*r.NormFloat64()
			}
		}
	}
	return v, m
}

func TestEncoderONNXIsDeterministicAndRegistered(t *testing.T) {
	a, err := mustEncoder(t).MarshalONNX()
	if err != nil {
		t.Fatal(err)
	}
	b, err := mustEncoder(t).MarshalONNX()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two constructions of the encoder marshal to different bytes")
	}
	if len(a) >= 1<<20 {
		t.Errorf("model is %d bytes, want < 1 MiB", len(a))
	}
	spec, err := imaging.LookupEncoder(imaging.DefaultEncoder)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(a)
	if got := hex.EncodeToString(sum[:]); got != spec.SHA256 {
		t.Errorf("sha256 of the built model = %s, registry says %s (the construction changed: bump the encoder version)", got, spec.SHA256)
	}
	if err := spec.CheckModel(a); err != nil {
		t.Error(err)
	}
	bad := append([]byte(nil), a...)
	bad[len(bad)-1] ^= 1
	if err := spec.CheckModel(bad); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("CheckModel(altered) = %v, want a sha256 mismatch", err)
	}

	golden := filepath.Join("testdata", "encoder", spec.Name+".onnx")
	if *updateEncoder {
		if err := os.WriteFile(golden, a, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	onDisk, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read committed model: %v (run go test -run ONNXIsDeterministic -update-encoder)", err)
	}
	if !bytes.Equal(onDisk, a) {
		t.Errorf("%s differs from the Go construction", golden)
	}
	t.Logf("%s: %d bytes, sha256 %s", spec.Name, len(a), spec.SHA256)
}

func TestEncoderONNXGraph(t *testing.T) {
	e := mustEncoder(t)
	b, err := e.MarshalONNX()
	if err != nil {
		t.Fatal(err)
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal our own model: %v", err)
	}
	if m.IrVersion != 7 || len(m.OpsetImport) != 1 || m.OpsetImport[0].Version != 13 || m.OpsetImport[0].Domain != "" {
		t.Errorf("ir_version %d, opset %v; want 7 and default-domain 13", m.IrVersion, m.OpsetImport)
	}
	var ops []string
	for _, n := range m.Graph.Node {
		ops = append(ops, n.OpType)
	}
	want := "Conv Relu MaxPool Conv Relu MaxPool Conv Relu GlobalAveragePool Flatten"
	if got := strings.Join(ops, " "); got != want {
		t.Errorf("ops = %s, want %s", got, want)
	}
	spec := e.Spec()
	in := m.Graph.Input[0]
	if in.Name != spec.InputName {
		t.Errorf("input %q, want %q", in.Name, spec.InputName)
	}
	var dims []string
	for _, d := range in.Type.GetTensorType().Shape.Dim {
		if p := d.GetDimParam(); p != "" {
			dims = append(dims, p)
		} else {
			dims = append(dims, strconv.FormatInt(d.GetDimValue(), 10))
		}
	}
	if got := strings.Join(dims, "x"); got != "Nx1x16x64x64" {
		t.Errorf("input shape %s, want Nx1x16x64x64", got)
	}
	params := 0
	for _, init := range m.Graph.Initializer {
		params += len(init.RawData) / 4
	}
	// 8·1·27+8 + 16·8·27+16 + 32·16·27+32
	if params != 17552 {
		t.Errorf("%d parameters, want 17552", params)
	}
}

func TestEncoderForwardProperties(t *testing.T) {
	t.Parallel()
	e := mustEncoder(t)
	spec := e.Spec()
	n := spec.PatchSize[0] * spec.PatchSize[1] * spec.PatchSize[2]
	if _, err := e.Forward(make([]float32, n-1), nil); err == nil {
		t.Error("Forward accepted a patch of the wrong length")
	}
	zero, err := e.Forward(make([]float32, n), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range zero {
		if v != 0 {
			t.Fatalf("embedding of a zero patch [%d] = %v, want 0 (all biases are 0)", i, v)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	p := make([]float32, n)
	p2 := make([]float32, n)
	for i := range p {
		p[i] = float32(r.NormFloat64())
		p2[i] = 2 * p[i]
	}
	y, err := e.Forward(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(y) != spec.OutputDim {
		t.Fatalf("embedding length %d, want %d", len(y), spec.OutputDim)
	}
	// A ReLU network without biases is positively homogeneous.
	y2, err := e.Forward(p2, make([]float32, 0, spec.OutputDim))
	if err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for i := range y {
		if y[i] < 0 {
			t.Errorf("embedding[%d] = %v < 0 after ReLU and average pooling", i, y[i])
		}
		if y[i] > 0 {
			nonzero++
		}
		if d := math.Abs(float64(y2[i] - 2*y[i])); d > 1e-5*math.Max(1, float64(y[i])) {
			t.Errorf("f(2x)[%d] = %v, 2·f(x) = %v", i, y2[i], 2*y[i])
		}
	}
	if nonzero < spec.OutputDim/2 {
		t.Errorf("only %d of %d embedding values are non-zero on white noise", nonzero, spec.OutputDim)
	}
}

// TestEmbeddingSeparatesTexture checks what the random-features embedding
// is claimed to capture: volumes of two textures (smooth and rough ROI) lie
// closer to their own kind than to the other, and an affine change of
// intensities does not move the embedding (z-score normalisation).
func TestEmbeddingSeparatesTexture(t *testing.T) {
	t.Parallel()
	e := mustEncoder(t)
	embed := func(v *imaging.Volume, m *imaging.Mask) []float32 {
		t.Helper()
		p, err := imaging.ExtractPatch(v, m, e.Spec())
		if err != nil {
			t.Fatal(err)
		}
		y, err := e.Forward(p.Data, nil)
		if err != nil {
			t.Fatal(err)
		}
		return y
	}
	var smooth, rough [][]float32
	for s := uint64(1); s <= 3; s++ {
		smooth = append(smooth, embed(spineVolume(s, 5)))
		rough = append(rough, embed(spineVolume(s+10, 60)))
	}
	within, between := 0.0, math.Inf(1)
	for _, group := range [][][]float32{smooth, rough} {
		for i := range group {
			for j := i + 1; j < len(group); j++ {
				within = math.Max(within, dist(group[i], group[j]))
			}
		}
	}
	for _, a := range smooth {
		for _, b := range rough {
			between = math.Min(between, dist(a, b))
		}
	}
	t.Logf("largest within-texture distance %.4f, smallest between-texture distance %.4f", within, between)
	if !(between > within) {
		t.Errorf("textures not separated: between %.4f <= within %.4f", between, within)
	}

	v, m := spineVolume(7, 30)
	base := embed(v, m)
	for i := range v.Data {
		v.Data[i] = 3*v.Data[i] - 1000
	}
	scaled := embed(v, m)
	if d := dist(base, scaled); d > 1e-4 {
		t.Errorf("embedding moved by %.3g under an affine intensity change", d)
	}
}

func dist(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
