package imaging

import (
	"math"
	"sort"
)

// mesh is a closed, consistently oriented triangle surface of a binary
// mask. Vertex coordinates are integers in half-voxel units (vertex v lies
// at index position v/2), so that geometric predicates on them are exact;
// scaled by the spacing they give millimetres.
type mesh struct {
	verts [][3]int64
	tris  [][3]int32 // counter-clockwise seen from outside the ROI
}

// Cube corners: corner c has offset (c&1, c>>1&1, c>>2&1).
// cubeFaces lists, for each of the six cube faces, its four corners in
// counter-clockwise order about the outward face normal.
var cubeFaces = [6][4]int{
	{0, 2, 3, 1}, // z = 0, normal −z
	{4, 5, 7, 6}, // z = 1, normal +z
	{0, 1, 5, 4}, // y = 0, normal −y
	{2, 6, 7, 3}, // y = 1, normal +y
	{0, 4, 6, 2}, // x = 0, normal −x
	{1, 3, 7, 5}, // x = 1, normal +x
}

// marchingCubes builds the iso-surface at level 0.5 of the mask (0/1 at
// voxel centres), padded by one outside voxel on every side, so that every
// vertex is the midpoint of a cube edge whose two corners differ. Within
// each cube the surface is assembled face by face: on each cube face, the
// contour segments separate the inside corners, running from each
// out→in crossing to the next in→out crossing in the face's
// counter-clockwise corner order. Faces with two diagonal inside corners
// (the ambiguous case) therefore keep those corners apart, a choice shared
// by the two cubes of the face, so the surface is closed. The closed
// contour loops of a cube are triangulated as fans.
func marchingCubes(m *Mask) *mesh {
	nx, ny, nz := m.Dims[0], m.Dims[1], m.Dims[2]
	in := func(i, j, k int) bool {
		if i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz {
			return false
		}
		return m.In[i+nx*(j+ny*k)]
	}
	out := &mesh{}
	ids := map[[3]int64]int32{}
	vertex := func(p [3]int64) int32 {
		if id, ok := ids[p]; ok {
			return id
		}
		id := int32(len(out.verts))
		out.verts = append(out.verts, p)
		ids[p] = id
		return id
	}
	var corner [8]bool
	for k := -1; k < nz; k++ {
		for j := -1; j < ny; j++ {
			for i := -1; i < nx; i++ {
				any, all := false, true
				for c := 0; c < 8; c++ {
					corner[c] = in(i+c&1, j+(c>>1)&1, k+(c>>2)&1)
					any = any || corner[c]
					all = all && corner[c]
				}
				if !any || all {
					continue
				}
				// Segments keyed by directed cube edge (from corner, to corner),
				// with from inside: segment from edge s to edge e.
				type edge struct{ a, b int8 }
				succ := map[edge]edge{}
				for _, f := range cubeFaces {
					var cross []edge // crossings in cycle order, with direction flag
					var outIn []bool
					for t := 0; t < 4; t++ {
						a, b := f[t], f[(t+1)%4]
						if corner[a] != corner[b] {
							// store the edge with its inside corner first
							if corner[a] {
								cross = append(cross, edge{int8(a), int8(b)})
								outIn = append(outIn, false)
							} else {
								cross = append(cross, edge{int8(b), int8(a)})
								outIn = append(outIn, true)
							}
						}
					}
					n := len(cross)
					for t := 0; t < n; t++ {
						if !outIn[t] {
							continue
						}
						// next in→out crossing after t in cycle order
						for u := 1; u < n; u++ {
							w := (t + u) % n
							if !outIn[w] {
								succ[cross[t]] = cross[w]
								break
							}
						}
					}
				}
				// Chain segments into loops.
				for len(succ) > 0 {
					var start edge
					for e := range succ {
						if start == (edge{}) || e.a < start.a || (e.a == start.a && e.b < start.b) {
							start = e
						}
					}
					var loop []int32
					e := start
					for {
						// midpoint of edge (a, b) in half-voxel units
						ca, cb := int(e.a), int(e.b)
						p := [3]int64{
							int64(2*i + ca&1 + cb&1),
							int64(2*j + (ca>>1)&1 + (cb>>1)&1),
							int64(2*k + (ca>>2)&1 + (cb>>2)&1),
						}
						loop = append(loop, vertex(p))
						nxt, ok := succ[e]
						if !ok {
							break
						}
						delete(succ, e)
						e = nxt
						if e == start {
							break
						}
					}
					out.tris = append(out.tris, fanTriangulate(out, loop, &corner, i, j, k)...)
				}
			}
		}
	}
	return out
}

// halfToMM returns vertex v in mm (index coordinates scaled by spacing; the
// direction matrix, a rotation, changes no morphological feature).
func (g Geometry) halfToMM(v [3]int64) [3]float64 {
	return [3]float64{float64(v[0]) / 2 * g.Spacing[0], float64(v[1]) / 2 * g.Spacing[1], float64(v[2]) / 2 * g.Spacing[2]}
}

// volumeArea returns the mesh volume (sum of signed tetrahedra with the
// origin) and surface area in mm³ and mm².
func (ms *mesh) volumeArea(g Geometry) (vol, area float64) {
	for _, t := range ms.tris {
		a, b, c := g.halfToMM(ms.verts[t[0]]), g.halfToMM(ms.verts[t[1]]), g.halfToMM(ms.verts[t[2]])
		vol += dot3(a, cross3(b, c)) / 6
		area += norm3(cross3(sub3(b, a), sub3(c, a))) / 2
	}
	return math.Abs(vol), area
}

// hull is a convex hull: triangles over points, oriented outwards.
type hull struct {
	pts  [][3]int64
	tris [][3]int
}

func orient(a, b, c, p [3]int64) int64 {
	ab := [3]int64{b[0] - a[0], b[1] - a[1], b[2] - a[2]}
	ac := [3]int64{c[0] - a[0], c[1] - a[1], c[2] - a[2]}
	ap := [3]int64{p[0] - a[0], p[1] - a[1], p[2] - a[2]}
	cx := ab[1]*ac[2] - ab[2]*ac[1]
	cy := ab[2]*ac[0] - ab[0]*ac[2]
	cz := ab[0]*ac[1] - ab[1]*ac[0]
	return cx*ap[0] + cy*ap[1] + cz*ap[2]
}

// convexHull computes the convex hull of integer points incrementally with
// exact predicates; ok is false when the points are coplanar.
func convexHull(pts [][3]int64) (h hull, ok bool) {
	h.pts = pts
	if len(pts) < 4 {
		return h, false
	}
	// Initial tetrahedron: extreme point, farthest from it, farthest from the
	// line, farthest from the plane.
	i0 := 0
	for i, p := range pts {
		if p[0] < pts[i0][0] || (p[0] == pts[i0][0] && (p[1] < pts[i0][1] || (p[1] == pts[i0][1] && p[2] < pts[i0][2]))) {
			i0 = i
		}
	}
	d2 := func(a, b [3]int64) int64 {
		x, y, z := a[0]-b[0], a[1]-b[1], a[2]-b[2]
		return x*x + y*y + z*z
	}
	i1 := -1
	for i, p := range pts {
		if i1 < 0 || d2(p, pts[i0]) > d2(pts[i1], pts[i0]) {
			i1 = i
		}
	}
	if d2(pts[i1], pts[i0]) == 0 {
		return h, false
	}
	i2, best := -1, int64(0)
	for i, p := range pts {
		a := pts[i0]
		ab := [3]int64{pts[i1][0] - a[0], pts[i1][1] - a[1], pts[i1][2] - a[2]}
		ap := [3]int64{p[0] - a[0], p[1] - a[1], p[2] - a[2]}
		c := [3]int64{ab[1]*ap[2] - ab[2]*ap[1], ab[2]*ap[0] - ab[0]*ap[2], ab[0]*ap[1] - ab[1]*ap[0]}
		if n := c[0]*c[0] + c[1]*c[1] + c[2]*c[2]; n > best {
			i2, best = i, n
		}
	}
	if i2 < 0 {
		return h, false
	}
	i3, bestV := -1, int64(0)
	for i, p := range pts {
		o := orient(pts[i0], pts[i1], pts[i2], p)
		if o < 0 {
			o = -o
		}
		if o > bestV {
			i3, bestV = i, o
		}
	}
	if i3 < 0 {
		return h, false
	}
	if orient(pts[i0], pts[i1], pts[i2], pts[i3]) > 0 {
		i1, i2 = i2, i1
	}
	// Now i3 is below plane (i0,i1,i2): faces oriented outwards.
	faces := [][3]int{{i0, i1, i2}, {i0, i3, i1}, {i1, i3, i2}, {i2, i3, i0}}
	alive := []bool{true, true, true, true}
	type dedge struct{ a, b int }
	for pi, p := range pts {
		if pi == i0 || pi == i1 || pi == i2 || pi == i3 {
			continue
		}
		var visible []int
		for fi, f := range faces {
			if alive[fi] && orient(pts[f[0]], pts[f[1]], pts[f[2]], p) > 0 {
				visible = append(visible, fi)
			}
		}
		if len(visible) == 0 {
			continue
		}
		edges := map[dedge]bool{}
		for _, fi := range visible {
			f := faces[fi]
			alive[fi] = false
			for t := 0; t < 3; t++ {
				edges[dedge{f[t], f[(t+1)%3]}] = true
			}
		}
		for e := range edges {
			if !edges[dedge{e.b, e.a}] {
				faces = append(faces, [3]int{e.a, e.b, pi})
				alive = append(alive, true)
			}
		}
	}
	for fi, f := range faces {
		if alive[fi] {
			h.tris = append(h.tris, f)
		}
	}
	return h, true
}

// volumeArea of the hull in mm³ and mm².
func (h hull) volumeArea(g Geometry) (vol, area float64) {
	for _, t := range h.tris {
		a, b, c := g.halfToMM(h.pts[t[0]]), g.halfToMM(h.pts[t[1]]), g.halfToMM(h.pts[t[2]])
		vol += dot3(a, cross3(b, c)) / 6
		area += norm3(cross3(sub3(b, a), sub3(c, a))) / 2
	}
	return math.Abs(vol), area
}

// hullCandidates keeps, of the mesh vertices, those extreme along x within
// their (y, z) line: any other point lies inside a segment between two
// points and cannot be a hull vertex.
func hullCandidates(verts [][3]int64) [][3]int64 {
	type yz struct{ y, z int64 }
	lo := map[yz][3]int64{}
	hi := map[yz][3]int64{}
	for _, v := range verts {
		key := yz{v[1], v[2]}
		if p, ok := lo[key]; !ok || v[0] < p[0] {
			lo[key] = v
		}
		if p, ok := hi[key]; !ok || v[0] > p[0] {
			hi[key] = v
		}
	}
	out := make([][3]int64, 0, 2*len(lo))
	seen := map[[3]int64]bool{}
	for _, m := range []map[yz][3]int64{lo, hi} {
		for _, v := range m {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	// Deterministic order (map iteration is random).
	sortPoints(out)
	return out
}

func sortPoints(p [][3]int64) {
	sort.Slice(p, func(i, j int) bool {
		a, b := p[i], p[j]
		if a[2] != b[2] {
			return a[2] < b[2]
		}
		if a[1] != b[1] {
			return a[1] < b[1]
		}
		return a[0] < b[0]
	})
}

// fanTriangulate triangulates a contour loop of one cube as the fan (from
// one of its vertices) that best follows the trilinear interpolant of the
// corner values: the one whose triangle centroids deviate least from the
// iso-level 0.5 in total (ties: the first in loop order). (i, j, k) is the
// cube's low corner.
func fanTriangulate(ms *mesh, loop []int32, corner *[8]bool, i, j, k int) [][3]int32 {
	n := len(loop)
	if n == 3 {
		return [][3]int32{{loop[0], loop[1], loop[2]}}
	}
	var val [8]float64
	for c, in := range corner {
		if in {
			val[c] = 1
		}
	}
	f := func(p [3]float64) float64 {
		x, y, z := p[0], p[1], p[2]
		return val[0]*(1-x)*(1-y)*(1-z) + val[1]*x*(1-y)*(1-z) + val[2]*(1-x)*y*(1-z) + val[3]*x*y*(1-z) +
			val[4]*(1-x)*(1-y)*z + val[5]*x*(1-y)*z + val[6]*(1-x)*y*z + val[7]*x*y*z
	}
	local := func(v int32) [3]float64 {
		q := ms.verts[v]
		return [3]float64{float64(q[0]-int64(2*i)) / 2, float64(q[1]-int64(2*j)) / 2, float64(q[2]-int64(2*k)) / 2}
	}
	bestS, bestErr := 0, math.Inf(1)
	for s := 0; s < n; s++ {
		e := 0.0
		for t := 1; t+1 < n; t++ {
			a, b, c := local(loop[s]), local(loop[(s+t)%n]), local(loop[(s+t+1)%n])
			cen := [3]float64{(a[0] + b[0] + c[0]) / 3, (a[1] + b[1] + c[1]) / 3, (a[2] + b[2] + c[2]) / 3}
			e += math.Abs(f(cen) - 0.5)
		}
		if e < bestErr-1e-12 {
			bestS, bestErr = s, e
		}
	}
	tris := make([][3]int32, 0, n-2)
	for t := 1; t+1 < n; t++ {
		tris = append(tris, [3]int32{loop[bestS], loop[(bestS+t)%n], loop[(bestS+t+1)%n]})
	}
	return tris
}
