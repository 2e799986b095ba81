package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/imaging"
)

// embedOutput is what `spinecast imaging embed` writes.
type embedOutput struct {
	imaging.Embedding
	Image struct {
		Dims      [3]int     `json:"dims"`
		SpacingMM [3]float64 `json:"spacing_mm"`
	} `json:"image"`
	Mask         bool   `json:"mask"`
	Labels       []int  `json:"mask_labels,omitempty"`
	DeviceWanted string `json:"device_requested"`
}

// imagingEmbedCmd is `spinecast imaging embed`: the deep embedding of one
// NIfTI image (around an optional mask) by an ONNX encoder run through ONNX
// Runtime, found through $SPINECAST_ONNXRUNTIME_LIB.
func imagingEmbedCmd(e *env) *cobra.Command {
	var (
		image, mask, out, device, encoder, encoderFile string
		labels                                         []int
	)
	cmd := &cobra.Command{
		Use:   "embed --image F [--mask F] --out F.json",
		Short: "Compute the deep embedding of a NIfTI image with an ONNX encoder (GPU when present, CPU otherwise)",
		Long: "Embed cuts the encoder's patch around the mask's bounding-box centre (the image centre without a mask),\n" +
			"resamples it to the encoder's spacing, z-scores it within the mask and runs the encoder through ONNX Runtime.\n" +
			"ONNX Runtime is loaded from $" + imaging.LibraryEnv + " (scripts/onnxruntime.sh fetches it and prints the path);\n" +
			"without it the command fails with \"imaging embeddings unavailable\". Encoders: " + encoderNames() + ".",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if image == "" || out == "" {
				return fmt.Errorf("imaging embed: --image and --out are required")
			}
			dev, err := imaging.ParseDevice(device)
			if err != nil {
				return fmt.Errorf("imaging embed: %w", err)
			}
			opts := &imaging.EmbedderOptions{
				Encoder: encoder, Device: dev,
				Logger: slog.New(slog.NewJSONHandler(e.stderr, nil)),
			}
			if encoderFile != "" {
				if opts.Model, err = os.ReadFile(encoderFile); err != nil {
					return fmt.Errorf("imaging embed: read encoder: %w", err)
				}
			}
			vol, err := imaging.ReadNIfTI(image)
			if err != nil {
				return fmt.Errorf("imaging embed: %w", err)
			}
			var m *imaging.Mask
			if mask != "" {
				vals := make([]float64, len(labels))
				for i, l := range labels {
					vals[i] = float64(l)
				}
				if m, err = imaging.ReadNIfTIMask(mask, vals...); err != nil {
					return fmt.Errorf("imaging embed: %w", err)
				}
			}
			// Check the inputs before loading ONNX Runtime.
			spec, err := imaging.LookupEncoder(encoder)
			if err != nil {
				return fmt.Errorf("imaging embed: %w", err)
			}
			patch, err := imaging.ExtractPatch(vol, m, spec)
			if err != nil {
				return fmt.Errorf("imaging embed: %w", err)
			}
			emb, err := imaging.NewEmbedder(opts)
			if err != nil {
				return fmt.Errorf("imaging embed: %w", err)
			}
			defer func() { _ = emb.Close() }()
			res, err := emb.EmbedPatch(patch)
			if err != nil {
				return fmt.Errorf("imaging embed: %w", err)
			}
			o := embedOutput{Embedding: *res, Mask: m != nil, Labels: labels, DeviceWanted: string(dev)}
			o.Image.Dims, o.Image.SpacingMM = vol.Dims, vol.Spacing
			b, err := json.MarshalIndent(o, "", "  ")
			if err != nil {
				return fmt.Errorf("imaging embed: %w", err)
			}
			b = append(b, '\n')
			if out == "-" {
				_, err = e.stdout.Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fmt.Errorf("imaging embed: write output: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&image, "image", "", "NIfTI-1 image (.nii or .nii.gz)")
	f.StringVar(&mask, "mask", "", "NIfTI-1 label map on the image grid; the patch is centred on it and normalised within it")
	f.IntSliceVar(&labels, "label", nil, "label values of --mask that form the region (default: every non-zero label)")
	f.StringVar(&device, "imaging-device", "auto", "where ONNX Runtime runs the encoder: auto (CUDA when present, else CPU), cpu or cuda")
	f.StringVar(&encoder, "encoder", imaging.DefaultEncoder, "encoder name in the registry")
	f.StringVar(&encoderFile, "encoder-file", "", "ONNX file of the encoder (default: built in); its sha256 must match the registry")
	f.StringVar(&out, "out", "", "output JSON file, or - for standard output")
	return cmd
}

func encoderNames() string {
	s := ""
	for i, sp := range imaging.Encoders() {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (%d dimensions)", sp.Name, sp.OutputDim)
	}
	return s
}
