-- Audit events: administrative changes and security events, kept for the
-- configured retention. No foreign keys: an event outlives what it is about.
-- ids sort by time; detail is a JSON object of strings. Nothing secret is
-- ever stored here.
CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY,
    occurred_at     BIGINT NOT NULL,
    type            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    subject         TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    merchant_id     TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    source          TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    detail          TEXT NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (occurred_at);
CREATE INDEX audit_events_merchant ON audit_events (merchant_id, id);
