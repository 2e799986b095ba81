package imaging

import (
	"fmt"
	"math"
)

// bbox returns the inclusive index bounding box of the mask, ok false when
// the mask is empty.
func bbox(m *Mask) (lo, hi [3]int, ok bool) {
	nx, ny := m.Dims[0], m.Dims[1]
	lo = [3]int{math.MaxInt, math.MaxInt, math.MaxInt}
	hi = [3]int{-1, -1, -1}
	for idx, in := range m.In {
		if !in {
			continue
		}
		ijk := [3]int{idx % nx, (idx / nx) % ny, idx / (nx * ny)}
		for a := 0; a < 3; a++ {
			lo[a] = min(lo[a], ijk[a])
			hi[a] = max(hi[a], ijk[a])
		}
	}
	return lo, hi, hi[0] >= 0
}

// indexToWorld returns the world position of continuous index p.
func (g Geometry) indexToWorld(p [3]float64) [3]float64 {
	var w [3]float64
	for r := 0; r < 3; r++ {
		w[r] = g.Origin[r]
		for c := 0; c < 3; c++ {
			w[r] += g.Direction[3*r+c] * g.Spacing[c] * p[c]
		}
	}
	return w
}

// worldToIndex returns the continuous index of world position w (the
// direction matrix is taken as orthonormal).
func (g Geometry) worldToIndex(w [3]float64) [3]float64 {
	var p [3]float64
	d := sub3(w, g.Origin)
	for c := 0; c < 3; c++ {
		s := 0.0
		for r := 0; r < 3; r++ {
			s += g.Direction[3*r+c] * d[r]
		}
		p[c] = s / g.Spacing[c]
	}
	return p
}

// crop returns the sub-grid of g with index ranges lo..hi (inclusive).
func (g Geometry) crop(lo, hi [3]int) Geometry {
	c := g
	for a := 0; a < 3; a++ {
		c.Dims[a] = hi[a] - lo[a] + 1
	}
	c.Origin = g.indexToWorld([3]float64{float64(lo[0]), float64(lo[1]), float64(lo[2])})
	return c
}

// cropROI crops image and mask to the mask's bounding box grown by margin
// voxels per axis (within the image).
func cropROI(v *Volume, m *Mask, margin [3]int) (*Volume, *Mask, error) {
	lo, hi, ok := bbox(m)
	if !ok {
		return nil, nil, ErrEmptyROI
	}
	for a := 0; a < 3; a++ {
		lo[a] = max(0, lo[a]-margin[a])
		hi[a] = min(v.Dims[a]-1, hi[a]+margin[a])
	}
	g := v.crop(lo, hi)
	cv := &Volume{Geometry: g, Data: make([]float64, g.Len())}
	cm := &Mask{Geometry: g, In: make([]bool, g.Len())}
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			src := v.Index(lo[0], lo[1]+j, lo[2]+k)
			dst := g.Index(0, j, k)
			copy(cv.Data[dst:dst+g.Dims[0]], v.Data[src:src+g.Dims[0]])
			copy(cm.In[dst:dst+g.Dims[0]], m.In[src:src+g.Dims[0]])
		}
	}
	return cv, cm, nil
}

// Resample resamples image and mask to the given spacing (mm; a zero
// component keeps that axis) following IBSI-1 §2.4: the new grid keeps the
// direction, has ⌈nₐ·sₐ/s_b⌉ voxels per axis and is centred on the
// original grid (grid centres aligned). Intensities are interpolated
// trilinearly; the mask is interpolated trilinearly as 0/1 values and
// thresholded at 0.5 (partial volume). Points beyond the original grid take
// the nearest edge value. Only the part of the new grid within margin mm of
// the mask's bounding box is returned (margin < 0: the whole grid), so the
// sampling positions are those of the full IBSI grid.
func Resample(v *Volume, m *Mask, spacing [3]float64, margin float64) (*Volume, *Mask, error) {
	if err := CheckGrid(v, m); err != nil {
		return nil, nil, fmt.Errorf("resample: %w", err)
	}
	var ng Geometry
	ng.Direction = v.Direction
	var off [3]float64 // index-space offset of the new grid in old voxels
	for a := 0; a < 3; a++ {
		sa, na := v.Spacing[a], v.Dims[a]
		sb := spacing[a]
		if sb == 0 {
			sb = sa
		}
		if !(sb > 0) || math.IsInf(sb, 0) {
			return nil, nil, fmt.Errorf("resample: spacing %v", spacing)
		}
		nb := int(math.Ceil(float64(na)*sa/sb - 1e-9))
		if nb < 1 {
			nb = 1
		}
		ng.Dims[a] = nb
		ng.Spacing[a] = sb
		off[a] = (sa*float64(na-1) - sb*float64(nb-1)) / 2 / sa
	}
	if n := float64(ng.Dims[0]) * float64(ng.Dims[1]) * float64(ng.Dims[2]); n > MaxVoxels {
		return nil, nil, fmt.Errorf("resample: %v voxels exceed the limit %d", n, MaxVoxels)
	}
	ng.Origin = v.indexToWorld(off)
	// Part of the new grid to evaluate.
	lo, hi := [3]int{}, [3]int{ng.Dims[0] - 1, ng.Dims[1] - 1, ng.Dims[2] - 1}
	if margin >= 0 {
		blo, bhi, ok := bbox(m)
		if !ok {
			return nil, nil, ErrEmptyROI
		}
		for a := 0; a < 3; a++ {
			ratio := v.Spacing[a] / ng.Spacing[a]
			mv := margin / ng.Spacing[a]
			l := int(math.Floor((float64(blo[a])-off[a])*ratio - mv - 1))
			h := int(math.Ceil((float64(bhi[a])-off[a])*ratio + mv + 1))
			lo[a] = max(lo[a], l)
			hi[a] = min(hi[a], h)
		}
	}
	g := ng.crop(lo, hi)
	rv := &Volume{Geometry: g, Data: make([]float64, g.Len())}
	rm := &Mask{Geometry: g, In: make([]bool, g.Len())}
	mf := make([]float64, len(m.In))
	for i, b := range m.In {
		if b {
			mf[i] = 1
		}
	}
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				var p [3]float64
				for a, ib := range [3]int{i + lo[0], j + lo[1], k + lo[2]} {
					p[a] = off[a] + float64(ib)*ng.Spacing[a]/v.Spacing[a]
				}
				idx := g.Index(i, j, k)
				rv.Data[idx] = trilinear(v.Data, v.Dims, p)
				rm.In[idx] = trilinear(mf, v.Dims, p) >= 0.5
			}
		}
	}
	return rv, rm, nil
}

// trilinear interpolates data (on a grid of dims) at continuous index p,
// clamping to the grid.
func trilinear(data []float64, dims [3]int, p [3]float64) float64 {
	var i0, i1 [3]int
	var f [3]float64
	for a := 0; a < 3; a++ {
		x := math.Min(math.Max(p[a], 0), float64(dims[a]-1))
		fl := math.Floor(x)
		i0[a] = int(fl)
		i1[a] = min(i0[a]+1, dims[a]-1)
		f[a] = x - fl
	}
	at := func(i, j, k int) float64 { return data[i+dims[0]*(j+dims[1]*k)] }
	c00 := at(i0[0], i0[1], i0[2])*(1-f[0]) + at(i1[0], i0[1], i0[2])*f[0]
	c10 := at(i0[0], i1[1], i0[2])*(1-f[0]) + at(i1[0], i1[1], i0[2])*f[0]
	c01 := at(i0[0], i0[1], i1[2])*(1-f[0]) + at(i1[0], i0[1], i1[2])*f[0]
	c11 := at(i0[0], i1[1], i1[2])*(1-f[0]) + at(i1[0], i1[1], i1[2])*f[0]
	c0 := c00*(1-f[1]) + c10*f[1]
	c1 := c01*(1-f[1]) + c11*f[1]
	return c0*(1-f[2]) + c1*f[2]
}

// AlignMask maps a mask onto grid g when both describe the same lattice of
// voxel centres in space, possibly with axes permuted or reversed (as when
// a segmentation tool stores a DICOM series flipped): every voxel centre of
// g must fall within 0.01 voxel of a voxel centre of m, or of none (then it
// is outside the mask). Anything else (a different spacing or a shift) is an
// error: resample instead.
func AlignMask(m *Mask, g Geometry) (*Mask, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("align mask: %w", err)
	}
	if m.SameGrid(g) {
		return &Mask{Geometry: g, In: append([]bool(nil), m.In...)}, nil
	}
	// Source index of target voxel (i,j,k) is affine: p = p0 + i·di + j·dj + k·dk.
	p0 := m.worldToIndex(g.Origin)
	var step [3][3]float64
	for a := 0; a < 3; a++ {
		var e [3]float64
		e[a] = 1
		w := g.indexToWorld(e)
		q := m.worldToIndex(w)
		step[a] = sub3(q, p0)
	}
	near := func(x float64) bool { return math.Abs(x-math.Round(x)) < 0.01 }
	for a := 0; a < 3; a++ {
		if !near(p0[a]) {
			return nil, fmt.Errorf("align mask: grids are shifted by %.3g voxel along axis %d", p0[a]-math.Round(p0[a]), a)
		}
		for b := 0; b < 3; b++ {
			if !near(step[a][b]) {
				return nil, fmt.Errorf("align mask: voxel lattices differ (spacing or orientation): resample the mask")
			}
		}
	}
	out := &Mask{Geometry: g, In: make([]bool, g.Len())}
	var s [3][3]int
	var o [3]int
	for a := 0; a < 3; a++ {
		o[a] = int(math.Round(p0[a]))
		for b := 0; b < 3; b++ {
			s[a][b] = int(math.Round(step[a][b]))
		}
	}
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				var q [3]int
				inside := true
				for b := 0; b < 3; b++ {
					q[b] = o[b] + i*s[0][b] + j*s[1][b] + k*s[2][b]
					if q[b] < 0 || q[b] >= m.Dims[b] {
						inside = false
					}
				}
				if inside {
					out.In[g.Index(i, j, k)] = m.In[m.Index(q[0], q[1], q[2])]
				}
			}
		}
	}
	return out, nil
}

// Resegment returns the intensity mask: the voxels of m whose intensity
// lies in [lo, hi] (nil: unbounded) and, when outliers is true, within the
// mean ± 3 standard deviations of those voxels (IBSI-1 §2.5).
func Resegment(v *Volume, m *Mask, lo, hi *float64, outliers bool) (*Mask, error) {
	if err := CheckGrid(v, m); err != nil {
		return nil, fmt.Errorf("resegment: %w", err)
	}
	out := &Mask{Geometry: m.Geometry, In: make([]bool, len(m.In))}
	n := 0
	for i, in := range m.In {
		if !in {
			continue
		}
		x := v.Data[i]
		if math.IsNaN(x) || (lo != nil && x < *lo) || (hi != nil && x > *hi) {
			continue
		}
		out.In[i] = true
		n++
	}
	if outliers && n > 0 {
		var sum, sum2 float64
		for i, in := range out.In {
			if in {
				sum += v.Data[i]
			}
		}
		mean := sum / float64(n)
		for i, in := range out.In {
			if in {
				d := v.Data[i] - mean
				sum2 += d * d
			}
		}
		sd := math.Sqrt(sum2 / float64(n))
		for i, in := range out.In {
			if in && math.Abs(v.Data[i]-mean) > 3*sd {
				out.In[i] = false
			}
		}
	}
	return out, nil
}

// Discretise bins the intensities of the intensity mask (IBSI-1 §2.7):
// fixed bin number, level = ⌊Ng·(x − min)/(max − min)⌋ + 1 (Ng for x =
// max; 1 for all when max = min), or fixed bin size, level =
// ⌊(x − min)/w⌋ + 1 with min the BinMin setting, else the lower
// re-segmentation bound, else the ROI minimum; Levels is then the highest
// level present. morph (may be nil) is kept as the morphological mask.
func Discretise(v *Volume, intensity, morph *Mask, s *Settings) (*Discretised, error) {
	s, err := s.normalised()
	if err != nil {
		return nil, fmt.Errorf("discretise: %w", err)
	}
	if err := CheckGrid(v, intensity); err != nil {
		return nil, fmt.Errorf("discretise: %w", err)
	}
	lo, hi, n := roiRange(v, intensity)
	if n == 0 {
		return nil, fmt.Errorf("discretise: %w", ErrEmptyROI)
	}
	d := &Discretised{Geometry: v.Geometry, Grey: make([]int32, len(v.Data))}
	if morph != nil {
		if err := CheckGrid(v, morph); err != nil {
			return nil, fmt.Errorf("discretise: morphological mask: %w", err)
		}
		d.Morph = append([]bool(nil), morph.In...)
	}
	switch s.Discretisation {
	case FixedBinNumber:
		d.Levels = s.Bins
		for i, in := range intensity.In {
			if !in {
				continue
			}
			l := int32(1)
			if hi > lo {
				l = int32(math.Floor(float64(s.Bins)*(v.Data[i]-lo)/(hi-lo))) + 1
				l = min(l, int32(s.Bins))
			}
			d.Grey[i] = l
		}
	case FixedBinSize:
		bmin := lo
		if s.BinMin != nil {
			bmin = *s.BinMin
		} else if s.ResegMin != nil {
			bmin = *s.ResegMin
		}
		if bmin > lo {
			return nil, fmt.Errorf("discretise: bin minimum %v above the ROI minimum %v", bmin, lo)
		}
		if (hi-bmin)/s.BinWidth > math.MaxInt32-1 {
			return nil, fmt.Errorf("discretise: more than %d bins of width %v", math.MaxInt32-1, s.BinWidth)
		}
		for i, in := range intensity.In {
			if !in {
				continue
			}
			l := int32(math.Floor((v.Data[i]-bmin)/s.BinWidth)) + 1
			d.Grey[i] = l
			d.Levels = max(d.Levels, int(l))
		}
	}
	return d, nil
}

// roiRange returns the minimum, maximum and count of the intensities in
// the mask.
func roiRange(v *Volume, m *Mask) (lo, hi float64, n int) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i, in := range m.In {
		if in {
			lo = math.Min(lo, v.Data[i])
			hi = math.Max(hi, v.Data[i])
			n++
		}
	}
	return lo, hi, n
}

// CropToMask returns copies of image and mask cropped to the mask's
// bounding box grown by margin voxels per axis (within the image), with
// the geometry of the crop. Features that read no voxel beyond the margin
// are unchanged by it.
func CropToMask(v *Volume, m *Mask, margin [3]int) (*Volume, *Mask, error) {
	if err := CheckGrid(v, m); err != nil {
		return nil, nil, fmt.Errorf("crop: %w", err)
	}
	for a := 0; a < 3; a++ {
		if margin[a] < 0 {
			return nil, nil, fmt.Errorf("crop: negative margin %v", margin)
		}
	}
	cv, cm, err := cropROI(v, m, margin)
	if err != nil {
		return nil, nil, fmt.Errorf("crop: %w", err)
	}
	return cv, cm, nil
}

func dot3(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func norm3(a [3]float64) float64   { return math.Sqrt(dot3(a, a)) }
func cross3(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func sub3(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
