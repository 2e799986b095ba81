package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/defaultmodels"
)

func modelsCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "models",
		Short: "The demonstration models embedded in this binary",
		Args:  cobra.NoArgs,
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the embedded models: id, outcome, algorithm, version, default flag",
		Long:  "Every embedded model id works wherever a command takes --model.\n" + defaultmodels.Notice,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms := defaultmodels.List()
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Notice string                `json:"notice"`
					Models []defaultmodels.Entry `json:"models"`
				}{defaultmodels.Notice, ms})
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tOUTCOME\tALGORITHM\tVERSION\tDEFAULT")
			for _, m := range ms {
				d := ""
				if m.Default {
					d = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s@%s\t%s\t%s\t%s\n", m.ID, m.OutcomeID, m.OutcomeVersion, m.Algorithm, m.Version, d)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(e.stderr, "note: "+defaultmodels.Notice)
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.AddCommand(list)
	return c
}
