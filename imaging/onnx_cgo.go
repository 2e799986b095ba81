//go:build cgo

package imaging

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ortEnv is the process-wide ONNX Runtime environment. onnxruntime_go keeps
// one global environment bound to one library; it is created on first use
// and kept for the life of the process.
var ortEnv struct {
	sync.Mutex
	lib string // library the environment was created from; "" before
}

// initRuntime loads libonnxruntime from lib and creates the environment,
// once per process.
func initRuntime(lib string) error {
	ortEnv.Lock()
	defer ortEnv.Unlock()
	if lib == "" {
		return unavailable("%s is not set (scripts/onnxruntime.sh prints the library path)", LibraryEnv)
	}
	if st, err := os.Stat(lib); err != nil || st.IsDir() {
		return unavailable("onnx runtime library %s not found", lib)
	}
	if abs, err := filepath.Abs(lib); err == nil {
		lib = abs
	}
	if ortEnv.lib != "" {
		if ortEnv.lib != lib {
			return fmt.Errorf("imaging: onnx runtime already loaded from %s, cannot also load %s", ortEnv.lib, lib)
		}
		return nil
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return unavailable("load onnx runtime %s: %v", lib, err)
	}
	ortEnv.lib = lib
	return nil
}

// RuntimeVersion loads the ONNX Runtime library (lib, or
// $SPINECAST_ONNXRUNTIME_LIB when empty) and returns its version string.
func RuntimeVersion(lib string) (string, error) {
	if lib == "" {
		lib = os.Getenv(LibraryEnv)
	}
	if err := initRuntime(lib); err != nil {
		return "", err
	}
	return ort.GetVersion(), nil
}

type ortSession struct {
	sess *ort.AdvancedSession
	in   *ort.Tensor[float32]
	out  *ort.Tensor[float32]
}

// newRuntimeSession creates the session on the requested device: for
// DeviceAuto it tries CUDA and falls back to the CPU, for DeviceCUDA a
// failure to set CUDA up is an error. It logs which device it chose.
func newRuntimeSession(spec EncoderSpec, o *EmbedderOptions) (runtimeSession, Device, error) {
	if err := initRuntime(o.Library); err != nil {
		return nil, "", err
	}
	in, err := ort.NewEmptyTensor[float32](ort.NewShape(spec.inputShape(1)...))
	if err != nil {
		return nil, "", fmt.Errorf("imaging: input tensor: %w", err)
	}
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, int64(spec.OutputDim)))
	if err != nil {
		_ = in.Destroy()
		return nil, "", fmt.Errorf("imaging: output tensor: %w", err)
	}
	s := &ortSession{in: in, out: out}
	var cudaErr error
	if o.Device == DeviceAuto || o.Device == DeviceCUDA {
		s.sess, cudaErr = s.open(spec, o, true)
		if cudaErr != nil && o.Device == DeviceCUDA {
			_ = s.close()
			return nil, "", unavailable("cuda execution provider: %v", cudaErr)
		}
		if cudaErr == nil {
			o.Logger.Info("imaging encoder ready", "encoder", spec.Name, "device", string(DeviceCUDA), "requested", string(o.Device))
			return s, DeviceCUDA, nil
		}
	}
	s.sess, err = s.open(spec, o, false)
	if err != nil {
		_ = s.close()
		return nil, "", fmt.Errorf("imaging: create onnx runtime session for %s: %w", spec.Name, err)
	}
	if cudaErr != nil {
		o.Logger.Info("imaging encoder ready", "encoder", spec.Name, "device", string(DeviceCPU), "requested", string(o.Device),
			"cuda_unavailable", firstLine(cudaErr.Error()))
	} else {
		o.Logger.Info("imaging encoder ready", "encoder", spec.Name, "device", string(DeviceCPU), "requested", string(o.Device))
	}
	return s, DeviceCPU, nil
}

// open creates the session, with the CUDA execution provider first when
// cuda is set (ONNX Runtime assigns each node to the first provider that
// supports it, so the CPU still takes any node CUDA lacks).
func (s *ortSession) open(spec EncoderSpec, o *EmbedderOptions, cuda bool) (*ort.AdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer func() { _ = so.Destroy() }()
	if o.Threads > 0 {
		if err := so.SetIntraOpNumThreads(o.Threads); err != nil {
			return nil, err
		}
	}
	if cuda {
		co, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, err
		}
		defer func() { _ = co.Destroy() }()
		// TF32 convolutions would round inputs to 10-bit mantissas and break
		// the 1e-5 agreement with the plain-Go pass; ask for full float32.
		if err := co.Update(map[string]string{"device_id": "0", "use_tf32": "0"}); err != nil {
			if err := co.Update(map[string]string{"device_id": "0"}); err != nil {
				return nil, err
			}
		}
		if err := so.AppendExecutionProviderCUDA(co); err != nil {
			return nil, err
		}
	}
	return ort.NewAdvancedSessionWithONNXData(o.Model, []string{spec.InputName}, []string{spec.OutputName},
		[]ort.Value{s.in}, []ort.Value{s.out}, so)
}

func (s *ortSession) run(patch []float32, dst []float32) error {
	copy(s.in.GetData(), patch)
	if err := s.sess.Run(); err != nil {
		return err
	}
	copy(dst, s.out.GetData())
	return nil
}

func (s *ortSession) close() error {
	var first error
	if s.sess != nil {
		first = s.sess.Destroy()
		s.sess = nil
	}
	for _, t := range []*ort.Tensor[float32]{s.in, s.out} {
		if t != nil {
			if err := t.Destroy(); err != nil && first == nil {
				first = err
			}
		}
	}
	s.in, s.out = nil, nil
	return first
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
