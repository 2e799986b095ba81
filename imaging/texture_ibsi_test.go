package imaging

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// readTinyNIfTI decodes the small gzipped NIfTI-1 files of the IBSI phantom
// (little-endian, int16 or uint8 voxels, no scaling) for the texture tests.
func readTinyNIfTI(t *testing.T, path string) ([3]int, []float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 352 || binary.LittleEndian.Uint32(b) != 348 {
		t.Fatalf("%s: not a little-endian NIfTI-1 file", path)
	}
	var dims [3]int
	for a := 0; a < 3; a++ {
		dims[a] = int(int16(binary.LittleEndian.Uint16(b[42+2*a:])))
	}
	dt := int16(binary.LittleEndian.Uint16(b[70:]))
	off := int(math.Float32frombits(binary.LittleEndian.Uint32(b[108:])))
	n := dims[0] * dims[1] * dims[2]
	v := make([]float64, n)
	switch dt {
	case 2: // uint8
		for i := range v {
			v[i] = float64(b[off+i])
		}
	case 4: // int16
		for i := range v {
			v[i] = float64(int16(binary.LittleEndian.Uint16(b[off+2*i:])))
		}
	default:
		t.Fatalf("%s: datatype %d not handled by the test reader", path, dt)
	}
	return dims, v
}

// ibsiPhantom returns the IBSI-1 digital phantom as a Discretised: its
// intensities are already the grey levels (IBSI uses it without further
// discretisation; its largest level is 6) and its mask is both ROI masks.
func ibsiPhantom(t *testing.T) *Discretised {
	t.Helper()
	dir := filepath.Join("testdata", "ibsi")
	dims, img := readTinyNIfTI(t, filepath.Join(dir, "phantom.nii.gz"))
	mdims, msk := readTinyNIfTI(t, filepath.Join(dir, "mask.nii.gz"))
	if dims != mdims || dims != [3]int{5, 4, 4} {
		t.Fatalf("phantom dims %v, mask %v", dims, mdims)
	}
	d := &Discretised{
		Geometry: Geometry{Dims: dims, Spacing: [3]float64{2, 2, 2}, Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}},
		Grey:     make([]int32, len(img)),
		Levels:   6,
	}
	for i := range img {
		if msk[i] > 0 {
			d.Grey[i] = int32(img[i])
		}
	}
	return d
}

type ibsiRef struct {
	family, feature, code, mathID, agg, value string
}

// texFamilyOfCSV maps the reference table's family names to ours.
var texFamilyOfCSV = map[string]string{
	"Grey level co-occurrence based features":           FamilyGLCM,
	"Grey level run length based features":              FamilyGLRLM,
	"Grey level size zone based features":               FamilyGLSZM,
	"Grey level distance zone based features":           FamilyGLDZM,
	"Neighbourhood grey tone difference based features": FamilyNGTDM,
	"Neighbouring grey level dependence based features": FamilyNGLDM,
}

func readIBSITextureRefs(t *testing.T) []ibsiRef {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ibsi", "ibsi1_phantom_reference.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var refs []ibsiRef
	for _, r := range rows[1:] {
		// family,feature,ibsi_code,math_id,data_set,aggregation,value,tolerance,consensus
		fam, ok := texFamilyOfCSV[r[0]]
		if !ok || r[4] != "dig. phantom" {
			continue
		}
		refs = append(refs, ibsiRef{family: fam, feature: r[1], code: r[2], mathID: r[3], agg: r[5], value: r[6]})
	}
	return refs
}

// publishedTolerance is half a unit in the third significant digit: the
// IBSI phantom values carry no tolerance and are published rounded to three
// significant digits (trailing zeros dropped, "2.2" standing for 2.20). A
// reference of exactly 0 must be matched to 1e-12.
func publishedTolerance(ref float64) float64 {
	if ref == 0 {
		return 1e-12
	}
	e := math.Floor(math.Log10(math.Abs(ref)))
	return 0.5*math.Pow(10, e-2) + 1e-9*math.Abs(ref)
}

func TestTextureIBSIPhantom(t *testing.T) {
	d := ibsiPhantom(t)
	got := map[string]Feature{} // family|name|aggregation
	for _, fam := range TextureFamilies() {
		fs, err := fam.Func(d, nil)
		if err != nil {
			t.Fatalf("%s: %v", fam.Name, err)
		}
		for _, f := range fs {
			if f.Family != fam.Name {
				t.Errorf("%s feature %q has family %q", fam.Name, f.Name, f.Family)
			}
			key := f.Family + "|" + f.Name + "|" + f.Aggregation
			if _, dup := got[key]; dup {
				t.Errorf("duplicate feature %s", key)
			}
			got[key] = f
		}
	}
	specs := map[string][]featureSpec{
		FamilyGLCM: glcmSpecs, FamilyGLRLM: glrlmSpecs, FamilyGLSZM: glszmSpecs,
		FamilyGLDZM: gldzmSpecs, FamilyNGTDM: ngtdmSpecs, FamilyNGLDM: ngldmSpecs,
	}
	refs := readIBSITextureRefs(t)
	// Our feature tables name every reference feature with IBSI's
	// identifiers.
	for _, r := range refs {
		found := false
		for _, s := range specs[r.family] {
			if s.name == r.feature {
				found = true
				if s.id != r.mathID || (r.code != "" && s.code != r.code) {
					t.Errorf("%s %q: ids %s/%s, reference %s/%s", r.family, r.feature, s.code, s.id, r.code, r.mathID)
				}
			}
		}
		if !found {
			t.Errorf("%s %q: not in the feature table", r.family, r.feature)
		}
	}
	if len(refs) != 408 {
		t.Fatalf("%d texture reference values for the phantom, want 408", len(refs))
	}
	matched := 0
	perFamily := map[string][2]int{}
	var report strings.Builder
	for _, r := range refs {
		want, err := strconv.ParseFloat(r.value, 64)
		if err != nil {
			t.Fatalf("reference %v: %v", r, err)
		}
		pf := perFamily[r.family]
		pf[1]++
		f, ok := got[r.family+"|"+r.feature+"|"+r.agg]
		switch {
		case !ok:
			fmt.Fprintf(&report, "  MISSING  %-6s %-45s %-24s want %s\n", r.family, r.feature, r.agg, r.value)
		case r.code != "" && f.IBSICode != r.code:
			fmt.Fprintf(&report, "  CODE     %-6s %-45s %-24s code %s, want %s\n", r.family, r.feature, r.agg, f.IBSICode, r.code)
		case math.Abs(f.Value-want) > publishedTolerance(want):
			fmt.Fprintf(&report, "  MISMATCH %-6s %-45s %-24s got %.6g want %s\n", r.family, r.feature, r.agg, f.Value, r.value)
		default:
			matched++
			pf[0]++
		}
		perFamily[r.family] = pf
	}
	for _, fam := range TextureFamilies() {
		pf := perFamily[fam.Name]
		t.Logf("%-6s %3d/%3d reference values match", fam.Name, pf[0], pf[1])
	}
	t.Logf("IBSI digital phantom, texture families: %d/%d reference values match", matched, len(refs))
	if matched != len(refs) {
		t.Errorf("%d of %d texture reference values do not match:\n%s", len(refs)-matched, len(refs), report.String())
	}
}
