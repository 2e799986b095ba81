package imaging

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// EncoderSpec describes an image encoder in the registry: the model file's
// identity (sha256), what the encoder expects as input and what it returns.
// It is what a cached embedding records next to its vector, so that
// embeddings from different encoders or preprocessing are never mixed.
type EncoderSpec struct {
	// Name and Version identify the encoder; Name is unique in the registry.
	Name    string `json:"name"`
	Version string `json:"version"`
	// SHA256 is the lower-case hex sha256 of the ONNX model file. Loading a
	// model whose bytes hash differently is an error.
	SHA256 string `json:"sha256"`
	// Opset is the ONNX default-domain opset the model is written for.
	Opset int `json:"opset"`
	// InputName and OutputName are the graph's input and output tensors.
	InputName  string `json:"input_name"`
	OutputName string `json:"output_name"`
	// PatchSize is the patch in voxels along the volume's i, j, k axes; the
	// input tensor is [N, 1, PatchSize[2], PatchSize[1], PatchSize[0]]
	// (NCDHW, so W runs along i, the fastest index, as in Volume.Data).
	PatchSize [3]int `json:"patch_size"`
	// Spacing is the patch's voxel spacing in mm along i, j, k: the volume is
	// resampled to it (trilinear) before encoding.
	Spacing [3]float64 `json:"spacing_mm"`
	// Normalisation names the intensity rule (see NormZScoreROI).
	Normalisation string `json:"normalisation"`
	// Clip bounds the normalised intensities to [-Clip, Clip].
	Clip float64 `json:"clip"`
	// OutputDim is the embedding length.
	OutputDim int `json:"output_dim"`
	// Weights says where the weights come from and what the embedding
	// captures, in words.
	Weights string `json:"weights"`
}

// NormZScoreROI is the normalisation rule of the built-in encoders: each
// intensity x becomes (x − μ)/σ, where μ and σ (population standard
// deviation) are taken over the ROI voxels of the original volume (all
// voxels when no mask is given), then clipped to [−Clip, Clip]. When σ is
// below 1e-12 (a constant ROI) only the centring is applied. Patch voxels
// that fall outside the volume are 0, the ROI mean.
const NormZScoreROI = "zscore-roi"

// DefaultEncoder is the registry name of the encoder used when none is
// chosen.
const DefaultEncoder = "spine-rf3d-v1"

// encoderRegistry is the table of known encoders. An entry's SHA256 pins
// the exact bytes of its ONNX model; the built-in models are constructed by
// builtinEncoders and a test checks that construction reproduces the hash.
var encoderRegistry = []EncoderSpec{
	{
		Name:          "spine-rf3d-v1",
		Version:       "1.0.0",
		SHA256:        "f416f678ea3a1975641adb9d58e67373f3e4fad9b592de20de710a437ad355ec",
		Opset:         13,
		InputName:     "patch",
		OutputName:    "embedding",
		PatchSize:     [3]int{64, 64, 16},
		Spacing:       [3]float64{1, 1, 3},
		Normalisation: NormZScoreROI,
		Clip:          5,
		OutputDim:     32,
		Weights: "untrained random-features encoder: three 3x3x3 convolutions (1->8->16->32 channels, " +
			"ReLU, 2x2x2 max pooling after the first two) and global average pooling, with fixed " +
			"He-uniform weights from a seeded splitmix64 generator (seed 0x5350494e45, 'SPINE'); the " +
			"first layer's filters are zero-mean except one local-mean filter and all biases are 0. " +
			"The embedding summarises how often multi-scale local intensity patterns (edges, blobs, " +
			"texture) occur in the z-scored patch; it is invariant to the ROI's intensity offset and " +
			"scale, knows no anatomy and was fitted to no outcome: downstream models must learn which " +
			"dimensions matter",
	},
}

// Encoders returns a copy of the encoder registry.
func Encoders() []EncoderSpec {
	return append([]EncoderSpec(nil), encoderRegistry...)
}

// LookupEncoder returns the registry entry called name.
func LookupEncoder(name string) (EncoderSpec, error) {
	for _, s := range encoderRegistry {
		if s.Name == name {
			return s, nil
		}
	}
	return EncoderSpec{}, fmt.Errorf("imaging: unknown encoder %q", name)
}

// CheckModel verifies that model is the file the registry entry spec
// describes (same sha256).
func (s EncoderSpec) CheckModel(model []byte) error {
	sum := sha256.Sum256(model)
	got := hex.EncodeToString(sum[:])
	if got != s.SHA256 {
		return fmt.Errorf("imaging: encoder %s: model sha256 %s does not match the registry's %s", s.Name, got, s.SHA256)
	}
	return nil
}

// inputShape is the ONNX input tensor shape for a batch of n patches.
func (s EncoderSpec) inputShape(n int) []int64 {
	return []int64{int64(n), 1, int64(s.PatchSize[2]), int64(s.PatchSize[1]), int64(s.PatchSize[0])}
}

// patchLen is the number of voxels of one patch.
func (s EncoderSpec) patchLen() int { return s.PatchSize[0] * s.PatchSize[1] * s.PatchSize[2] }
