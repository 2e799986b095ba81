package imaging

// glrlmSpecs lists the GLRLM features (IBSI-1 section "Grey level run length
// based features", TP0I) in runLikeValues order.
var glrlmSpecs = []featureSpec{
	{"Short runs emphasis", "22OV", "rlm.sre"},
	{"Long runs emphasis", "W4KF", "rlm.lre"},
	{"Low grey level run emphasis", "V3SW", "rlm.lgre"},
	{"High grey level run emphasis", "G3QZ", "rlm.hgre"},
	{"Short run low grey level emphasis", "HTZT", "rlm.srlge"},
	{"Short run high grey level emphasis", "GD3A", "rlm.srhge"},
	{"Long run low grey level emphasis", "IVPO", "rlm.lrlge"},
	{"Long run high grey level emphasis", "3KUM", "rlm.lrhge"},
	{"Grey level non-uniformity", "R5YN", "rlm.glnu"},
	{"Normalised grey level non-uniformity", "OVBL", "rlm.glnu.norm"},
	{"Run length non-uniformity", "W92Y", "rlm.rlnu"},
	{"Normalised run length non-uniformity", "IC23", "rlm.rlnu.norm"},
	{"Run percentage", "9ZK5", "rlm.r.perc"},
	{"Grey level variance", "8CE5", "rlm.gl.var"},
	{"Run length variance", "SXLW", "rlm.rl.var"},
	{"Run entropy", "HJ9O", "rlm.rl.entr"},
}

// glrlmDirection builds the run length matrix along dir, restricted to slice
// k when k ≥ 0 (2D) or over the whole volume when k < 0 (3D). A run is a
// maximal sequence of intensity-mask voxels with one grey level along dir.
func glrlmDirection(t *texGrid, dir [3]int, k int) *countMat {
	m := newCountMat()
	dx, dy, dz := dir[0], dir[1], dir[2]
	k0, k1 := 0, t.nz
	if k >= 0 {
		k0, k1 = k, k+1
	}
	for z := k0; z < k1; z++ {
		for y := 0; y < t.ny; y++ {
			for x := 0; x < t.nx; x++ {
				g := t.g[t.index(x, y, z)]
				if g == 0 {
					continue
				}
				m.nv++
				// Start runs only at their first voxel.
				px, py, pz := x-dx, y-dy, z-dz
				if t.inside(px, py, pz) && t.g[t.index(px, py, pz)] == g {
					continue
				}
				n := int32(1)
				qx, qy, qz := x+dx, y+dy, z+dz
				for t.inside(qx, qy, qz) && t.g[t.index(qx, qy, qz)] == g {
					n++
					qx, qy, qz = qx+dx, qy+dy, qz+dz
				}
				m.inc(g, n)
			}
		}
	}
	return m
}

// GLRLMFeatures computes the GLRLM features of IBSI-1 with all six
// aggregation methods (see the Agg* constants). Merged matrices sum their
// voxel numbers Nv, as IBSI requires for the run percentage. Empty matrices
// are left out of the averages.
func GLRLMFeatures(d *Discretised, s *Settings) ([]Feature, error) {
	t, err := newTexGrid(d)
	if err != nil {
		return nil, err
	}
	if _, err := textureParamsOf(s); err != nil {
		return nil, err
	}
	return runLikeAggregate6(t, FamilyGLRLM, glrlmSpecs, glrlmDirection), nil
}

// runLikeAggregate6 computes the six direction-based aggregations for a
// family whose per-direction matrix is built by build.
func runLikeAggregate6(t *texGrid, family string, specs []featureSpec, build func(*texGrid, [3]int, int) *countMat) []Feature {
	nf := len(specs)
	avg2D := newFeatAccum(runLikeCount)
	sliceMerged := newFeatAccum(runLikeCount)
	dirMerged := make([]*countMat, len(texDirs2D))
	for i := range dirMerged {
		dirMerged[i] = newCountMat()
	}
	all2D := newCountMat()
	for k := 0; k < t.nz; k++ {
		if t.sliceCount(k) == 0 {
			continue
		}
		perSlice := newCountMat()
		for di, dir := range texDirs2D {
			m := build(t, dir, k)
			avg2D.add(runLikeValues(m))
			perSlice.merge(m)
			dirMerged[di].merge(m)
		}
		sliceMerged.add(runLikeValues(perSlice))
		all2D.merge(perSlice)
	}
	dirAvg := newFeatAccum(runLikeCount)
	for _, dm := range dirMerged {
		dirAvg.add(runLikeValues(dm))
	}
	avg3D := newFeatAccum(runLikeCount)
	all3D := newCountMat()
	for _, dir := range texDirs3D {
		m := build(t, dir, -1)
		avg3D.add(runLikeValues(m))
		all3D.merge(m)
	}
	var out []Feature
	out = appendFeatures(out, family, Agg2DAveraged, specs, avg2D.mean()[:nf])
	out = appendFeatures(out, family, Agg2DSliceMerged, specs, sliceMerged.mean()[:nf])
	out = appendFeatures(out, family, Agg25DDirectionMerged, specs, dirAvg.mean()[:nf])
	out = appendFeatures(out, family, Agg25DMerged, specs, runLikeValues(all2D)[:nf])
	out = appendFeatures(out, family, Agg3DAveraged, specs, avg3D.mean()[:nf])
	out = appendFeatures(out, family, Agg3DMerged, specs, runLikeValues(all3D)[:nf])
	return out
}
