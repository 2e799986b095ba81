// Package store keeps Spinecast's durable records — the audit trail of
// predictions and CDS Hooks calls, and CDS Hooks card feedback — in SQL:
// SQLite (modernc.org/sqlite, pure Go) as the embedded default, PostgreSQL
// (jackc/pgx) for shared deployments. Both run one schema, applied by
// numbered migrations recorded in the schema_migrations table.
//
// It is not a general repository layer: it knows nothing of HTTP, FHIR or
// models beyond the plain records it stores, and it never logs.
//
// Main types: Store (Open, Migrate, RecordAudit, Audit, RecordFeedback,
// Feedback), AuditRecord, AuditQuery and Feedback.
package store
