package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/fhir"
)

// writeExport splits Synthea bundles into a Bulk Data export directory:
// one NDJSON file per resource type, urn:uuid subjects rewritten to
// Patient/<id> as a bulk export has them. It returns per patient the number
// of kept resources the bundle parser finds.
func writeExport(tb testing.TB, dir string, paths ...string) map[string]int {
	tb.Helper()
	files := map[string]*os.File{}
	want := map[string]int{}
	for _, p := range paths {
		data := mustReadGz(tb, p)
		rec, err := fhir.Parse(data, nil)
		if err != nil {
			tb.Fatal(err)
		}
		want[rec.Patient.ID()] = rec.Len()
		var b struct {
			Entry []struct {
				FullURL  string          `json:"fullUrl"`
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			tb.Fatal(err)
		}
		urn := "\x00"
		for _, e := range b.Entry {
			var h struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(e.Resource, &h) == nil && h.ResourceType == "Patient" {
				urn = e.FullURL
			}
		}
		// Lines in reverse order: the reader must not rely on file order.
		for i := len(b.Entry) - 1; i >= 0; i-- {
			var h struct {
				ResourceType string `json:"resourceType"`
			}
			_ = json.Unmarshal(b.Entry[i].Resource, &h)
			f := files[h.ResourceType]
			if f == nil {
				var err error
				if f, err = os.Create(filepath.Join(dir, h.ResourceType+".ndjson")); err != nil {
					tb.Fatal(err)
				}
				files[h.ResourceType] = f
			}
			var c bytes.Buffer
			if err := json.Compact(&c, b.Entry[i].Resource); err != nil {
				tb.Fatal(err)
			}
			line := strings.ReplaceAll(c.String(), urn, "Patient/"+rec.Patient.ID())
			if _, err := f.WriteString(line + "\n"); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for _, f := range files {
		f.Close()
	}
	return want
}

func TestReadBulk(t *testing.T) {
	dir := t.TempDir()
	want := writeExport(t, dir, caryPath, clementePath)
	// An orphan and a malformed line.
	if err := os.WriteFile(filepath.Join(dir, "Group.ndjson"), []byte(`{"resourceType":"Condition","subject":{"reference":"Group/1"},"code":{"text":"x"}}`+"\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mem := range []int64{0, 64 << 10} { // in memory; and partitioned to disk
		got := map[string]int{}
		st, err := fhir.ReadBulk(context.Background(), dir, &fhir.BulkOptions{MemoryBytes: mem, TempDir: t.TempDir()}, func(id string, rec *fhir.Record, err error) error {
			if err != nil {
				t.Errorf("patient rejected: %v", err)
				return nil
			}
			got[id] = rec.Len()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if mem > 0 && st.Partitions < 2 {
			t.Errorf("memory %d: %d partitions, want several", mem, st.Partitions)
		}
		if st.Orphans != 1 || st.Malformed != 1 || st.Patients != 2 || st.Unattached != 6 { // 3 Organizations, 3 Practitioners
			t.Errorf("memory %d: stats %+v", mem, st)
		}
		for id, n := range want {
			if got[id] != n {
				t.Errorf("memory %d: patient record has %d resources, bundle parse gives %d", mem, got[id], n)
			}
		}
	}
}

func TestReadBulkErrors(t *testing.T) {
	if _, err := fhir.ReadBulk(context.Background(), t.TempDir(), nil, nil); err == nil || !strings.Contains(err.Error(), "no .ndjson") {
		t.Errorf("empty dir: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Observation.ndjson"), []byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/nobody"}}`+"\n"), 0o600)
	var rejected int
	_, err := fhir.ReadBulk(context.Background(), dir, nil, func(_ string, _ *fhir.Record, err error) error {
		if err != nil {
			rejected++
		}
		return nil
	})
	if err != nil || rejected != 1 {
		t.Errorf("patient without Patient resource: err %v, rejected %d", err, rejected)
	}
}
