package imaging

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvMatchesDefinition checks the optimised convolution against the
// ONNX Conv definition (cross-correlation, zero padding 1) written as the
// plain sum, with non-zero biases, on an odd-sized grid.
func TestConvMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	dims := [3]int{5, 7, 6}
	l := convLayer{in: 3, out: 4}
	l.w = make([]float32, l.out*l.in*27)
	for i := range l.w {
		l.w[i] = float32(r.NormFloat64())
	}
	l.b = []float32{0.5, -0.25, 0, 2}
	n := dims[0] * dims[1] * dims[2]
	x := make([]float64, l.in*n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	got := conv3x3x3ReLU(x, dims, l)
	d, h, w := dims[0], dims[1], dims[2]
	for co := 0; co < l.out; co++ {
		for z := 0; z < d; z++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					s := float64(l.b[co])
					for ci := 0; ci < l.in; ci++ {
						for kz := 0; kz < 3; kz++ {
							for ky := 0; ky < 3; ky++ {
								for kx := 0; kx < 3; kx++ {
									iz, iy, ix := z+kz-1, y+ky-1, xx+kx-1
									if iz < 0 || iz >= d || iy < 0 || iy >= h || ix < 0 || ix >= w {
										continue
									}
									s += float64(l.w[(((co*l.in+ci)*3+kz)*3+ky)*3+kx]) * x[ci*n+(iz*h+iy)*w+ix]
								}
							}
						}
					}
					want := math.Max(0, s)
					g := got[co*n+(z*h+y)*w+xx]
					if math.Abs(g-want) > 1e-12 {
						t.Fatalf("out[%d][%d][%d][%d] = %v, want %v", co, z, y, xx, g, want)
					}
				}
			}
		}
	}
	pooled, pd := maxPool2(got, dims, l.out)
	if pd != [3]int{2, 3, 3} {
		t.Fatalf("pooled dims %v, want [2 3 3]", pd)
	}
	pn := pd[0] * pd[1] * pd[2]
	for co := 0; co < l.out; co++ {
		for z := 0; z < pd[0]; z++ {
			for y := 0; y < pd[1]; y++ {
				for xx := 0; xx < pd[2]; xx++ {
					want := math.Inf(-1)
					for a := 0; a < 8; a++ {
						iz, iy, ix := 2*z+a>>2, 2*y+(a>>1)&1, 2*xx+a&1
						want = math.Max(want, got[co*n+(iz*h+iy)*w+ix])
					}
					if g := pooled[co*pn+(z*pd[1]+y)*pd[2]+xx]; g != want {
						t.Fatalf("pool[%d][%d][%d][%d] = %v, want %v", co, z, y, xx, g, want)
					}
				}
			}
		}
	}
}

func TestSplitMix64KnownValues(t *testing.T) {
	// Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
	r := splitMix64{}
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	for i, w := range want {
		if got := r.next(); got != w {
			t.Errorf("output %d = %#x, want %#x", i, got, w)
		}
	}
}
