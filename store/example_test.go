package store_test

import (
	"context"
	"fmt"
	"time"

	"github.com/spinecast/spinecast/store"
)

func Example() {
	ctx := context.Background()
	st, err := store.Open(ctx, ":memory:") // or a file path, or postgres://…
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	st.RecordAudit(ctx, store.AuditRecord{Time: at, Kind: "prediction", Route: "/v1/predictions", Caller: "key:clinic",
		PatientID: "p-17", Status: 200, Models: []store.ModelRef{{Outcome: "mcid_odi", ModelID: "enet", Probability: 0.62}}})
	recs, _ := st.Audit(ctx, store.AuditQuery{PatientID: "p-17"})
	for _, r := range recs {
		fmt.Println(r.Time.Format(time.RFC3339), r.Kind, r.Caller, r.Models[0].ModelID, r.Models[0].Probability)
	}
	v, _ := st.Version(ctx)
	fmt.Println("schema version", v)
	// Output:
	// 2026-03-01T09:30:00Z prediction key:clinic enet 0.62
	// schema version 2
}
