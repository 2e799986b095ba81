package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/defaultmodels"
	"github.com/spinecast/spinecast/models"
)

// chunkRows is how many rows score holds in memory at once: memory stays
// flat in the length of the file.
const chunkRows = 2048

// rowSource reads a CSV file row by row and hands out the artifact's
// features (and, when asked, the target and an id) in artifact order.
type rowSource struct {
	rr       *models.RowReader
	cols     []int // per artifact feature, its column in the file
	idCol    int   // -1: the 1-based row number is the id
	targetCl int   // -1: no target needed
	positive string
	noTarget int // rows skipped for an empty target
}

func newRowSource(r io.Reader, a *models.Artifact, idColumn string, needTarget bool) (*rowSource, error) {
	rr, err := models.NewRowReader(r)
	if err != nil {
		return nil, err
	}
	src := &rowSource{rr: rr, idCol: -1, targetCl: -1, positive: a.Positive}
	var absent []string
	for _, f := range a.Features {
		i := rr.Index(f.Name)
		if i < 0 {
			absent = append(absent, f.Name)
		}
		src.cols = append(src.cols, i)
	}
	if len(absent) > 0 {
		return nil, fmt.Errorf("the model's feature columns %s are not in the header", strings.Join(absent, ", "))
	}
	if idColumn != "" {
		if src.idCol = rr.Index(idColumn); src.idCol < 0 {
			return nil, fmt.Errorf("id column %q is not in the header", idColumn)
		}
	}
	if needTarget {
		if src.targetCl = rr.Index(a.Target); src.targetCl < 0 {
			return nil, fmt.Errorf("the model's target column %q is not in the header", a.Target)
		}
	}
	return src, nil
}

// next parses one row into x (artifact feature order, NaN = missing).
// With a target column, rows whose target is empty are skipped and counted.
func (s *rowSource) next(x []float64) (id string, y bool, err error) {
	rec, err := s.rr.Next()
	if err != nil {
		return "", false, err
	}
	for s.targetCl >= 0 && models.IsMissing(rec[s.targetCl]) {
		s.noTarget++
		if rec, err = s.rr.Next(); err != nil {
			return "", false, err
		}
	}
	for j, c := range s.cols {
		v, err := models.ParseValue(rec[c])
		if err != nil {
			return "", false, s.rr.CellErr(c, err)
		}
		x[j] = v
	}
	if s.idCol >= 0 {
		id = rec[s.idCol]
	} else {
		id = strconv.Itoa(s.rr.Row())
	}
	if s.targetCl >= 0 {
		y = strings.TrimSpace(rec[s.targetCl]) == s.positive
	}
	return id, y, nil
}

// warnings counts, per feature, imputed and out-of-range values. Only
// counts are ever printed: never values or identifiers.
type warnings struct {
	imputed, outOfRange []int
}

func newWarnings(p int) *warnings {
	return &warnings{imputed: make([]int, p), outOfRange: make([]int, p)}
}

func (w *warnings) add(p *models.Prediction) {
	for _, j := range p.Imputed {
		w.imputed[j]++
	}
	for _, j := range p.OutOfRange {
		w.outOfRange[j]++
	}
}

func (w *warnings) print(out io.Writer, a *models.Artifact, rows int) {
	for j, f := range a.Features {
		if k := w.imputed[j]; k > 0 {
			how := "the training median, with its missing indicator"
			if !f.MissingIndicator {
				how = "the training median (the model never saw this feature missing: treat these rows with care)"
			}
			fmt.Fprintf(out, "warning: %q missing in %d of %d rows: imputed with %s\n", f.Name, k, rows, how)
		}
		if k := w.outOfRange[j]; k > 0 {
			fmt.Fprintf(out, "warning: %q outside the training range [%g, %g] in %d of %d rows\n", f.Name, f.Min, f.Max, k, rows)
		}
	}
}

// scoreAll streams rows through the scorer in chunks, scoring each chunk on
// every core, and calls emit for each row in file order.
func scoreAll(src *rowSource, sc *models.Scorer, explain bool, emit func(id string, y bool, p *models.Prediction) error) (int, error) {
	p := len(sc.Artifact().Features)
	type item struct {
		id string
		y  bool
		x  []float64
	}
	buf := make([]item, chunkRows)
	for i := range buf {
		buf[i].x = make([]float64, p)
	}
	xs := make([][]float64, chunkRows)
	rows := 0
	for {
		n := 0
		var readErr error
		for n < chunkRows {
			id, y, err := src.next(buf[n].x)
			if err != nil {
				readErr = err
				break
			}
			buf[n].id, buf[n].y = id, y
			n++
		}
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return rows, readErr
		}
		for i := range xs[:n] {
			xs[i] = buf[i].x
		}
		preds, errs := sc.ScoreRows(xs[:n], explain)
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				return rows, fmt.Errorf("row %d: %w", rows+i+1, errs[i])
			}
			if err := emit(buf[i].id, buf[i].y, preds[i]); err != nil {
				return rows, err
			}
		}
		rows += n
		if readErr != nil { // io.EOF
			return rows, nil
		}
	}
}

// openData opens a data file with a progress bar over its bytes when
// stderr is a terminal.
func openData(e *env, path, what string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if !e.interactive {
		return f, func() { f.Close() }, nil
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true), progressbar.OptionClearOnFinish())
	r := progressbar.NewReader(f, bar)
	return &r, func() { _ = bar.Finish(); f.Close() }, nil
}

func scoreCmd(e *env) *cobra.Command {
	var modelPath, data, out, idColumn string
	var explain bool
	c := &cobra.Command{
		Use:   "score --model MODEL.json --data FILE.csv --out FILE.csv [--id-column COL] [--explain]",
		Short: "Score a CSV file: id,probability,lower,upper (+ shap_<feature> with --explain)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, req := range []struct{ name, v string }{{"--model", modelPath}, {"--data", data}, {"--out", out}} {
				if req.v == "" {
					return fmt.Errorf("score: %s is required", req.name)
				}
			}
			a, err := defaultmodels.Resolve(modelPath)
			if err != nil {
				return fmt.Errorf("score: %w", err)
			}
			sc, err := models.NewScorer(a)
			if err != nil {
				return fmt.Errorf("score: %w", err)
			}
			in, done, err := openData(e, data, "scoring")
			if err != nil {
				return fmt.Errorf("score: %w", err)
			}
			defer done()
			src, err := newRowSource(in, a, idColumn, false)
			if err != nil {
				return fmt.Errorf("score: %s: %w", data, err)
			}
			tmp := out + ".tmp"
			f, err := os.Create(tmp)
			if err != nil {
				return fmt.Errorf("score: %w", err)
			}
			defer os.Remove(tmp)
			bw := bufio.NewWriterSize(f, 1<<16)
			w := csv.NewWriter(bw)
			header := []string{"id", "probability", "lower", "upper"}
			if explain {
				for _, ft := range a.Features {
					header = append(header, "shap_"+ft.Name)
				}
			}
			if err := w.Write(header); err != nil {
				f.Close()
				return fmt.Errorf("score: %w", err)
			}
			warn := newWarnings(len(a.Features))
			rec := make([]string, len(header))
			rows, err := scoreAll(src, sc, explain, func(id string, _ bool, p *models.Prediction) error {
				warn.add(p)
				rec[0] = id
				rec[1] = formatFloat(p.Probability)
				rec[2] = formatFloat(p.Lower)
				rec[3] = formatFloat(p.Upper)
				for j, v := range p.Contributions {
					rec[4+j] = formatFloat(v)
				}
				return w.Write(rec)
			})
			if err != nil {
				f.Close()
				return fmt.Errorf("score: %s: %w", data, err)
			}
			w.Flush()
			if err := w.Error(); err != nil {
				f.Close()
				return fmt.Errorf("score: %w", err)
			}
			if err := bw.Flush(); err != nil {
				f.Close()
				return fmt.Errorf("score: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("score: %w", err)
			}
			if err := os.Rename(tmp, out); err != nil {
				return fmt.Errorf("score: %w", err)
			}
			warn.print(e.stderr, a, rows)
			scale := ""
			if explain {
				scale = fmt.Sprintf("; shap_ columns explain the uncalibrated model output on the %s scale", sc.Explainer().ExplanationScale())
			}
			fmt.Fprintf(e.stderr, "scored %d rows with %s model %s…%s; wrote %s\n", rows, a.Algorithm, a.Sha256[:12], scale, out)
			if a.Notice != "" {
				fmt.Fprintln(e.stderr, "note: "+a.Notice)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&modelPath, "model", "", "model artifact (JSON)")
	f.StringVar(&data, "data", "", "data to score (CSV with the model's feature columns)")
	f.StringVar(&out, "out", "", "output CSV")
	f.StringVar(&idColumn, "id-column", "", "column to copy into the id column (default: 1-based row number)")
	f.BoolVar(&explain, "explain", false, "add one shap_<feature> column per feature")
	return c
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
