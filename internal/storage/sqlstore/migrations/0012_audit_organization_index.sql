-- An organization's admin lists the events that name the organization
-- (its bound clients', its own); most events name none (every merchant's
-- token.issued), so only those that do are indexed.
CREATE INDEX audit_events_organization ON audit_events (organization_id, id) WHERE organization_id <> '';
