package imaging

import "fmt"

// Geometry places a regular voxel grid in patient space.
//
// Voxel (i, j, k) — i the fastest-varying index — has its centre at
// Origin + Direction · diag(Spacing) · (i, j, k)ᵀ, in millimetres, in the
// DICOM patient coordinate system (LPS: x to the patient's left, y
// posterior, z superior). NIfTI's RAS world coordinates are converted to LPS
// by the reader (negate x and y).
type Geometry struct {
	Dims      [3]int     // voxels along i, j, k
	Spacing   [3]float64 // mm between voxel centres along i, j, k
	Origin    [3]float64 // centre of voxel (0,0,0), mm, LPS
	Direction [9]float64 // row-major 3×3; column c is the unit direction of axis c
}

// Len is the number of voxels.
func (g Geometry) Len() int { return g.Dims[0] * g.Dims[1] * g.Dims[2] }

// Index returns the linear index of voxel (i, j, k): i + nx·(j + ny·k).
func (g Geometry) Index(i, j, k int) int { return i + g.Dims[0]*(j+g.Dims[1]*k) }

// VoxelVolume is the volume of one voxel in mm³.
func (g Geometry) VoxelVolume() float64 { return g.Spacing[0] * g.Spacing[1] * g.Spacing[2] }

// SameGrid reports whether two geometries describe the same voxel grid
// (dimensions equal; spacing, origin and direction equal to 1e-4 mm or
// 1e-6 in direction cosines).
func (g Geometry) SameGrid(h Geometry) bool {
	if g.Dims != h.Dims {
		return false
	}
	for c := 0; c < 3; c++ {
		if abs(g.Spacing[c]-h.Spacing[c]) > 1e-4 || abs(g.Origin[c]-h.Origin[c]) > 1e-4 {
			return false
		}
	}
	for c := 0; c < 9; c++ {
		if abs(g.Direction[c]-h.Direction[c]) > 1e-6 {
			return false
		}
	}
	return true
}

// Validate checks that the geometry is usable: positive dimensions and
// spacing.
func (g Geometry) Validate() error {
	for c := 0; c < 3; c++ {
		if g.Dims[c] <= 0 {
			return fmt.Errorf("imaging: dimension %d is %d", c, g.Dims[c])
		}
		if !(g.Spacing[c] > 0) {
			return fmt.Errorf("imaging: spacing %d is %v mm", c, g.Spacing[c])
		}
	}
	return nil
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// Volume is a scalar image: intensities (after any rescale slope and
// intercept: Hounsfield units for CT) on a Geometry, stored in linear index
// order.
type Volume struct {
	Geometry
	Data []float64
}

// At returns the intensity of voxel (i, j, k).
func (v *Volume) At(i, j, k int) float64 { return v.Data[v.Index(i, j, k)] }

// Mask is a region of interest on a Geometry: In[idx] is true for ROI voxels.
type Mask struct {
	Geometry
	In []bool
}

// Count returns the number of ROI voxels.
func (m *Mask) Count() int {
	n := 0
	for _, b := range m.In {
		if b {
			n++
		}
	}
	return n
}

// Discretised holds the grey levels of a ROI after IBSI discretisation:
// Grey[idx] is in 1..Levels for ROI voxels and 0 outside the ROI (the
// intensity mask after re-segmentation). It is the input of every texture
// matrix (GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM) and of the intensity
// histogram features.
type Discretised struct {
	Geometry
	Grey   []int32
	Levels int // Ng: the number of grey levels of the discretisation
	// Morph is the morphological mask (before re-segmentation), needed by
	// GLDZM's distance map; nil means the same as Grey > 0.
	Morph []bool
}
