package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect names the SQL backend of a Store.
type Dialect string

// The supported backends.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is a migrated database holding the audit trail and CDS feedback.
// It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
}

// IsPostgres reports whether dsn names a PostgreSQL database
// (postgres:// or postgresql:// URL); anything else is a SQLite file path.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to dsn — a postgres:// URL, or a SQLite file path
// (":memory:" for a private in-memory database) — and applies any pending
// migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("open store: empty database name")
	}
	s := &Store{}
	var err error
	if IsPostgres(dsn) {
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		s.db.SetMaxOpenConns(16)
	} else {
		s.dialect = SQLite
		s.db, err = sql.Open("sqlite", sqliteDSN(dsn))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		// One writer at a time is what SQLite allows; a single connection
		// also keeps ":memory:" one database rather than one per connection.
		s.db.SetMaxOpenConns(1)
	}
	if err := s.ping(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", s.dialect, err)
	}
	if err := s.Migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// ping connects. On SQLite, opening a new file switches it to WAL, which
// needs a moment of exclusive access and answers SQLITE_BUSY (without
// waiting on busy_timeout) while another process holds the file: that is
// retried, with doubling pauses, for up to 5 s.
func (s *Store) ping(ctx context.Context) error {
	wait, waited := 10*time.Millisecond, time.Duration(0)
	for {
		err := s.db.PingContext(ctx)
		if err == nil || s.dialect != SQLite || !sqliteBusy(err) || waited >= 5*time.Second {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		waited += wait
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// sqliteBusy reports whether err is SQLITE_BUSY (primary result code 5).
func sqliteBusy(err error) bool {
	var ce interface{ Code() int }
	return errors.As(err, &ce) && ce.Code()&0xff == 5
}

func sqliteDSN(path string) string {
	if path == ":memory:" {
		return "file::memory:?_pragma=foreign_keys(1)"
	}
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
}

// Dialect returns the backend in use.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers (for readiness probes).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", s.dialect, err)
	}
	return nil
}

// ModelRef identifies the model behind one prediction in the audit trail.
type ModelRef struct {
	Outcome     string  `json:"outcome"`
	ModelID     string  `json:"model_id"`
	Version     string  `json:"version"`
	Sha256      string  `json:"sha256"`
	Probability float64 `json:"probability"`
	Lower       float64 `json:"lower"`
	Upper       float64 `json:"upper"`
}

// AuditRecord is one audited call: a REST prediction or a CDS Hooks call.
// Caller is the authenticated principal (a JWT's iss or an API key's
// name); PatientID may be empty when the input carried none.
type AuditRecord struct {
	ID           int64         `json:"id"`
	Time         time.Time     `json:"time"`
	Kind         string        `json:"kind"` // "prediction", "cds", "cds-feedback"
	Route        string        `json:"route"`
	RequestID    string        `json:"request_id"`
	Caller       string        `json:"caller"`
	PatientID    string        `json:"patient_id,omitempty"`
	Hook         string        `json:"hook,omitempty"`
	HookInstance string        `json:"hook_instance,omitempty"`
	Status       int           `json:"status"`
	Latency      time.Duration `json:"latency_ns"`
	Models       []ModelRef    `json:"models,omitempty"`
}

// RecordAudit appends r to the audit trail; a zero Time means now.
func (s *Store) RecordAudit(ctx context.Context, r AuditRecord) error {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	models, err := json.Marshal(r.Models)
	if err != nil {
		return fmt.Errorf("encode audit models: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO audit
		(at_us, kind, route, request_id, caller, patient_id, hook, hook_instance, status, latency_us, models)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.Time.UnixMicro(), r.Kind, r.Route, r.RequestID, r.Caller, r.PatientID, r.Hook, r.HookInstance,
		r.Status, r.Latency.Microseconds(), string(models))
	if err != nil {
		return fmt.Errorf("insert audit record: %w", err)
	}
	return nil
}

// AuditQuery selects audit records: all conditions that are set must hold.
// Limit ≤ 0 means 1000. Records come oldest first.
type AuditQuery struct {
	PatientID string
	Since     time.Time // inclusive
	Until     time.Time // exclusive
	Limit     int
}

// Audit returns the audit records matching q.
func (s *Store) Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.PatientID != "" {
		add("patient_id = $%d", q.PatientID)
	}
	if !q.Since.IsZero() {
		add("at_us >= $%d", q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		add("at_us < $%d", q.Until.UnixMicro())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	query := `SELECT id, at_us, kind, route, request_id, caller, patient_id, hook, hook_instance, status, latency_us, models FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY at_us, id LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query audit: %w", err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var at, lat int64
		var models string
		if err := rows.Scan(&r.ID, &at, &r.Kind, &r.Route, &r.RequestID, &r.Caller, &r.PatientID, &r.Hook,
			&r.HookInstance, &r.Status, &lat, &models); err != nil {
			return nil, fmt.Errorf("read audit row: %w", err)
		}
		r.Time = time.UnixMicro(at).UTC()
		r.Latency = time.Duration(lat) * time.Microsecond
		if err := json.Unmarshal([]byte(models), &r.Models); err != nil {
			return nil, fmt.Errorf("decode audit row %d models: %w", r.ID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit rows: %w", err)
	}
	return out, nil
}

// Feedback is one CDS Hooks feedback entry about a card: outcome
// "accepted" or "overridden", with the override reason when given.
type Feedback struct {
	ID                  int64     `json:"id"`
	Time                time.Time `json:"time"` // when it was received
	Service             string    `json:"service"`
	Caller              string    `json:"caller"`
	Card                string    `json:"card"`
	Outcome             string    `json:"outcome"`
	OutcomeTime         time.Time `json:"outcome_timestamp"`
	AcceptedSuggestions []string  `json:"accepted_suggestions,omitempty"`
	ReasonSystem        string    `json:"override_reason_system,omitempty"`
	ReasonCode          string    `json:"override_reason_code,omitempty"`
	ReasonDisplay       string    `json:"override_reason_display,omitempty"`
	UserComment         string    `json:"user_comment,omitempty"`
}

// RecordFeedback stores fb atomically (all entries or none).
func (s *Store) RecordFeedback(ctx context.Context, fb []Feedback) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin feedback: %w", err)
	}
	defer tx.Rollback()
	for _, f := range fb {
		if f.Time.IsZero() {
			f.Time = time.Now()
		}
		acc, err := json.Marshal(f.AcceptedSuggestions)
		if err != nil {
			return fmt.Errorf("encode accepted suggestions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO feedback
			(at_us, service, caller, card, outcome, outcome_at_us, accepted_suggestions,
			 reason_system, reason_code, reason_display, user_comment)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			f.Time.UnixMicro(), f.Service, f.Caller, f.Card, f.Outcome, f.OutcomeTime.UnixMicro(), string(acc),
			f.ReasonSystem, f.ReasonCode, f.ReasonDisplay, f.UserComment); err != nil {
			return fmt.Errorf("insert feedback: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit feedback: %w", err)
	}
	return nil
}

// Feedback returns the feedback stored for a service ("" for all), oldest
// first, at most limit entries (≤ 0 means 1000).
func (s *Store) Feedback(ctx context.Context, service string, limit int) ([]Feedback, error) {
	if limit <= 0 {
		limit = 1000
	}
	query := `SELECT id, at_us, service, caller, card, outcome, outcome_at_us, accepted_suggestions,
		reason_system, reason_code, reason_display, user_comment FROM feedback`
	var args []any
	if service != "" {
		query += " WHERE service = $1"
		args = append(args, service)
	}
	query += fmt.Sprintf(" ORDER BY at_us, id LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query feedback: %w", err)
	}
	defer rows.Close()
	var out []Feedback
	for rows.Next() {
		var f Feedback
		var at, oat int64
		var acc string
		if err := rows.Scan(&f.ID, &at, &f.Service, &f.Caller, &f.Card, &f.Outcome, &oat, &acc,
			&f.ReasonSystem, &f.ReasonCode, &f.ReasonDisplay, &f.UserComment); err != nil {
			return nil, fmt.Errorf("read feedback row: %w", err)
		}
		f.Time, f.OutcomeTime = time.UnixMicro(at).UTC(), time.UnixMicro(oat).UTC()
		if err := json.Unmarshal([]byte(acc), &f.AcceptedSuggestions); err != nil {
			return nil, fmt.Errorf("decode feedback row %d: %w", f.ID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read feedback rows: %w", err)
	}
	return out, nil
}
