package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spinecast/spinecast/store"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeAndAudit starts `spinecast serve` on a trained model, predicts,
// stops it with the context (graceful shutdown), then reads the audit
// trail back with `spinecast audit`.
func TestServeAndAudit(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	if err := os.Mkdir(models, 0o755); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "train", "--data", vertebral, "--target", "status", "--positive", "Abnormal", "--algorithm", "elasticnet",
		"--bootstrap", "5", "--out", filepath.Join(models, "enet.json"))
	db := filepath.Join(dir, "audit.db")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--models", models, "--database", db, "--addr", addr, "--insecure-dev"},
			strings.NewReader(""), &bytes.Buffer{}, &logs)
	}()
	base := "http://" + addr
	var ready bool
	for i := 0; i < 100 && !ready; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == 200
		}
		if !ready {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ready {
		cancel()
		t.Fatalf("server not ready; logs:\n%s", logs.String())
	}
	body := `{"features":{"pelvic_incidence":63,"pelvic_tilt":22,"lumbar_lordosis_angle":39,"sacral_slope":40,"pelvic_radius":98,"degree_spondylolisthesis":-0.25}}`
	resp, err := http.Post(base+"/v1/predictions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		Demonstration bool
		Predictions   []struct{ Probability float64 }
	}
	json.NewDecoder(resp.Body).Decode(&pr)
	resp.Body.Close()
	if resp.StatusCode != 200 || !pr.Demonstration || len(pr.Predictions) != 1 {
		t.Fatalf("prediction: %d %+v", resp.StatusCode, pr)
	}
	// CDS Hooks through the FHIR reader and the feature pipeline.
	empty := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": 0}
	cds, _ := json.Marshal(map[string]any{"hook": "patient-view", "hookInstance": "h-1",
		"context": map[string]any{"userId": "Practitioner/1", "patientId": "p9"},
		"prefetch": map[string]any{"patient": map[string]any{"resourceType": "Patient", "id": "p9", "birthDate": "1960-06-15"},
			"observations": empty, "conditions": empty, "questionnaireResponses": empty, "procedures": empty, "medicationStatements": empty}})
	resp, err = http.Post(base+"/cds-services/spine-surgery-outcomes", "application/json", bytes.NewReader(cds))
	if err != nil {
		t.Fatal(err)
	}
	var cr struct {
		Cards []struct{ Summary, Indicator string }
	}
	json.NewDecoder(resp.Body).Decode(&cr)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(cr.Cards) != 1 || !strings.Contains(cr.Cards[0].Summary, "%") {
		t.Errorf("CDS call: %d %+v", resp.StatusCode, cr)
	}
	resp, err = http.Get(base + "/v1/features/schema")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("feature schema: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
	out := logs.String()
	for _, want := range []string{`"msg":"AUTHENTICATION IS OFF`, `"msg":"request"`, `"route":"/v1/predictions"`, `"msg":"stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	// Logs are JSON lines and carry no feature values.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
	if strings.Contains(out, "pelvic_incidence") || strings.Contains(out, `p9`) || strings.Contains(out, "1960-06-15") {
		t.Error("logs contain request data or a patient identifier")
	}

	got := mustRun(t, "audit", "--database", db, "--since", "1h")
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 {
		t.Fatalf("audit gave %d records, want 2 (prediction, CDS call):\n%s", len(lines), got)
	}
	var rec store.AuditRecord
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("audit output %q: %v", got, err)
	}
	if rec.Kind != "prediction" || rec.Route != "/v1/predictions" || len(rec.Models) != 1 || rec.Models[0].Probability != pr.Predictions[0].Probability {
		t.Errorf("audit record %+v", rec)
	}
	if out := mustRun(t, "audit", "--database", db, "--patient", "p9"); !strings.Contains(out, `"kind":"cds"`) || !strings.Contains(out, `"hook":"patient-view"`) {
		t.Errorf("audit --patient p9: %q", out)
	}
	if out := mustRun(t, "audit", "--database", db, "--patient", "nobody"); out != "" {
		t.Errorf("unknown patient: %q, want nothing", out)
	}
	table := mustRun(t, "audit", "--database", db, "--since", "2000-01-01", "--format", "table")
	if !strings.HasPrefix(table, "TIME") || !strings.Contains(table, "enet@") {
		t.Errorf("table output %q", table)
	}
	if _, _, err := runCLI(t, "audit", "--database", db); err == nil {
		t.Error("audit without --patient or --since: no error")
	}
	if _, _, err := runCLI(t, "audit", "--database", db, "--since", "last tuesday"); err == nil {
		t.Error("audit --since garbage: no error")
	}
}

// TestServeEmbeddedModels: without --models, serve offers the embedded
// demonstration models, each marked as such.
func TestServeEmbeddedModels(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--database", filepath.Join(dir, "a.db"), "--addr", addr, "--insecure-dev"},
			strings.NewReader(""), &bytes.Buffer{}, &syncBuffer{})
	}()
	var body []byte
	for i := 0; i < 200 && body == nil; i++ {
		if resp, err := http.Get("http://" + addr + "/v1/models"); err == nil {
			if resp.StatusCode == 200 {
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(resp.Body)
				body = buf.Bytes()
			}
			resp.Body.Close()
		}
		if body == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if body == nil {
		t.Fatal("the server never listed its models")
	}
	for _, want := range []string{"odi_mcid15_12m", "tfesi_response_2m", "complication_any_90d", "simulated data"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("GET /v1/models does not mention %q: %.400s", want, body)
		}
	}
}

func TestServeRefusals(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runCLI(t, "serve", "--models", dir, "--database", filepath.Join(dir, "a.db")); err == nil {
		t.Error("serve with an empty models directory: no error")
	}
}

func TestMaskDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/db": "postgres://u:***@h:5432/db",
		"postgres://u@h/db":             "postgres://u@h/db",
		"spinecast.db":                  "spinecast.db",
	} {
		if got := maskDSN(in); got != want {
			t.Errorf("maskDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
