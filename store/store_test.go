package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spinecast/spinecast/store"
)

// backends returns the databases every test runs against: a fresh SQLite
// file always, and a fresh PostgreSQL schema when SPINECAST_TEST_POSTGRES
// holds a DSN.
func backends(t *testing.T) map[string]func(t *testing.T) *store.Store {
	t.Helper()
	b := map[string]func(t *testing.T) *store.Store{
		"sqlite": func(t *testing.T) *store.Store {
			return mustOpen(t, filepath.Join(t.TempDir(), "spinecast.db"))
		},
	}
	dsn := os.Getenv("SPINECAST_TEST_POSTGRES")
	if dsn == "" {
		t.Log("SKIPPING the PostgreSQL half of the store suite: set SPINECAST_TEST_POSTGRES=postgres://… (scripts/postgres-ci.sh prints one)")
		return b
	}
	b["postgres"] = func(t *testing.T) *store.Store { return mustOpen(t, freshSchema(t, dsn)) }
	return b
}

func TestPostgresConfigured(t *testing.T) {
	if os.Getenv("SPINECAST_TEST_POSTGRES") == "" {
		t.Skip("!!! PostgreSQL store tests SKIPPED: SPINECAST_TEST_POSTGRES is not set (run scripts/postgres-ci.sh) !!!")
	}
}

// freshSchema creates a schema private to the test and returns dsn with
// its search_path pointing there; the schema is dropped at cleanup.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("spinecast_test_%d", rand.Uint64()>>1)
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP SCHEMA " + name + " CASCADE")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func mustOpen(tb testing.TB, dsn string) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("open %s: %v", dsn, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("migrations", func(t *testing.T) { testMigrations(t, open(t)) })
			t.Run("audit", func(t *testing.T) { testAudit(t, open(t)) })
			t.Run("feedback", func(t *testing.T) { testFeedback(t, open(t)) })
			t.Run("imaging", func(t *testing.T) { testImaging(t, open(t)) })
		})
	}
}

func testMigrations(t *testing.T, s *store.Store) {
	ctx := context.Background()
	v, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != store.SchemaVersion() {
		t.Errorf("version after Open = %d, want %d", v, store.SchemaVersion())
	}
	// Migrating again is a no-op.
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if v2, _ := s.Version(ctx); v2 != v {
		t.Errorf("version after second migrate = %d, want %d", v2, v)
	}
	if err := s.Ping(ctx); err != nil {
		t.Error(err)
	}
}

func testAudit(t *testing.T, s *store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	recs := []store.AuditRecord{
		{Time: t0, Kind: "prediction", Route: "/v1/predictions", RequestID: "r1", Caller: "key:alice", PatientID: "p1",
			Status: 200, Latency: 1500 * time.Microsecond,
			Models: []store.ModelRef{{Outcome: "status", ModelID: "enet", Version: "abc", Sha256: "abc123", Probability: 0.25, Lower: 0.1, Upper: 0.4}}},
		{Time: t0.Add(time.Hour), Kind: "cds", Route: "/cds-services/spine-surgery-outcomes", RequestID: "r2",
			Caller: "https://ehr.example/", PatientID: "p2", Hook: "patient-view", HookInstance: "h-1", Status: 200, Latency: time.Millisecond},
		{Time: t0.Add(2 * time.Hour), Kind: "prediction", Route: "/v1/predictions", RequestID: "r3", Caller: "key:alice", PatientID: "p1", Status: 422},
	}
	for _, r := range recs {
		if err := s.RecordAudit(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx, store.AuditQuery{PatientID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("patient p1: got %d records, want 2", len(got))
	}
	want := recs[0]
	want.ID = got[0].ID
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got[1].RequestID != "r3" {
		t.Errorf("second p1 record = %s, want r3 (oldest first)", got[1].RequestID)
	}
	got, err = s.Audit(ctx, store.AuditQuery{Since: t0.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if ids := requestIDs(got); !cmp.Equal(ids, []string{"r2", "r3"}) {
		t.Errorf("since: got %v, want [r2 r3]", ids)
	}
	got, err = s.Audit(ctx, store.AuditQuery{Since: t0, Until: t0.Add(2 * time.Hour), Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ids := requestIDs(got); !cmp.Equal(ids, []string{"r1"}) {
		t.Errorf("window with limit 1: got %v, want [r1]", ids)
	}
	got, err = s.Audit(ctx, store.AuditQuery{PatientID: "nobody"})
	if err != nil || len(got) != 0 {
		t.Errorf("unknown patient: got %v, %v; want none", got, err)
	}
}

func requestIDs(rs []store.AuditRecord) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.RequestID)
	}
	return ids
}

func testFeedback(t *testing.T, s *store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	fb := []store.Feedback{
		{Time: t0, Service: "spine-surgery-outcomes", Caller: "https://ehr.example/", Card: "c1", Outcome: "accepted",
			OutcomeTime: t0.Add(-time.Minute), AcceptedSuggestions: []string{"s1"}},
		{Time: t0, Service: "spine-surgery-outcomes", Caller: "https://ehr.example/", Card: "c2", Outcome: "overridden",
			OutcomeTime: t0.Add(-time.Minute), ReasonSystem: "http://example.org/reasons", ReasonCode: "pt-decline",
			ReasonDisplay: "Patient declined", UserComment: "discussed"},
	}
	if err := s.RecordFeedback(ctx, fb); err != nil {
		t.Fatal(err)
	}
	got, err := s.Feedback(ctx, "spine-surgery-outcomes", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d feedback entries, want 2", len(got))
	}
	for i := range fb {
		fb[i].ID = got[i].ID
	}
	if diff := cmp.Diff(fb, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if other, _ := s.Feedback(ctx, "tfesi-response", 0); len(other) != 0 {
		t.Errorf("other service: got %d entries, want 0", len(other))
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := store.Open(ctx, ""); err == nil {
		t.Error("empty dsn: no error")
	}
	if _, err := store.Open(ctx, filepath.Join(t.TempDir(), "missing-dir", "x.db")); err == nil {
		t.Error("sqlite file in a missing directory: no error")
	}
}

// TestSQLiteConcurrentMigrations: processes starting together on a new
// SQLite file (separate connection pools, as separate processes have)
// migrate one at a time and all succeed.
func TestSQLiteConcurrentMigrations(t *testing.T) {
	for round := 0; round < 5; round++ {
		path := filepath.Join(t.TempDir(), "spinecast.db")
		const n = 6
		errs := make(chan error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			go func() {
				<-start
				s, err := store.Open(context.Background(), path)
				if err == nil {
					s.Close()
				}
				errs <- err
			}()
		}
		close(start)
		for i := 0; i < n; i++ {
			if err := <-errs; err != nil {
				t.Errorf("round %d: concurrent open: %v", round, err)
			}
		}
		s := mustOpen(t, path)
		if v, err := s.Version(context.Background()); err != nil || v != store.SchemaVersion() {
			t.Errorf("round %d: version %d, %v", round, v, err)
		}
	}
}

// TestPostgresConcurrentMigrations: servers starting together on a fresh
// database migrate one at a time (advisory lock) and all succeed.
func TestPostgresConcurrentMigrations(t *testing.T) {
	dsn := os.Getenv("SPINECAST_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("!!! PostgreSQL store tests SKIPPED: SPINECAST_TEST_POSTGRES is not set (run scripts/postgres-ci.sh) !!!")
	}
	fresh := freshSchema(t, dsn)
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			s, err := store.Open(context.Background(), fresh)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
	s := mustOpen(t, fresh)
	if v, err := s.Version(context.Background()); err != nil || v != store.SchemaVersion() {
		t.Errorf("version %d, %v", v, err)
	}
}
