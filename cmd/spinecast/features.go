package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
	"github.com/spinecast/spinecast/store"
)

func featuresCmd(e *env) *cobra.Command {
	var bundle, ndjson, asOf, out, format, catalogue, codeLists, database string
	var schema bool
	c := &cobra.Command{
		Use:   "features (--bundle FILE.json | --ndjson DIR --out FILE.csv | --schema) [--as-of YYYY-MM-DD]",
		Short: "Turn FHIR R4 records into feature vectors, or print the feature schema",
		Long: "features --bundle prints one patient's feature vector, its provenance (the FHIR references behind each\n" +
			"feature) and warnings as JSON. features --ndjson reads a FHIR Bulk Data export directory and writes one CSV row\n" +
			"per patient (patient_id and the schema's columns; an empty cell is a missing value), the layout `spinecast train`\n" +
			"reads. Nothing dated after the index date (--as-of, default today in UTC) is used.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			modes := 0
			for _, on := range []bool{bundle != "", ndjson != "", schema} {
				if on {
					modes++
				}
			}
			if modes != 1 {
				return errors.New("features: give exactly one of --bundle, --ndjson or --schema")
			}
			if schema {
				switch format {
				case "json":
					return features.DefaultSchema().WriteJSON(e.stdout)
				case "markdown", "md":
					return features.DefaultSchema().WriteMarkdown(e.stdout)
				}
				return fmt.Errorf("features: --format %q: want json or markdown", format)
			}
			opts, err := featureOptions(catalogue, codeLists)
			if err != nil {
				return fmt.Errorf("features: %w", err)
			}
			var lookup features.ImagingLookup
			if database != "" {
				st, err := store.Open(cmd.Context(), database)
				if err != nil {
					return fmt.Errorf("features: %w", err)
				}
				defer st.Close()
				if lookup, err = imagingLookup(st); err != nil {
					return fmt.Errorf("features: %w", err)
				}
			}
			day := time.Now().UTC()
			if asOf != "" {
				t, err := time.Parse(time.DateOnly, asOf)
				if err != nil {
					return fmt.Errorf("features: --as-of %q: want YYYY-MM-DD", asOf)
				}
				day = t
			}
			if bundle != "" {
				f, err := os.Open(bundle)
				if err != nil {
					return fmt.Errorf("features: %w", err)
				}
				defer f.Close()
				rec, err := fhir.ReadBundle(f, nil)
				if err != nil {
					var rj *fhir.RejectError
					if errors.As(err, &rj) {
						enc := json.NewEncoder(e.stdout)
						enc.SetIndent("", "  ")
						_ = enc.Encode(map[string]any{"rejected": true, "issues": rj.Issues})
					}
					return fmt.Errorf("features: %s: %w", filepath.Base(bundle), err)
				}
				v, err := features.Extract(rec, day, opts)
				if err != nil {
					return fmt.Errorf("features: %w", err)
				}
				if lookup != nil {
					if _, err := features.FillImaging(cmd.Context(), v, rec, lookup); err != nil {
						return fmt.Errorf("features: %w", err)
					}
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(v)
			}
			if out == "" {
				return errors.New("features: --ndjson needs --out FILE.csv")
			}
			return writeFeatureCSV(cmd, e, ndjson, out, day, opts, lookup)
		},
	}
	f := c.Flags()
	f.StringVar(&bundle, "bundle", "", "FHIR R4 Bundle (or Patient) JSON file of one patient")
	f.StringVar(&ndjson, "ndjson", "", "FHIR Bulk Data export directory (*.ndjson)")
	f.StringVar(&asOf, "as-of", "", "index date YYYY-MM-DD: nothing dated after it is used (default: today, UTC)")
	f.StringVar(&out, "out", "", "CSV file to write (with --ndjson)")
	f.BoolVar(&schema, "schema", false, "print the feature schema")
	f.StringVar(&format, "format", "json", "schema format: json or markdown")
	f.StringVar(&catalogue, "prom-catalogue", "", "PROM catalogue JSON replacing the embedded one (same format as fhir/data/proms.json)")
	f.StringVar(&database, "database", "", "fill the imaging block from this store's imaging cache (spinecast imaging ingest): SQLite file or postgres://… URL")
	f.StringVar(&codeLists, "code-lists", "", "clinical code lists JSON replacing the embedded ones (same format as fhir/data/codelists.json)")
	return c
}

// featureOptions loads replacement clinical data files; "" keeps the
// embedded ones.
func featureOptions(catalogue, codeLists string) (*features.Options, error) {
	opts := &features.Options{}
	if catalogue != "" {
		b, err := os.ReadFile(catalogue)
		if err != nil {
			return nil, err
		}
		if opts.Catalogue, err = fhir.ParseCatalogue(b); err != nil {
			return nil, fmt.Errorf("%s: %w", catalogue, err)
		}
	}
	if codeLists != "" {
		b, err := os.ReadFile(codeLists)
		if err != nil {
			return nil, err
		}
		if opts.CodeLists, err = fhir.ParseCodeLists(b); err != nil {
			return nil, fmt.Errorf("%s: %w", codeLists, err)
		}
	}
	return opts, nil
}

func writeFeatureCSV(cmd *cobra.Command, e *env, dir, out string, day time.Time, opts *features.Options, lookup features.ImagingLookup) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".features-*.csv")
	if err != nil {
		return fmt.Errorf("features: %w", err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<16)
	w := csv.NewWriter(bw)
	names := features.DefaultSchema().Names()
	row := make([]string, 1+len(names))
	row[0] = "patient_id"
	copy(row[1:], names)
	if err := w.Write(row); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	rows, failed, warned, imaged := 0, 0, 0, 0
	st, err := fhir.ReadBulk(cmd.Context(), dir, nil, func(id string, rec *fhir.Record, rerr error) error {
		if rerr != nil {
			failed++
			return nil
		}
		v, err := features.Extract(rec, day, opts)
		if err != nil {
			failed++
			return nil
		}
		if lookup != nil {
			filled, err := features.FillImaging(cmd.Context(), v, rec, lookup)
			if err != nil {
				return err // the cache is unreadable: stop rather than write rows without it
			}
			if filled {
				imaged++
			}
		}
		if len(v.Warnings) > 0 {
			warned++
		}
		row[0] = id
		for i, x := range v.Values {
			if math.IsNaN(x) {
				row[i+1] = ""
			} else {
				row[i+1] = strconv.FormatFloat(x, 'g', -1, 64)
			}
		}
		rows++
		return w.Write(row)
	})
	if err != nil {
		tmp.Close()
		return fmt.Errorf("features: %w", err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return fmt.Errorf("features: write %s: %w", out, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("features: write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("features: write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	fmt.Fprintf(e.stderr, "features: %d patients written to %s (schema %s, index date %s); %d records rejected, %d with warnings; %d lines read, %d orphan and %d malformed lines skipped\n",
		rows, out, features.SchemaVersion, day.Format(time.DateOnly), failed, warned, st.Lines, st.Orphans, st.Malformed)
	if lookup != nil {
		fmt.Fprintf(e.stderr, "features: imaging block filled from the imaging cache for %d of %d patients\n", imaged, rows)
	}
	return nil
}
