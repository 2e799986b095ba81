package imaging

import (
	"fmt"
	"math"
)

// LabelMask makes a mask of the voxels of a label map whose value is one
// of values (compared after rounding to the nearest integer, as label maps
// stored as floats may carry rounding noise). With no values, every
// non-zero voxel is in the mask. The mask has the label map's geometry.
func LabelMask(labels *Volume, values ...float64) (*Mask, error) {
	if labels == nil || len(labels.Data) != labels.Len() {
		return nil, fmt.Errorf("label mask: label map data does not match its dimensions")
	}
	want := map[float64]bool{}
	for _, v := range values {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("label mask: label is NaN")
		}
		want[math.Round(v)] = true
	}
	m := &Mask{Geometry: labels.Geometry, In: make([]bool, len(labels.Data))}
	for i, x := range labels.Data {
		if math.IsNaN(x) {
			continue
		}
		r := math.Round(x)
		if len(want) == 0 {
			m.In[i] = r != 0
		} else {
			m.In[i] = want[r]
		}
	}
	return m, nil
}

// ReadNIfTIMask reads a NIfTI-1 label map and returns the mask of the
// given label values (all non-zero labels when none are given).
func ReadNIfTIMask(path string, values ...float64) (*Mask, error) {
	lab, err := ReadNIfTI(path)
	if err != nil {
		return nil, fmt.Errorf("read mask: %w", err)
	}
	m, err := LabelMask(lab, values...)
	if err != nil {
		return nil, fmt.Errorf("read mask %s: %w", path, err)
	}
	return m, nil
}

// CheckGrid returns an error describing the difference when the mask is
// not on the image's voxel grid.
func CheckGrid(v *Volume, m *Mask) error {
	if v == nil || m == nil {
		return fmt.Errorf("check grid: nil image or mask")
	}
	if len(v.Data) != v.Len() || len(m.In) != m.Len() {
		return fmt.Errorf("check grid: data length does not match dimensions")
	}
	if !v.SameGrid(m.Geometry) {
		return fmt.Errorf("check grid: mask grid (dims %v, spacing %.4g mm, origin %.4g mm) differs from image grid (dims %v, spacing %.4g mm, origin %.4g mm)",
			m.Dims, m.Spacing, m.Origin, v.Dims, v.Spacing, v.Origin)
	}
	return nil
}
