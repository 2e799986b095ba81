package imaging

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// Transfer syntaxes whose pixel data the DICOM reader decodes: the
// uncompressed ones. Every other (JPEG, JPEG-LS, JPEG 2000, RLE, deflate,
// video) is reported by ErrUnsupportedTransferSyntax.
var dicomNative = map[string]bool{
	uid.ImplicitVRLittleEndian: true,
	uid.ExplicitVRLittleEndian: true,
	uid.ExplicitVRBigEndian:    true,
}

// ErrUnsupportedTransferSyntax is wrapped by the error returned for a series
// whose pixel data are encoded with a transfer syntax the reader cannot
// decode (compressed). The message names the UID and the syntax.
var ErrUnsupportedTransferSyntax = errors.New("unsupported transfer syntax")

// DICOMSeries describes one series found in a directory.
type DICOMSeries struct {
	// UID is the SeriesInstanceUID; empty in anonymised files that blank it.
	UID string
	// Key groups the files: UID when set, else a description built from
	// FrameOfReferenceUID, SeriesNumber and SeriesDescription.
	Key            string
	Modality       string
	Description    string
	TransferSyntax string // UID of the first file's transfer syntax
	Files          []string
}

// dicomSlice is the header of one image file of a series.
type dicomSlice struct {
	file            string
	series          string // grouping key (see DICOMSeries.Key)
	uid             string
	modality, descr string
	ts              string
	rows, cols      int
	iop             [6]float64
	ipp             [3]float64
	hasGeom         bool
	pixSpacing      [2]float64
	slope, inter    float64
	thickness       float64
	between         float64
	frames          int
}

// ListDICOMSeries parses the headers of the regular files in dir (not
// recursive; files that are not DICOM are skipped) and groups them by
// SeriesInstanceUID (or, when files lack one, by frame of reference, series
// number and description), sorted by Key.
func ListDICOMSeries(dir string) ([]DICOMSeries, error) {
	slices, err := scanDICOMDir(dir)
	if err != nil {
		return nil, err
	}
	by := map[string]*DICOMSeries{}
	for _, s := range slices {
		ser := by[s.series]
		if ser == nil {
			ser = &DICOMSeries{UID: s.uid, Key: s.series, Modality: s.modality, Description: s.descr, TransferSyntax: s.ts}
			by[s.series] = ser
		}
		ser.Files = append(ser.Files, s.file)
	}
	out := make([]DICOMSeries, 0, len(by))
	for _, s := range by {
		sort.Strings(s.Files)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func scanDICOMDir(dir string) ([]*dicomSlice, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read dicom directory: %w", err)
	}
	var out []*dicomSlice
	var firstErr error
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		s, err := readDICOMHeader(p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		if firstErr != nil {
			return nil, fmt.Errorf("read dicom directory %s: no readable dicom image: %w", dir, firstErr)
		}
		return nil, fmt.Errorf("read dicom directory %s: no dicom files", dir)
	}
	return out, nil
}

// parseDICOM parses a file, turning a panic of the parser on malformed
// input into an error.
func parseDICOM(path string, opts ...dicom.ParseOption) (ds dicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dicom %s: malformed file: %v", filepath.Base(path), r)
		}
	}()
	ds, err = dicom.ParseFile(path, nil, opts...)
	if err != nil {
		return ds, fmt.Errorf("dicom %s: %w", filepath.Base(path), err)
	}
	return ds, nil
}

func readDICOMHeader(path string) (*dicomSlice, error) {
	ds, err := parseDICOM(path, dicom.SkipPixelData())
	if err != nil {
		return nil, err
	}
	s := &dicomSlice{file: path, slope: 1, frames: 1}
	name := filepath.Base(path)
	s.uid = dsString(&ds, tag.SeriesInstanceUID)
	s.series = s.uid
	if s.uid == "" {
		// Anonymised files may blank the UID: group by what identifies the
		// acquisition instead.
		num, _ := dsInt(&ds, tag.SeriesNumber)
		s.series = fmt.Sprintf("no SeriesInstanceUID: frame of reference %q, series number %d, description %q",
			dsString(&ds, tag.FrameOfReferenceUID), num, dsString(&ds, tag.SeriesDescription))
	}
	s.modality = dsString(&ds, tag.Modality)
	s.descr = dsString(&ds, tag.SeriesDescription)
	s.ts = dsString(&ds, tag.TransferSyntaxUID)
	if s.rows, err = dsInt(&ds, tag.Rows); err != nil {
		return nil, fmt.Errorf("dicom %s: rows: %w", name, err)
	}
	if s.cols, err = dsInt(&ds, tag.Columns); err != nil {
		return nil, fmt.Errorf("dicom %s: columns: %w", name, err)
	}
	iop, err1 := dsFloats(&ds, tag.ImageOrientationPatient, 6)
	ipp, err2 := dsFloats(&ds, tag.ImagePositionPatient, 3)
	ps, err3 := dsFloats(&ds, tag.PixelSpacing, 2)
	if err1 == nil && err2 == nil && err3 == nil {
		s.hasGeom = true
		copy(s.iop[:], iop)
		copy(s.ipp[:], ipp)
		copy(s.pixSpacing[:], ps)
	}
	if v, err := dsFloats(&ds, tag.RescaleSlope, 1); err == nil {
		s.slope = v[0]
	}
	if v, err := dsFloats(&ds, tag.RescaleIntercept, 1); err == nil {
		s.inter = v[0]
	}
	if v, err := dsFloats(&ds, tag.SliceThickness, 1); err == nil {
		s.thickness = v[0]
	}
	if v, err := dsFloats(&ds, tag.SpacingBetweenSlices, 1); err == nil {
		s.between = v[0]
	}
	if n, err := dsInt(&ds, tag.NumberOfFrames); err == nil {
		s.frames = n
	}
	return s, nil
}

func dsString(ds *dicom.Dataset, t tag.Tag) string {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil || e.Value.ValueType() != dicom.Strings {
		return ""
	}
	v, _ := e.Value.GetValue().([]string)
	if len(v) == 0 {
		return ""
	}
	return strings.TrimRight(strings.TrimSpace(v[0]), "\x00")
}

func dsInt(ds *dicom.Dataset, t tag.Tag) (int, error) {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return 0, fmt.Errorf("element %v missing", t)
	}
	switch e.Value.ValueType() {
	case dicom.Ints:
		v, _ := e.Value.GetValue().([]int)
		if len(v) > 0 {
			return v[0], nil
		}
	case dicom.Strings:
		v, _ := e.Value.GetValue().([]string)
		if len(v) > 0 {
			n, err := strconv.Atoi(strings.TrimSpace(v[0]))
			if err == nil {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("element %v not an integer", t)
}

func dsFloats(ds *dicom.Dataset, t tag.Tag, n int) ([]float64, error) {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil, fmt.Errorf("element %v missing", t)
	}
	var out []float64
	switch e.Value.ValueType() {
	case dicom.Strings:
		v, _ := e.Value.GetValue().([]string)
		for _, s := range v {
			// Some writers pack a multi-valued DS into one backslash-separated string.
			for _, p := range strings.Split(s, `\`) {
				f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimRight(p, "\x00")), 64)
				if err != nil {
					return nil, fmt.Errorf("element %v: %w", t, err)
				}
				out = append(out, f)
			}
		}
	case dicom.Floats:
		v, _ := e.Value.GetValue().([]float64)
		out = append(out, v...)
	case dicom.Ints:
		v, _ := e.Value.GetValue().([]int)
		for _, x := range v {
			out = append(out, float64(x))
		}
	}
	if len(out) != n {
		return nil, fmt.Errorf("element %v has %d values, want %d", t, len(out), n)
	}
	for _, f := range out {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("element %v is not finite", t)
		}
	}
	return out, nil
}

func transferSyntaxName(ts string) string {
	if info, err := uid.Lookup(ts); err == nil {
		return info.Name
	}
	return "unknown"
}

// ReadDICOMSeries reads one series of single-frame images from dir into a
// volume: slices ordered along the slice normal (the cross product of
// ImageOrientationPatient's row and column cosines) by
// ImagePositionPatient, RescaleSlope/RescaleIntercept applied (Hounsfield
// units for CT), spacing from PixelSpacing and the distance between
// slice positions, which must be uniform (to 1 % or 0.01 mm). series is a
// SeriesInstanceUID or a DICOMSeries.Key; "" selects the only series in dir
// and is an error when there are several.
// A compressed transfer syntax gives an error wrapping
// ErrUnsupportedTransferSyntax.
func ReadDICOMSeries(dir, series string) (*Volume, error) {
	all, err := scanDICOMDir(dir)
	if err != nil {
		return nil, err
	}
	var sl []*dicomSlice
	uids := map[string]bool{}
	for _, s := range all {
		uids[s.series] = true
		if series == "" || s.series == series || s.uid == series {
			sl = append(sl, s)
		}
	}
	if series == "" && len(uids) > 1 {
		list := make([]string, 0, len(uids))
		for u := range uids {
			list = append(list, u)
		}
		sort.Strings(list)
		return nil, fmt.Errorf("read dicom series: %s holds %d series (%s): choose one", dir, len(uids), strings.Join(list, "; "))
	}
	if len(sl) == 0 {
		return nil, fmt.Errorf("read dicom series: no series %s in %s", series, dir)
	}
	v, err := assembleSeries(sl)
	if err != nil {
		return nil, fmt.Errorf("read dicom series in %s: %w", dir, err)
	}
	return v, nil
}

func assembleSeries(sl []*dicomSlice) (*Volume, error) {
	first := sl[0]
	for _, s := range sl {
		if !dicomNative[s.ts] {
			return nil, fmt.Errorf("%w %s (%s) in %s: only uncompressed pixel data (implicit or explicit VR little endian, explicit VR big endian) can be read; decompress the series first",
				ErrUnsupportedTransferSyntax, s.ts, transferSyntaxName(s.ts), filepath.Base(s.file))
		}
		if s.frames != 1 {
			return nil, fmt.Errorf("%s: multi-frame images (%d frames) are not supported", filepath.Base(s.file), s.frames)
		}
		if !s.hasGeom {
			return nil, fmt.Errorf("%s: missing or malformed ImageOrientationPatient, ImagePositionPatient or PixelSpacing", filepath.Base(s.file))
		}
		if s.rows != first.rows || s.cols != first.cols {
			return nil, fmt.Errorf("%s: %d×%d pixels, first slice %d×%d", filepath.Base(s.file), s.cols, s.rows, first.cols, first.rows)
		}
		for c := 0; c < 6; c++ {
			if math.Abs(s.iop[c]-first.iop[c]) > 1e-4 {
				return nil, fmt.Errorf("%s: image orientation differs from the first slice", filepath.Base(s.file))
			}
		}
		if math.Abs(s.pixSpacing[0]-first.pixSpacing[0]) > 1e-4 || math.Abs(s.pixSpacing[1]-first.pixSpacing[1]) > 1e-4 {
			return nil, fmt.Errorf("%s: pixel spacing differs from the first slice", filepath.Base(s.file))
		}
	}
	if first.rows < 1 || first.cols < 1 || first.rows*first.cols*len(sl) > MaxVoxels {
		return nil, fmt.Errorf("bad image size %d×%d×%d", first.cols, first.rows, len(sl))
	}
	row := [3]float64{first.iop[0], first.iop[1], first.iop[2]}
	col := [3]float64{first.iop[3], first.iop[4], first.iop[5]}
	if math.Abs(norm3(row)-1) > 1e-3 || math.Abs(norm3(col)-1) > 1e-3 || math.Abs(dot3(row, col)) > 1e-3 {
		return nil, fmt.Errorf("image orientation %v is not two orthonormal vectors", first.iop)
	}
	row, col = unit3(row), unit3(col)
	nrm := cross3(row, col)
	pos := make([]float64, len(sl))
	for i, s := range sl {
		pos[i] = dot3(s.ipp, nrm)
	}
	idx := make([]int, len(sl))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pos[idx[a]] < pos[idx[b]] })
	ordered := make([]*dicomSlice, len(sl))
	for i, j := range idx {
		ordered[i] = sl[j]
	}
	// Slice spacing: distances between consecutive positions along the normal.
	dz := first.between
	if dz <= 0 {
		dz = first.thickness
	}
	if len(ordered) > 1 {
		p0, pn := pos[idx[0]], pos[idx[len(idx)-1]]
		dz = (pn - p0) / float64(len(ordered)-1)
		if !(dz > 1e-6) {
			return nil, errors.New("slices share one position: duplicate images or several acquisitions in one series")
		}
		for i := 1; i < len(ordered); i++ {
			d := pos[idx[i]] - pos[idx[i-1]]
			if math.Abs(d-dz) > math.Max(0.01, 0.01*dz) {
				return nil, fmt.Errorf("non-uniform slice spacing: %.4g mm between slices %d and %d, mean %.4g mm (missing slice?)", d, i-1, i, dz)
			}
			// The step between positions must lie along the normal (no gantry tilt).
			var step [3]float64
			for c := 0; c < 3; c++ {
				step[c] = ordered[i].ipp[c] - ordered[i-1].ipp[c]
			}
			if off := norm3(sub3(step, scale3(nrm, d))); off > math.Max(0.01, 0.01*d) {
				return nil, fmt.Errorf("slice positions deviate %.3g mm from the slice normal (gantry tilt or sheared series): not supported", off)
			}
		}
	}
	if !(dz > 0) {
		return nil, errors.New("single slice without SliceThickness or SpacingBetweenSlices")
	}
	g := Geometry{
		Dims:    [3]int{first.cols, first.rows, len(ordered)},
		Spacing: [3]float64{first.pixSpacing[1], first.pixSpacing[0], dz},
		Origin:  ordered[0].ipp,
	}
	for r := 0; r < 3; r++ {
		g.Direction[3*r+0] = row[r]
		g.Direction[3*r+1] = col[r]
		g.Direction[3*r+2] = nrm[r]
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	v := &Volume{Geometry: g, Data: make([]float64, g.Len())}
	plane := first.rows * first.cols
	for k, s := range ordered {
		if err := readDICOMPixels(s, v.Data[k*plane:(k+1)*plane]); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// readDICOMPixels decodes the native pixel data of one slice into dst,
// with the sign of PixelRepresentation, BitsStored masking and rescale.
func readDICOMPixels(s *dicomSlice, dst []float64) error {
	name := filepath.Base(s.file)
	ds, err := parseDICOM(s.file)
	if err != nil {
		return err
	}
	if n, err := dsInt(&ds, tag.SamplesPerPixel); err == nil && n != 1 {
		return fmt.Errorf("%s: %d samples per pixel: only greyscale images are supported", name, n)
	}
	signed := false
	if n, err := dsInt(&ds, tag.PixelRepresentation); err == nil && n == 1 {
		signed = true
	}
	allocated, err := dsInt(&ds, tag.BitsAllocated)
	if err != nil {
		return fmt.Errorf("%s: bits allocated: %w", name, err)
	}
	stored, err := dsInt(&ds, tag.BitsStored)
	if err != nil || stored < 1 || stored > allocated {
		stored = allocated
	}
	if allocated != 8 && allocated != 16 && allocated != 32 {
		return fmt.Errorf("%s: %d bits allocated: not supported", name, allocated)
	}
	e, err := ds.FindElementByTag(tag.PixelData)
	if err != nil || e.Value == nil || e.Value.ValueType() != dicom.PixelData {
		return fmt.Errorf("%s: no pixel data", name)
	}
	info, ok := e.Value.GetValue().(dicom.PixelDataInfo)
	if !ok || len(info.Frames) != 1 || info.ParseErr != nil {
		return fmt.Errorf("%s: pixel data unreadable", name)
	}
	fr := info.Frames[0]
	if fr.Encapsulated {
		return fmt.Errorf("%s: %w %s (%s): encapsulated pixel data", name, ErrUnsupportedTransferSyntax, s.ts, transferSyntaxName(s.ts))
	}
	nf := fr.NativeData
	if nf.Rows != s.rows || nf.Cols != s.cols || len(nf.Data) != len(dst) {
		return fmt.Errorf("%s: pixel data holds %d pixels, want %d×%d", name, len(nf.Data), s.cols, s.rows)
	}
	mask := uint64(1)<<uint(stored) - 1
	signBit := uint64(1) << uint(stored-1)
	for i, px := range nf.Data {
		if len(px) != 1 {
			return fmt.Errorf("%s: pixel %d has %d samples", name, i, len(px))
		}
		u := uint64(uint32(px[0])) & mask
		x := float64(u)
		if signed && u&signBit != 0 {
			x = float64(int64(u) - int64(mask) - 1)
		}
		dst[i] = s.slope*x + s.inter
	}
	return nil
}

func scale3(a [3]float64, s float64) [3]float64 {
	return [3]float64{a[0] * s, a[1] * s, a[2] * s}
}
func unit3(a [3]float64) [3]float64 { return scale3(a, 1/norm3(a)) }
