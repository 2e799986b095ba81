package imaging

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// NIfTI-1 header facts (https://nifti.nimh.nih.gov/nifti-1, nifti1.h).
const (
	niftiHeaderSize = 348
	// MaxVoxels bounds the voxel count a reader accepts, so that a corrupt
	// or hostile header cannot make it allocate without limit.
	MaxVoxels = 1 << 28
)

// NIfTI-1 datatype codes.
const (
	niftiUint8   = 2
	niftiInt16   = 4
	niftiInt32   = 8
	niftiFloat32 = 16
	niftiFloat64 = 64
	niftiInt8    = 256
	niftiUint16  = 512
	niftiUint32  = 768
	niftiInt64   = 1024
	niftiUint64  = 1280
)

var niftiTypeNames = map[int16]string{
	1: "binary", 2: "uint8", 4: "int16", 8: "int32", 16: "float32", 32: "complex64",
	64: "float64", 128: "rgb24", 256: "int8", 512: "uint16", 768: "uint32",
	1024: "int64", 1280: "uint64", 1536: "float128", 1792: "complex128",
	2048: "complex256", 2304: "rgba32",
}

// niftiBytes gives the bytes per voxel of each supported datatype.
var niftiBytes = map[int16]int{
	niftiUint8: 1, niftiInt8: 1, niftiInt16: 2, niftiUint16: 2, niftiInt32: 4,
	niftiUint32: 4, niftiFloat32: 4, niftiFloat64: 8, niftiInt64: 8, niftiUint64: 8,
}

// NIfTIHeader is the part of a NIfTI-1 header the reader uses.
type NIfTIHeader struct {
	Order      binary.ByteOrder
	Dim        [8]int16
	Datatype   int16
	Bitpix     int16
	Pixdim     [8]float32
	VoxOffset  float32
	SclSlope   float32
	SclInter   float32
	XYZTUnits  uint8
	QformCode  int16
	SformCode  int16
	Quatern    [3]float32 // b, c, d
	QOffset    [3]float32
	Srow       [3][4]float32
	Magic      string // "n+1" (single file) or "ni1" (header of a .hdr/.img pair)
	Descrip    string
	DataType   string // name of Datatype, e.g. "int16"
	spatialLen int
}

// ParseNIfTIHeader decodes and checks the 348-byte NIfTI-1 header in b.
// The byte order is detected from sizeof_hdr.
func ParseNIfTIHeader(b []byte) (*NIfTIHeader, error) {
	if len(b) < niftiHeaderSize {
		return nil, fmt.Errorf("nifti: header truncated: %d of %d bytes", len(b), niftiHeaderSize)
	}
	h := &NIfTIHeader{}
	switch {
	case binary.LittleEndian.Uint32(b) == niftiHeaderSize:
		h.Order = binary.LittleEndian
	case binary.BigEndian.Uint32(b) == niftiHeaderSize:
		h.Order = binary.BigEndian
	case binary.LittleEndian.Uint32(b) == 540 || binary.BigEndian.Uint32(b) == 540:
		return nil, errors.New("nifti: NIfTI-2 files are not supported (sizeof_hdr 540)")
	default:
		return nil, fmt.Errorf("nifti: not a NIfTI-1 file (sizeof_hdr %d)", binary.LittleEndian.Uint32(b))
	}
	o := h.Order
	i16 := func(off int) int16 { return int16(o.Uint16(b[off:])) }
	f32 := func(off int) float32 { return math.Float32frombits(o.Uint32(b[off:])) }
	for i := range h.Dim {
		h.Dim[i] = i16(40 + 2*i)
	}
	h.Datatype = i16(70)
	h.Bitpix = i16(72)
	for i := range h.Pixdim {
		h.Pixdim[i] = f32(76 + 4*i)
	}
	h.VoxOffset = f32(108)
	h.SclSlope = f32(112)
	h.SclInter = f32(116)
	h.XYZTUnits = b[123]
	h.Descrip = cString(b[148:228])
	h.QformCode = i16(252)
	h.SformCode = i16(254)
	for i := 0; i < 3; i++ {
		h.Quatern[i] = f32(256 + 4*i)
		h.QOffset[i] = f32(268 + 4*i)
		for j := 0; j < 4; j++ {
			h.Srow[i][j] = f32(280 + 16*i + 4*j)
		}
	}
	h.Magic = cString(b[344:348])
	h.DataType = niftiTypeNames[h.Datatype]
	if h.DataType == "" {
		h.DataType = fmt.Sprintf("code %d", h.Datatype)
	}
	if err := h.check(); err != nil {
		return nil, err
	}
	return h, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func (h *NIfTIHeader) check() error {
	switch h.Magic {
	case "n+1":
	case "ni1":
		return errors.New("nifti: two-file NIfTI (.hdr/.img pair) is not supported; convert to .nii")
	default:
		return fmt.Errorf("nifti: bad magic %q (want \"n+1\")", h.Magic)
	}
	nd := int(h.Dim[0])
	if nd < 1 || nd > 7 {
		return fmt.Errorf("nifti: dim[0] = %d, want 1..7", nd)
	}
	n := 1
	for i := 1; i <= nd; i++ {
		if h.Dim[i] < 1 {
			return fmt.Errorf("nifti: dim[%d] = %d, want ≥ 1", i, h.Dim[i])
		}
		if i > 3 && h.Dim[i] != 1 {
			return fmt.Errorf("nifti: %d-dimensional image (dim[%d] = %d): only 3D volumes (or 4D with one time point) are supported", nd, i, h.Dim[i])
		}
		n *= int(h.Dim[i])
		if n > MaxVoxels {
			return fmt.Errorf("nifti: more than %d voxels", MaxVoxels)
		}
	}
	h.spatialLen = n
	size, ok := niftiBytes[h.Datatype]
	if !ok {
		return fmt.Errorf("nifti: unsupported datatype %s", h.DataType)
	}
	if int(h.Bitpix) != 8*size {
		return fmt.Errorf("nifti: bitpix %d does not match datatype %s", h.Bitpix, h.DataType)
	}
	if !(h.VoxOffset >= niftiHeaderSize) || h.VoxOffset > 1<<24 {
		return fmt.Errorf("nifti: vox_offset %v out of range", h.VoxOffset)
	}
	return nil
}

// dims returns the spatial dimensions, 1 for axes beyond dim[0].
func (h *NIfTIHeader) dims() [3]int {
	d := [3]int{1, 1, 1}
	for i := 0; i < 3 && i < int(h.Dim[0]); i++ {
		d[i] = int(h.Dim[i+1])
	}
	return d
}

// unitScale converts the header's spatial unit to millimetres; an unknown
// unit (0) is taken as millimetres.
func (h *NIfTIHeader) unitScale() float64 {
	switch h.XYZTUnits & 0x07 {
	case 1: // metre
		return 1000
	case 3: // micron
		return 0.001
	default:
		return 1
	}
}

// Geometry derives the voxel grid in LPS millimetres: from the sform when
// sform_code > 0, else from the qform quaternion when qform_code > 0, else
// from pixdim alone (axes along RAS, origin 0). NIfTI world coordinates
// are RAS and are converted to LPS by negating x and y.
func (h *NIfTIHeader) Geometry() (Geometry, error) {
	g := Geometry{Dims: h.dims()}
	var aff [3][4]float64 // RAS affine: world = aff · (i, j, k, 1)
	switch {
	case h.SformCode > 0:
		for r := 0; r < 3; r++ {
			for c := 0; c < 4; c++ {
				aff[r][c] = float64(h.Srow[r][c])
			}
		}
	case h.QformCode > 0:
		b, c, d := float64(h.Quatern[0]), float64(h.Quatern[1]), float64(h.Quatern[2])
		a := 1 - (b*b + c*c + d*d)
		if a < 1e-7 {
			s := 1 / math.Sqrt(b*b+c*c+d*d)
			b, c, d, a = b*s, c*s, d*s, 0
		} else {
			a = math.Sqrt(a)
		}
		rot := [3][3]float64{
			{a*a + b*b - c*c - d*d, 2*b*c - 2*a*d, 2*b*d + 2*a*c},
			{2*b*c + 2*a*d, a*a + c*c - b*b - d*d, 2*c*d - 2*a*b},
			{2*b*d - 2*a*c, 2*c*d + 2*a*b, a*a + d*d - c*c - b*b},
		}
		qfac := 1.0
		if h.Pixdim[0] < 0 {
			qfac = -1
		}
		sp := [3]float64{math.Abs(float64(h.Pixdim[1])), math.Abs(float64(h.Pixdim[2])), qfac * math.Abs(float64(h.Pixdim[3]))}
		for r := 0; r < 3; r++ {
			for c := 0; c < 3; c++ {
				aff[r][c] = rot[r][c] * sp[c]
			}
			aff[r][3] = float64(h.QOffset[r])
		}
	default:
		for c := 0; c < 3; c++ {
			aff[c][c] = math.Abs(float64(h.Pixdim[c+1]))
		}
	}
	u := h.unitScale()
	for c := 0; c < 3; c++ {
		norm := math.Sqrt(aff[0][c]*aff[0][c] + aff[1][c]*aff[1][c] + aff[2][c]*aff[2][c])
		if !(norm > 0) || math.IsInf(norm, 0) {
			return Geometry{}, fmt.Errorf("nifti: axis %d has spacing %v", c, norm)
		}
		g.Spacing[c] = norm * u
		for r := 0; r < 3; r++ {
			v := aff[r][c] / norm
			if r < 2 {
				v = -v // RAS → LPS
			}
			g.Direction[3*r+c] = v + 0
		}
	}
	for r := 0; r < 3; r++ {
		v := aff[r][3] * u
		if r < 2 {
			v = -v
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Geometry{}, fmt.Errorf("nifti: origin is %v", v)
		}
		g.Origin[r] = v + 0 // +0 turns -0 into 0
	}
	return g, g.Validate()
}

// ReadNIfTI reads a NIfTI-1 volume from a .nii or .nii.gz file (gzip is
// detected from the content, not the name).
func ReadNIfTI(path string) (*Volume, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read nifti: %w", err)
	}
	defer f.Close()
	v, err := DecodeNIfTI(f)
	if err != nil {
		return nil, fmt.Errorf("read nifti %s: %w", path, err)
	}
	return v, nil
}

// DecodeNIfTI decodes a NIfTI-1 single-file volume (optionally gzipped)
// from r. Intensities are scaled by scl_slope and scl_inter unless
// scl_slope is 0 (or not finite). Only as many bytes as the header
// announces are read.
func DecodeNIfTI(r io.Reader) (*Volume, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("nifti: gzip: %w", err)
		}
		defer zr.Close()
		return decodeNIfTI(zr)
	}
	return decodeNIfTI(br)
}

func decodeNIfTI(r io.Reader) (*Volume, error) {
	hb := make([]byte, niftiHeaderSize)
	if n, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("nifti: header truncated: %d of %d bytes: %w", n, niftiHeaderSize, err)
	}
	h, err := ParseNIfTIHeader(hb)
	if err != nil {
		return nil, err
	}
	g, err := h.Geometry()
	if err != nil {
		return nil, err
	}
	skip := int64(h.VoxOffset) - niftiHeaderSize
	if n, err := io.CopyN(io.Discard, r, skip); err != nil {
		return nil, fmt.Errorf("nifti: truncated before voxel data (%d of %d extension bytes): %w", n, skip, err)
	}
	size := niftiBytes[h.Datatype]
	n := h.spatialLen
	v := &Volume{Geometry: g, Data: make([]float64, n)}
	// Read in chunks so a truncated file fails before a huge allocation.
	const chunk = 1 << 16
	buf := make([]byte, chunk*size)
	for start := 0; start < n; start += chunk {
		m := min(chunk, n-start)
		if got, err := io.ReadFull(r, buf[:m*size]); err != nil {
			return nil, fmt.Errorf("nifti: voxel data truncated: %d of %d bytes: %w", start*size+got, n*size, err)
		}
		decodeVoxels(v.Data[start:start+m], buf[:m*size], h.Datatype, h.Order)
	}
	slope, inter := float64(h.SclSlope), float64(h.SclInter)
	if slope != 0 && !math.IsNaN(slope) && !math.IsInf(slope, 0) {
		if math.IsNaN(inter) || math.IsInf(inter, 0) {
			inter = 0
		}
		if slope != 1 || inter != 0 {
			for i, x := range v.Data {
				v.Data[i] = slope*x + inter
			}
		}
	}
	return v, nil
}

func decodeVoxels(dst []float64, b []byte, dt int16, o binary.ByteOrder) {
	for i := range dst {
		switch dt {
		case niftiUint8:
			dst[i] = float64(b[i])
		case niftiInt8:
			dst[i] = float64(int8(b[i]))
		case niftiInt16:
			dst[i] = float64(int16(o.Uint16(b[2*i:])))
		case niftiUint16:
			dst[i] = float64(o.Uint16(b[2*i:]))
		case niftiInt32:
			dst[i] = float64(int32(o.Uint32(b[4*i:])))
		case niftiUint32:
			dst[i] = float64(o.Uint32(b[4*i:]))
		case niftiFloat32:
			dst[i] = float64(math.Float32frombits(o.Uint32(b[4*i:])))
		case niftiFloat64:
			dst[i] = math.Float64frombits(o.Uint64(b[8*i:]))
		case niftiInt64:
			dst[i] = float64(int64(o.Uint64(b[8*i:])))
		case niftiUint64:
			dst[i] = float64(o.Uint64(b[8*i:]))
		}
	}
}

// WriteNIfTI writes v as a gzip-compressed (gz true) or plain NIfTI-1
// file with float32 voxels, little-endian, the geometry in the sform
// (sform_code 1, scanner) and qform_code 0.
func WriteNIfTI(w io.Writer, v *Volume, gz bool) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("write nifti: %w", err)
	}
	if len(v.Data) != v.Len() {
		return fmt.Errorf("write nifti: %d values for %d voxels", len(v.Data), v.Len())
	}
	hb := make([]byte, 352)
	o := binary.LittleEndian
	o.PutUint32(hb[0:], niftiHeaderSize)
	hb[38] = 'r'
	o.PutUint16(hb[40:], 3)
	for i := 0; i < 3; i++ {
		o.PutUint16(hb[42+2*i:], uint16(v.Dims[i]))
	}
	for i := 3; i < 7; i++ {
		o.PutUint16(hb[42+2*i:], 1)
	}
	o.PutUint16(hb[70:], niftiFloat32)
	o.PutUint16(hb[72:], 32)
	put := func(off int, x float64) { o.PutUint32(hb[off:], math.Float32bits(float32(x))) }
	put(76, 1)
	for i := 0; i < 3; i++ {
		put(80+4*i, v.Spacing[i])
	}
	put(108, 352)
	put(112, 1)
	hb[123] = 2 // mm
	o.PutUint16(hb[254:], 1)
	for r := 0; r < 3; r++ {
		sign := 1.0
		if r < 2 {
			sign = -1 // LPS → RAS
		}
		for c := 0; c < 3; c++ {
			put(280+16*r+4*c, sign*v.Direction[3*r+c]*v.Spacing[c])
		}
		put(280+16*r+12, sign*v.Origin[r])
	}
	copy(hb[344:], "n+1\x00")
	var out io.Writer = w
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(w)
		out = zw
	}
	bw := bufio.NewWriter(out)
	if _, err := bw.Write(hb); err != nil {
		return fmt.Errorf("write nifti: %w", err)
	}
	var b4 [4]byte
	for _, x := range v.Data {
		o.PutUint32(b4[:], math.Float32bits(float32(x)))
		if _, err := bw.Write(b4[:]); err != nil {
			return fmt.Errorf("write nifti: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write nifti: %w", err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("write nifti: %w", err)
		}
	}
	return nil
}
