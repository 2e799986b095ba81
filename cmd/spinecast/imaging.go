package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/imaging"
)

// imagingCmd is `spinecast imaging`: radiomics from images and the IBSI
// phantom check. Other imaging subcommands (embed) attach to it.
func imagingCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "imaging",
		Short: "Image features: IBSI radiomics from NIfTI or DICOM, and the IBSI phantom check",
	}
	cmd.AddCommand(imagingRadiomicsCmd(e), imagingIBSICheckCmd(e), imagingEmbedCmd(e), imagingIngestCmd(e))
	return cmd
}

// radiomicsOutput is what `spinecast imaging radiomics` writes. It names no
// file or patient: only the grids, the ROI and the features.
type radiomicsOutput struct {
	Image struct {
		Dims    [3]int     `json:"dims"`
		Spacing [3]float64 `json:"spacing_mm"`
	} `json:"image"`
	Mask struct {
		Labels    []int   `json:"labels,omitempty"` // empty: every non-zero label
		Voxels    int     `json:"voxels"`
		VolumeMM3 float64 `json:"volume_mm3"`
		Aligned   bool    `json:"aligned,omitempty"` // mapped from a reordered grid
	} `json:"mask"`
	Settings imaging.Settings  `json:"settings"`
	Families []string          `json:"texture_families"`
	Features []imaging.Feature `json:"features"`
}

func imagingRadiomicsCmd(e *env) *cobra.Command {
	var imagePath, maskPath, settingsPath, outPath, series string
	var labels []int
	cmd := &cobra.Command{
		Use:   "radiomics --image F --mask F [--label N] [--settings F.json] --out F.json",
		Short: "Compute IBSI radiomics features of a region of interest",
		Long: "Reads the image (a NIfTI-1 .nii/.nii.gz file, or a directory holding one uncompressed DICOM series)\n" +
			"and a NIfTI label map on the same grid (or the same voxel lattice reordered), keeps the given labels\n" +
			"(all non-zero ones by default), and writes every feature with its IBSI code as JSON.\n" +
			"Settings (JSON): spacing, round_intensities, reseg_min, reseg_max, outliers, discretisation (fbn|fbs), bins, bin_width,\n" +
			"bin_min, ivh_bin_width, ivh_bins, distance, ngldm_alpha, workers.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s := imaging.DefaultSettings()
			if settingsPath != "" {
				b, err := os.ReadFile(settingsPath)
				if err != nil {
					return fmt.Errorf("read settings: %w", err)
				}
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				s = &imaging.Settings{}
				if err := dec.Decode(s); err != nil {
					return fmt.Errorf("settings %s: %w", settingsPath, err)
				}
			}
			v, err := readImage(imagePath, series)
			if err != nil {
				return err
			}
			vals := make([]float64, len(labels))
			for i, l := range labels {
				vals[i] = float64(l)
			}
			m, err := imaging.ReadNIfTIMask(maskPath, vals...)
			if err != nil {
				return err
			}
			var out radiomicsOutput
			if !m.SameGrid(v.Geometry) {
				m, err = imaging.AlignMask(m, v.Geometry)
				if err != nil {
					return fmt.Errorf("mask and image grids differ: %w", err)
				}
				out.Mask.Aligned = true
			}
			if m.Count() == 0 {
				return fmt.Errorf("mask has no voxel with label(s) %v", labels)
			}
			feats, err := imaging.Radiomics(v, m, s)
			if err != nil {
				return err
			}
			out.Image.Dims, out.Image.Spacing = v.Dims, v.Spacing
			out.Mask.Labels, out.Mask.Voxels = labels, m.Count()
			out.Mask.VolumeMM3 = float64(m.Count()) * m.VoxelVolume()
			out.Settings, out.Families, out.Features = *s, imaging.Families(), feats
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return fmt.Errorf("encode features: %w", err)
			}
			b = append(b, '\n')
			if outPath == "-" {
				_, err = e.stdout.Write(b)
				return err
			}
			if err := os.WriteFile(outPath, b, 0o644); err != nil {
				return fmt.Errorf("write features: %w", err)
			}
			fmt.Fprintf(e.stderr, "%d features of %d ROI voxels written to %s\n", len(feats), m.Count(), outPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&imagePath, "image", "", "image: NIfTI-1 file or DICOM series directory (required)")
	f.StringVar(&series, "series", "", "SeriesInstanceUID to read when the DICOM directory holds several")
	f.StringVar(&maskPath, "mask", "", "NIfTI-1 label map of the region of interest (required)")
	f.IntSliceVar(&labels, "label", nil, "label value(s) of the ROI (repeatable; default every non-zero label)")
	f.StringVar(&settingsPath, "settings", "", "settings JSON file (default: no resampling, fixed bin number 32)")
	f.StringVar(&outPath, "out", "", "output JSON file, - for standard output (required)")
	for _, name := range []string{"image", "mask", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// readImage reads a NIfTI file or a DICOM series directory.
func readImage(path, series string) (*imaging.Volume, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if st.IsDir() {
		return imaging.ReadDICOMSeries(path, series)
	}
	if series != "" {
		return nil, fmt.Errorf("--series applies to a DICOM directory, not to %s", path)
	}
	return imaging.ReadNIfTI(path)
}

func imagingIBSICheckCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ibsi-check",
		Short: "Compare the features computed on the IBSI-1 digital phantom with the 482 reference values",
		Long: "Runs every feature family on the IBSI-1 digital phantom (built in) and prints, per family, how many\n" +
			"reference values match within tolerance, then every value that does not match or is not implemented.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := imaging.CheckIBSIPhantom()
			if err != nil {
				return err
			}
			return rep.WriteTable(e.stdout)
		},
	}
}
