package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/cohort"
)

func cohortCmd(e *env) *cobra.Command {
	var (
		n      int
		seed   uint64
		out    string
		images bool
	)
	c := &cobra.Command{
		Use:   "cohort --n N --seed S --out DIR [--images]",
		Short: "Simulate a spine registry with known true outcome probabilities (CSV and FHIR Bulk export)",
		Long: "cohort writes DIR/registry.csv (patient_id, the feature schema's columns, each outcome's observed value\n" +
			"1/0 or empty where it does not apply, and its true probability in true_p_<outcome>), DIR/index_dates.csv\n" +
			"(each patient's consultation date, the index date of the features) and a FHIR R4 Bulk Data export of the\n" +
			"same patients (DIR/<Type>.ndjson). The data are simulated (docs/cohort.md): for testing and demonstration,\n" +
			"not for clinical conclusions. The same --n and --seed give the same files.\n" +
			"With --images, each patient has a simulated lumbar MRI with probability 0.8 (64×64×16 voxels of\n" +
			"0.8×0.8×4 mm, driven by the latent degeneration/stenosis phenotype): DIR/images/<patient>.nii.gz and\n" +
			"<patient>_mask.nii.gz (the dural sac), DIR/images.csv, DIR/ImagingStudy.ndjson, and the imaging block of\n" +
			"registry.csv filled by the same extraction as `spinecast imaging` (radiomics + the plain-Go encoder;\n" +
			"about 40 ms of CPU per imaged patient). Every other column is the same as without --images.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("cohort: --out is required")
			}
			if n < 1 {
				return fmt.Errorf("cohort: --n must be ≥ 1, got %d", n)
			}
			co, err := cohort.Generate(n, seed, nil)
			if err != nil {
				return fmt.Errorf("cohort: %w", err)
			}
			if images {
				next := 1
				err := co.AddImages(cmd.Context(), &cohort.ImageOptions{Progress: func(done, total int) {
					// One line per tenth of the cohort.
					if done*10 >= next*total {
						fmt.Fprintf(e.stderr, "images: %d/%d patients\n", done, total)
						for done*10 >= next*total {
							next++
						}
					}
				}})
				if err != nil {
					return fmt.Errorf("cohort: %w", err)
				}
			}
			if err := co.WriteDir(out); err != nil {
				return fmt.Errorf("cohort: %w", err)
			}
			types := len(cohort.ResourceTypes)
			if co.HasImages() {
				types++ // ImagingStudy
			}
			fmt.Fprintf(e.stderr, "simulated %d patients (seed %d): wrote %s, %s and the FHIR export (%d resource types) in %s\n",
				n, seed, "registry.csv", "index_dates.csv", types, filepath.Clean(out))
			if images {
				mri := 0
				for i := range co.Patients {
					if co.Patients[i].MRI != nil {
						mri++
					}
				}
				fmt.Fprintf(e.stderr, "simulated %d lumbar MRIs: images/, images.csv and ImagingStudy.ndjson\n", mri)
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&n, "n", 1000, "number of patients")
	f.Uint64Var(&seed, "seed", 1, "random seed")
	f.StringVar(&out, "out", "", "output directory (created if needed)")
	f.BoolVar(&images, "images", false, "also simulate lumbar MRIs (NIfTI, ImagingStudy) and fill the imaging block")
	return c
}
