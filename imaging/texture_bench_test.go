package imaging

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchROI is a 64×64×16 volume with an ellipsoidal ROI (about half the
// voxels) of uniformly random grey levels 1..32.
func benchROI() *Discretised {
	rng := rand.New(rand.NewPCG(11, 12))
	const nx, ny, nz = 64, 64, 16
	d := &Discretised{
		Geometry: Geometry{Dims: [3]int{nx, ny, nz}, Spacing: [3]float64{1, 1, 3}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}},
		Grey:     make([]int32, nx*ny*nz),
		Levels:   32,
	}
	for z := 0; z < nz; z++ {
		for y := 0; y < ny; y++ {
			for x := 0; x < nx; x++ {
				u, v, w := (float64(x)-31.5)/32, (float64(y)-31.5)/32, (float64(z)-7.5)/8
				if u*u+v*v+w*w <= 1 {
					d.Grey[d.Index(x, y, z)] = int32(1 + rng.IntN(32))
				}
			}
		}
	}
	return d
}

func BenchmarkTextureFamilies(b *testing.B) {
	d := benchROI()
	for _, fam := range TextureFamilies() {
		b.Run(fam.Name, func(b *testing.B) {
			for b.Loop() {
				if _, err := fam.Func(d, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ExampleGLCMFeatures computes GLCM features of a 2×2 checkerboard.
func ExampleGLCMFeatures() {
	d := &Discretised{
		Geometry: Geometry{Dims: [3]int{2, 2, 1}, Spacing: [3]float64{1, 1, 1}},
		Grey:     []int32{1, 2, 2, 1},
		Levels:   2,
	}
	fs, err := GLCMFeatures(d, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fs {
		if f.Aggregation == Agg3DMerged && (f.IBSICode == "GYBY" || f.IBSICode == "ACUI") {
			fmt.Printf("%s (%s, %s): %.4f\n", f.Name, f.IBSICode, f.Aggregation, f.Value)
		}
	}
	// Output:
	// Joint maximum (GYBY, 3D, merged): 0.3333
	// Contrast (ACUI, 3D, merged): 0.6667
}
