package imaging_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/imaging"
)

func mustSchemaExtractor(tb testing.TB, s *imaging.Settings) *imaging.SchemaExtractor {
	tb.Helper()
	x, err := imaging.NewSchemaExtractor(mustEncoder(tb), s)
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// TestSchemaColumnsMatchSchema reads the imaging block from the feature
// schema, so the extractor's names and the schema cannot drift apart.
func TestSchemaColumnsMatchSchema(t *testing.T) {
	s := features.DefaultSchema()
	var want []string
	for _, f := range s.Features {
		if f.Block == "imaging" && f.Type != "indicator" {
			want = append(want, f.Name)
		}
	}
	if got := imaging.SchemaColumns(); !slices.Equal(got, want) {
		t.Fatalf("SchemaColumns() = %v\nschema imaging block = %v", got, want)
	}
	var blk *features.Block
	for i := range s.Blocks {
		if s.Blocks[i].Name == "imaging" {
			blk = &s.Blocks[i]
		}
	}
	if blk == nil {
		t.Fatal("schema has no imaging block")
	}
	var rad []string
	for _, c := range imaging.SchemaRadiomicsColumns() {
		rad = append(rad, c.Name)
	}
	if !slices.Equal(rad, blk.Radiomics) {
		t.Errorf("radiomics columns %v, schema block lists %v", rad, blk.Radiomics)
	}
	if blk.EmbeddingDimensions != imaging.SchemaEmbeddingDims {
		t.Errorf("SchemaEmbeddingDims = %d, schema block says %d", imaging.SchemaEmbeddingDims, blk.EmbeddingDimensions)
	}
}

// TestSchemaExtractorMatchesRadiomics checks every radiomics column
// against a direct Radiomics call with the same settings (bit for bit:
// the same code computes them) and every embedding column against the
// plain-Go encoder on the patch.
func TestSchemaExtractorMatchesRadiomics(t *testing.T) {
	v, m := spineVolume(5, 40)
	lo, hi := 300.0, 900.0
	for _, c := range []struct {
		name string
		s    *imaging.Settings
	}{
		{"schema settings", nil},
		{"resampled, re-segmented, fbs", &imaging.Settings{Spacing: [3]float64{1.5, 1.5, 1.5}, ResegMin: &lo, ResegMax: &hi,
			Discretisation: imaging.FixedBinSize, BinWidth: 20, RoundIntensities: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := mustSchemaExtractor(t, c.s)
			sf, err := x.Extract(v, m)
			if err != nil {
				t.Fatal(err)
			}
			rs := c.s
			if rs == nil {
				rs = imaging.SchemaSettings()
			}
			all, err := imaging.Radiomics(v, m, rs)
			if err != nil {
				t.Fatal(err)
			}
			for _, col := range imaging.SchemaRadiomicsColumns() {
				var found []imaging.Feature
				for _, f := range all {
					if f.IBSICode == col.IBSICode && f.Family == col.Family && f.Name == col.Feature {
						found = append(found, f)
					}
				}
				if len(found) != 1 {
					t.Fatalf("%s: %d Radiomics features with code %s, family %q, name %q", col.Name, len(found), col.IBSICode, col.Family, col.Feature)
				}
				if got, want := sf.Values[col.Name], found[0].Value; got != want || math.IsNaN(got) {
					t.Errorf("%s = %v, Radiomics %s = %v", col.Name, got, col.IBSICode, want)
				}
			}
			enc := mustEncoder(t)
			p, err := imaging.ExtractPatch(v, m, enc.Spec())
			if err != nil {
				t.Fatal(err)
			}
			emb, err := enc.Forward(p.Data, nil)
			if err != nil {
				t.Fatal(err)
			}
			for d := range imaging.SchemaEmbeddingDims {
				name := fmt.Sprintf("img_emb_%02d", d)
				if got := sf.Values[name]; got != float64(emb[d]) {
					t.Errorf("%s = %v, encoder dimension %d = %v", name, got, d, emb[d])
				}
			}
			if len(sf.Values) != len(imaging.SchemaColumns()) {
				t.Errorf("%d values, want %d", len(sf.Values), len(imaging.SchemaColumns()))
			}
		})
	}
}

func TestSchemaExtractorHashes(t *testing.T) {
	v, m := spineVolume(7, 30)
	x := mustSchemaExtractor(t, nil)
	a, err := x.Extract(v, m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := x.Extract(v, m)
	if err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(a.Values, b.Values) || a.SettingsSHA256 != b.SettingsSHA256 || a.EncoderSHA256 != b.EncoderSHA256 ||
		a.ImageSHA256 != b.ImageSHA256 || a.MaskSHA256 != b.MaskSHA256 {
		t.Fatal("two extractions of the same image differ")
	}
	for _, h := range []string{a.SettingsSHA256, a.EncoderSHA256, a.ImageSHA256, a.MaskSHA256} {
		if len(h) != 64 {
			t.Errorf("hash %q is not 64 hex digits", h)
		}
	}
	if a.EncoderSHA256 != mustEncoder(t).Spec().SHA256 {
		t.Errorf("encoder hash %s, registry %s", a.EncoderSHA256, mustEncoder(t).Spec().SHA256)
	}
	// Workers do not change the values, so not the key; bins do.
	if w := mustSchemaExtractor(t, &imaging.Settings{Workers: 1}); w.SettingsSHA256() != a.SettingsSHA256 {
		t.Error("Workers changed the settings hash")
	}
	s := imaging.SchemaSettings()
	s.Bins = 16
	c, err := mustSchemaExtractor(t, s).Extract(v, m)
	if err != nil {
		t.Fatal(err)
	}
	if c.SettingsSHA256 == a.SettingsSHA256 {
		t.Error("a settings change kept the settings hash")
	}
	if c.Values["img_ih_entropy"] == a.Values["img_ih_entropy"] {
		t.Error("16 bins gave the entropy of 32")
	}
	// One mask voxel more: another mask hash, the same image hash.
	m2 := &imaging.Mask{Geometry: m.Geometry, In: append([]bool(nil), m.In...)}
	for i, in := range m2.In {
		if !in {
			m2.In[i] = true
			break
		}
	}
	d, err := x.Extract(v, m2)
	if err != nil {
		t.Fatal(err)
	}
	if d.MaskSHA256 == a.MaskSHA256 || d.ImageSHA256 != a.ImageSHA256 {
		t.Errorf("mask changed: mask hash changed %v, image hash kept %v", d.MaskSHA256 != a.MaskSHA256, d.ImageSHA256 == a.ImageSHA256)
	}
	// The same voxels on a shifted grid: other geometry, other hashes.
	m3 := &imaging.Mask{Geometry: m.Geometry, In: m.In}
	m3.Origin[0] += 1
	if imaging.HashMask(m3) == a.MaskSHA256 {
		t.Error("a geometry change kept the mask hash")
	}
	v2 := &imaging.Volume{Geometry: v.Geometry, Data: append([]float64(nil), v.Data...)}
	v2.Data[0]++
	if imaging.HashVolume(v2) == a.ImageSHA256 {
		t.Error("an intensity change kept the image hash")
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// shortEncoder returns fewer dimensions than the schema needs.
type shortEncoder struct{ spec imaging.EncoderSpec }

func (e shortEncoder) Spec() imaging.EncoderSpec { return e.spec }
func (e shortEncoder) Run(p, dst []float32) ([]float32, error) {
	return make([]float32, e.spec.OutputDim), nil
}

func TestSchemaExtractorErrors(t *testing.T) {
	if _, err := imaging.NewSchemaExtractor(nil, nil); err == nil {
		t.Error("nil encoder accepted")
	}
	spec := mustEncoder(t).Spec()
	spec.OutputDim = imaging.SchemaEmbeddingDims - 1
	if _, err := imaging.NewSchemaExtractor(shortEncoder{spec}, nil); err == nil {
		t.Error("an encoder with too few dimensions accepted")
	}
	if _, err := imaging.NewSchemaExtractor(mustEncoder(t), &imaging.Settings{Bins: -1}); err == nil {
		t.Error("invalid settings accepted")
	}
	x := mustSchemaExtractor(t, nil)
	v, m := spineVolume(1, 30)
	empty := &imaging.Mask{Geometry: m.Geometry, In: make([]bool, len(m.In))}
	if _, err := x.Extract(v, empty); err == nil {
		t.Error("empty mask accepted")
	}
	other := &imaging.Mask{Geometry: m.Geometry, In: m.In}
	other.Spacing[0] *= 2
	if _, err := x.Extract(v, other); err == nil {
		t.Error("mask on another grid accepted")
	}
	// A constant ROI is a valid block (IBSI: skewness and kurtosis 0 when
	// the variance is 0); an infinite intensity is refused.
	flat := &imaging.Volume{Geometry: v.Geometry, Data: make([]float64, len(v.Data))}
	for i := range flat.Data {
		flat.Data[i] = 100
	}
	if sf, err := x.Extract(flat, m); err != nil || sf.Values["img_stat_var"] != 0 || sf.Values["img_stat_skew"] != 0 {
		t.Errorf("constant ROI: err %v", err)
	}
	flat.Data[len(flat.Data)/2] = math.Inf(1)
	if _, err := x.Extract(flat, m); err == nil {
		t.Error("infinite intensity accepted")
	}
}

func ExampleSchemaExtractor_Extract() {
	enc, err := imaging.NewEncoder(imaging.DefaultEncoder)
	if err != nil {
		panic(err)
	}
	x, err := imaging.NewSchemaExtractor(enc, nil) // plain-Go encoder, SchemaSettings()
	if err != nil {
		panic(err)
	}
	// A 32×32×8 image with a brighter 8×8×4 box as the region of interest.
	g := imaging.Geometry{Dims: [3]int{32, 32, 8}, Spacing: [3]float64{1, 1, 3}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	m := &imaging.Mask{Geometry: g, In: make([]bool, g.Len())}
	for k := range 8 {
		for j := range 32 {
			for i := range 32 {
				idx := g.Index(i, j, k)
				v.Data[idx] = float64(100 + (i*7+j*3+k*11)%13)
				if i >= 12 && i < 20 && j >= 12 && j < 20 && k >= 2 && k < 6 {
					m.In[idx] = true
					v.Data[idx] += 200
				}
			}
		}
	}
	sf, err := x.Extract(v, m)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(sf.Values), "values")
	fmt.Printf("voxel-count volume %d mm³, mesh volume %.0f mm³\n", 8*8*4*3, sf.Values["img_morph_volume"])
	// Output:
	// 24 values
	// voxel-count volume 768 mm³, mesh volume 740 mm³
}

// BenchmarkSchemaExtract is the imaging block of one 96×96×20 image with
// the plain-Go encoder: radiomics, patch extraction and the forward pass.
func BenchmarkSchemaExtract(b *testing.B) {
	x := mustSchemaExtractor(b, nil)
	v, m := benchVolume(96)
	for b.Loop() {
		if _, err := x.Extract(v, m); err != nil {
			b.Fatal(err)
		}
	}
}
