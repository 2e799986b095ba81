package imaging_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

// ownFamilies are the IBSI families computed by this package's own code;
// every one of their phantom reference values must match. The texture
// families registered through RegisterFamily are counted by the same
// harness and asserted by their own tests.
var ownFamilies = map[string]bool{
	"Morphological features":               true,
	"Local intensity features":             true,
	"Intensity-based statistical features": true,
	"Intensity histogram features":         true,
	"Intensity-volume histogram features":  true,
}

// TestIBSIPhantom compares every feature computed on the IBSI-1 digital
// phantom with the 482 reference values and logs the table (run with -v to
// see it): matches per family and every value not matched or not
// implemented.
func TestIBSIPhantom(t *testing.T) {
	rep, err := imaging.CheckIBSIPhantom()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 482 {
		t.Fatalf("%d reference rows, want 482", len(rep.Rows))
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("IBSI-1 digital phantom, registered texture families %v:\n%s", imaging.Families(), buf.String())
	own := 0
	for _, row := range rep.Rows {
		if row.Status == imaging.IBSIAmbiguous {
			t.Errorf("%s %q (%s, %s): several computed features match", row.Ref.Family, row.Ref.Name, row.Ref.Code, row.Ref.Aggregation)
		}
		if !ownFamilies[row.Ref.Family] {
			continue
		}
		own++
		if row.Status != imaging.IBSIMatch {
			t.Errorf("%s %q (%s): %s, got %v, want %v ± %.3g", row.Ref.Family, row.Ref.Name, row.Ref.Code, row.Status, row.Got, row.Ref.Value, row.Ref.Tol())
		}
	}
	if own != 74 {
		t.Errorf("%d reference rows of this package's families, want 74", own)
	}
	t.Logf("matched %d of %d", rep.Count(imaging.IBSIMatch), len(rep.Rows))
}

// TestIBSIReferenceCopy checks that the embedded reference values are the
// phantom rows of the full table in ../shared (when present).
func TestIBSIReferenceCopy(t *testing.T) {
	full := filepath.Join("..", "..", "shared", "data", "ibsi", "ibsi1_reference_values.csv")
	f, err := os.Open(full)
	if err != nil {
		t.Skipf("../shared absent (%v)", err)
	}
	defer f.Close()
	want, err := imaging.ParseIBSIReference(f, "dig. phantom")
	if err != nil {
		t.Fatal(err)
	}
	got, err := imaging.IBSIPhantomReference()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d embedded rows, %d in ../shared", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestCompareIBSI(t *testing.T) {
	csv := `family,feature,ibsi_code,math_id,data_set,aggregation,value,tolerance,consensus
F,Alpha,AAAA,a,dig. phantom,,3.05,,strong
F,Beta,BBBB,b,dig. phantom,"2D, averaged",1200,10,strong
F,Gamma,CCCC,c,dig. phantom,"3D, merged",-50,,strong
F,Volume at intensity fraction,BC2M,v,dig. phantom,,0.324,,strong
F,Volume at intensity fraction,BC2M,v,dig. phantom,,0.0946,,strong
F,Zero,ZZZZ,z,dig. phantom,,0,,strong
F,Small zone emphasis,,s,dig. phantom,3D,0.255,,strong
F,Other set,AAAA,a,config. A,,1,,strong
`
	refs, err := imaging.ParseIBSIReference(strings.NewReader(csv), "dig. phantom")
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 7 || refs[3].Name != "Volume at intensity fraction 10%" || refs[4].Name != "Volume at intensity fraction 90%" {
		t.Fatalf("parsed %+v", refs)
	}
	for _, c := range []struct {
		i   int
		tol float64
	}{{0, 0.005}, {1, 10}, {2, 0.05}, {3, 0.0005}, {4, 0.00005}, {5, 0.0005}} {
		if got := refs[c.i].Tol(); math.Abs(got-c.tol) > 1e-12 {
			t.Errorf("row %d tolerance %v, want %v", c.i, got, c.tol)
		}
	}
	feats := []imaging.Feature{
		{IBSICode: "AAAA", Aggregation: "3D", Value: 3.0549},         // within 0.005
		{IBSICode: "BBBB", Aggregation: "2D averaged", Value: 1211},  // off by 11 > 10
		{IBSICode: "CCCC", Aggregation: "3D, merged", Value: -50.04}, // within 0.05
		{IBSICode: "BC2M", Name: "Volume at intensity fraction 90%", Value: 0.0946},
		{IBSICode: "BC2M", Name: "volume at  intensity fraction 10%", Value: 0.3244},
		{IBSICode: "ZZZZ", Value: 0.001},
		{IBSICode: "5QRC", Name: "Small zone emphasis", Aggregation: "3D", Value: 0.2549},
	}
	rep := imaging.CompareIBSI(feats, refs)
	want := []string{imaging.IBSIMatch, imaging.IBSIMismatch, imaging.IBSIMatch, imaging.IBSIMatch, imaging.IBSIMatch, imaging.IBSIMismatch, imaging.IBSIMatch}
	for i, row := range rep.Rows {
		if row.Status != want[i] {
			t.Errorf("row %d (%s): %s, want %s", i, row.Ref.Name, row.Status, want[i])
		}
	}
	rep = imaging.CompareIBSI(feats[:1], refs)
	if rep.Count(imaging.IBSINotImplemented) != 6 || rep.Count(imaging.IBSIMatch) != 1 {
		t.Errorf("missing features: %d not implemented, %d matched", rep.Count(imaging.IBSINotImplemented), rep.Count(imaging.IBSIMatch))
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"1 of 7 reference values matched", "not implemented", "Gamma"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, buf.String())
		}
	}
	if _, err := imaging.ParseIBSIReference(strings.NewReader("a,b\n1,2\n"), ""); err == nil {
		t.Error("bad header: no error")
	}
}
