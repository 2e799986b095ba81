package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
)

func fuzzServer(f *testing.F) http.Handler {
	f.Helper()
	st, err := store.Open(context.Background(), ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	srv, err := server.New(server.Config{InsecureDev: true}, server.Deps{Models: mustRegistry(f), Store: st, Extractor: obsExtractor{}})
	if err != nil {
		f.Fatal(err)
	}
	return srv.Handler()
}

// FuzzPredictions: no body makes POST /v1/predictions answer 5xx or panic.
func FuzzPredictions(f *testing.F) {
	h := fuzzServer(f)
	for _, s := range []string{`{"features":{"pelvic_incidence":63}}`, `{"features":{"x":null},"outcomes":["status"],"algorithm":"mlp"}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","code":{"text":"pelvic_tilt"},"valueQuantity":{"value":1e308}}}]}`,
		`{"features":{"pelvic_incidence":-1e308,"pelvic_tilt":1e-308}}`, `[]`, `null`, `{"features":[]}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/predictions", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
		}
	})
}

// FuzzCDSCall: no body makes a CDS service answer 5xx or panic.
func FuzzCDSCall(f *testing.F) {
	h := fuzzServer(f)
	f.Add(mustJSON(f, hookRequest("patient-view", fullPrefetch(), "")))
	files, _ := filepath.Glob("testdata/cdshooks/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/cds-services/spine-surgery-outcomes", "/cds-services/tfesi-response/feedback"} {
			req := httptest.NewRequest("POST", path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Errorf("%s: status %d for %q: %s", path, rec.Code, body, rec.Body.Bytes())
			}
		}
	})
}
