package imaging

import (
	"fmt"
	"math"
)

// HistogramFeatures computes the IBSI intensity histogram features (§3.4)
// of the discretised grey levels of the intensity mask (Grey > 0). The
// histogram runs over levels 1..d.Levels; gradients use central
// differences inside and one-sided differences at both ends. Ties of the
// mode go to the level closest to the mean (the lower one if equidistant);
// ties of the gradient extremes to the lowest level.
func HistogramFeatures(d *Discretised) ([]Feature, error) {
	if d == nil || len(d.Grey) != d.Len() {
		return nil, fmt.Errorf("histogram features: grey levels do not match the grid")
	}
	ng := d.Levels
	var x []float64
	for _, g := range d.Grey {
		if g > 0 {
			if int(g) > ng {
				return nil, fmt.Errorf("histogram features: grey level %d above Levels %d", g, ng)
			}
			x = append(x, float64(g))
		}
	}
	if len(x) == 0 {
		return nil, ErrEmptyROI
	}
	st := describe(x)
	h := make([]float64, ng+1) // h[i]: count of level i
	for _, v := range x {
		h[int(v)]++
	}
	n := float64(len(x))
	mode, best := 0, -1.0
	for i := 1; i <= ng; i++ {
		switch {
		case h[i] > best:
			mode, best = i, h[i]
		case h[i] == best && math.Abs(float64(i)-st.mean) < math.Abs(float64(mode)-st.mean):
			mode = i
		}
	}
	var entropy, uniformity float64
	for i := 1; i <= ng; i++ {
		if h[i] > 0 {
			p := h[i] / n
			entropy -= p * math.Log2(p)
			uniformity += p * p
		}
	}
	grad := func(i int) float64 {
		switch {
		case ng == 1:
			return 0
		case i == 1:
			return h[2] - h[1]
		case i == ng:
			return h[ng] - h[ng-1]
		default:
			return (h[i+1] - h[i-1]) / 2
		}
	}
	maxG, minG := math.Inf(-1), math.Inf(1)
	maxGL, minGL := 0, 0
	for i := 1; i <= ng; i++ {
		g := grad(i)
		if g > maxG {
			maxG, maxGL = g, i
		}
		if g < minG {
			minG, minGL = g, i
		}
	}
	f := func(name, code string, val float64) Feature {
		return Feature{Family: FamilyHistogram, Name: name, IBSICode: code, Aggregation: "3D", Value: val}
	}
	// Codes as printed in the IBSI reference manual shipped in ../shared
	// (it gives 1PR8 to both the minimum and the 10th percentile).
	return []Feature{
		f("Mean discretised intensity", "X6K6", st.mean),
		f("Discretised intensity variance", "CH89", st.variance),
		f("Discretised intensity skewness", "88K1", st.skew),
		f("(Excess) discretised intensity kurtosis", "C3I7", st.kurt),
		f("Median discretised intensity", "WIFQ", st.median),
		f("Minimum discretised intensity", "1PR8", st.min),
		f("10th discretised intensity percentile", "1PR8", st.p10),
		f("90th discretised intensity percentile", "GPMT", st.p90),
		f("Maximum discretised intensity", "3NCY", st.max),
		f("Intensity histogram mode", "AMMC", float64(mode)),
		f("Discretised intensity interquartile range", "WR0O", st.iqr),
		f("Discretised intensity range", "5Z3W", st.rng),
		f("Intensity histogram mean absolute deviation", "D2ZX", st.mad),
		f("Intensity histogram robust mean absolute deviation", "WRZB", st.rmad),
		f("Intensity histogram median absolute deviation", "4RNL", st.medad),
		f("Intensity histogram coefficient of variation", "CWYJ", st.cov),
		f("Intensity histogram quartile coefficient of dispersion", "SLWD", st.qcod),
		f("Discretised intensity entropy", "TLU2", entropy),
		f("Discretised intensity uniformity", "BJ5W", uniformity),
		f("Maximum histogram gradient", "12CE", maxG),
		f("Maximum histogram gradient intensity", "8E6O", float64(maxGL)),
		f("Minimum histogram gradient", "VQB3", minG),
		f("Minimum histogram gradient intensity", "RHQZ", float64(minGL)),
	}, nil
}
