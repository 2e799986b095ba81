package server_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
)

func benchHandler(b *testing.B) *server.Server {
	b.Helper()
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	srv, err := server.New(server.Config{InsecureDev: true}, server.Deps{Models: mustRegistry(b), Store: st, Extractor: obsExtractor{}})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

func benchPost(b *testing.B, srv *server.Server, path string, body []byte) {
	h := srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
}

// BenchmarkCDSFullPrefetch is one CDS Hooks call with full prefetch,
// audit write to SQLite included.
func BenchmarkCDSFullPrefetch(b *testing.B) {
	benchPost(b, benchHandler(b), "/cds-services/spine-surgery-outcomes", mustJSON(b, hookRequest("patient-view", fullPrefetch(), "")))
}

func BenchmarkPredictFeatures(b *testing.B) {
	srv := benchHandler(b)
	for _, alg := range []string{"elasticnet", "random-forest"} {
		b.Run(alg, func(b *testing.B) {
			benchPost(b, srv, "/v1/predictions", mustJSON(b, map[string]any{"features": features(vertebralRow), "algorithm": alg}))
		})
	}
}
