package imaging

import (
	"fmt"
	"math"
	"sort"
)

// maxIVHSteps bounds the number of discretised intensities of an IVH.
const maxIVHSteps = 1 << 22

// IntensityVolumeFeatures computes the IBSI intensity-volume histogram
// features (§3.5) V10, V90, I10, I90, V10 − V90 and I10 − I90 of the
// intensity mask, discretising as Settings.IVHBinWidth / IVHBins say.
// ν_i is the fraction of voxels with discretised intensity ≥ i, γ_i =
// (i − min G)/(max G − min G) over the total range G in steps of the
// discretisation interval; V_x is the largest ν_i with γ_i ≥ x, I_x the
// smallest i with ν_i ≤ x (max G + interval when none is).
func IntensityVolumeFeatures(v *Volume, intensity *Mask, s *Settings) ([]Feature, error) {
	s, err := s.normalised()
	if err != nil {
		return nil, err
	}
	if err := CheckGrid(v, intensity); err != nil {
		return nil, err
	}
	x := roiValues(v, intensity)
	if len(x) == 0 {
		return nil, ErrEmptyROI
	}
	lo, hi := x[0], x[0]
	for _, t := range x {
		lo, hi = math.Min(lo, t), math.Max(hi, t)
	}
	// k[i] is the 0-based step of voxel i in G; intensity = g0 + k·w.
	k := make([]int, len(x))
	var g0, w float64
	var steps int
	switch {
	case s.IVHBinWidth > 0:
		w = s.IVHBinWidth
		xmin, xmax := lo, hi
		if s.BinMin != nil {
			xmin = *s.BinMin
		} else if s.ResegMin != nil {
			xmin = *s.ResegMin
		}
		if s.ResegMax != nil {
			xmax = *s.ResegMax
		}
		if xmin > lo {
			return nil, fmt.Errorf("ivh: bin minimum %v above the ROI minimum %v", xmin, lo)
		}
		g0 = xmin + 0.5*w
		if (xmax-xmin)/w > maxIVHSteps {
			return nil, fmt.Errorf("ivh: more than %d bins", maxIVHSteps)
		}
		steps = max(1, int(math.Ceil((xmax-xmin)/w-1e-9)))
		for i, t := range x {
			k[i] = min(int(math.Floor((t-xmin)/w)), steps-1)
		}
	case s.IVHBins > 0:
		g0, w, steps = 1, 1, s.IVHBins
		for i, t := range x {
			l := 0
			if hi > lo {
				l = min(int(math.Floor(float64(s.IVHBins)*(t-lo)/(hi-lo))), s.IVHBins-1)
			}
			k[i] = l
		}
	default:
		w = 1
		gmin, gmax := math.Round(lo), math.Round(hi)
		if s.ResegMin != nil {
			gmin = math.Round(*s.ResegMin)
		}
		if s.ResegMax != nil {
			gmax = math.Round(*s.ResegMax)
		}
		if gmax-gmin > maxIVHSteps {
			return nil, fmt.Errorf("ivh: intensity range %v..%v exceeds %d steps: set ivh_bin_width", gmin, gmax, maxIVHSteps)
		}
		g0 = gmin
		steps = int(gmax-gmin) + 1
		for i, t := range x {
			k[i] = int(math.Round(t) - gmin)
		}
	}
	sort.Ints(k)
	n := float64(len(k))
	// nu(j): fraction of voxels with step ≥ j.
	nu := func(j int) float64 { return 1 - float64(sort.SearchInts(k, j))/n }
	gamma := func(j int) float64 {
		if steps == 1 {
			return 0
		}
		return float64(j) / float64(steps-1)
	}
	vAt := func(frac float64) float64 {
		best := 0.0
		for j := 0; j < steps; j++ {
			if gamma(j) >= frac-1e-12 {
				best = math.Max(best, nu(j))
			}
		}
		return best
	}
	iAt := func(frac float64) float64 {
		for j := 0; j < steps; j++ {
			if nu(j) <= frac+1e-12 {
				return g0 + float64(j)*w
			}
		}
		return g0 + float64(steps)*w
	}
	v10, v90 := vAt(0.10), vAt(0.90)
	i10, i90 := iAt(0.10), iAt(0.90)
	f := func(name, code string, val float64) Feature {
		return Feature{Family: FamilyIntensityVolume, Name: name, IBSICode: code, Aggregation: "3D", Value: val}
	}
	return []Feature{
		f("Volume at intensity fraction 10%", "BC2M", v10),
		f("Volume at intensity fraction 90%", "BC2M", v90),
		f("Intensity at volume fraction 10%", "GBPN", i10),
		f("Intensity at volume fraction 90%", "GBPN", i90),
		f("Volume fraction difference between intensity fractions", "DDTU", v10-v90),
		f("Intensity fraction difference between volume fractions", "CNV2", i10-i90),
	}, nil
}
