package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
)

const vertebralCSV = "../testdata/vertebral_column_2C.csv"

var (
	trainOnce sync.Once
	trained   map[string]*models.Artifact
	trainErr  error
)

// mustArtifacts trains, once per test binary, a small elastic net and a
// small forest on the vertebral data (status = Abnormal).
func mustArtifacts(tb testing.TB) map[string]*models.Artifact {
	tb.Helper()
	trainOnce.Do(func() {
		f, err := os.Open(vertebralCSV)
		if err != nil {
			trainErr = err
			return
		}
		defer f.Close()
		tab, err := models.ReadTable(f, "status", "Abnormal", nil)
		if err != nil {
			trainErr = err
			return
		}
		lambda := 0.01
		trained = map[string]*models.Artifact{}
		for id, s := range map[string]models.TrainSettings{
			"enet":   {Algorithm: models.ElasticNet, Alpha: 0.5, Lambda: &lambda, Folds: 3, Bootstrap: 10, Seed: 1},
			"forest": {Algorithm: models.RandomForest, Trees: 40, Folds: 3, Seed: 1},
		} {
			a, err := models.Train(context.Background(), tab, s)
			if err != nil {
				trainErr = err
				return
			}
			if err := a.Seal(); err != nil {
				trainErr = err
				return
			}
			trained[id] = a
		}
	})
	if trainErr != nil {
		tb.Fatalf("train test models: %v", trainErr)
	}
	return trained
}

func mustRegistry(tb testing.TB) *server.Registry {
	tb.Helper()
	r, err := server.NewRegistry(mustArtifacts(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specRtr  routers.Router
	specErr  error
)

// mustSpec loads and validates ../openapi.yaml.
func mustSpec(tb testing.TB) routers.Router {
	tb.Helper()
	specOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/markdown", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromFile("../openapi.yaml")
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(loader.Context); specErr != nil {
			return
		}
		// Route against the path alone: the server's URL is the test's.
		specDoc.Servers = openapi3.Servers{{URL: "/"}}
		specRtr, specErr = legacy.NewRouter(specDoc)
	})
	if specErr != nil {
		tb.Fatalf("openapi.yaml: %v", specErr)
	}
	return specRtr
}

// harness is a real server listening on a loopback port with a temporary
// SQLite store; every exchange is checked against openapi.yaml.
type harness struct {
	t     *testing.T
	base  string
	srv   *server.Server
	st    *store.Store
	cfg   server.Config
	rtr   routers.Router
	token string // Authorization header value, if any
}

func newHarness(t *testing.T, cfg server.Config, tweak func(*server.Deps)) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = ln.Addr().String()
	cfg.PublicURL = "http://" + ln.Addr().String()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	d := server.Deps{Models: mustRegistry(t), Store: st}
	if tweak != nil {
		tweak(&d)
	}
	srv, err := server.New(cfg, d)
	if err != nil {
		ln.Close()
		st.Close()
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
		st.Close()
	})
	return &harness{t: t, base: cfg.PublicURL, srv: srv, st: st, cfg: cfg, rtr: mustSpec(t)}
}

type exchange struct {
	method, path string
	body         []byte
	header       map[string]string
	// skipRequestCheck leaves the request unvalidated: for tests that send
	// deliberately malformed requests. The response is always checked.
	skipRequestCheck bool
}

// do performs the exchange and validates it against openapi.yaml: the
// response's status must be documented for the route and its body must
// match the documented schema for its content type.
func (h *harness) do(x exchange) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(x.method, h.base+x.path, bytes.NewReader(x.body))
	if err != nil {
		h.t.Fatal(err)
	}
	if x.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.token != "" {
		req.Header.Set("Authorization", h.token)
	}
	for k, v := range x.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", x.method, x.path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		h.t.Fatal(err)
	}
	h.validate(req, x, resp, body)
	return resp, body
}

func (h *harness) validate(req *http.Request, x exchange, resp *http.Response, body []byte) {
	h.t.Helper()
	// Rebuild the request for the validator (its body was consumed).
	vreq, _ := http.NewRequest(x.method, x.path, bytes.NewReader(x.body))
	vreq.Header = req.Header.Clone()
	route, params, err := h.rtr.FindRoute(vreq)
	if err != nil {
		h.t.Errorf("%s %s: not in openapi.yaml: %v", x.method, x.path, err)
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if !x.skipRequestCheck {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			h.t.Errorf("%s %s: request does not match openapi.yaml: %v", x.method, x.path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		h.t.Errorf("%s %s → %d: response does not match openapi.yaml: %v\nbody: %.600s", x.method, x.path, resp.StatusCode, err, body)
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustDecode(tb testing.TB, b []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("decode %.300s: %v", b, err)
	}
}

// obsExtractor is a stand-in for the feature pipeline: each Observation
// whose code.text names a feature gives that feature its valueQuantity.
type obsExtractor struct{}

func (obsExtractor) Extract(ctx context.Context, bundle []byte, _ time.Time) (*server.Vector, error) {
	if err := ctx.Err(); err != nil { // as the real pipeline: no work past the deadline
		return nil, err
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
				Code         struct {
					Text string `json:"text"`
				} `json:"code"`
				ValueQuantity *struct {
					Value float64 `json:"value"`
					Unit  string  `json:"unit"`
				} `json:"valueQuantity"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil || b.ResourceType != "Bundle" {
		return nil, errors.Join(server.ErrBadRecord, errors.New("not a Bundle"))
	}
	v := &server.Vector{SchemaVersion: "test-1", Values: map[string]float64{}, Units: map[string]string{}, Provenance: map[string][]string{}}
	for _, e := range b.Entry {
		r := e.Resource
		switch r.ResourceType {
		case "Patient":
			v.PatientID = r.ID
		case "Observation":
			if r.ValueQuantity != nil && r.Code.Text != "" {
				v.Values[r.Code.Text] = r.ValueQuantity.Value
				v.Units[r.Code.Text] = r.ValueQuantity.Unit
				v.Provenance[r.Code.Text] = append(v.Provenance[r.Code.Text], "Observation/"+r.ID)
			}
		}
	}
	return v, nil
}

// vertebralRow is the first row of the vertebral data (Abnormal).
var vertebralRow = map[string]float64{
	"pelvic_incidence": 63.0278175, "pelvic_tilt": 22.55258597, "lumbar_lordosis_angle": 39.60911701,
	"sacral_slope": 40.47523153, "pelvic_radius": 98.67291675, "degree_spondylolisthesis": -0.254399986,
}

func features(m map[string]float64) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func contentType(resp *http.Response) string {
	ct := resp.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return ct
}
