package imaging

import (
	"errors"
	"fmt"
	"math"
)

// Texture features (IBSI-1 chapter 3): grey level co-occurrence (GLCM), run
// length (GLRLM), size zone (GLSZM), distance zone (GLDZM), neighbourhood grey
// tone difference (NGTDM) and neighbouring grey level dependence (NGLDM)
// matrices, each computed from a *Discretised ROI with the aggregation
// methods of the IBSI reference manual.
//
// Slices are planes of constant k (the third, slowest index), as in IBSI's
// digital phantom, where slices are stacked along z.

// Aggregation names of the texture features, spelt as in IBSI's reference
// tables.
//
// GLCM and GLRLM have six: per slice and 2D direction averaged (BTW3), per
// slice merged over directions then averaged over slices (SUJT), per
// direction merged over slices then averaged over directions (JJUI), all 2D
// matrices merged (ZW7Z), per 3D direction averaged (ITBB) and all 3D
// directions merged (IAZD).
//
// GLSZM, GLDZM, NGTDM and NGLDM have three: per-slice matrices averaged over
// slices (8QNN, "2D"), per-slice matrices merged (62GR, "2.5D") and one 3D
// matrix (KOBO, "3D").
const (
	Agg2DAveraged         = "2D, averaged"
	Agg2DSliceMerged      = "2D, slice-merged"
	Agg25DDirectionMerged = "2.5D, direction-merged"
	Agg25DMerged          = "2.5D, merged"
	Agg3DAveraged         = "3D, averaged"
	Agg3DMerged           = "3D, merged"
	Agg2D                 = "2D"
	Agg25D                = "2.5D"
	Agg3D                 = "3D"
)

// Texture family names, as registered with RegisterFamily and written in
// Feature.Family.
const (
	FamilyGLCM  = "glcm"
	FamilyGLRLM = "glrlm"
	FamilyGLSZM = "glszm"
	FamilyGLDZM = "gldzm"
	FamilyNGTDM = "ngtdm"
	FamilyNGLDM = "ngldm"
)

// MaxTextureLevels bounds the number of grey levels the texture families
// accept (a GLCM holds Levels² cells per matrix).
const MaxTextureLevels = 1024

// maxTextureDistance bounds the neighbourhood distance δ.
const maxTextureDistance = 16

// textureParams are the texture-matrix parameters taken from Settings.
type textureParams struct {
	delta int     // Chebyshev distance of GLCM, NGTDM and NGLDM
	alpha float64 // NGLDM coarseness
}

// textureParamsOf reads δ (Settings.Distance, 0 → 1) and α
// (Settings.NGLDMAlpha) from s; nil means IBSI's defaults δ = 1, α = 0.
func textureParamsOf(s *Settings) (textureParams, error) {
	p := textureParams{delta: 1}
	if s == nil {
		return p, nil
	}
	if s.Distance != 0 {
		p.delta = s.Distance
	}
	p.alpha = s.NGLDMAlpha
	if p.delta < 1 || p.delta > maxTextureDistance {
		return p, fmt.Errorf("imaging: texture distance %d outside 1..%d", s.Distance, maxTextureDistance)
	}
	if !(p.alpha >= 0) || math.IsInf(p.alpha, 0) {
		return p, fmt.Errorf("imaging: NGLDM alpha %v must be finite and non-negative", s.NGLDMAlpha)
	}
	return p, nil
}

// TextureFamily names a texture family and its feature function.
type TextureFamily struct {
	Name string
	Func FamilyFunc
}

// TextureFamilies lists the six texture families in IBSI's order.
func TextureFamilies() []TextureFamily {
	return []TextureFamily{
		{FamilyGLCM, GLCMFeatures},
		{FamilyGLRLM, GLRLMFeatures},
		{FamilyGLSZM, GLSZMFeatures},
		{FamilyGLDZM, GLDZMFeatures},
		{FamilyNGTDM, NGTDMFeatures},
		{FamilyNGLDM, NGLDMFeatures},
	}
}

func init() {
	for _, f := range TextureFamilies() {
		RegisterFamily(f.Name, f.Func)
	}
}

// texGrid is a validated view of a Discretised for the texture code.
type texGrid struct {
	nx, ny, nz int
	ng         int
	g          []int32 // grey level, 0 outside the intensity mask
	morph      []bool  // morphological mask (never nil)
	nv         int     // voxels in the intensity mask

	// Scratch buffers of the zone families, reused across slices.
	seen []bool
	dist []int32
}

// region returns the linear index range of slice k (k ≥ 0) or of the whole
// volume (k < 0).
func (t *texGrid) region(k int) (lo, hi int) {
	if k < 0 {
		return 0, len(t.g)
	}
	return k * t.nx * t.ny, (k + 1) * t.nx * t.ny
}

func newTexGrid(d *Discretised) (*texGrid, error) {
	if d == nil {
		return nil, errors.New("imaging: texture: nil discretised image")
	}
	if err := d.Geometry.Validate(); err != nil {
		return nil, fmt.Errorf("imaging: texture: %w", err)
	}
	n := d.Len()
	if len(d.Grey) != n {
		return nil, fmt.Errorf("imaging: texture: %d grey levels for %d voxels", len(d.Grey), n)
	}
	if d.Levels < 1 || d.Levels > MaxTextureLevels {
		return nil, fmt.Errorf("imaging: texture: %d grey levels (want 1..%d)", d.Levels, MaxTextureLevels)
	}
	if d.Morph != nil && len(d.Morph) != n {
		return nil, fmt.Errorf("imaging: texture: morphological mask has %d voxels, image %d", len(d.Morph), n)
	}
	t := &texGrid{nx: d.Dims[0], ny: d.Dims[1], nz: d.Dims[2], ng: d.Levels, g: d.Grey, morph: d.Morph}
	for idx, v := range d.Grey {
		if v < 0 || int(v) > d.Levels {
			return nil, fmt.Errorf("imaging: texture: voxel %d has grey level %d outside 0..%d", idx, v, d.Levels)
		}
		if v > 0 {
			t.nv++
			if d.Morph != nil && !d.Morph[idx] {
				return nil, fmt.Errorf("imaging: texture: voxel %d is in the intensity mask but not in the morphological mask", idx)
			}
		}
	}
	if t.nv == 0 {
		return nil, fmt.Errorf("imaging: texture: no voxel in the intensity mask: %w", ErrEmptyROI)
	}
	if t.morph == nil {
		t.morph = make([]bool, n)
		for idx, v := range d.Grey {
			t.morph[idx] = v > 0
		}
	}
	return t, nil
}

func (t *texGrid) index(i, j, k int) int { return i + t.nx*(j+t.ny*k) }

// inside reports whether (i, j, k) lies on the grid.
func (t *texGrid) inside(i, j, k int) bool {
	return i >= 0 && i < t.nx && j >= 0 && j < t.ny && k >= 0 && k < t.nz
}

// sliceCount returns the number of intensity-mask voxels in slice k.
func (t *texGrid) sliceCount(k int) int {
	n := 0
	for _, v := range t.g[k*t.nx*t.ny : (k+1)*t.nx*t.ny] {
		if v > 0 {
			n++
		}
	}
	return n
}

// Direction vectors of IBSI's Chebyshev-1 neighbourhood: four in-plane
// directions for 2D, thirteen for 3D (one of each ± pair).
var (
	texDirs2D = [][3]int{{1, 0, 0}, {1, 1, 0}, {0, 1, 0}, {-1, 1, 0}}
	texDirs3D = [][3]int{
		{0, 0, 1}, {0, 1, 0}, {1, 0, 0}, {0, 1, 1}, {0, 1, -1}, {1, 0, 1}, {1, 0, -1},
		{1, 1, 0}, {1, -1, 0}, {1, 1, 1}, {1, 1, -1}, {1, -1, 1}, {1, -1, -1},
	}
)

// featureSpec names one feature of a family.
type featureSpec struct {
	name, code, id string
}

// featAccum averages feature vectors, feature by feature, ignoring NaN
// (undefined) values.
type featAccum struct {
	sum []float64
	n   []int
}

func newFeatAccum(k int) *featAccum {
	return &featAccum{sum: make([]float64, k), n: make([]int, k)}
}

func (a *featAccum) add(v []float64) {
	for i, x := range v {
		if !math.IsNaN(x) {
			a.sum[i] += x
			a.n[i]++
		}
	}
}

func (a *featAccum) mean() []float64 {
	out := make([]float64, len(a.sum))
	for i := range out {
		if a.n[i] == 0 {
			out[i] = math.NaN()
		} else {
			out[i] = a.sum[i] / float64(a.n[i])
		}
	}
	return out
}

// appendFeatures appends the defined (non-NaN, finite) values as Features.
func appendFeatures(dst []Feature, family, agg string, specs []featureSpec, vals []float64) []Feature {
	for i, s := range specs {
		v := vals[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		dst = append(dst, Feature{Family: family, Name: s.name, IBSICode: s.code, Aggregation: agg, Value: v})
	}
	return dst
}

// nanVector returns k NaN values.
func nanVector(k int) []float64 {
	v := make([]float64, k)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// xlog2x returns p·log2(p), 0 for p = 0.
func xlog2x(p float64) float64 {
	if p <= 0 {
		return 0
	}
	return p * math.Log2(p)
}
