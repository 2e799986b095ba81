package imaging

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
)

// SchemaColumn is one radiomics column of the feature schema's imaging
// block and the IBSI feature it holds.
type SchemaColumn struct {
	Name     string // schema column, e.g. "img_morph_volume"
	Family   string // feature family of Radiomics, e.g. FamilyMorphology
	Feature  string // IBSI feature name, as Radiomics names it
	IBSICode string // IBSI identifier
}

// schemaRadiomics is the table behind the schema's radiomics columns, in
// schema order. Every value is the Radiomics feature of that IBSI code
// computed with the extractor's Settings:
//
//	img_morph_volume      Volume (mesh)                   RNU0  mm³
//	img_morph_area_mesh   Surface area (mesh)             C0JK  mm²
//	img_morph_sphericity  Sphericity                      QCFX
//	img_stat_mean         Mean intensity                  Q4LE
//	img_stat_var          Intensity variance              ECT3
//	img_stat_skew         Intensity skewness              KE2A
//	img_stat_kurt         (Excess) intensity kurtosis     IPH6
//	img_ih_entropy        Discretised intensity entropy   TLU2  (intensity histogram)
var schemaRadiomics = []SchemaColumn{
	{"img_morph_volume", FamilyMorphology, "Volume (mesh)", "RNU0"},
	{"img_morph_area_mesh", FamilyMorphology, "Surface area (mesh)", "C0JK"},
	{"img_morph_sphericity", FamilyMorphology, "Sphericity", "QCFX"},
	{"img_stat_mean", FamilyStatistics, "Mean intensity", "Q4LE"},
	{"img_stat_var", FamilyStatistics, "Intensity variance", "ECT3"},
	{"img_stat_skew", FamilyStatistics, "Intensity skewness", "KE2A"},
	{"img_stat_kurt", FamilyStatistics, "(Excess) intensity kurtosis", "IPH6"},
	{"img_ih_entropy", FamilyHistogram, "Discretised intensity entropy", "TLU2"},
}

// SchemaEmbeddingDims is the number of embedding columns of the schema's
// imaging block (img_emb_00 … img_emb_15): the first SchemaEmbeddingDims
// dimensions of the encoder's output.
const SchemaEmbeddingDims = 16

// SchemaRadiomicsColumns returns the radiomics columns of the feature
// schema's imaging block with the IBSI feature each holds, in schema order.
func SchemaRadiomicsColumns() []SchemaColumn {
	return append([]SchemaColumn(nil), schemaRadiomics...)
}

// SchemaColumns returns the names of the imaging block's value columns in
// schema order: the radiomics columns, then img_emb_00 …
// img_emb_<SchemaEmbeddingDims−1>. (The block's indicator imaging_missing is
// not among them.)
func SchemaColumns() []string {
	names := make([]string, 0, len(schemaRadiomics)+SchemaEmbeddingDims)
	for _, c := range schemaRadiomics {
		names = append(names, c.Name)
	}
	for d := range SchemaEmbeddingDims {
		names = append(names, fmt.Sprintf("img_emb_%02d", d))
	}
	return names
}

// SchemaSettings returns the radiomics settings of the schema's imaging
// block: no resampling (the features are those of the acquired grid; the
// mesh and the intensity statistics need no isotropic voxels), no
// re-segmentation or outlier filtering, fixed bin number 32 for the
// intensity histogram (MRI intensities are arbitrary units, for which IBSI
// recommends a fixed bin number). They are DefaultSettings with the
// discretisation spelled out.
func SchemaSettings() *Settings {
	return &Settings{Discretisation: FixedBinNumber, Bins: 32, BinWidth: 25, Distance: 1}
}

// SchemaEncoder runs an image encoder on one normalised patch (Patch.Data).
// The plain-Go *Encoder and the ONNX Runtime *Embedder both satisfy it.
type SchemaEncoder interface {
	Spec() EncoderSpec
	Run(patch []float32, dst []float32) ([]float32, error)
}

var (
	_ SchemaEncoder = (*Encoder)(nil)
	_ SchemaEncoder = (*Embedder)(nil)
)

// Run is Forward under the SchemaEncoder method name.
func (e *Encoder) Run(patch []float32, dst []float32) ([]float32, error) {
	return e.Forward(patch, dst)
}

// SchemaFeatures is the imaging block of one image: the schema's img_*
// values and the hashes that identify how they were made (the parts of a
// cache key).
type SchemaFeatures struct {
	// Values holds exactly the names of SchemaColumns.
	Values map[string]float64
	// SettingsSHA256 is the hex sha256 of the canonical JSON of the
	// normalised radiomics settings (Settings.Workers excluded: it does
	// not change these values).
	SettingsSHA256 string
	// EncoderSHA256 is the encoder's registry sha256 (of its ONNX file).
	EncoderSHA256 string
	// ImageSHA256 and MaskSHA256 are the hex sha256 of the image's and the
	// mask's voxels and geometry (see HashVolume and HashMask).
	ImageSHA256 string
	MaskSHA256  string
}

// SchemaExtractor turns an image and its region of interest into the
// feature schema's imaging block: the radiomics columns (SchemaColumn,
// with fixed Settings) and the first SchemaEmbeddingDims dimensions of an
// encoder's embedding of the patch around the ROI (ExtractPatch). It is
// safe for concurrent use when its encoder is (both built-in ones are).
type SchemaExtractor struct {
	settings    *Settings
	settingsSHA string
	enc         SchemaEncoder
}

// NewSchemaExtractor returns an extractor with radiomics settings s (nil:
// SchemaSettings()) and encoder enc. The encoder must return at least
// SchemaEmbeddingDims values.
func NewSchemaExtractor(enc SchemaEncoder, s *Settings) (*SchemaExtractor, error) {
	if enc == nil {
		return nil, fmt.Errorf("imaging: schema extractor: nil encoder")
	}
	if s == nil {
		s = SchemaSettings()
	}
	ns, err := s.normalised()
	if err != nil {
		return nil, fmt.Errorf("imaging: schema extractor: %w", err)
	}
	if d := enc.Spec().OutputDim; d < SchemaEmbeddingDims {
		return nil, fmt.Errorf("imaging: schema extractor: encoder %s returns %d dimensions, the schema needs %d", enc.Spec().Name, d, SchemaEmbeddingDims)
	}
	h := *ns
	h.Workers = 0
	b, err := json.Marshal(&h)
	if err != nil {
		return nil, fmt.Errorf("imaging: schema extractor: %w", err)
	}
	sum := sha256.Sum256(b)
	return &SchemaExtractor{settings: ns, settingsSHA: hex.EncodeToString(sum[:]), enc: enc}, nil
}

// Settings returns a copy of the normalised radiomics settings.
func (x *SchemaExtractor) Settings() Settings { return *x.settings }

// SettingsSHA256 is SchemaFeatures.SettingsSHA256 of every extraction.
func (x *SchemaExtractor) SettingsSHA256() string { return x.settingsSHA }

// Extract computes the imaging block of image v with region of interest m
// (on the same grid). The radiomics values are those Radiomics returns for
// the same image, mask and settings: the same preprocessing (resampling when
// set, rounding, re-segmentation, discretisation) and the same feature
// functions, restricted to the three families the schema uses (so the
// texture matrices and Moran's I, which it does not use, cost nothing).
// A value that comes out non-finite is an error (the schema's block is all
// present or all missing); a constant ROI is valid (variance, skewness and
// kurtosis 0, as IBSI defines them).
func (x *SchemaExtractor) Extract(v *Volume, m *Mask) (*SchemaFeatures, error) {
	rad, err := x.radiomics(v, m)
	if err != nil {
		return nil, fmt.Errorf("imaging: schema features: %w", err)
	}
	spec := x.enc.Spec()
	p, err := ExtractPatch(v, m, spec)
	if err != nil {
		return nil, fmt.Errorf("imaging: schema features: %w", err)
	}
	emb, err := x.enc.Run(p.Data, nil)
	if err != nil {
		return nil, fmt.Errorf("imaging: schema features: %w", err)
	}
	if len(emb) < SchemaEmbeddingDims {
		return nil, fmt.Errorf("imaging: schema features: encoder returned %d values, want ≥ %d", len(emb), SchemaEmbeddingDims)
	}
	vals := make(map[string]float64, len(schemaRadiomics)+SchemaEmbeddingDims)
	for i, c := range schemaRadiomics {
		vals[c.Name] = rad[i]
	}
	for d := range SchemaEmbeddingDims {
		vals[fmt.Sprintf("img_emb_%02d", d)] = float64(emb[d])
	}
	for name, val := range vals {
		if math.IsNaN(val) || math.IsInf(val, 0) {
			return nil, fmt.Errorf("imaging: schema features: %s is %v", name, val)
		}
	}
	return &SchemaFeatures{Values: vals, SettingsSHA256: x.settingsSHA, EncoderSHA256: spec.SHA256,
		ImageSHA256: HashVolume(v), MaskSHA256: HashMask(m)}, nil
}

// radiomics returns the values of schemaRadiomics, in order. Its steps
// mirror Radiomics (TestSchemaExtractorMatchesRadiomics holds them equal).
func (x *SchemaExtractor) radiomics(v *Volume, m *Mask) ([]float64, error) {
	s := x.settings
	if err := CheckGrid(v, m); err != nil {
		return nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	margin := peakRadius + 1e-6
	var img *Volume
	var morph *Mask
	var err error
	if s.Spacing != [3]float64{} {
		img, morph, err = Resample(v, m, s.Spacing, margin)
	} else {
		var mv [3]int
		for a := 0; a < 3; a++ {
			mv[a] = int(math.Ceil(margin/v.Spacing[a])) + 1
		}
		img, morph, err = cropROI(v, m, mv)
	}
	if err != nil {
		return nil, err
	}
	if morph.Count() == 0 {
		return nil, ErrEmptyROI
	}
	if s.RoundIntensities {
		for i, val := range img.Data {
			img.Data[i] = math.Round(val)
		}
	}
	inten, err := Resegment(img, morph, s.ResegMin, s.ResegMax, s.Outliers)
	if err != nil {
		return nil, err
	}
	if inten.Count() == 0 {
		return nil, fmt.Errorf("after re-segmentation: %w", ErrEmptyROI)
	}
	d, err := Discretise(img, inten, morph, s)
	if err != nil {
		return nil, err
	}
	// Morphology: only the mesh (MorphologyFeatures also computes hulls,
	// diameters and Moran's I, which the schema does not use).
	vol, area := marchingCubes(morph).volumeArea(img.Geometry)
	sph := math.Cbrt(36*math.Pi*vol*vol) / area
	stats, err := StatisticsFeatures(img, inten)
	if err != nil {
		return nil, err
	}
	hist, err := HistogramFeatures(d)
	if err != nil {
		return nil, err
	}
	byCode := map[string]float64{"RNU0": vol, "C0JK": area, "QCFX": sph}
	for _, f := range stats {
		byCode[f.IBSICode] = f.Value
	}
	for _, f := range hist {
		if f.Name == "Discretised intensity entropy" {
			byCode[f.IBSICode] = f.Value
		}
	}
	out := make([]float64, len(schemaRadiomics))
	for i, c := range schemaRadiomics {
		val, ok := byCode[c.IBSICode]
		if !ok {
			return nil, fmt.Errorf("feature %s (%s) not computed", c.Feature, c.IBSICode) // programmer error
		}
		out[i] = val
	}
	return out, nil
}

// hashGeometry writes the geometry to h: dimensions as int64, spacing,
// origin and direction as float64 bits, little-endian.
func hashGeometry(h hash.Hash, g Geometry) {
	var b [8]byte
	for _, d := range g.Dims {
		binary.LittleEndian.PutUint64(b[:], uint64(int64(d)))
		h.Write(b[:])
	}
	for _, f := range append(append(append([]float64(nil), g.Spacing[:]...), g.Origin[:]...), g.Direction[:]...) {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(f))
		h.Write(b[:])
	}
}

// HashMask returns the hex sha256 of the mask's geometry (hashGeometry:
// dims as int64, then spacing, origin and direction as float64 bits,
// little-endian) followed by one byte (0 or 1) per voxel in index order.
func HashMask(m *Mask) string {
	h := sha256.New()
	hashGeometry(h, m.Geometry)
	buf := make([]byte, len(m.In))
	for i, in := range m.In {
		if in {
			buf[i] = 1
		}
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}

// HashVolume returns the hex sha256 of the volume's geometry (as for
// HashMask) followed by its intensities as little-endian float64 bits in
// index order.
func HashVolume(v *Volume) string {
	h := sha256.New()
	hashGeometry(h, v.Geometry)
	buf := make([]byte, 8*len(v.Data))
	for i, x := range v.Data {
		binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(x))
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}
