package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spinecast/spinecast/fhir"
)

const (
	mimeJSON     = "application/json"
	mimeFHIR     = "application/fhir+json"
	mimeProblem  = "application/problem+json"
	mimeMarkdown = "text/markdown"
	mimeHTML     = "text/html"
)

// Config is what an operator sets. The zero value of each field means the
// default stated beside it (see withDefaults).
type Config struct {
	// Addr is the listen address (default 127.0.0.1:8080).
	Addr string `json:"addr"`
	// PublicURL is the base URL clients call, without a trailing slash;
	// JWT audiences are checked against it (default "http://" + Addr).
	PublicURL string `json:"public_url"`
	// InsecureDev turns off authentication; Serve refuses it unless the
	// listener is on a loopback address.
	InsecureDev bool `json:"insecure_dev"`
	// RequestTimeout bounds each request's handler (default 10 s).
	RequestTimeout time.Duration `json:"request_timeout"`
	// CDSDeadline bounds a CDS Hooks call, FHIR fetches included
	// (default 4 s, inside Da Vinci CRD's 5 s).
	CDSDeadline time.Duration `json:"cds_deadline"`
	// ShutdownTimeout bounds the graceful shutdown (default 15 s).
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
	// BodyLimit caps request bodies in bytes (default 4 MiB).
	BodyLimit int64 `json:"body_limit"`
	// ClockSkew is the leeway on JWT exp / iat / nbf (default 60 s).
	ClockSkew time.Duration `json:"clock_skew"`
	// TrustedIssuers are the EHRs whose CDS Hooks JWTs are accepted.
	TrustedIssuers []Issuer `json:"trusted_issuers"`
	// RESTIssuers are the OAuth2 issuers whose access tokens the REST API
	// accepts (audience RESTAudience, scopes in the "scope" claim).
	RESTIssuers  []Issuer `json:"rest_issuers"`
	RESTAudience string   `json:"rest_audience"`
	// APIKeys are hashed static keys for the REST API.
	APIKeys []APIKey `json:"api_keys"`
	// FHIRAllowlist lists the FHIR base URLs (exact, or a prefix ending in
	// "/") that CDS calls may make Spinecast fetch from.
	FHIRAllowlist []string `json:"fhir_allowlist"`
	// FHIRServer is where GET /v1/patients/{id}/predictions reads records.
	// FHIRTokens (SMART Backend Services, fhir.BackendServices) supplies
	// its bearer tokens; without it the static FHIRToken is sent. Neither
	// is ever logged.
	FHIRServer string           `json:"fhir_server"`
	FHIRToken  string           `json:"-"`
	FHIRTokens fhir.TokenSource `json:"-"`
	// Thresholds set card indicators per outcome id (default: info).
	Thresholds map[string]Threshold `json:"thresholds"`
	// TopContributions is how many contributions a prediction lists
	// (default 5).
	TopContributions int `json:"top_contributions"`
}

// Threshold turns a probability into a card indicator: at or above
// Critical → "critical", at or above Warning → "warning", else "info".
// A zero field never triggers.
type Threshold struct {
	Warning  float64 `json:"warning"`
	Critical float64 `json:"critical"`
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.CDSDeadline <= 0 {
		c.CDSDeadline = 4 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.BodyLimit <= 0 {
		c.BodyLimit = 4 << 20
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = 60 * time.Second
	}
	if c.TopContributions <= 0 {
		c.TopContributions = 5
	}
	return c
}

// Auditor records the audit trail and CDS feedback; package store
// implements it.
type Auditor interface {
	RecordAudit(ctx context.Context, r AuditRecord) error
	RecordFeedback(ctx context.Context, fb []Feedback) error
	Ping(ctx context.Context) error
}

// Deps are what the process wires into the server.
type Deps struct {
	Models *Registry // required
	Store  Auditor   // required
	// Extractor turns FHIR data into feature vectors; nil until the
	// feature pipeline is wired: Bundle input and CDS Hooks then answer 501.
	Extractor Extractor
	// Schema, when set, answers GET /v1/features/schema.
	Schema FeatureSchema
	Logger *slog.Logger         // nil: discard
	Now    func() time.Time     // nil: time.Now
	HTTP   *http.Client         // for FHIR and JWKS fetches; nil: a client with timeouts
	Keys   func() KeyFetcher    // nil: HTTP JWKS fetches with caching
	Reg    *prometheus.Registry // nil: a fresh registry
}

// Server serves the API. Build it with New.
type Server struct {
	cfg     Config
	models  *Registry
	store   Auditor
	extract Extractor
	schema  FeatureSchema
	log     *slog.Logger
	now     func() time.Time
	http    *http.Client
	cds     *Verifier // CDS Hooks JWTs
	rest    *Verifier // REST OAuth2 JWTs (nil when none configured)
	keys    []APIKey
	met     *metrics
	reg     *prometheus.Registry
	e       *echo.Echo
}

// New validates cfg and builds the server and its routes.
func New(cfg Config, d Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if d.Models == nil || len(d.Models.Models()) == 0 {
		return nil, errors.New("new server: no models")
	}
	if d.Store == nil {
		return nil, errors.New("new server: no store")
	}
	s := &Server{cfg: cfg, models: d.Models, store: d.Store, extract: d.Extractor, schema: d.Schema,
		log: d.Logger, now: d.Now, http: d.HTTP, keys: cfg.APIKeys, reg: d.Reg}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 10 * time.Second}
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	var fetch KeyFetcher
	if d.Keys != nil {
		fetch = d.Keys()
	} else {
		fetch = NewHTTPKeyFetcher(s.http, 5*time.Minute)
	}
	if !cfg.InsecureDev && len(cfg.TrustedIssuers) == 0 {
		return nil, errors.New("new server: no trusted CDS Hooks issuers (--cds-trusted-issuers) and not --insecure-dev")
	}
	var err error
	if s.cds, err = NewVerifier(cfg.TrustedIssuers, fetch, cfg.ClockSkew, s.now); err != nil {
		return nil, fmt.Errorf("cds issuers: %w", err)
	}
	if len(cfg.RESTIssuers) > 0 {
		if cfg.RESTAudience == "" {
			cfg.RESTAudience = cfg.PublicURL
			s.cfg.RESTAudience = cfg.PublicURL
		}
		if s.rest, err = NewVerifier(cfg.RESTIssuers, fetch, cfg.ClockSkew, s.now); err != nil {
			return nil, fmt.Errorf("rest issuers: %w", err)
		}
		s.rest.reusable = true
	}
	if !cfg.InsecureDev && len(cfg.RESTIssuers) == 0 && len(cfg.APIKeys) == 0 {
		return nil, errors.New("new server: no REST credentials (API keys or OAuth2 issuers) and not --insecure-dev")
	}
	for o, t := range cfg.Thresholds {
		if t.Warning < 0 || t.Warning > 1 || t.Critical < 0 || t.Critical > 1 {
			return nil, fmt.Errorf("new server: threshold for %q outside [0, 1]", o)
		}
	}
	for _, u := range cfg.FHIRAllowlist {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return nil, fmt.Errorf("new server: FHIR allowlist entry %q is not an http(s) URL", u)
		}
	}
	s.met = newMetrics(s.reg)
	s.routes()
	return s, nil
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.e }

// Metrics returns the server's Prometheus registry.
func (s *Server) Metrics() *prometheus.Registry { return s.reg }

func (s *Server) routes() {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.requestIDMiddleware, s.logMiddleware, s.recoverMiddleware,
		middleware.BodyLimit(fmt.Sprintf("%dB", s.cfg.BodyLimit)), s.timeoutMiddleware)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))

	v1 := e.Group("/v1")
	read := s.restAuth("")
	predict := s.restAuth(ScopePredict)
	v1.POST("/predictions", s.postPredictions, predict)
	v1.GET("/patients/:id/predictions", s.patientPredictions, predict)
	v1.GET("/models", s.listModels, read)
	v1.GET("/models/:id", s.getModel, read)
	v1.GET("/models/:id/card", s.modelCard, read)
	v1.GET("/outcomes", s.listOutcomes, read)
	v1.GET("/features/schema", s.featureSchema, read)

	e.GET("/cds-services", s.discovery, s.cdsAuth)
	e.POST("/cds-services/:id", s.cdsCall, s.cdsAuth)
	e.POST("/cds-services/:id/feedback", s.cdsFeedback, s.cdsAuth)
	s.e = e
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully
// within the configured timeout. It refuses InsecureDev on a non-loopback
// listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.InsecureDev {
		if !isLoopback(ln.Addr()) {
			return fmt.Errorf("serve: --insecure-dev is allowed only on a loopback address, not %s", ln.Addr())
		}
		s.log.Warn("AUTHENTICATION IS OFF (--insecure-dev): any local process can call this server; never use it with real patients",
			"addr", ln.Addr().String())
	}
	srv := &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "models", len(s.models.Models()), "insecure_dev", s.cfg.InsecureDev)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return &Error{Code: CodeUnavailable, Message: "database not reachable", Err: err}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "models": len(s.models.Models())})
}

// writeJSON writes v with the given content type.
func writeJSON(c echo.Context, status int, contentType string, v any) error {
	c.Response().Header().Set(echo.HeaderContentType, contentType)
	c.Response().WriteHeader(status)
	enc := jsonEncoder(c.Response())
	return enc.Encode(v)
}
