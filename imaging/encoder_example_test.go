package imaging_test

import (
	"fmt"

	"github.com/spinecast/spinecast/imaging"
)

// The built-in encoder is constructed in Go, written as ONNX and pinned by
// its sha256 in the registry.
func ExampleNewEncoder() {
	enc, err := imaging.NewEncoder(imaging.DefaultEncoder)
	if err != nil {
		fmt.Println(err)
		return
	}
	model, err := enc.MarshalONNX()
	if err != nil {
		fmt.Println(err)
		return
	}
	spec := enc.Spec()
	fmt.Println(spec.Name, "opset", spec.Opset)
	fmt.Println("patch", spec.PatchSize, "voxels at", spec.Spacing, "mm, normalisation", spec.Normalisation)
	fmt.Println("embedding dimensions", spec.OutputDim)
	fmt.Println("model matches registry:", spec.CheckModel(model) == nil)
	// Output:
	// spine-rf3d-v1 opset 13
	// patch [64 64 16] voxels at [1 1 3] mm, normalisation zscore-roi
	// embedding dimensions 32
	// model matches registry: true
}

// ExtractPatch cuts the encoder's input around a mask and z-scores it
// within the mask; the plain-Go forward pass gives the embedding without
// ONNX Runtime (Embedder.EmbedPatch gives the same through ONNX Runtime).
func ExampleExtractPatch() {
	g := imaging.Geometry{Dims: [3]int{32, 32, 8}, Spacing: [3]float64{1, 1, 3}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	m := &imaging.Mask{Geometry: g, In: make([]bool, g.Len())}
	for k := 2; k < 6; k++ {
		for j := 10; j < 20; j++ {
			for i := 8; i < 24; i++ {
				m.In[g.Index(i, j, k)] = true
				v.Data[g.Index(i, j, k)] = float64(100 + (i+j+k)%7)
			}
		}
	}
	enc, _ := imaging.NewEncoder(imaging.DefaultEncoder)
	p, err := imaging.ExtractPatch(v, m, enc.Spec())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("centre voxel %v, %d ROI voxels, %.3f of the patch inside the image\n", p.Centre, p.ROIVoxels, p.InsideFraction)
	emb, _ := enc.Forward(p.Data, nil)
	fmt.Println(len(emb), "values")
	// Output:
	// centre voxel [15.5 14.5 3.5], 640 ROI voxels, 0.125 of the patch inside the image
	// 32 values
}
