package imaging

// glszmSpecs lists the GLSZM features (IBSI-1 section "Grey level size zone
// based features", 9SAK) in runLikeValues order.
var glszmSpecs = []featureSpec{
	{"Small zone emphasis", "5QRC", "szm.sze"},
	{"Large zone emphasis", "48P8", "szm.lze"},
	{"Low grey level zone emphasis", "XMSY", "szm.lgze"},
	{"High grey level zone emphasis", "5GN9", "szm.hgze"},
	{"Small zone low grey level emphasis", "5RAI", "szm.szlge"},
	{"Small zone high grey level emphasis", "HW1V", "szm.szhge"},
	{"Large zone low grey level emphasis", "YH51", "szm.lzlge"},
	{"Large zone high grey level emphasis", "J17V", "szm.lzhge"},
	{"Grey level non-uniformity", "JNSA", "szm.glnu"},
	{"Normalised grey level non-uniformity", "Y1RO", "szm.glnu.norm"},
	{"Zone size non-uniformity", "4JP3", "szm.zsnu"},
	{"Normalised zone size non-uniformity", "VB3A", "szm.zsnu.norm"},
	{"Zone percentage", "P30P", "szm.z.perc"},
	{"Grey level variance", "BYLV", "szm.gl.var"},
	{"Zone size variance", "3NSA", "szm.zs.var"},
	{"Zone size entropy", "GU8N", "szm.zs.entr"},
}

// gldzmSpecs lists the GLDZM features (IBSI-1 section "Grey level distance
// zone based features", VMDZ) in runLikeValues order.
var gldzmSpecs = []featureSpec{
	{"Small distance emphasis", "0GBI", "dzm.sde"},
	{"Large distance emphasis", "MB4I", "dzm.lde"},
	{"Low grey level zone emphasis", "S1RA", "dzm.lgze"},
	{"High grey level zone emphasis", "K26C", "dzm.hgze"},
	{"Small distance low grey level emphasis", "RUVG", "dzm.sdlge"},
	{"Small distance high grey level emphasis", "DKNJ", "dzm.sdhge"},
	{"Large distance low grey level emphasis", "A7WM", "dzm.ldlge"},
	{"Large distance high grey level emphasis", "KLTH", "dzm.ldhge"},
	{"Grey level non-uniformity", "VFT7", "dzm.glnu"},
	{"Normalised grey level non-uniformity", "7HP3", "dzm.glnu.norm"},
	{"Zone distance non-uniformity", "V294", "dzm.zdnu"},
	{"Normalised zone distance non-uniformity", "IATH", "dzm.zdnu.norm"},
	{"Zone percentage", "VIWW", "dzm.z.perc"},
	{"Grey level variance", "QK93", "dzm.gl.var"},
	{"Zone distance variance", "7WT1", "dzm.zd.var"},
	{"Zone distance entropy", "GBDU", "dzm.zd.entr"},
}

// zoneNeighbours returns the offsets linking voxels of one zone: the 26
// (3D) or the 8 in-plane (2D) Chebyshev-1 neighbours.
func zoneNeighbours(threeD bool) [][3]int {
	var off [][3]int
	zr := 0
	if threeD {
		zr = 1
	}
	for dz := -zr; dz <= zr; dz++ {
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				if dx != 0 || dy != 0 || dz != 0 {
					off = append(off, [3]int{dx, dy, dz})
				}
			}
		}
	}
	return off
}

// forEachZone finds the zones — maximal groups of linked intensity-mask
// voxels with one grey level, 8-connected within slice k when k ≥ 0 or
// 26-connected in 3D when k < 0 — and calls fn with each zone's grey level,
// size and smallest distance in dist (0 when dist is nil).
func forEachZone(t *texGrid, k int, dist []int32, fn func(g int32, size int, minDist int32)) {
	off := zoneNeighbours(k < 0)
	k0, k1 := 0, t.nz
	if k >= 0 {
		k0, k1 = k, k+1
	}
	if t.seen == nil {
		t.seen = make([]bool, len(t.g))
	}
	seen := t.seen
	lo, hi := t.region(k)
	clear(seen[lo:hi])
	var stack [][3]int
	for z := k0; z < k1; z++ {
		for y := 0; y < t.ny; y++ {
			for x := 0; x < t.nx; x++ {
				idx := t.index(x, y, z)
				g := t.g[idx]
				if g == 0 || seen[idx] {
					continue
				}
				seen[idx] = true
				size := 0
				var md int32 = -1
				stack = append(stack[:0], [3]int{x, y, z})
				for len(stack) > 0 {
					p := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					size++
					if dist != nil {
						dv := dist[t.index(p[0], p[1], p[2])]
						if md < 0 || dv < md {
							md = dv
						}
					}
					for _, o := range off {
						qx, qy, qz := p[0]+o[0], p[1]+o[1], p[2]+o[2]
						if !t.inside(qx, qy, qz) {
							continue
						}
						q := t.index(qx, qy, qz)
						if seen[q] || t.g[q] != g {
							continue
						}
						seen[q] = true
						stack = append(stack, [3]int{qx, qy, qz})
					}
				}
				if md < 0 {
					md = 0
				}
				fn(g, size, md)
			}
		}
	}
}

// borderDistance returns, for each voxel of the morphological mask, its
// distance to the ROI edge as IBSI defines it for the GLDZM: 1 for voxels on
// the edge, then the number of 6-connected (3D, k < 0) or 4-connected
// in-plane (2D, slice k) steps needed to reach the edge plus one — the
// result of repeated erosion with the matching structuring element, voxels
// off the grid counting as outside the ROI. Voxels of the region outside the
// mask get 0; the map is only valid within the region (slice k, or the
// volume) and is overwritten by the next call.
func borderDistance(t *texGrid, k int) []int32 {
	var off [][3]int
	if k < 0 {
		off = [][3]int{{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}}
	} else {
		off = [][3]int{{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}}
	}
	k0, k1 := 0, t.nz
	if k >= 0 {
		k0, k1 = k, k+1
	}
	if t.dist == nil {
		t.dist = make([]int32, len(t.g))
	}
	dist := t.dist
	lo, hi := t.region(k)
	clear(dist[lo:hi])
	var queue [][3]int
	for z := k0; z < k1; z++ {
		for y := 0; y < t.ny; y++ {
			for x := 0; x < t.nx; x++ {
				if !t.morph[t.index(x, y, z)] {
					continue
				}
				for _, o := range off {
					qx, qy, qz := x+o[0], y+o[1], z+o[2]
					if !t.inside(qx, qy, qz) || !t.morph[t.index(qx, qy, qz)] {
						dist[t.index(x, y, z)] = 1
						queue = append(queue, [3]int{x, y, z})
						break
					}
				}
			}
		}
	}
	for h := 0; h < len(queue); h++ {
		p := queue[h]
		dp := dist[t.index(p[0], p[1], p[2])]
		for _, o := range off {
			qx, qy, qz := p[0]+o[0], p[1]+o[1], p[2]+o[2]
			if !t.inside(qx, qy, qz) {
				continue
			}
			q := t.index(qx, qy, qz)
			if !t.morph[q] || dist[q] != 0 {
				continue
			}
			dist[q] = dp + 1
			queue = append(queue, [3]int{qx, qy, qz})
		}
	}
	return dist
}

// regionCount returns the intensity-mask voxels of slice k (k ≥ 0) or of the
// volume (k < 0).
func regionCount(t *texGrid, k int) int {
	if k >= 0 {
		return t.sliceCount(k)
	}
	return t.nv
}

func glszmMatrix(t *texGrid, k int) *countMat {
	m := newCountMat()
	m.nv = float64(regionCount(t, k))
	forEachZone(t, k, nil, func(g int32, size int, _ int32) { m.inc(g, int32(size)) })
	return m
}

func gldzmMatrix(t *texGrid, k int) *countMat {
	m := newCountMat()
	m.nv = float64(regionCount(t, k))
	dist := borderDistance(t, k)
	forEachZone(t, k, dist, func(g int32, _ int, d int32) { m.inc(g, d) })
	return m
}

// runLikeAggregate3 computes the 2D (per-slice matrices, features averaged
// over slices), 2.5D (per-slice matrices merged) and 3D aggregations for a
// family whose matrix of slice k (or of the volume, k < 0) is built by build.
func runLikeAggregate3(t *texGrid, family string, specs []featureSpec, build func(*texGrid, int) *countMat) []Feature {
	nf := len(specs)
	avg := newFeatAccum(runLikeCount)
	merged := newCountMat()
	for k := 0; k < t.nz; k++ {
		if t.sliceCount(k) == 0 {
			continue
		}
		m := build(t, k)
		avg.add(runLikeValues(m))
		merged.merge(m)
	}
	var out []Feature
	out = appendFeatures(out, family, Agg2D, specs, avg.mean()[:nf])
	out = appendFeatures(out, family, Agg25D, specs, runLikeValues(merged)[:nf])
	out = appendFeatures(out, family, Agg3D, specs, runLikeValues(build(t, -1))[:nf])
	return out
}

// GLSZMFeatures computes the GLSZM features of IBSI-1: zones are 8-connected
// in-plane (2D, 2.5D) or 26-connected (3D).
func GLSZMFeatures(d *Discretised, s *Settings) ([]Feature, error) {
	t, err := newTexGrid(d)
	if err != nil {
		return nil, err
	}
	if _, err := textureParamsOf(s); err != nil {
		return nil, err
	}
	return runLikeAggregate3(t, FamilyGLSZM, glszmSpecs, glszmMatrix), nil
}

// GLDZMFeatures computes the GLDZM features of IBSI-1: zones as for the
// GLSZM (from the intensity mask), each at the smallest distance of its
// voxels to the edge of the morphological mask (Discretised.Morph, or the
// intensity mask when nil), measured as IBSI defines it (see
// borderDistance: Manhattan steps, 4-connected in-plane for 2D and 2.5D,
// 6-connected for 3D, edge voxels at distance 1).
func GLDZMFeatures(d *Discretised, s *Settings) ([]Feature, error) {
	t, err := newTexGrid(d)
	if err != nil {
		return nil, err
	}
	if _, err := textureParamsOf(s); err != nil {
		return nil, err
	}
	return runLikeAggregate3(t, FamilyGLDZM, gldzmSpecs, gldzmMatrix), nil
}
