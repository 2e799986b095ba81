package imaging_test

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

// benchVolume returns a spine-like volume with its mask, enlarged in plane
// to about n×n voxels (tiers: the simulator's 96², a clinical MRI's 320²).
func benchVolume(n int) (*imaging.Volume, *imaging.Mask) {
	v, m := spineVolume(1, 30)
	if n == v.Dims[0] {
		return v, m
	}
	g := v.Geometry
	g.Dims[0], g.Dims[1] = n, n
	big := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	bm := &imaging.Mask{Geometry: g, In: make([]bool, g.Len())}
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < n; j++ {
			for i := 0; i < n; i++ {
				src := v.Index(i%v.Dims[0], j%v.Dims[1], k)
				big.Data[g.Index(i, j, k)] = v.Data[src]
				bm.In[g.Index(i, j, k)] = m.In[src] && i < v.Dims[0] && j < v.Dims[1]
			}
		}
	}
	return big, bm
}

func BenchmarkExtractPatch(b *testing.B) {
	spec, _ := imaging.LookupEncoder(imaging.DefaultEncoder)
	for _, n := range []int{96, 320} {
		v, m := benchVolume(n)
		b.Run(fmt.Sprintf("%dx%dx%d", n, n, v.Dims[2]), func(b *testing.B) {
			for b.Loop() {
				if _, err := imaging.ExtractPatch(v, m, spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkForwardGo is the plain-Go forward pass of one patch.
func BenchmarkForwardGo(b *testing.B) {
	e := mustEncoder(b)
	v, m := benchVolume(96)
	p, err := imaging.ExtractPatch(v, m, e.Spec())
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, e.Spec().OutputDim)
	for b.Loop() {
		if _, err := e.Forward(p.Data, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbedCPU is the embedding latency per volume on the CPU through
// ONNX Runtime: patch extraction, normalisation and the encoder run.
func BenchmarkEmbedCPU(b *testing.B) { benchEmbed(b, imaging.DeviceCPU) }

// BenchmarkEmbedCUDA is the same on the GPU; it skips where CUDA is absent.
func BenchmarkEmbedCUDA(b *testing.B) { benchEmbed(b, imaging.DeviceCUDA) }

func benchEmbed(b *testing.B, dev imaging.Device) {
	lib := runtimeLib(b)
	e, err := imaging.NewEmbedder(&imaging.EmbedderOptions{Library: lib, Device: dev, Logger: slog.New(slog.DiscardHandler)})
	if errors.Is(err, imaging.ErrUnavailable) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for _, n := range []int{96, 320} {
		v, m := benchVolume(n)
		b.Run(fmt.Sprintf("%dx%dx%d", n, n, v.Dims[2]), func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Embed(v, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
