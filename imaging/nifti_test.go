package imaging_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/imaging"
)

// hdr builds a NIfTI-1 header field by field (offsets from nifti1.h),
// independently of the reader.
type hdr struct {
	order     binary.ByteOrder
	dim       [8]int16
	datatype  int16
	bitpix    int16
	pixdim    [8]float32
	voxOffset float32
	slope     float32
	inter     float32
	units     uint8
	qcode     int16
	scode     int16
	quat      [3]float32
	qoff      [3]float32
	srow      [3][4]float32
	magic     string
}

func newHdr(order binary.ByteOrder, dt, bitpix int16, dims ...int16) hdr {
	h := hdr{order: order, datatype: dt, bitpix: bitpix, voxOffset: 352, magic: "n+1", units: 2}
	h.dim[0] = int16(len(dims))
	for i, d := range dims {
		h.dim[i+1] = d
	}
	for i := range h.pixdim {
		h.pixdim[i] = 1
	}
	return h
}

func (h hdr) bytes() []byte {
	b := make([]byte, max(352, int(h.voxOffset)))
	o := h.order
	o.PutUint32(b[0:], 348)
	for i, d := range h.dim {
		o.PutUint16(b[40+2*i:], uint16(d))
	}
	o.PutUint16(b[70:], uint16(h.datatype))
	o.PutUint16(b[72:], uint16(h.bitpix))
	f := func(off int, v float32) { o.PutUint32(b[off:], math.Float32bits(v)) }
	for i, p := range h.pixdim {
		f(76+4*i, p)
	}
	f(108, h.voxOffset)
	f(112, h.slope)
	f(116, h.inter)
	b[123] = h.units
	o.PutUint16(b[252:], uint16(h.qcode))
	o.PutUint16(b[254:], uint16(h.scode))
	for i := 0; i < 3; i++ {
		f(256+4*i, h.quat[i])
		f(268+4*i, h.qoff[i])
		for j := 0; j < 4; j++ {
			f(280+16*i+4*j, h.srow[i][j])
		}
	}
	copy(b[344:348], h.magic)
	return b
}

func mustDecode(t *testing.T, b []byte) *imaging.Volume {
	t.Helper()
	v, err := imaging.DecodeNIfTI(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNIfTIDatatypes(t *testing.T) {
	want := []float64{0, 1, 2, 100, 7, 3}
	signed := []float64{-5, 1, -2, 100, 7, -3}
	cases := []struct {
		name   string
		dt     int16
		size   int
		put    func(o binary.ByteOrder, b []byte, v float64)
		values []float64
	}{
		{"uint8", 2, 1, func(o binary.ByteOrder, b []byte, v float64) { b[0] = uint8(v) }, want},
		{"int8", 256, 1, func(o binary.ByteOrder, b []byte, v float64) { b[0] = byte(int8(v)) }, signed},
		{"int16", 4, 2, func(o binary.ByteOrder, b []byte, v float64) { o.PutUint16(b, uint16(int16(v))) }, signed},
		{"uint16", 512, 2, func(o binary.ByteOrder, b []byte, v float64) { o.PutUint16(b, uint16(v)) }, []float64{0, 65535, 2, 100, 7, 3}},
		{"int32", 8, 4, func(o binary.ByteOrder, b []byte, v float64) { o.PutUint32(b, uint32(int32(v))) }, []float64{-70000, 1, -2, 100, 7, -3}},
		{"uint32", 768, 4, func(o binary.ByteOrder, b []byte, v float64) { o.PutUint32(b, uint32(v)) }, []float64{4e9, 1, 2, 100, 7, 3}},
		{"float32", 16, 4, func(o binary.ByteOrder, b []byte, v float64) { o.PutUint32(b, math.Float32bits(float32(v))) }, []float64{-1.5, 0.25, 2, 100, 7, -3}},
		{"float64", 64, 8, func(o binary.ByteOrder, b []byte, v float64) { o.PutUint64(b, math.Float64bits(v)) }, []float64{-1.125e-3, 1e10, 2, 100, 7, -3}},
		{"int64", 1024, 8, func(o binary.ByteOrder, b []byte, v float64) { o.PutUint64(b, uint64(int64(v))) }, []float64{-1 << 40, 1, -2, 100, 7, -3}},
		{"uint64", 1280, 8, func(o binary.ByteOrder, b []byte, v float64) { o.PutUint64(b, uint64(v)) }, []float64{1 << 50, 1, 2, 100, 7, 3}},
	}
	for _, c := range cases {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run(c.name+"/"+order.String(), func(t *testing.T) {
				h := newHdr(order, c.dt, int16(8*c.size), 3, 2, 1)
				b := h.bytes()
				data := make([]byte, c.size*len(c.values))
				for i, v := range c.values {
					c.put(order, data[i*c.size:], v)
				}
				v := mustDecode(t, append(b, data...))
				if v.Dims != [3]int{3, 2, 1} {
					t.Fatalf("dims %v", v.Dims)
				}
				for i := range c.values {
					if v.Data[i] != c.values[i] {
						t.Errorf("voxel %d = %v, want %v", i, v.Data[i], c.values[i])
					}
				}
			})
		}
	}
}

func TestNIfTIScaling(t *testing.T) {
	for _, c := range []struct {
		slope, inter float32
		want         float64
	}{
		{0, 5, 10}, // slope 0: no scaling
		{1, -1024, -1014},
		{0.5, 2, 7},
		{float32(math.NaN()), 3, 10},
	} {
		h := newHdr(binary.LittleEndian, 4, 16, 1, 1, 1)
		h.slope, h.inter = c.slope, c.inter
		data := []byte{10, 0}
		v := mustDecode(t, append(h.bytes(), data...))
		if v.Data[0] != c.want {
			t.Errorf("slope %v inter %v: got %v, want %v", c.slope, c.inter, v.Data[0], c.want)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-5 }

func TestNIfTIGeometry(t *testing.T) {
	data := make([]byte, 8)
	t.Run("sform preferred", func(t *testing.T) {
		h := newHdr(binary.LittleEndian, 2, 8, 2, 2, 2)
		h.qcode, h.scode = 1, 2
		h.quat = [3]float32{0, 0, 1} // would flip x and y
		h.srow = [3][4]float32{{0, 0, 3, 10}, {2, 0, 0, -20}, {0, 1.5, 0, 30}}
		v := mustDecode(t, append(h.bytes(), data...))
		// RAS columns: i → +y (2 mm), j → +z (1.5), k → +x (3); LPS negates x, y.
		wantDir := [9]float64{0, 0, -1, -1, 0, 0, 0, 1, 0}
		if v.Spacing != [3]float64{2, 1.5, 3} || v.Direction != wantDir || v.Origin != [3]float64{-10, 20, 30} {
			t.Errorf("got spacing %v direction %v origin %v", v.Spacing, v.Direction, v.Origin)
		}
	})
	t.Run("qform quaternion", func(t *testing.T) {
		h := newHdr(binary.BigEndian, 2, 8, 2, 2, 2)
		h.qcode = 1
		// 90° about z: b=c=0, d=sin(45°), a=cos(45°); qfac −1 flips k.
		h.quat = [3]float32{0, 0, float32(math.Sqrt2 / 2)}
		h.pixdim = [8]float32{-1, 0.5, 0.75, 2, 1, 1, 1, 1}
		h.qoff = [3]float32{1, 2, 3}
		v := mustDecode(t, append(h.bytes(), data...))
		// RAS: i → +y, j → −x, k → −z. LPS: i → −y, j → +x, k → −z.
		want := [9]float64{0, 1, 0, -1, 0, 0, 0, 0, -1}
		for i := range want {
			if !near(v.Direction[i], want[i]) {
				t.Fatalf("direction %v, want %v", v.Direction, want)
			}
		}
		if !near(v.Spacing[0], 0.5) || !near(v.Spacing[1], 0.75) || !near(v.Spacing[2], 2) {
			t.Errorf("spacing %v", v.Spacing)
		}
		if v.Origin != [3]float64{-1, -2, 3} {
			t.Errorf("origin %v", v.Origin)
		}
	})
	t.Run("pixdim only, metres", func(t *testing.T) {
		h := newHdr(binary.LittleEndian, 2, 8, 2, 2, 2)
		h.pixdim = [8]float32{1, 0.001, 0.002, 0.003}
		h.units = 1
		v := mustDecode(t, append(h.bytes(), data...))
		if !near(v.Spacing[0], 1) || !near(v.Spacing[1], 2) || !near(v.Spacing[2], 3) {
			t.Errorf("spacing %v", v.Spacing)
		}
		if v.Direction != [9]float64{-1, 0, 0, 0, -1, 0, 0, 0, 1} {
			t.Errorf("direction %v", v.Direction)
		}
	})
	t.Run("4D with one time point", func(t *testing.T) {
		h := newHdr(binary.LittleEndian, 2, 8, 2, 2, 2, 1)
		v := mustDecode(t, append(h.bytes(), data...))
		if v.Len() != 8 {
			t.Errorf("len %d", v.Len())
		}
	})
	t.Run("2D", func(t *testing.T) {
		h := newHdr(binary.LittleEndian, 2, 8, 4, 2)
		v := mustDecode(t, append(h.bytes(), data...))
		if v.Dims != [3]int{4, 2, 1} {
			t.Errorf("dims %v", v.Dims)
		}
	})
}

func TestNIfTIErrors(t *testing.T) {
	good := newHdr(binary.LittleEndian, 4, 16, 2, 2, 2)
	data := make([]byte, 16)
	mod := func(f func(h *hdr)) []byte {
		h := good
		f(&h)
		return append(h.bytes(), data...)
	}
	nifti2 := make([]byte, 540)
	binary.LittleEndian.PutUint32(nifti2, 540)
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"empty":             {nil, "header truncated"},
		"short header":      {good.bytes()[:200], "header truncated"},
		"truncated data":    {append(good.bytes(), data[:15]...), "voxel data truncated"},
		"bad sizeof_hdr":    {mod(func(h *hdr) { h.magic = "n+1" })[4:], "not a NIfTI-1"},
		"nifti-2":           {nifti2, "NIfTI-2"},
		"bad magic":         {mod(func(h *hdr) { h.magic = "abc" }), "bad magic"},
		"two-file":          {mod(func(h *hdr) { h.magic = "ni1" }), "two-file"},
		"4D":                {mod(func(h *hdr) { h.dim = [8]int16{4, 2, 2, 2, 3} }), "only 3D"},
		"dim0":              {mod(func(h *hdr) { h.dim[0] = 0 }), "dim[0]"},
		"negative dim":      {mod(func(h *hdr) { h.dim[2] = -1 }), "dim[2]"},
		"complex":           {mod(func(h *hdr) { h.datatype, h.bitpix = 32, 64 }), "unsupported datatype complex64"},
		"rgb":               {mod(func(h *hdr) { h.datatype, h.bitpix = 128, 24 }), "unsupported datatype rgb24"},
		"bitpix":            {mod(func(h *hdr) { h.bitpix = 8 }), "bitpix"},
		"vox_offset":        {mod(func(h *hdr) { h.voxOffset = 100; h.magic = "n+1" })[:348], "vox_offset"},
		"zero spacing":      {mod(func(h *hdr) { h.pixdim[2] = 0 }), "spacing"},
		"too many voxels":   {mod(func(h *hdr) { h.dim = [8]int16{3, 32767, 32767, 32767} }), "more than"},
		"gzip garbage":      {[]byte{0x1f, 0x8b, 1, 2, 3}, "gzip"},
		"extension missing": {mod(func(h *hdr) { h.voxOffset = 2000 })[:400], "truncated before voxel data"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := imaging.DecodeNIfTI(bytes.NewReader(c.b))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestNIfTIWriteRoundTrip(t *testing.T) {
	v := &imaging.Volume{Geometry: imaging.Geometry{
		Dims: [3]int{3, 4, 2}, Spacing: [3]float64{0.5, 0.75, 2}, Origin: [3]float64{-10, 5.5, 30},
		Direction: [9]float64{0, 0, 1, 1, 0, 0, 0, 1, 0},
	}}
	for i := 0; i < v.Len(); i++ {
		v.Data = append(v.Data, float64(i)*1.5-7)
	}
	for _, gz := range []bool{false, true} {
		var buf bytes.Buffer
		if err := imaging.WriteNIfTI(&buf, v, gz); err != nil {
			t.Fatal(err)
		}
		if gz != (buf.Bytes()[0] == 0x1f) {
			t.Errorf("gz %v: first byte %x", gz, buf.Bytes()[0])
		}
		got := mustDecode(t, buf.Bytes())
		if !got.SameGrid(v.Geometry) {
			t.Errorf("gz %v: grid %+v, want %+v", gz, got.Geometry, v.Geometry)
		}
		for i := range v.Data {
			if got.Data[i] != v.Data[i] {
				t.Fatalf("voxel %d: %v, want %v", i, got.Data[i], v.Data[i])
			}
		}
	}
}

func TestReadNIfTIPhantom(t *testing.T) {
	v, err := imaging.ReadNIfTI(filepath.Join("testdata", "ibsi", "phantom.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := imaging.ReadNIfTIMask(filepath.Join("testdata", "ibsi", "mask.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Dims != [3]int{5, 4, 4} || v.Spacing != [3]float64{2, 2, 2} {
		t.Errorf("phantom dims %v spacing %v, want 5×4×4 at 2 mm", v.Dims, v.Spacing)
	}
	if n := m.Count(); n != 74 {
		t.Errorf("phantom ROI has %d voxels, want 74", n)
	}
	if err := imaging.CheckGrid(v, m); err != nil {
		t.Error(err)
	}
	if _, err := imaging.ReadNIfTI(filepath.Join("testdata", "nope.nii")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestLabelMask(t *testing.T) {
	lab := &imaging.Volume{Geometry: imaging.Geometry{Dims: [3]int{5, 1, 1}, Spacing: [3]float64{1, 1, 1}},
		Data: []float64{0, 32, 33, 31.9999, math.NaN()}}
	m, err := imaging.LabelMask(lab, 32)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, false, true, false}; !equalBools(m.In, want) {
		t.Errorf("label 32: %v, want %v", m.In, want)
	}
	m, _ = imaging.LabelMask(lab, 32, 33)
	if m.Count() != 3 {
		t.Errorf("labels 32, 33: %d voxels, want 3", m.Count())
	}
	m, _ = imaging.LabelMask(lab)
	if m.Count() != 3 {
		t.Errorf("all labels: %d voxels, want 3", m.Count())
	}
	if _, err := imaging.LabelMask(lab, math.NaN()); err == nil {
		t.Error("NaN label: no error")
	}
	other := &imaging.Mask{Geometry: lab.Geometry, In: make([]bool, 5)}
	other.Spacing[0] = 2
	if err := imaging.CheckGrid(lab, other); err == nil {
		t.Error("different spacing: CheckGrid gave no error")
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzDecodeNIfTI checks that no input makes the decoder panic or return a
// volume inconsistent with its dimensions. Seeds: testdata/fuzz and the
// phantom.
func FuzzDecodeNIfTI(f *testing.F) {
	for _, p := range []string{"phantom.nii.gz", "mask.nii.gz"} {
		b, err := os.ReadFile(filepath.Join("testdata", "ibsi", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			f.Fatal(err)
		}
		var raw bytes.Buffer
		if _, err := raw.ReadFrom(zr); err != nil {
			f.Fatal(err)
		}
		f.Add(raw.Bytes())
	}
	f.Add(newHdr(binary.BigEndian, 16, 32, 1, 1, 1).bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := imaging.DecodeNIfTI(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(v.Data) != v.Len() || v.Validate() != nil {
			t.Fatalf("inconsistent volume: dims %v, %d values", v.Dims, len(v.Data))
		}
	})
}
