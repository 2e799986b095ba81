//go:build !cgo

package imaging

// Without cgo, onnxruntime_go cannot be built: the package still compiles,
// radiomics and the plain-Go Encoder work, and embedders report
// ErrUnavailable.

// RuntimeVersion reports ErrUnavailable: this binary was built without cgo.
func RuntimeVersion(string) (string, error) {
	return "", unavailable("spinecast was built without cgo (CGO_ENABLED=0), so onnx runtime cannot be loaded")
}

func newRuntimeSession(EncoderSpec, *EmbedderOptions) (runtimeSession, Device, error) {
	return nil, "", unavailable("spinecast was built without cgo (CGO_ENABLED=0), so onnx runtime cannot be loaded")
}
