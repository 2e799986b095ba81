package models

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// A cell is missing when it is empty or one of these spellings (case
// insensitive): R's NA, N/A, SQL NULL, a lone dot (SAS/Stata). NaN and Inf
// are not missing spellings but errors: they usually mean a computation
// upstream went wrong, and silently treating them as missing would hide it.
var missingSpellings = map[string]bool{"": true, "na": true, "n/a": true, "null": true, ".": true}

// IsMissing reports whether a CSV cell stands for a missing value.
func IsMissing(cell string) bool {
	return missingSpellings[strings.ToLower(strings.TrimSpace(cell))]
}

// CellError locates a problem in a CSV file. Row is the 1-based data row
// (the header is row 0); Line is the line number in the file.
type CellError struct {
	Line   int
	Row    int
	Column string
	Err    error
}

func (e *CellError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d (row %d): %v", e.Line, e.Row, e.Err)
	}
	return fmt.Sprintf("line %d (row %d), column %q: %v", e.Line, e.Row, e.Column, e.Err)
}

func (e *CellError) Unwrap() error { return e.Err }

// ParseValue parses a numeric cell: a missing cell (see IsMissing) gives
// NaN; NaN, Inf and anything that is not a number are errors.
func ParseValue(cell string) (float64, error) {
	if IsMissing(cell) {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", cell)
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a finite number (leave the cell empty or write NA for a missing value)", cell)
	}
	return v, nil
}

// RowReader streams a CSV file with a header row, checking that every row
// has as many cells as the header.
type RowReader struct {
	r      *csv.Reader
	header []string
	index  map[string]int
	row    int
}

// NewRowReader reads the header of a CSV stream. An empty stream, an empty
// header cell or a duplicated column name is an error.
func NewRowReader(r io.Reader) (*RowReader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // we check raggedness ourselves, with a better message
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: a header row is required")
	}
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	rr := &RowReader{r: cr, header: make([]string, len(header)), index: make(map[string]int, len(header))}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			return nil, &CellError{Line: 1, Column: fmt.Sprintf("#%d", i+1), Err: errors.New("empty column name in the header")}
		}
		if _, dup := rr.index[h]; dup {
			return nil, &CellError{Line: 1, Column: h, Err: errors.New("column name appears twice in the header")}
		}
		rr.header[i] = h
		rr.index[h] = i
	}
	return rr, nil
}

// Header returns the column names in file order.
func (rr *RowReader) Header() []string { return rr.header }

// Index returns the position of a column, or -1.
func (rr *RowReader) Index(name string) int {
	if i, ok := rr.index[name]; ok {
		return i
	}
	return -1
}

// Row is the 1-based number of the last data row read.
func (rr *RowReader) Row() int { return rr.row }

// Next returns the next data row; the slice is reused by the following call.
// It returns io.EOF at the end.
func (rr *RowReader) Next() ([]string, error) {
	rec, err := rr.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &CellError{Line: pe.Line, Row: rr.row + 1, Err: pe.Err}
		}
		return nil, err
	}
	rr.row++
	if len(rec) != len(rr.header) {
		line, _ := rr.r.FieldPos(0)
		return nil, &CellError{Line: line, Row: rr.row, Err: fmt.Errorf("%d cells, the header has %d (ragged row)", len(rec), len(rr.header))}
	}
	return rec, nil
}

// CellErr builds a CellError for column col of the last row read.
func (rr *RowReader) CellErr(col int, err error) error {
	line, _ := rr.r.FieldPos(col)
	return &CellError{Line: line, Row: rr.row, Column: rr.header[col], Err: err}
}

// Table is a training set read from CSV: raw feature values (NaN where
// missing) and the binary target.
type Table struct {
	Target   string // the outcome column
	Positive string // its value that counts as an event
	Features []string
	X        [][]float64 // X[i][j], NaN = missing
	Y        []bool
	Missing  []int // per feature, number of missing cells
	// NoTarget counts the rows left out because their target cell was
	// empty (an outcome that does not apply, e.g. TFESI response after
	// surgery).
	NoTarget int
}

// ReadTable reads a whole CSV training file. target names the outcome
// column and positive the value that counts as an event; every other value
// of the target is a non-event; rows whose target is missing are left out
// and counted in NoTarget. features
// selects and orders the feature columns; nil means every column but the
// target (and but exclude, e.g. an id column).
func ReadTable(r io.Reader, target, positive string, features []string, exclude ...string) (*Table, error) {
	rr, err := NewRowReader(r)
	if err != nil {
		return nil, err
	}
	ti := rr.Index(target)
	if ti < 0 {
		return nil, fmt.Errorf("target column %q is not in the header (columns: %s)", target, strings.Join(rr.Header(), ", "))
	}
	skip := map[string]bool{target: true}
	for _, e := range exclude {
		if rr.Index(e) < 0 {
			return nil, fmt.Errorf("column %q is not in the header", e)
		}
		skip[e] = true
	}
	var cols []int
	allColumns := features == nil
	if allColumns {
		for i, h := range rr.Header() {
			if !skip[h] {
				cols = append(cols, i)
				features = append(features, h)
			}
		}
	} else {
		seen := map[string]bool{}
		for _, f := range features {
			if seen[f] {
				return nil, fmt.Errorf("feature %q is listed twice", f)
			}
			seen[f] = true
			if f == target {
				return nil, fmt.Errorf("feature %q is the target column", f)
			}
			i := rr.Index(f)
			if i < 0 {
				return nil, fmt.Errorf("feature column %q is not in the header (columns: %s)", f, strings.Join(rr.Header(), ", "))
			}
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		return nil, errors.New("no feature columns: the file holds only the target")
	}
	t := &Table{Target: target, Positive: positive, Features: append([]string(nil), features...), Missing: make([]int, len(cols))}
	var pos, neg int
	for {
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		tv := strings.TrimSpace(rec[ti])
		if IsMissing(tv) {
			t.NoTarget++
			continue
		}
		yi := tv == positive
		if yi {
			pos++
		} else {
			neg++
		}
		row := make([]float64, len(cols))
		for j, c := range cols {
			v, err := ParseValue(rec[c])
			if err != nil {
				if allColumns {
					err = fmt.Errorf("%w (every column but the target is a feature unless features are listed)", err)
				}
				return nil, rr.CellErr(c, err)
			}
			if math.IsNaN(v) {
				t.Missing[j]++
			}
			row[j] = v
		}
		t.X = append(t.X, row)
		t.Y = append(t.Y, yi)
	}
	if len(t.X) == 0 {
		if t.NoTarget > 0 {
			return nil, fmt.Errorf("none of the %d rows has a value in the target column %q", t.NoTarget, target)
		}
		return nil, errors.New("the file has a header but no data rows")
	}
	if pos == 0 {
		return nil, fmt.Errorf("target %q never equals the positive value %q: one class only", target, positive)
	}
	if neg == 0 {
		return nil, fmt.Errorf("target %q always equals the positive value %q: one class only", target, positive)
	}
	for j, m := range t.Missing {
		if m == len(t.X) {
			return nil, fmt.Errorf("feature %q is missing in every row", t.Features[j])
		}
	}
	return t, nil
}
