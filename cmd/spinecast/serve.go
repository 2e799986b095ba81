package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spinecast/spinecast/defaultmodels"
	"github.com/spinecast/spinecast/fhir"
	"github.com/spinecast/spinecast/models"
	"github.com/spinecast/spinecast/server"
	"github.com/spinecast/spinecast/store"
)

// serveConfig is the optional --config file: the server's Config plus the
// process-level settings. Flags override environment variables
// (SPINECAST_<FLAG NAME IN CAPITALS, '-' → '_'>), which override the file.
type serveConfig struct {
	server.Config
	Database      string            `json:"database"`
	Models        string            `json:"models"`
	DefaultModels map[string]string `json:"default_models"`
	LogLevel      string            `json:"log_level"`
	// SMART Backend Services for --fhir-server: the client id the EHR
	// registered, the private key file (JWK with kid and alg RS384/ES384),
	// the token endpoint (default: discovered from the FHIR server's
	// .well-known/smart-configuration) and the scope requested.
	FHIRClientID   string `json:"fhir_client_id"`
	FHIRPrivateKey string `json:"fhir_private_key"`
	FHIRTokenURL   string `json:"fhir_token_url"`
	FHIRScope      string `json:"fhir_scope"`
}

// defaultFHIRScope asks for read/search of the resource types the features
// use (SMART v2 system scopes).
const defaultFHIRScope = "system/Patient.rs system/Observation.rs system/Condition.rs system/Procedure.rs " +
	"system/MedicationStatement.rs system/QuestionnaireResponse.rs system/ImagingStudy.rs"

func serveCmd(e *env) *cobra.Command {
	var (
		configFile, addr, publicURL, database, modelsDir, trusted, restIssuers, restAud, apiKeys string
		fhirAllow, fhirServer, logLevel                                                          string
		fhirClientID, fhirKey, fhirTokenURL, fhirScope                                           string
		defaults                                                                                 []string
		insecure                                                                                 bool
		reqTimeout, cdsDeadline                                                                  time.Duration
		bodyLimit                                                                                int64
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API and CDS Hooks services",
		Long: "serve answers predictions over REST (JSON or FHIR RiskAssessment) and CDS Hooks 2.0, with\n" +
			"JWT authentication, an audit trail in SQLite or PostgreSQL, and Prometheus metrics.\n" +
			"Settings: flags > SPINECAST_* environment variables > --config FILE (JSON) > defaults.\n" +
			"SPINECAST_FHIR_TOKEN (environment only) is the Bearer token for --fhir-server.\n" +
			"Served models are research/demonstration models, not for clinical use.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := serveConfig{}
			if v := envOr(cmd.Flags(), "config", configFile); v != "" {
				b, err := os.ReadFile(v)
				if err != nil {
					return fmt.Errorf("read config: %w", err)
				}
				dec := json.NewDecoder(strings.NewReader(string(b)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&cfg); err != nil {
					return fmt.Errorf("parse config %s: %w", v, err)
				}
			}
			f := cmd.Flags()
			set := func(dst *string, name, val string) {
				if v := envOr(f, name, val); v != "" || f.Changed(name) {
					*dst = v
				}
			}
			set(&cfg.Addr, "addr", addr)
			set(&cfg.PublicURL, "public-url", publicURL)
			set(&cfg.Database, "database", database)
			set(&cfg.Models, "models", modelsDir)
			set(&cfg.RESTAudience, "rest-audience", restAud)
			set(&cfg.FHIRServer, "fhir-server", fhirServer)
			set(&cfg.LogLevel, "log-level", logLevel)
			set(&cfg.FHIRClientID, "fhir-client-id", fhirClientID)
			set(&cfg.FHIRPrivateKey, "fhir-private-key", fhirKey)
			set(&cfg.FHIRTokenURL, "fhir-token-url", fhirTokenURL)
			set(&cfg.FHIRScope, "fhir-scope", fhirScope)
			if v := envOr(f, "fhir-allowlist", fhirAllow); v != "" {
				cfg.FHIRAllowlist = splitList(v)
			}
			if v := envOr(f, "insecure-dev", fmt.Sprint(insecure)); v == "true" || v == "1" {
				cfg.InsecureDev = true
			}
			if f.Changed("request-timeout") || os.Getenv("SPINECAST_REQUEST_TIMEOUT") != "" {
				d, err := time.ParseDuration(envOr(f, "request-timeout", reqTimeout.String()))
				if err != nil {
					return fmt.Errorf("--request-timeout: %w", err)
				}
				cfg.RequestTimeout = d
			}
			if f.Changed("cds-deadline") || os.Getenv("SPINECAST_CDS_DEADLINE") != "" {
				d, err := time.ParseDuration(envOr(f, "cds-deadline", cdsDeadline.String()))
				if err != nil {
					return fmt.Errorf("--cds-deadline: %w", err)
				}
				cfg.CDSDeadline = d
			}
			if f.Changed("body-limit") {
				cfg.BodyLimit = bodyLimit
			}
			cfg.FHIRToken = os.Getenv("SPINECAST_FHIR_TOKEN")
			if v := envOr(f, "cds-trusted-issuers", trusted); v != "" {
				is, err := server.LoadIssuers(v)
				if err != nil {
					return err
				}
				cfg.TrustedIssuers = is
			}
			if v := envOr(f, "rest-issuers", restIssuers); v != "" {
				is, err := server.LoadIssuers(v)
				if err != nil {
					return err
				}
				cfg.RESTIssuers = is
			}
			if v := envOr(f, "api-keys", apiKeys); v != "" {
				b, err := os.ReadFile(v)
				if err != nil {
					return fmt.Errorf("read api keys: %w", err)
				}
				if err := json.Unmarshal(b, &cfg.APIKeys); err != nil {
					return fmt.Errorf("parse api keys %s: %w", v, err)
				}
			}
			for _, d := range defaults {
				o, id, ok := strings.Cut(d, "=")
				if !ok {
					return fmt.Errorf("--default-model %q: want OUTCOME=MODEL_ID", d)
				}
				if cfg.DefaultModels == nil {
					cfg.DefaultModels = map[string]string{}
				}
				cfg.DefaultModels[o] = id
			}
			return serve(cmd.Context(), e, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "JSON configuration file (see serveConfig in the docs)")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	f.StringVar(&publicURL, "public-url", "", "base URL clients use (JWT audiences are checked against it; default http://ADDR)")
	f.StringVar(&database, "database", "spinecast.db", "SQLite file, or postgres://… URL")
	f.StringVar(&modelsDir, "models", "", "directory of model artifacts (*.json) to serve (default: the embedded demonstration models)")
	f.StringArrayVar(&defaults, "default-model", nil, "OUTCOME=MODEL_ID: the outcome's default model (repeatable; default: first id)")
	f.StringVar(&trusted, "cds-trusted-issuers", "", `trust list for CDS Hooks JWTs: [{"iss":…,"jwks_url":"https://…"|"jwks_file":…,"jku_allowlist":[…]}]`)
	f.StringVar(&restIssuers, "rest-issuers", "", "trust list (same format) for REST OAuth2 access tokens")
	f.StringVar(&restAud, "rest-audience", "", "audience REST access tokens must carry (default: --public-url)")
	f.StringVar(&apiKeys, "api-keys", "", `REST API keys: [{"name":…,"sha256":hex,"scopes":["spinecast/predict"]}]`)
	f.StringVar(&fhirAllow, "fhir-allowlist", "", "comma-separated FHIR base URLs CDS calls may make us fetch from (a trailing / allows the subtree)")
	f.StringVar(&fhirServer, "fhir-server", "", "FHIR base URL for GET /v1/patients/{id}/predictions")
	f.StringVar(&fhirClientID, "fhir-client-id", "", "SMART Backend Services client id for --fhir-server (then tokens are obtained, not SPINECAST_FHIR_TOKEN)")
	f.StringVar(&fhirKey, "fhir-private-key", "", "SMART Backend Services private key: a JWK file with kid and alg RS384 or ES384")
	f.StringVar(&fhirTokenURL, "fhir-token-url", "", "SMART token endpoint (default: from --fhir-server's .well-known/smart-configuration)")
	f.StringVar(&fhirScope, "fhir-scope", defaultFHIRScope, "scope requested from the SMART token endpoint")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.BoolVar(&insecure, "insecure-dev", false, "turn authentication OFF (allowed only on a loopback address)")
	f.DurationVar(&reqTimeout, "request-timeout", 10*time.Second, "per-request handler deadline")
	f.DurationVar(&cdsDeadline, "cds-deadline", 4*time.Second, "deadline for a CDS Hooks call, FHIR fetches included")
	f.Int64Var(&bodyLimit, "body-limit", 4<<20, "maximum request body in bytes")
	return cmd
}

// envOr returns the flag's value when set on the command line, else the
// environment variable SPINECAST_<NAME>, else the flag's value (its default).
func envOr(f *pflag.FlagSet, name, val string) string {
	if f.Changed(name) {
		return val
	}
	if v, ok := os.LookupEnv("SPINECAST_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
		return v
	}
	return val
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newLogger(e *env, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: l})), nil
}

func serve(ctx context.Context, e *env, cfg serveConfig) error {
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
	log, err := newLogger(e, cfg.LogLevel)
	if err != nil {
		return err
	}
	var reg *server.Registry
	if cfg.Models != "" {
		reg, err = server.LoadModelDir(cfg.Models, cfg.DefaultModels)
	} else {
		// The embedded demonstration models (trained on simulated data).
		var arts map[string]*models.Artifact
		var defs map[string]string
		arts, defs, err = defaultmodels.All()
		if err == nil {
			for o, id := range cfg.DefaultModels {
				defs[o] = id
			}
			log.Warn("serving the embedded default models", "models", len(arts), "notice", defaultmodels.Notice)
			reg, err = server.NewRegistry(arts, defs)
		}
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.FHIRTokens, err = backendServices(ctx, cfg); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if cfg.Database == "" {
		cfg.Database = "spinecast.db"
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer st.Close()
	lookup, err := imagingLookup(st)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	x := newExtractor(lookup)
	deps := server.Deps{Models: reg, Store: st, Extractor: x, Logger: log}
	if fs, ok := x.(server.FeatureSchema); ok {
		deps.Schema = fs
	}
	srv, err := server.New(cfg.Config, deps)
	if err != nil {
		return err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("configuration", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "database", maskDSN(cfg.Database),
		"models_dir", cfg.Models, "models", len(reg.Models()), "cds_trusted_issuers", len(cfg.TrustedIssuers),
		"rest_issuers", len(cfg.RESTIssuers), "api_keys", len(cfg.APIKeys), "fhir_allowlist", cfg.FHIRAllowlist,
		"fhir_server", cfg.FHIRServer, "fhir_auth", fhirAuthMode(cfg), "insecure_dev", cfg.InsecureDev,
		"store", string(st.Dialect()))
	return srv.Serve(ctx, ln)
}

// maskDSN hides a database URL's password.
func maskDSN(dsn string) string {
	if !store.IsPostgres(dsn) {
		return dsn
	}
	scheme, rest, _ := strings.Cut(dsn, "://")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		cred := rest[:at]
		if user, _, ok := strings.Cut(cred, ":"); ok {
			return scheme + "://" + user + ":***@" + rest[at+1:]
		}
	}
	return dsn
}

// backendServices builds the SMART Backend Services token source for
// --fhir-server when a client id is configured (nil otherwise).
func backendServices(ctx context.Context, cfg serveConfig) (fhir.TokenSource, error) {
	if cfg.FHIRClientID == "" {
		if cfg.FHIRPrivateKey != "" || cfg.FHIRTokenURL != "" {
			return nil, errors.New("--fhir-private-key and --fhir-token-url need --fhir-client-id")
		}
		return nil, nil
	}
	if cfg.FHIRServer == "" || cfg.FHIRPrivateKey == "" {
		return nil, errors.New("--fhir-client-id needs --fhir-server and --fhir-private-key")
	}
	b, err := os.ReadFile(cfg.FHIRPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("read --fhir-private-key: %w", err)
	}
	key, err := jwk.ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("--fhir-private-key: not a JWK: %w", err)
	}
	if _, ok := key.(jwk.RSAPrivateKey); !ok {
		if _, ok := key.(jwk.ECDSAPrivateKey); !ok {
			return nil, errors.New("--fhir-private-key: want an RSA or EC private key")
		}
	}
	scope := cfg.FHIRScope
	if scope == "" {
		scope = defaultFHIRScope
	}
	tokenURL := cfg.FHIRTokenURL
	if tokenURL == "" {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if tokenURL, err = fhir.DiscoverTokenURL(dctx, nil, cfg.FHIRServer); err != nil {
			return nil, fmt.Errorf("--fhir-token-url not given and %w", err)
		}
	}
	bs := &fhir.BackendServices{TokenURL: tokenURL, ClientID: cfg.FHIRClientID, Key: key, Scope: scope}
	// Sign one assertion now so that a key without kid or with another alg
	// fails at start, not at the first request.
	if err := bs.Check(); err != nil {
		return nil, err
	}
	return bs, nil
}

// fhirAuthMode names how --fhir-server requests are authorised (for the
// start-up log line; never the token itself).
func fhirAuthMode(cfg serveConfig) string {
	switch {
	case cfg.FHIRTokens != nil:
		return "smart-backend-services"
	case cfg.FHIRToken != "":
		return "static-token"
	}
	return "none"
}
