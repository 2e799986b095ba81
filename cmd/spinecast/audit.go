package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spinecast/spinecast/store"
)

func auditCmd(e *env) *cobra.Command {
	var database, patient, since, until, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query the audit trail of predictions and CDS Hooks calls",
		Long: "audit prints audit records, oldest first, selected by patient and/or time window.\n" +
			"--since/--until take YYYY-MM-DD or RFC 3339 times, or a duration back from now (e.g. 24h).\n" +
			"The output contains patient identifiers: handle it as patient data.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if patient == "" && since == "" {
				return fmt.Errorf("give --patient ID and/or --since TIME")
			}
			q := store.AuditQuery{PatientID: patient, Limit: limit}
			var err error
			if since != "" {
				if q.Since, err = parseWhen(since, time.Now()); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			if until != "" {
				if q.Until, err = parseWhen(until, time.Now()); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			st, err := store.Open(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.Audit(cmd.Context(), q)
			if err != nil {
				return err
			}
			switch format {
			case "jsonl":
				enc := json.NewEncoder(e.stdout)
				for _, r := range recs {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
			case "table":
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tKIND\tROUTE\tCALLER\tPATIENT\tHOOK\tSTATUS\tLATENCY_MS\tMODELS")
				for _, r := range recs {
					ms := ""
					for i, m := range r.Models {
						if i > 0 {
							ms += ","
						}
						ms += fmt.Sprintf("%s@%s:%s=%.3f", m.ModelID, m.Version, m.Outcome, m.Probability)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%s\n", r.Time.Format(time.RFC3339), r.Kind, r.Route, r.Caller,
						r.PatientID, r.Hook, r.Status, float64(r.Latency.Microseconds())/1000, ms)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			default:
				return fmt.Errorf("--format must be jsonl or table")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&database, "database", "spinecast.db", "SQLite file or postgres://… URL (as given to serve)")
	f.StringVar(&patient, "patient", "", "only records about this patient id")
	f.StringVar(&since, "since", "", "only records at or after this time")
	f.StringVar(&until, "until", "", "only records before this time")
	f.IntVar(&limit, "limit", 1000, "at most this many records")
	f.StringVar(&format, "format", "jsonl", "jsonl or table")
	return cmd
}

// parseWhen reads YYYY-MM-DD (UTC midnight), RFC 3339, or a duration
// meaning that long before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD, an RFC 3339 time or a positive duration", s)
}
