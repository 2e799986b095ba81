package imaging

import (
	"fmt"
	"math"
)

// Patch is an encoder's input cut from a volume: normalised intensities on
// the encoder's grid, with where it came from.
type Patch struct {
	// Data holds PatchSize[0]·[1]·[2] normalised intensities, i fastest.
	Data []float32
	// Size and Spacing are the encoder's patch size (voxels) and spacing
	// (mm) along the volume's i, j, k axes.
	Size    [3]int
	Spacing [3]float64
	// Centre is the patch centre in the volume's continuous voxel indices
	// and CentreMM the same point in patient coordinates (mm, LPS).
	Centre   [3]float64
	CentreMM [3]float64
	// InsideFraction is the fraction of patch voxels whose centre lies in
	// the volume (the rest are padding).
	InsideFraction float64
	// ClippedFraction is the fraction of patch voxels inside the volume
	// whose normalised intensity was clipped to ±Clip (high when the ROI is
	// small and homogeneous and its surroundings differ much).
	ClippedFraction float64
	// ROIVoxels is the number of voxels the normalisation statistics came
	// from (the mask's, or the whole volume's without a mask).
	ROIVoxels int
}

// ExtractPatch cuts the input patch of the encoder described by spec out of
// v, centred on the bounding-box centre of m (the volume centre when m is
// nil), and normalises it by spec.Normalisation (see NormZScoreROI).
//
// Resampling: patch voxel t (0 ≤ t < Size) along axis a sits at continuous
// volume index c[a] + (t − (Size[a]−1)/2)·Spacing[a]/v.Spacing[a] and takes
// the trilinear interpolation of the eight surrounding voxels. Positions up
// to half a voxel beyond the outermost voxel centres take the edge value
// (the voxel's own extent); positions further out are padding (0 after
// normalisation). There is no anti-aliasing filter, so downsampling a fine
// image keeps some aliasing of texture finer than the patch spacing. The
// grid's direction cosines are not used: the patch is aligned with the
// volume's own i, j, k axes, whatever the patient orientation.
//
// Errors: invalid geometry, data of the wrong length, a mask on another
// grid or with no voxel, non-finite intensities, an unknown normalisation.
func ExtractPatch(v *Volume, m *Mask, spec EncoderSpec) (*Patch, error) {
	if v == nil {
		return nil, fmt.Errorf("imaging: extract patch: nil volume")
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("imaging: extract patch: %w", err)
	}
	if len(v.Data) != v.Len() {
		return nil, fmt.Errorf("imaging: extract patch: volume has %d values for %d voxels", len(v.Data), v.Len())
	}
	if spec.Normalisation != NormZScoreROI {
		return nil, fmt.Errorf("imaging: extract patch: unknown normalisation %q", spec.Normalisation)
	}
	for a := 0; a < 3; a++ {
		if spec.PatchSize[a] <= 0 || !(spec.Spacing[a] > 0) {
			return nil, fmt.Errorf("imaging: extract patch: encoder %s has patch size %v and spacing %v", spec.Name, spec.PatchSize, spec.Spacing)
		}
	}
	for idx, x := range v.Data {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("imaging: extract patch: non-finite intensity at voxel %d", idx)
		}
	}

	// Normalisation statistics and patch centre.
	var centre [3]float64
	var sum, sumSq float64
	n := 0
	if m != nil {
		if !m.SameGrid(v.Geometry) || len(m.In) != v.Len() {
			return nil, fmt.Errorf("imaging: extract patch: mask is not on the image grid")
		}
		lo := [3]int{math.MaxInt, math.MaxInt, math.MaxInt}
		hi := [3]int{-1, -1, -1}
		mean := 0.0
		for k := 0; k < v.Dims[2]; k++ {
			for j := 0; j < v.Dims[1]; j++ {
				for i := 0; i < v.Dims[0]; i++ {
					idx := v.Index(i, j, k)
					if !m.In[idx] {
						continue
					}
					p := [3]int{i, j, k}
					for a := 0; a < 3; a++ {
						lo[a], hi[a] = min(lo[a], p[a]), max(hi[a], p[a])
					}
					// Welford's update, stable for CT offsets of ~1000 HU.
					n++
					x := v.Data[idx]
					d := x - mean
					mean += d / float64(n)
					sumSq += d * (x - mean)
				}
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("imaging: extract patch: mask has no voxel")
		}
		sum = mean * float64(n)
		for a := 0; a < 3; a++ {
			centre[a] = float64(lo[a]+hi[a]) / 2
		}
	} else {
		mean := 0.0
		for _, x := range v.Data {
			n++
			d := x - mean
			mean += d / float64(n)
			sumSq += d * (x - mean)
		}
		sum = mean * float64(n)
		for a := 0; a < 3; a++ {
			centre[a] = float64(v.Dims[a]-1) / 2
		}
	}
	mu := sum / float64(n)
	sd := math.Sqrt(sumSq / float64(n))
	if math.IsNaN(mu) || math.IsInf(mu, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) {
		return nil, fmt.Errorf("imaging: extract patch: intensities too large to normalise")
	}
	if sd < 1e-12 {
		sd = 1
	}

	p := &Patch{
		Data:      make([]float32, spec.patchLen()),
		Size:      spec.PatchSize,
		Spacing:   spec.Spacing,
		Centre:    centre,
		ROIVoxels: n,
	}
	for r := 0; r < 3; r++ {
		p.CentreMM[r] = v.Origin[r]
		for c := 0; c < 3; c++ {
			p.CentreMM[r] += v.Direction[3*r+c] * v.Spacing[c] * centre[c]
		}
	}
	// Sample positions along each axis, in volume index units.
	var pos [3][]float64
	for a := 0; a < 3; a++ {
		pos[a] = make([]float64, spec.PatchSize[a])
		half := float64(spec.PatchSize[a]-1) / 2
		for t := range pos[a] {
			pos[a][t] = centre[a] + (float64(t)-half)*spec.Spacing[a]/v.Spacing[a]
		}
	}
	inside, clipped := 0, 0
	out := 0
	for _, z := range pos[2] {
		for _, y := range pos[1] {
			for _, x := range pos[0] {
				val, ok := patchSample(v, x, y, z)
				if ok {
					inside++
					val = (val - mu) / sd
					if val < -spec.Clip || val > spec.Clip {
						clipped++
						val = math.Max(-spec.Clip, math.Min(spec.Clip, val))
					}
					p.Data[out] = float32(val)
				}
				out++
			}
		}
	}
	p.InsideFraction = float64(inside) / float64(len(p.Data))
	if inside > 0 {
		p.ClippedFraction = float64(clipped) / float64(inside)
	}
	return p, nil
}

// patchSample interpolates v trilinearly at continuous index (x, y, z); ok
// is false when the point is more than half a voxel outside the grid.
func patchSample(v *Volume, x, y, z float64) (float64, bool) {
	c := [3]float64{x, y, z}
	var i0 [3]int
	var f [3]float64
	for a := 0; a < 3; a++ {
		hi := float64(v.Dims[a] - 1)
		if c[a] < -0.5 || c[a] > hi+0.5 {
			return 0, false
		}
		c[a] = math.Max(0, math.Min(hi, c[a]))
		fl := math.Floor(c[a])
		i0[a] = int(fl)
		f[a] = c[a] - fl
		if i0[a] == v.Dims[a]-1 && v.Dims[a] > 1 { // on the last centre: use the last cell
			i0[a]--
			f[a] = 1
		}
	}
	step := [3]int{1, v.Dims[0], v.Dims[0] * v.Dims[1]}
	for a := 0; a < 3; a++ {
		if v.Dims[a] == 1 {
			step[a] = 0
		}
	}
	base := v.Index(i0[0], i0[1], i0[2])
	var s float64
	for dz := 0; dz < 2; dz++ {
		wz := 1 - f[2]
		if dz == 1 {
			wz = f[2]
		}
		for dy := 0; dy < 2; dy++ {
			wy := 1 - f[1]
			if dy == 1 {
				wy = f[1]
			}
			for dx := 0; dx < 2; dx++ {
				wx := 1 - f[0]
				if dx == 1 {
					wx = f[0]
				}
				w := wx * wy * wz
				if w == 0 {
					continue
				}
				s += w * v.Data[base+dx*step[0]+dy*step[1]+dz*step[2]]
			}
		}
	}
	return s, true
}
