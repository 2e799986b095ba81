package imaging

import (
	"math"
	"runtime"
	"sync"
)

// peakRadius is the radius in mm of a 1 cm³ sphere: (3/(4π))^(1/3) cm.
var peakRadius = 10 * math.Cbrt(3/(4*math.Pi))

// LocalIntensityFeatures computes the IBSI local intensity features
// (§3.2): the local intensity peak (mean intensity of the image voxels
// whose centres lie within the 1 cm³ sphere around the maximum-intensity
// voxel of the intensity mask; the highest such mean when the maximum is
// shared) and the global intensity peak (the highest such mean around any
// voxel of the intensity mask). The neighbourhood uses every image voxel,
// in the ROI or not; voxels beyond the image are left out. workers ≤ 0
// means GOMAXPROCS.
func LocalIntensityFeatures(v *Volume, intensity *Mask, workers int) ([]Feature, error) {
	if err := CheckGrid(v, intensity); err != nil {
		return nil, err
	}
	var offs [][3]int
	var r [3]int
	for a := 0; a < 3; a++ {
		r[a] = int(math.Floor(peakRadius / v.Spacing[a]))
	}
	for k := -r[2]; k <= r[2]; k++ {
		for j := -r[1]; j <= r[1]; j++ {
			for i := -r[0]; i <= r[0]; i++ {
				x, y, z := float64(i)*v.Spacing[0], float64(j)*v.Spacing[1], float64(k)*v.Spacing[2]
				if x*x+y*y+z*z <= peakRadius*peakRadius*(1+1e-12) {
					offs = append(offs, [3]int{i, j, k})
				}
			}
		}
	}
	nx, ny := v.Dims[0], v.Dims[1]
	mean := func(idx int) float64 {
		ci, cj, ck := idx%nx, (idx/nx)%ny, idx/(nx*ny)
		var s float64
		var n int
		for _, o := range offs {
			i, j, k := ci+o[0], cj+o[1], ck+o[2]
			if i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= v.Dims[2] {
				continue
			}
			s += v.Data[i+nx*(j+ny*k)]
			n++
		}
		return s / float64(n)
	}
	var roi []int
	maxI := math.Inf(-1)
	for i, in := range intensity.In {
		if in {
			roi = append(roi, i)
			maxI = math.Max(maxI, v.Data[i])
		}
	}
	if len(roi) == 0 {
		return nil, ErrEmptyROI
	}
	local := math.Inf(-1)
	for _, i := range roi {
		if v.Data[i] == maxI {
			local = math.Max(local, mean(i))
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(roi))
	best := make([]float64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			b := math.Inf(-1)
			for t := w; t < len(roi); t += workers {
				b = math.Max(b, mean(roi[t]))
			}
			best[w] = b
		}(w)
	}
	wg.Wait()
	global := math.Inf(-1)
	for _, b := range best {
		global = math.Max(global, b)
	}
	return []Feature{
		{Family: FamilyLocalIntensity, Name: "Local intensity peak", IBSICode: "VJGA", Aggregation: "3D", Value: local},
		{Family: FamilyLocalIntensity, Name: "Global intensity peak", IBSICode: "0F91", Aggregation: "3D", Value: global},
	}, nil
}
