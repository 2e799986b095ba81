package predictors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestForestPartitionKernel checks the vector kernel against its definition
// on lists of every length up to 40 and a few longer ones, for a feature
// alone (stride 1) and the last of three (of five in the float32 copy):
// the rows whose value is not greater than thr (ties, −0 against 0, −Inf,
// values one float64 step either side of thr and values a few float64
// steps away that round to the same float32, values beyond float32's
// range included) come first in their original order, the others follow
// them (in rounds of 16 from the back), and nothing is written past n.
func TestForestPartitionKernel(t *testing.T) {
	if !forestSIMD {
		t.Skip("no AVX-512 on this machine: Predict walks each row down each tree there, tested by TestForestPredictPathsAgree")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	const m = 500
	const near, huge = 0.1, 1e300
	col := make([]float64, m)
	for i := range col {
		switch i % 14 {
		case 0:
			col[i] = 0.25 // equal to thr
		case 1:
			col[i] = math.Copysign(0, -1)
		case 2:
			col[i] = math.Inf(-1 + 2*(i/10%2))
		case 3:
			col[i] = math.Nextafter(near, math.Inf(1))
		case 4:
			col[i] = math.Nextafter(near, math.Inf(-1))
		case 5:
			col[i] = near
		case 6:
			col[i] = near * (1 + 1e-12) // float32(col[i]) == float32(near)
		case 7:
			col[i] = near * (1 - 1e-12)
		case 8:
			col[i] = huge * float64(1-2*(i/14%2)) // ±Inf in float32
		case 9:
			col[i] = math.Nextafter(huge, 0)
		default:
			col[i] = rng.NormFloat64()
		}
	}

	lengths := []int{0}
	for n := 1; n <= 40; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 63, 64, 65, 255, 1000)
	for _, stride := range []int{1, 3} {
		// the values as the feature stride-1 of rows of stride values,
		// their float32 roundings as the feature stride32-1 of rows of
		// stride32 values
		stride32 := stride + 2
		xs := make([]float64, m*stride)
		xs32 := make([]float32, m*stride32)
		for r, v := range col {
			xs[r*stride+stride-1] = v
			xs32[r*stride32+stride32-1] = float32(v)
		}
		for _, thr := range []float64{0.25, 0, near, near * (1 + 1e-12), huge, math.Inf(1), math.Inf(-1)} {
			for _, n := range lengths {
				src := make([]int32, n+1) // +1: a valid pointer for n = 0
				for i := range src {
					src[i] = int32(rng.IntN(m))
				}
				const guard = 17
				dst := make([]int32, n+guard)
				for i := range dst {
					dst[i] = -1
				}
				l := forestPartitionAVX512(&src[0], n, &xs32[stride32-1], float32(thr), &dst[0], stride32, &xs[stride-1], thr, stride)
				var wantL, wantR []int32
				for _, r := range src[:n] {
					if col[r] > thr {
						wantR = append(wantR, r)
					} else {
						wantL = append(wantL, r)
					}
				}
				if l != len(wantL) {
					t.Fatalf("stride %d thr %v n %d: %d left, want %d", stride, thr, n, l, len(wantL))
				}
				gotR := slices.Clone(dst[l:n])
				slices.Sort(gotR)
				slices.Sort(wantR)
				if !slices.Equal(dst[:l], wantL) || !slices.Equal(gotR, wantR) {
					t.Fatalf("stride %d thr %v n %d: left %v right %v, want %v and (in some order) %v", stride, thr, n, dst[:l], dst[l:n], wantL, wantR)
				}
				for i := n; i < n+guard; i++ {
					if dst[i] != -1 {
						t.Fatalf("stride %d thr %v n %d: slot %d past the end written", stride, thr, n, i)
					}
				}
			}
		}
	}
}

// TestForestPartitionGo checks the short-list partition in Go the same
// way (the right-hand rows come in reverse order there), with values on
// both sides of the threshold that round to its float32.
func TestForestPartitionGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	col := []float64{-1, 0, 0.5, 0.5, 2, math.Inf(1), math.Copysign(0, -1), 0.5 + 0x1p-40, 0.5 - 0x1p-40}
	xs := make([]float64, 2*len(col)) // feature 1 of rows of two
	xs32 := make([]float32, len(xs))
	for r, v := range col {
		xs[2*r+1] = v
		xs32[2*r+1] = float32(v)
	}
	for n := range 30 {
		src := make([]int32, n)
		for i := range src {
			src[i] = int32(rng.IntN(len(col)))
		}
		dst := make([]int32, n)
		l := forestPartitionGo(src, xs32[1:], 2, xs[1:], 2, 0.5, dst)
		var wantL, wantR []int32
		for _, r := range src {
			if col[r] > 0.5 {
				wantR = append(wantR, r)
			} else {
				wantL = append(wantL, r)
			}
		}
		slices.Reverse(wantR)
		if l != len(wantL) || !slices.Equal(dst[:l], wantL) || !slices.Equal(dst[l:], wantR) {
			t.Fatalf("n %d: got %v (l %d), want %v | %v", n, dst, l, wantL, wantR)
		}
	}
}

// TestForestPredictPathsAgree scores random forests (root-only trees, deep
// unbalanced ones, 1 to 60 features) on blocks of every awkward size, half
// the values equal to a threshold of their feature or a float64 step from
// one, through both Predict paths (partitioning where the machine has
// AVX-512, reading a Dense block in place and from a copy; the row-by-row
// walk), with 1 and 3 workers and through a non-Dense matrix; every
// probability must equal PredictOne's bit for bit.
func TestForestPredictPathsAgree(t *testing.T) {
	saved, savedMax := forestSIMD, forestPartMaxOffset
	defer func() { forestSIMD, forestPartMaxOffset = saved, savedMax }()
	type path struct {
		simd bool
		max  int64 // forestPartMaxOffset: 0 makes the kernel read a copy of a Dense block
	}
	paths := []path{{false, savedMax}}
	if saved {
		paths = append(paths, path{true, savedMax}, path{true, 0})
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for c := range 12 {
		p := []int{1, 2, 7, 60}[c%4]
		f := &Forest{NFeatures: p}
		thresholds := make([][]float64, p) // per feature
		for range 1 + rng.IntN(40) {
			var tr Tree
			RandomTestTree(rng, &tr, p, 0, rng.IntN(14), 0.15, 5)
			f.Trees = append(f.Trees, tr)
			for j, ft := range tr.Feature {
				if ft >= 0 {
					thresholds[ft] = append(thresholds[ft], tr.Threshold[j])
				}
			}
		}
		f.packed = forestPackAll(f.Trees)
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 33, 300, 2500} {
			x := mat.NewDense(n, p, nil)
			raw := x.RawMatrix().Data
			for i := range raw {
				if th := thresholds[i%p]; len(th) > 0 && rng.IntN(2) == 0 {
					// a tie with a threshold of this feature (goes left) or
					// a float64 step either side of one
					raw[i] = th[rng.IntN(len(th))]
					if rng.IntN(2) == 0 {
						raw[i] = math.Nextafter(raw[i], float64(rng.IntN(2)*2-1))
					}
				} else {
					raw[i] = rng.NormFloat64()
				}
			}
			want := make([]float64, n)
			for i := range want {
				v, err := f.PredictOne(x.RawRowView(i))
				if err != nil {
					t.Fatal(err)
				}
				want[i] = v
			}
			for _, pa := range paths {
				forestSIMD, forestPartMaxOffset = pa.simd, pa.max
				for _, workers := range []int{1, 3} {
					f.workers = workers
					for _, m := range []mat.Matrix{x, x.T().T()} {
						got, err := f.Predict(m, nil)
						if err != nil {
							t.Fatal(err)
						}
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("case %d (p %d, %d trees), n %d, path %+v, %d workers, %T: row %d: Predict %v, PredictOne %v",
									c, p, len(f.Trees), n, pa, workers, m, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// BenchmarkForestPredictPaths times both Predict paths on the 10,000-row
// benchmark forest (500 fully grown trees, 50 features; see
// BenchmarkForestPredict) as interleaved sub-benchmarks of one process.
// With GOMAXPROCS=1 the cpu-ns/op is the path's own CPU time.
func BenchmarkForestPredictPaths(b *testing.B) {
	const n = 10000
	x, y := ForestBenchData(n)
	f, err := FitForest(x, y, nil, &ForestSettings{Trees: 500, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	saved := forestSIMD
	defer func() { forestSIMD = saved }()
	dst := make([]float64, n)
	for rep := range 3 {
		for _, simd := range []bool{false, true} {
			if simd && !saved {
				continue
			}
			b.Run(fmt.Sprintf("rep=%d/simd=%v", rep, simd), func(b *testing.B) {
				forestSIMD = simd
				c0 := BenchCPUTime()
				for b.Loop() {
					if _, err := f.Predict(x, dst); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(BenchCPUTime()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// ForestBenchData generates n rows of 50 standard-normal features with
// P(y=1|x) = σ(x0 + x1 − x2 + 0.5·x3·x4), from a fixed seed (for the
// benchmarks of both test packages).
func ForestBenchData(n int) (*mat.Dense, []bool) {
	const p = 50
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	for i := range n {
		r := x.RawRowView(i)
		for j := range r {
			r[j] = rng.NormFloat64()
		}
		y[i] = rng.Float64() < Sigmoid(r[0]+r[1]-r[2]+0.5*r[3]*r[4])
	}
	return x, y
}
