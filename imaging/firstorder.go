package imaging

import (
	"math"
	"sort"
)

// Family names of the features computed by this package itself.
const (
	FamilyMorphology      = "morphology"
	FamilyLocalIntensity  = "local intensity"
	FamilyStatistics      = "intensity statistics"
	FamilyHistogram       = "intensity histogram"
	FamilyIntensityVolume = "intensity-volume histogram"
)

// quantile returns the q-quantile of sorted values by linear interpolation
// between order statistics (Hyndman & Fan type 7, numpy's default):
// h = (n − 1)q, x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]).
func quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * q
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// distribution holds the statistics shared by the intensity statistics
// (IBSI-1 §3.3) and intensity histogram (§3.4) families.
type distribution struct {
	mean, variance, skew, kurt      float64
	median, min, p10, p90, max      float64
	iqr, rng, mad, rmad, medad, cov float64
	qcod, energy, rms               float64
	p25, p75                        float64
	n                               int
	sorted                          []float64
}

// describe computes the distribution statistics of x (not modified).
func describe(x []float64) distribution {
	n := len(x)
	d := distribution{n: n}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	d.sorted = s
	var sum, energy float64
	for _, v := range s {
		sum += v
		energy += v * v
	}
	fn := float64(n)
	d.mean = sum / fn
	var m2, m3, m4, mad, medad float64
	d.median = quantile(s, 0.5)
	for _, v := range s {
		dv := v - d.mean
		m2 += dv * dv
		m3 += dv * dv * dv
		m4 += dv * dv * dv * dv
		mad += math.Abs(dv)
		medad += math.Abs(v - d.median)
	}
	m2, m3, m4 = m2/fn, m3/fn, m4/fn
	d.variance = m2
	if m2 > 0 {
		d.skew = m3 / math.Pow(m2, 1.5)
		d.kurt = m4/(m2*m2) - 3
	}
	d.min, d.max = s[0], s[n-1]
	d.p10, d.p90 = quantile(s, 0.10), quantile(s, 0.90)
	d.p25, d.p75 = quantile(s, 0.25), quantile(s, 0.75)
	d.iqr = d.p75 - d.p25
	d.rng = d.max - d.min
	d.mad = mad / fn
	d.medad = medad / fn
	// Robust MAD: voxels with P10 ≤ x ≤ P90.
	var rs float64
	var rn int
	for _, v := range s {
		if v >= d.p10 && v <= d.p90 {
			rs += v
			rn++
		}
	}
	if rn > 0 {
		rmean := rs / float64(rn)
		var a float64
		for _, v := range s {
			if v >= d.p10 && v <= d.p90 {
				a += math.Abs(v - rmean)
			}
		}
		d.rmad = a / float64(rn)
	}
	d.cov = math.Sqrt(m2) / d.mean
	d.qcod = (d.p75 - d.p25) / (d.p75 + d.p25)
	d.energy = energy
	d.rms = math.Sqrt(energy / fn)
	return d
}

// roiValues returns the intensities of the mask's voxels in index order.
func roiValues(v *Volume, m *Mask) []float64 {
	var out []float64
	for i, in := range m.In {
		if in {
			out = append(out, v.Data[i])
		}
	}
	return out
}

// StatisticsFeatures computes the IBSI intensity-based statistical features
// (§3.3) of the voxels of the intensity mask.
func StatisticsFeatures(v *Volume, intensity *Mask) ([]Feature, error) {
	if err := CheckGrid(v, intensity); err != nil {
		return nil, err
	}
	x := roiValues(v, intensity)
	if len(x) == 0 {
		return nil, ErrEmptyROI
	}
	d := describe(x)
	f := func(name, code string, val float64) Feature {
		return Feature{Family: FamilyStatistics, Name: name, IBSICode: code, Aggregation: "3D", Value: val}
	}
	return []Feature{
		f("Mean intensity", "Q4LE", d.mean),
		f("Intensity variance", "ECT3", d.variance),
		f("Intensity skewness", "KE2A", d.skew),
		f("(Excess) intensity kurtosis", "IPH6", d.kurt),
		f("Median intensity", "Y12H", d.median),
		f("Minimum intensity", "1GSF", d.min),
		f("10th intensity percentile", "QG58", d.p10),
		f("90th intensity percentile", "8DWT", d.p90),
		f("Maximum intensity", "84IY", d.max),
		f("Intensity interquartile range", "SALO", d.iqr),
		f("Intensity range", "2OJQ", d.rng),
		f("Intensity-based mean absolute deviation", "4FUA", d.mad),
		f("Intensity-based robust mean absolute deviation", "1128", d.rmad),
		f("Intensity-based median absolute deviation", "N72L", d.medad),
		f("Intensity-based coefficient of variation", "7TET", d.cov),
		f("Intensity-based quartile coefficient of dispersion", "9S40", d.qcod),
		f("Intensity-based energy", "N8CA", d.energy),
		f("Root mean square intensity", "5ZWQ", d.rms),
	}, nil
}
