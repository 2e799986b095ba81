package imaging

import (
	"math"
	"math/bits"
	"math/cmplx"
	"runtime"
	"sync"
)

// directPairLimit is the ROI size up to which Moran's I and Geary's C sum
// over voxel pairs directly; larger ROIs use FFT correlations (exact up to
// rounding, O(M log M) in the padded bounding box M).
const directPairLimit = 4000

// spatialAutocorrelationGrid computes Moran's I and Geary's C of the
// intensity-mask voxels of v, with weights 1/distance (mm) over all pairs.
func spatialAutocorrelationGrid(v *Volume, m *Mask, workers int) (moran, geary float64) {
	lo, hi, ok := bbox(m)
	if !ok {
		return math.NaN(), math.NaN()
	}
	n := m.Count()
	if n <= directPairLimit {
		var xs []float64
		var ps [][3]float64
		for idx, in := range m.In {
			if in {
				i, j, k := idx%v.Dims[0], (idx/v.Dims[0])%v.Dims[1], idx/(v.Dims[0]*v.Dims[1])
				xs = append(xs, v.Data[idx])
				ps = append(ps, [3]float64{float64(i) * v.Spacing[0], float64(j) * v.Spacing[1], float64(k) * v.Spacing[2]})
			}
		}
		return spatialAutocorrelation(xs, ps, workers)
	}
	return autocorrelationFFT(v, m, lo, hi, n, workers)
}

// autocorrelationFFT computes Moran's I and Geary's C from the
// correlations R_aa, R_mm and R_qm (a: centred intensities, m: the mask
// indicator, q = a²) over the padded bounding box lo..hi: Σ_{i≠j} w a_i a_j
// = Σ_{δ≠0} w(δ) R_aa(δ), W = Σ_{δ≠0} w(δ) R_mm(δ) and Σ_{i≠j} w (a_i −
// a_j)² = Σ_{δ≠0} w(δ) (2 R_qm(δ) − 2 R_aa(δ)), as w(δ) = w(−δ).
func autocorrelationFFT(v *Volume, m *Mask, lo, hi [3]int, n, workers int) (moran, geary float64) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var mu float64
	for idx, in := range m.In {
		if in {
			mu += v.Data[idx]
		}
	}
	mu /= float64(n)
	var ext, size [3]int
	for a := 0; a < 3; a++ {
		ext[a] = hi[a] - lo[a] + 1
		size[a] = 1 << bits.Len(uint(2*ext[a]-2)) // ≥ 2·ext − 1: no wrap-around
		if ext[a] == 1 {
			size[a] = 1
		}
	}
	total := size[0] * size[1] * size[2]
	// Z = a + i·m (two real fields in one transform), Q = a².
	Z := make([]complex128, total)
	Q := make([]complex128, total)
	var den float64
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			for i := lo[0]; i <= hi[0]; i++ {
				idx := v.Index(i, j, k)
				if !m.In[idx] {
					continue
				}
				d := v.Data[idx] - mu
				p := (i - lo[0]) + size[0]*((j-lo[1])+size[1]*(k-lo[2]))
				Z[p] = complex(d, 1)
				Q[p] = complex(d*d, 0)
				den += d * d
			}
		}
	}
	fft3(Z, size, false, workers)
	fft3(Q, size, false, workers)
	// Spectra of the real fields: A_f = (Z_f + conj Z_−f)/2, M_f = (Z_f −
	// conj Z_−f)/(2i). Then Y1 = |A|² + i|M|² (inverse: R_aa + i R_mm, both
	// real) and Y2 = conj(Q)·M (inverse: R_qm).
	Y := make([]complex128, total)
	for k := 0; k < size[2]; k++ {
		nk := mod(-k, size[2])
		for j := 0; j < size[1]; j++ {
			nj := mod(-j, size[1])
			for i := 0; i < size[0]; i++ {
				p := i + size[0]*(j+size[1]*k)
				q := mod(-i, size[0]) + size[0]*(nj+size[1]*nk)
				z, zc := Z[p], cmplx.Conj(Z[q])
				a := (z + zc) / 2
				mm := (z - zc) / complex(0, 2)
				aa := real(a)*real(a) + imag(a)*imag(a)
				m2 := real(mm)*real(mm) + imag(mm)*imag(mm)
				Y[p] = complex(aa, m2)
				Q[p] = cmplx.Conj(Q[p]) * mm
			}
		}
	}
	fft3(Y, size, true, workers)
	fft3(Q, size, true, workers)
	var sw, sa, sq float64
	for dk := -(ext[2] - 1); dk <= ext[2]-1; dk++ {
		for dj := -(ext[1] - 1); dj <= ext[1]-1; dj++ {
			for di := -(ext[0] - 1); di <= ext[0]-1; di++ {
				if di == 0 && dj == 0 && dk == 0 {
					continue
				}
				x, y, z := float64(di)*v.Spacing[0], float64(dj)*v.Spacing[1], float64(dk)*v.Spacing[2]
				w := 1 / math.Sqrt(x*x+y*y+z*z)
				p := mod(di, size[0]) + size[0]*(mod(dj, size[1])+size[1]*mod(dk, size[2]))
				sw += w * imag(Y[p])
				sa += w * real(Y[p])
				sq += w * real(Q[p])
			}
		}
	}
	if den == 0 || sw == 0 {
		return math.NaN(), math.NaN()
	}
	moran = float64(n) / sw * sa / den
	geary = float64(n-1) / (2 * sw) * (2*sq - 2*sa) / den
	return moran, geary
}

func mod(a, n int) int {
	a %= n
	if a < 0 {
		a += n
	}
	return a
}

// fft3 transforms data (x fastest, power-of-two sizes) in place along each
// axis; inverse includes the 1/N normalisation.
func fft3(data []complex128, size [3]int, inverse bool, workers int) {
	for axis := 0; axis < 3; axis++ {
		n := size[axis]
		if n == 1 {
			continue
		}
		stride := 1
		for a := 0; a < axis; a++ {
			stride *= size[a]
		}
		lines := len(data) / n
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				buf := make([]complex128, n)
				for l := w; l < lines; l += workers {
					// line l: base index with the axis coordinate 0.
					lo := l % stride
					hi := l / stride
					base := lo + hi*stride*n
					for t := 0; t < n; t++ {
						buf[t] = data[base+t*stride]
					}
					fft1(buf, inverse)
					for t := 0; t < n; t++ {
						data[base+t*stride] = buf[t]
					}
				}
			}(w)
		}
		wg.Wait()
	}
	if inverse {
		s := complex(1/float64(len(data)), 0)
		for i := range data {
			data[i] *= s
		}
	}
}

// fft1 is an in-place iterative radix-2 FFT (len(x) a power of two),
// unnormalised; inverse uses the conjugate twiddles.
func fft1(x []complex128, inverse bool) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for length := 2; length <= n; length <<= 1 {
		ang := sign * 2 * math.Pi / float64(length)
		wl := complex(math.Cos(ang), math.Sin(ang))
		for i := 0; i < n; i += length {
			w := complex(1, 0)
			half := length / 2
			for k := 0; k < half; k++ {
				u, t := x[i+k], x[i+k+half]*w
				x[i+k], x[i+k+half] = u+t, u-t
				w *= wl
			}
		}
	}
}
