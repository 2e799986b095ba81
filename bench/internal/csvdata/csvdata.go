// Package csvdata reads the benchmark CSV files written by cmd/gendata: a
// header row, numeric feature columns and a final 0/1 label column. Every Go
// tool in the bench module reads its data through this package so that all
// of them see exactly the same numbers.
package csvdata

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Data is a data set held row-major: X[i*P+j] is feature j of row i.
type Data struct {
	Names []string  // feature names, without the label column
	X     []float64 // N×P values, row-major
	Y     []bool    // labels, true for 1
	N, P  int
}

// Row returns row i of X (a sub-slice, not a copy).
func (d *Data) Row(i int) []float64 { return d.X[i*d.P : (i+1)*d.P] }

// ReadFile reads a CSV file; see Read.
func ReadFile(path string) (*Data, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Read parses a header line and then one line per row, comma-separated, with
// no quoting. The last column is the label and must be 0 or 1; the others
// must parse as float64. Blank lines are an error except at the very end.
func Read(r io.Reader) (*Data, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("empty file")
	}
	header := strings.Split(strings.TrimSpace(sc.Text()), ",")
	if len(header) < 2 {
		return nil, fmt.Errorf("header has %d columns, want at least 2", len(header))
	}
	d := &Data{Names: header[:len(header)-1], P: len(header) - 1}
	line := 1
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != d.P+1 {
			return nil, fmt.Errorf("line %d: %d fields, want %d", line, len(fields), d.P+1)
		}
		for j := 0; j < d.P; j++ {
			v, err := strconv.ParseFloat(fields[j], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d, column %s: %w", line, header[j], err)
			}
			d.X = append(d.X, v)
		}
		switch fields[d.P] {
		case "0":
			d.Y = append(d.Y, false)
		case "1":
			d.Y = append(d.Y, true)
		default:
			return nil, fmt.Errorf("line %d: label %q is not 0 or 1", line, fields[d.P])
		}
		d.N++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if d.N == 0 {
		return nil, fmt.Errorf("no data rows")
	}
	return d, nil
}
