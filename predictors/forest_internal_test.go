package predictors

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestForestSplitScansAgree checks the three exact split searches (rank
// buckets, slices.Sort below forestRadixMin rows, radix sort above) against
// each other and against a brute-force scan, on nodes of many sizes with
// tied values and bootstrap counts > 1.
func TestForestSplitScansAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, p = 3000, 3
	x := mat.NewDense(n, p, nil)
	y := make([]bool, n)
	for i := range n {
		x.Set(i, 0, math.Round(rng.NormFloat64()*20)) // many ties
		x.Set(i, 1, rng.NormFloat64())                // distinct
		x.Set(i, 2, float64(rng.IntN(3)))             // three values
		y[i] = rng.Float64() < 0.3+0.4*float64(x.At(i, 2))/2
	}
	d := forestPrepare(x, y, nil)
	for _, minLeaf := range []int{1, 3} {
		g := newTreeGrower(d, forestResolved{trees: 1, mtry: p, minLeaf: minLeaf})
		for _, m := range []int{2, 10, 63, 64, 65, 200, 700, 2500} {
			// a node of m distinct rows with 1–3 draws each
			perm := rng.Perm(n)[:m]
			clear(g.cnt)
			fr := forestFrame{hi: int32(m)}
			for k, i := range perm {
				g.idx[k] = int32(i)
				g.cnt[i] = int32(1 + rng.IntN(3))
				fr.cover += g.cnt[i]
				fr.positive += g.cnt[i] * d.y[i]
			}
			for j := int32(0); j < p; j++ {
				var bucket, sorted, brute forestSplit
				bucket.feat, sorted.feat, brute.feat = -1, -1, -1
				g.scanBuckets(j, fr, &bucket)
				if slices.ContainsFunc(g.bn, func(v int32) bool { return v != 0 }) {
					t.Fatalf("scanBuckets left buckets dirty")
				}
				g.scanSorted(j, fr, &sorted)
				forestBruteSplit(g, j, fr, &brute)
				if bucket != brute || sorted != brute {
					t.Fatalf("minLeaf %d, m=%d, feature %d: buckets %+v, sorted %+v, brute force %+v", minLeaf, m, j, bucket, sorted, brute)
				}
			}
		}
	}
}

// forestBruteSplit scores every boundary between consecutive distinct
// ranks present in the node by recounting the rows on its left.
func forestBruteSplit(g *treeGrower, j int32, fr forestFrame, best *forestSplit) {
	n := g.d.n
	r := g.d.rank[int(j)*n : (int(j)+1)*n]
	var present []int32
	for _, i := range g.idx[fr.lo:fr.hi] {
		present = append(present, r[i])
	}
	slices.Sort(present)
	present = slices.Compact(present)
	for k := 0; k+1 < len(present); k++ {
		var coverL, posL int32
		for _, i := range g.idx[fr.lo:fr.hi] {
			if r[i] <= present[k] {
				coverL += g.cnt[i]
				posL += g.cnt[i] * g.d.y[i]
			}
		}
		minLeaf := int32(g.set.minLeaf)
		if coverL >= minLeaf && fr.cover-coverL >= minLeaf {
			g.consider(best, &fr, j, present[k], present[k+1], coverL, posL)
		}
	}
}

// TestForestRadixSort checks forestRadixSort against slices.Sort on the
// rank bits.
func TestForestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, nbits := range []int{1, 5, 11, 12, 17, 23, 31} {
		keys := make([]uint64, 1000)
		for k := range keys {
			keys[k] = uint64(rng.IntN(1<<nbits))<<32 | uint64(k)
		}
		want := slices.Clone(keys)
		slices.SortStableFunc(want, func(a, b uint64) int {
			return int(a>>32) - int(b>>32)
		})
		got := forestRadixSort(slices.Clone(keys), make([]uint64, len(keys)), nbits, make([]int, 1<<11))
		if !slices.Equal(got, want) {
			t.Fatalf("nbits %d: radix sort differs from a stable sort", nbits)
		}
	}
}
