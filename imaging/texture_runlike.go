package imaging

import (
	"cmp"
	"math"
	"slices"
)

// GLRLM, GLSZM, GLDZM and NGLDM share one matrix shape — counts c(i, j) of
// grey level i (rows) against a positive integer j (run length, zone size,
// zone distance, dependence count) — and, up to names, one feature set
// (IBSI-1 sections on GLRLM, GLSZM, GLDZM and NGLDM).

// cellKey addresses a cell of a count matrix.
type cellKey struct{ i, j int32 }

// countMat is a sparse count matrix with the number of voxels Nv it was
// built from (summed when matrices are merged, as IBSI requires).
type countMat struct {
	c  map[cellKey]float64
	nv float64
}

func newCountMat() *countMat { return &countMat{c: make(map[cellKey]float64)} }

func (m *countMat) inc(i, j int32) { m.c[cellKey{i, j}]++ }

// merge adds o's counts and voxel number into m.
func (m *countMat) merge(o *countMat) {
	for k, v := range o.c {
		m.c[k] += v
	}
	m.nv += o.nv
}

func (m *countMat) empty() bool { return len(m.c) == 0 }

// cells returns the non-zero cells sorted by (i, j), so that sums over them
// are reproducible bit for bit.
func (m *countMat) cells() ([]cellKey, []float64) {
	keys := make([]cellKey, 0, len(m.c))
	for k := range m.c {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b cellKey) int {
		if c := cmp.Compare(a.i, b.i); c != 0 {
			return c
		}
		return cmp.Compare(a.j, b.j)
	})
	vals := make([]float64, len(keys))
	for n, k := range keys {
		vals[n] = m.c[k]
	}
	return keys, vals
}

// runLikeCount is the number of features runLikeValues computes.
const runLikeCount = 17

// runLikeValues computes, in this order: j-low emphasis (short runs, small
// zones, small distances, low dependence), j-high emphasis, low grey level
// emphasis, high grey level emphasis, the four joint emphases (low j low i,
// low j high i, high j low i, high j high i), grey level non-uniformity and
// its normalised form, j non-uniformity and its normalised form, percentage
// Ns/Nv, grey level variance, j variance, entropy and energy. An empty matrix
// gives NaN throughout.
func runLikeValues(m *countMat) []float64 {
	out := nanVector(runLikeCount)
	if m.empty() {
		return out
	}
	keys, vals := m.cells()
	var ns float64
	rowSum := map[int32]float64{}
	colSum := map[int32]float64{}
	var rows, cols []int32
	var sLowJ, sHighJ, sLowI, sHighI, sLL, sLH, sHL, sHH float64
	for n, k := range keys {
		c := vals[n]
		i, j := float64(k.i), float64(k.j)
		i2, j2 := i*i, j*j
		ns += c
		if _, ok := rowSum[k.i]; !ok {
			rows = append(rows, k.i)
		}
		if _, ok := colSum[k.j]; !ok {
			cols = append(cols, k.j)
		}
		rowSum[k.i] += c
		colSum[k.j] += c
		sLowJ += c / j2
		sHighJ += c * j2
		sLowI += c / i2
		sHighI += c * i2
		sLL += c / (i2 * j2)
		sLH += c * i2 / j2
		sHL += c * j2 / i2
		sHH += c * i2 * j2
	}
	var glnu, jnu float64
	slices.Sort(cols)
	for _, i := range rows {
		glnu += rowSum[i] * rowSum[i]
	}
	for _, j := range cols {
		jnu += colSum[j] * colSum[j]
	}
	var muI, muJ float64
	for n, k := range keys {
		p := vals[n] / ns
		muI += float64(k.i) * p
		muJ += float64(k.j) * p
	}
	var varI, varJ, entr, energy float64
	for n, k := range keys {
		p := vals[n] / ns
		di, dj := float64(k.i)-muI, float64(k.j)-muJ
		varI += di * di * p
		varJ += dj * dj * p
		entr -= xlog2x(p)
		energy += p * p
	}
	out[0] = sLowJ / ns
	out[1] = sHighJ / ns
	out[2] = sLowI / ns
	out[3] = sHighI / ns
	out[4] = sLL / ns
	out[5] = sLH / ns
	out[6] = sHL / ns
	out[7] = sHH / ns
	out[8] = glnu / ns
	out[9] = glnu / (ns * ns)
	out[10] = jnu / ns
	out[11] = jnu / (ns * ns)
	if m.nv > 0 {
		out[12] = ns / m.nv
	} else {
		out[12] = math.NaN()
	}
	out[13] = varI
	out[14] = varJ
	out[15] = entr
	out[16] = energy
	return out
}
