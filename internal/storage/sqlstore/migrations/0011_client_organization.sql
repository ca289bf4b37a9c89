-- A client may be bound to an organization instead of a merchant: its
-- client_credentials tokens act for the organization, and with the scope
-- latchkey:admin it administers that organization. An organization with
-- bound clients cannot be deleted (the foreign key).
ALTER TABLE clients ADD COLUMN organization_id TEXT REFERENCES organizations (id);
CREATE INDEX clients_organization ON clients (organization_id);
