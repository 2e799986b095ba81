package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/imaging"
	"github.com/spinecast/spinecast/store"
)

// Encoder runtimes of `imaging ingest`.
const (
	runtimeAuto = "auto" // ONNX Runtime when its library loads, else the Go forward pass
	runtimeONNX = "onnx" // ONNX Runtime only
	runtimeGo   = "go"   // the plain-Go forward pass of the same network
)

// schemaEncoder returns the encoder that computes the imaging block's
// embedding columns, a function releasing it, and its description.
// The plain-Go forward pass computes the same network as ONNX Runtime
// (to 1e-5; imaging.TestONNXRoundTrip), so "auto" can fall back to
// it where the library is absent; the choice is logged once.
func schemaEncoder(rt string, dev imaging.Device, log *slog.Logger) (imaging.SchemaEncoder, func(), string, error) {
	goEncoder := func() (imaging.SchemaEncoder, func(), string, error) {
		enc, err := imaging.NewEncoder(imaging.DefaultEncoder)
		if err != nil {
			return nil, nil, "", err
		}
		return enc, func() {}, "go", nil
	}
	switch rt {
	case runtimeGo:
		return goEncoder()
	case runtimeONNX, runtimeAuto:
		emb, err := imaging.NewEmbedder(&imaging.EmbedderOptions{Device: dev, Logger: log})
		if err == nil {
			return emb, func() { _ = emb.Close() }, "onnxruntime-" + string(emb.Device()), nil
		}
		if rt == runtimeONNX || !errors.Is(err, imaging.ErrUnavailable) {
			return nil, nil, "", err
		}
		log.Info("ONNX Runtime unavailable: the embedding columns use the plain-Go forward pass of the same encoder", "reason", err.Error())
		return goEncoder()
	}
	return nil, nil, "", fmt.Errorf("--runtime %q: want auto, onnx or go", rt)
}

// ingestItem is one image of an ingestion, with where it came from.
type ingestItem struct {
	row                    int // manifest row (1 = first data row); 0 for --image
	image, mask, seriesUID string
	study                  string
}

// ingestSummary is what `imaging ingest` prints.
type ingestSummary struct {
	Ingested       int    `json:"ingested"`
	Runtime        string `json:"runtime"`
	Encoder        string `json:"encoder"`
	EncoderSHA256  string `json:"encoder_sha256"`
	SettingsSHA256 string `json:"settings_sha256"`
	Database       string `json:"database"`
	// Features is the imaging block of a single --image ingestion.
	Features map[string]float64 `json:"features,omitempty"`
}

// imagingIngestCmd is `spinecast imaging ingest`: compute the feature
// schema's imaging block for images and cache it in the store, where the
// feature pipeline (serve, features --database) finds it by series UID.
func imagingIngestCmd(e *env) *cobra.Command {
	var image, mask, seriesUID, study, manifest, database, rt, device string
	var labels []int
	cmd := &cobra.Command{
		Use:   "ingest (--image F --mask F --series-uid UID [--study ImagingStudy/ID] | --manifest images.csv) [--database DSN]",
		Short: "Compute the imaging block (radiomics + embedding) of images and cache it for predictions",
		Long: "ingest computes the feature schema's img_* block (8 IBSI radiomics columns with fixed settings and the first\n" +
			"16 dimensions of the " + imaging.DefaultEncoder + " embedding) for each image and its mask, and stores it in the\n" +
			"database under (series UID, mask sha256, settings sha256, encoder sha256). Predictions then read it for the\n" +
			"patient's newest ImagingStudy holding that series. --manifest reads a CSV with columns series_uid, image, mask\n" +
			"and optionally study (an ImagingStudy reference) — `spinecast cohort --images` writes one; relative paths are\n" +
			"relative to the manifest. Images are processed on every core; the first bad row stops the run with its row\n" +
			"number, after the rows before it were stored.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			single := image != "" || mask != "" || seriesUID != "" || study != ""
			if single == (manifest != "") {
				return errors.New("imaging ingest: give either --image, --mask and --series-uid, or --manifest")
			}
			var items []ingestItem
			if single {
				if image == "" || mask == "" || seriesUID == "" {
					return errors.New("imaging ingest: --image, --mask and --series-uid are all required")
				}
				items = []ingestItem{{image: image, mask: mask, seriesUID: seriesUID, study: study}}
			} else {
				var err error
				if items, err = readIngestManifest(manifest); err != nil {
					return fmt.Errorf("imaging ingest: %w", err)
				}
			}
			dev, err := imaging.ParseDevice(device)
			if err != nil {
				return fmt.Errorf("imaging ingest: %w", err)
			}
			// Check the keys before any work.
			for _, it := range items {
				k := store.ImagingKey{SeriesUID: it.seriesUID, MaskSHA256: strings.Repeat("0", 64),
					SettingsSHA256: strings.Repeat("0", 64), EncoderSHA256: strings.Repeat("0", 64)}
				if err := k.Validate(); err != nil {
					return fmt.Errorf("imaging ingest: %s: %w", it.where(), err)
				}
				if it.study != "" && !validStudyRef(it.study) {
					return fmt.Errorf("imaging ingest: %s: study %q is not an ImagingStudy/<id> reference", it.where(), it.study)
				}
			}
			log := slog.New(slog.NewJSONHandler(e.stderr, nil))
			enc, release, rtName, err := schemaEncoder(rt, dev, log)
			if err != nil {
				return fmt.Errorf("imaging ingest: %w", err)
			}
			defer release()
			x, err := imaging.NewSchemaExtractor(enc, nil)
			if err != nil {
				return fmt.Errorf("imaging ingest: %w", err)
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, database)
			if err != nil {
				return fmt.Errorf("imaging ingest: %w", err)
			}
			defer st.Close()
			var bar *progressbar.ProgressBar
			if e.interactive && len(items) > 1 {
				bar = progressbar.NewOptions(len(items), progressbar.OptionSetWriter(e.stderr),
					progressbar.OptionSetDescription("imaging features"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			var last map[string]float64
			n, err := ingest(ctx, items, labels, x, func(it ingestItem, f *imaging.SchemaFeatures) error {
				if err := st.PutImagingFeatures(ctx, &store.ImagingFeatures{
					ImagingKey: store.ImagingKey{SeriesUID: it.seriesUID, MaskSHA256: f.MaskSHA256,
						SettingsSHA256: f.SettingsSHA256, EncoderSHA256: f.EncoderSHA256},
					Study: it.study, Values: f.Values}); err != nil {
					return err
				}
				last = f.Values
				if bar != nil {
					_ = bar.Add(1)
				}
				return nil
			})
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return fmt.Errorf("imaging ingest: %w (%d images stored before it)", err, n)
			}
			spec := enc.Spec()
			sum := ingestSummary{Ingested: n, Runtime: rtName, Encoder: spec.Name, EncoderSHA256: spec.SHA256,
				SettingsSHA256: x.SettingsSHA256(), Database: maskDSN(database)}
			if single {
				sum.Features = last
			}
			out := json.NewEncoder(e.stdout)
			out.SetIndent("", "  ")
			return out.Encode(sum)
		},
	}
	f := cmd.Flags()
	f.StringVar(&image, "image", "", "NIfTI-1 image (.nii or .nii.gz)")
	f.StringVar(&mask, "mask", "", "NIfTI-1 label map on the image grid: the region of interest")
	f.IntSliceVar(&labels, "label", nil, "label values of the masks that form the region (default: every non-zero label)")
	f.StringVar(&seriesUID, "series-uid", "", "DICOM SeriesInstanceUID of the image (as in the patient's ImagingStudy.series.uid)")
	f.StringVar(&study, "study", "", "FHIR reference of the ImagingStudy, e.g. ImagingStudy/123 (provenance)")
	f.StringVar(&manifest, "manifest", "", "CSV with columns series_uid, image, mask [, study]")
	f.StringVar(&database, "database", "spinecast.db", "SQLite file, or postgres://… URL (the server's --database)")
	f.StringVar(&rt, "runtime", runtimeAuto, "encoder runtime: auto (ONNX Runtime when its library loads, else Go), onnx or go")
	f.StringVar(&device, "imaging-device", "auto", "where ONNX Runtime runs the encoder: auto, cpu or cuda")
	return cmd
}

func (it ingestItem) where() string {
	if it.row == 0 {
		return filepath.Base(it.image)
	}
	return fmt.Sprintf("manifest row %d", it.row)
}

// validStudyRef accepts "ImagingStudy/<FHIR id>".
func validStudyRef(s string) bool {
	id, ok := strings.CutPrefix(s, "ImagingStudy/")
	if !ok || id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// readIngestManifest reads the manifest's rows; paths are resolved
// against its directory.
func readIngestManifest(path string) ([]ingestItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty manifest", filepath.Base(path))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"series_uid", "image", "mask"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: no %q column (want series_uid, image, mask [, study])", filepath.Base(path), need)
		}
	}
	dir := filepath.Dir(path)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var items []ingestItem
	for row := 1; ; row++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		it := ingestItem{row: row, seriesUID: rec[col["series_uid"]], image: abs(rec[col["image"]]), mask: abs(rec[col["mask"]])}
		if i, ok := col["study"]; ok {
			it.study = rec[i]
		}
		if it.image == "" || it.mask == "" {
			return nil, fmt.Errorf("manifest row %d: image and mask are required", row)
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no rows", filepath.Base(path))
	}
	return items, nil
}

// ingest computes the imaging block of each item on every core and hands
// the results to put in item order (one writer). It stops at the first
// error, returning how many items were put.
func ingest(ctx context.Context, items []ingestItem, labels []int, x *imaging.SchemaExtractor, put func(ingestItem, *imaging.SchemaFeatures) error) (int, error) {
	vals := make([]float64, len(labels))
	for i, l := range labels {
		vals[i] = float64(l)
	}
	type result struct {
		f   *imaging.SchemaFeatures
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	results := make([]chan result, len(items))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it := items[i]
				f, err := extractOne(it, vals, x)
				if err != nil {
					err = fmt.Errorf("%s: %w", it.where(), err)
				}
				results[i] <- result{f, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range items {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel() // stops the feeder; workers finish their current image
		wg.Wait()
	}()
	for i, it := range items {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return i, ctx.Err()
		}
		if r.err != nil {
			return i, r.err
		}
		if err := put(it, r.f); err != nil {
			return i, fmt.Errorf("%s: %w", it.where(), err)
		}
	}
	return len(items), nil
}

func extractOne(it ingestItem, labels []float64, x *imaging.SchemaExtractor) (*imaging.SchemaFeatures, error) {
	vol, err := imaging.ReadNIfTI(it.image)
	if err != nil {
		return nil, err
	}
	m, err := imaging.ReadNIfTIMask(it.mask, labels...)
	if err != nil {
		return nil, err
	}
	if err := imaging.CheckGrid(vol, m); err != nil {
		return nil, err
	}
	return x.Extract(vol, m)
}
