package imaging

import (
	"fmt"
	"math"
)

// Encoder is a small 3D convolutional network held in Go: its weights, a
// plain-Go forward pass (Forward) and its ONNX serialisation (MarshalONNX).
// ONNX Runtime runs the serialised model (see Embedder); the plain-Go pass is
// the reference it is tested against, and a fallback for callers that want
// no cgo.
//
// The architecture is fixed: a stack of 3×3×3 convolutions (stride 1, zero
// padding 1, bias), each followed by ReLU and optionally by 2×2×2 max pooling
// (stride 2), then global average pooling over space, giving one value per
// output channel of the last layer.
type Encoder struct {
	spec   EncoderSpec
	layers []convLayer
}

// convLayer is one Conv(3×3×3, pad 1) + ReLU [+ MaxPool 2] block. W is in
// ONNX order [out][in][kd][kh][kw].
type convLayer struct {
	in, out int
	w, b    []float32
	pool    bool
}

const kernel = 3 // convolution kernel size along each axis

// builtinEncoders constructs the weights of the registry's built-in
// encoders, by name.
var builtinEncoders = map[string]func(EncoderSpec) *Encoder{
	"spine-rf3d-v1": func(s EncoderSpec) *Encoder {
		return randomFeatureEncoder(s, 0x5350494e45, []int{8, 16, 32}, []bool{true, true, false})
	},
}

// NewEncoder constructs the built-in encoder called name (see Encoders).
// Construction is deterministic: the same name gives the same weights, and
// MarshalONNX the same bytes, on every platform.
func NewEncoder(name string) (*Encoder, error) {
	spec, err := LookupEncoder(name)
	if err != nil {
		return nil, err
	}
	build, ok := builtinEncoders[name]
	if !ok {
		return nil, fmt.Errorf("imaging: encoder %s has no built-in construction", name)
	}
	return build(spec), nil
}

// Spec returns the encoder's registry entry.
func (e *Encoder) Spec() EncoderSpec { return e.spec }

// randomFeatureEncoder builds a random-features CNN: He-uniform weights
// (U(−a, a), a = √(6 / fan_in)) drawn from splitmix64(seed) in layer,
// output-channel, input-channel, kernel order; biases 0. First-layer filters
// are made zero-mean (so they respond to local contrast, not brightness),
// except filter 0, which is the 3×3×3 local mean.
func randomFeatureEncoder(spec EncoderSpec, seed uint64, channels []int, pool []bool) *Encoder {
	rng := splitMix64{state: seed}
	e := &Encoder{spec: spec}
	in := 1
	const taps = kernel * kernel * kernel
	for l, out := range channels {
		fanIn := float64(in * taps)
		a := math.Sqrt(6 / fanIn)
		w := make([]float32, out*in*taps)
		filter := make([]float64, in*taps)
		for o := 0; o < out; o++ {
			for i := range filter {
				filter[i] = (2*rng.float64() - 1) * a
			}
			if l == 0 {
				if o == 0 {
					for i := range filter {
						filter[i] = 1.0 / taps
					}
				} else {
					var m float64
					for _, v := range filter {
						m += v
					}
					m /= float64(len(filter))
					for i := range filter {
						filter[i] -= m
					}
				}
			}
			for i, v := range filter {
				w[o*in*taps+i] = float32(v)
			}
		}
		e.layers = append(e.layers, convLayer{in: in, out: out, w: w, b: make([]float32, out), pool: pool[l]})
		in = out
	}
	return e
}

// splitMix64 is Steele, Lea and Flood's SplitMix64 generator (as published
// by Vigna); it is written out here so that the weights never depend on the
// Go version's math/rand.
type splitMix64 struct{ state uint64 }

func (r *splitMix64) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *splitMix64) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// Forward computes the embedding of one patch (length PatchSize[0]·[1]·[2],
// in Volume index order: i fastest, then j, then k) in plain Go, with
// float64 accumulation. It writes into dst when dst has room for OutputDim
// values and returns the embedding. A patch of the wrong length is an
// error.
func (e *Encoder) Forward(patch []float32, dst []float32) ([]float32, error) {
	if len(patch) != e.spec.patchLen() {
		return nil, fmt.Errorf("imaging: encoder %s: patch has %d values, want %d", e.spec.Name, len(patch), e.spec.patchLen())
	}
	dims := [3]int{e.spec.PatchSize[2], e.spec.PatchSize[1], e.spec.PatchSize[0]} // d, h, w
	x := make([]float64, len(patch))
	for i, v := range patch {
		x[i] = float64(v)
	}
	for _, l := range e.layers {
		x = conv3x3x3ReLU(x, dims, l)
		if l.pool {
			x, dims = maxPool2(x, dims, l.out)
		}
	}
	last := e.layers[len(e.layers)-1].out
	n := dims[0] * dims[1] * dims[2]
	if cap(dst) >= last {
		dst = dst[:last]
	} else {
		dst = make([]float32, last)
	}
	for c := 0; c < last; c++ {
		var s float64
		for _, v := range x[c*n : (c+1)*n] {
			s += v
		}
		dst[c] = float32(s / float64(n))
	}
	return dst, nil
}

// conv3x3x3ReLU applies one convolution layer (zero padding 1, stride 1)
// and ReLU to x, laid out [channel][d][h][w].
func conv3x3x3ReLU(x []float64, dims [3]int, l convLayer) []float64 {
	d, h, w := dims[0], dims[1], dims[2]
	n := d * h * w
	y := make([]float64, l.out*n)
	for co := 0; co < l.out; co++ {
		o := y[co*n : (co+1)*n]
		b := float64(l.b[co])
		for i := range o {
			o[i] = b
		}
		for ci := 0; ci < l.in; ci++ {
			in := x[ci*n : (ci+1)*n]
			wk := l.w[(co*l.in+ci)*kernel*kernel*kernel:]
			for kz := 0; kz < kernel; kz++ {
				dz := kz - 1
				z0, z1 := max(0, -dz), min(d, d-dz)
				for ky := 0; ky < kernel; ky++ {
					dy := ky - 1
					y0, y1 := max(0, -dy), min(h, h-dy)
					for kx := 0; kx < kernel; kx++ {
						dx := kx - 1
						x0, x1 := max(0, -dx), min(w, w-dx)
						wv := float64(wk[(kz*kernel+ky)*kernel+kx])
						for z := z0; z < z1; z++ {
							for yy := y0; yy < y1; yy++ {
								ob := (z*h + yy) * w
								ib := ((z+dz)*h+yy+dy)*w + dx
								orow := o[ob+x0 : ob+x1]
								irow := in[ib+x0 : ib+x1]
								for i, v := range irow {
									orow[i] += wv * v
								}
							}
						}
					}
				}
			}
		}
		for i, v := range o {
			if v < 0 {
				o[i] = 0
			}
		}
	}
	return y
}

// maxPool2 applies 2×2×2 max pooling with stride 2 (no padding; a trailing
// odd row is dropped, as ONNX MaxPool does) to c channels.
func maxPool2(x []float64, dims [3]int, c int) ([]float64, [3]int) {
	d, h, w := dims[0], dims[1], dims[2]
	pd, ph, pw := d/2, h/2, w/2
	n, pn := d*h*w, pd*ph*pw
	y := make([]float64, c*pn)
	for ch := 0; ch < c; ch++ {
		in := x[ch*n : (ch+1)*n]
		out := y[ch*pn : (ch+1)*pn]
		for z := 0; z < pd; z++ {
			for yy := 0; yy < ph; yy++ {
				for xx := 0; xx < pw; xx++ {
					m := math.Inf(-1)
					for a := 0; a < 2; a++ {
						for b := 0; b < 2; b++ {
							base := ((2*z+a)*h+2*yy+b)*w + 2*xx
							m = max(m, in[base], in[base+1])
						}
					}
					out[(z*ph+yy)*pw+xx] = m
				}
			}
		}
	}
	return y, [3]int{pd, ph, pw}
}
