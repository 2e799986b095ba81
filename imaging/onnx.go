package imaging

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// ErrUnavailable is returned (wrapped, with the reason) when imaging
// embeddings cannot be computed on this machine: no ONNX Runtime library,
// a binary built without cgo, or a requested device that is absent. Its
// message starts "imaging embeddings unavailable"; test with errors.Is.
var ErrUnavailable = errors.New("imaging embeddings unavailable")

// LibraryEnv is the environment variable holding the path of
// libonnxruntime (scripts/onnxruntime.sh prints it).
const LibraryEnv = "SPINECAST_ONNXRUNTIME_LIB"

// Device selects where ONNX Runtime runs the encoder.
type Device string

const (
	// DeviceAuto uses the CUDA execution provider when its libraries and a
	// GPU are present and the CPU otherwise.
	DeviceAuto Device = "auto"
	// DeviceCPU always uses the CPU execution provider.
	DeviceCPU Device = "cpu"
	// DeviceCUDA requires the CUDA execution provider; without it the
	// embedder is not created (ErrUnavailable).
	DeviceCUDA Device = "cuda"
)

// ParseDevice parses "auto", "cpu" or "cuda"; "" means auto.
func ParseDevice(s string) (Device, error) {
	switch Device(s) {
	case "", DeviceAuto:
		return DeviceAuto, nil
	case DeviceCPU, DeviceCUDA:
		return Device(s), nil
	}
	return "", fmt.Errorf("imaging: unknown device %q (want auto, cpu or cuda)", s)
}

// EmbedderOptions configures NewEmbedder. The zero value (or nil) means:
// the default encoder built in Go, the library named by
// $SPINECAST_ONNXRUNTIME_LIB, device auto, ONNX Runtime's default thread
// count, slog.Default().
type EmbedderOptions struct {
	// Encoder is the registry name; "" means DefaultEncoder.
	Encoder string
	// Model is the ONNX file's bytes; nil means the built-in construction
	// of Encoder. Either way its sha256 must match the registry.
	Model []byte
	// Library is the path of libonnxruntime; "" means $SPINECAST_ONNXRUNTIME_LIB.
	Library string
	// Device is where to run; "" means DeviceAuto.
	Device Device
	// Threads is ONNX Runtime's intra-op thread count; 0 means its default
	// (one per physical core).
	Threads int
	// Logger receives the one line saying which device was chosen; nil
	// means slog.Default().
	Logger *slog.Logger
}

// Embedding is an encoder's output for one image, with what identifies how
// it was made.
type Embedding struct {
	Encoder string    `json:"encoder"`
	Version string    `json:"encoder_version"`
	SHA256  string    `json:"encoder_sha256"`
	Device  Device    `json:"device"`
	Vector  []float32 `json:"embedding"`
	// Patch provenance (no intensities).
	CentreMM       [3]float64 `json:"patch_centre_mm"`
	SpacingMM      [3]float64 `json:"patch_spacing_mm"`
	Size           [3]int     `json:"patch_size"`
	InsideFraction float64    `json:"patch_inside_fraction"`
	ClipFraction   float64    `json:"patch_clipped_fraction"`
	ROIVoxels      int        `json:"roi_voxels"`
}

// Embedder runs an encoder through ONNX Runtime. It is safe for concurrent
// use; runs are serialised (ONNX Runtime parallelises inside one run).
type Embedder struct {
	spec   EncoderSpec
	device Device
	mu     sync.Mutex
	rt     runtimeSession
}

// runtimeSession is one ONNX Runtime session with fixed input and output
// buffers for a batch of one patch (implemented with cgo in onnx_cgo.go).
type runtimeSession interface {
	run(patch []float32, dst []float32) error
	close() error
}

// NewEmbedder loads the encoder into ONNX Runtime on the requested device
// and logs one line saying which device runs it. Errors wrap ErrUnavailable
// when the runtime or the device is missing, so callers can carry on
// without embeddings.
func NewEmbedder(opts *EmbedderOptions) (*Embedder, error) {
	var o EmbedderOptions
	if opts != nil {
		o = *opts
	}
	if o.Encoder == "" {
		o.Encoder = DefaultEncoder
	}
	dev, err := ParseDevice(string(o.Device))
	if err != nil {
		return nil, err
	}
	o.Device = dev
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	spec, err := LookupEncoder(o.Encoder)
	if err != nil {
		return nil, err
	}
	if o.Model == nil {
		enc, err := NewEncoder(o.Encoder)
		if err != nil {
			return nil, err
		}
		if o.Model, err = enc.MarshalONNX(); err != nil {
			return nil, err
		}
	}
	if err := spec.CheckModel(o.Model); err != nil {
		return nil, err
	}
	if o.Library == "" {
		o.Library = os.Getenv(LibraryEnv)
	}
	rt, used, err := newRuntimeSession(spec, &o)
	if err != nil {
		return nil, err
	}
	return &Embedder{spec: spec, device: used, rt: rt}, nil
}

// Spec returns the encoder's registry entry.
func (e *Embedder) Spec() EncoderSpec { return e.spec }

// Device returns the device that runs the encoder (cpu or cuda).
func (e *Embedder) Device() Device { return e.device }

// Run runs the encoder on one normalised patch (as Patch.Data) and returns
// the embedding, written into dst when it has room.
func (e *Embedder) Run(patch []float32, dst []float32) ([]float32, error) {
	if len(patch) != e.spec.patchLen() {
		return nil, fmt.Errorf("imaging: encoder %s: patch has %d values, want %d", e.spec.Name, len(patch), e.spec.patchLen())
	}
	if cap(dst) >= e.spec.OutputDim {
		dst = dst[:e.spec.OutputDim]
	} else {
		dst = make([]float32, e.spec.OutputDim)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rt == nil {
		return nil, fmt.Errorf("imaging: embedder is closed")
	}
	if err := e.rt.run(patch, dst); err != nil {
		return nil, fmt.Errorf("imaging: run encoder %s: %w", e.spec.Name, err)
	}
	return dst, nil
}

// Embed extracts the encoder's patch from v around mask m (nil: the volume
// centre; see ExtractPatch) and returns its embedding.
func (e *Embedder) Embed(v *Volume, m *Mask) (*Embedding, error) {
	p, err := ExtractPatch(v, m, e.spec)
	if err != nil {
		return nil, err
	}
	return e.EmbedPatch(p)
}

// EmbedPatch returns the embedding of a patch made by ExtractPatch with this
// encoder's Spec (so that inputs can be checked before ONNX Runtime is
// loaded).
func (e *Embedder) EmbedPatch(p *Patch) (*Embedding, error) {
	if p.Size != e.spec.PatchSize || p.Spacing != e.spec.Spacing {
		return nil, fmt.Errorf("imaging: encoder %s: patch of %v voxels at %v mm, want %v at %v", e.spec.Name, p.Size, p.Spacing, e.spec.PatchSize, e.spec.Spacing)
	}
	vec, err := e.Run(p.Data, nil)
	if err != nil {
		return nil, err
	}
	return &Embedding{
		Encoder: e.spec.Name, Version: e.spec.Version, SHA256: e.spec.SHA256, Device: e.device,
		Vector: vec, CentreMM: p.CentreMM, SpacingMM: p.Spacing, Size: p.Size,
		InsideFraction: p.InsideFraction, ClipFraction: p.ClippedFraction, ROIVoxels: p.ROIVoxels,
	}, nil
}

// Close releases the ONNX Runtime session. The embedder is unusable after.
func (e *Embedder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rt == nil {
		return nil
	}
	err := e.rt.close()
	e.rt = nil
	return err
}

// unavailable wraps ErrUnavailable with a reason.
func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, args...))
}
