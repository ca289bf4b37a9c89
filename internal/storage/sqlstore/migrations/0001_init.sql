-- latchkey schema, version 1. Shared by SQLite and PostgreSQL: only TEXT,
-- BIGINT and BOOLEAN columns. Times are Unix milliseconds, 0 meaning unset;
-- durations are milliseconds. Secrets, tokens and codes appear only as hashes.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE merchants (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    organization_id TEXT REFERENCES organizations (id),
    created_at      BIGINT NOT NULL
);
CREATE INDEX merchants_organization ON merchants (organization_id);

-- realm scopes username uniqueness: the merchant id for guests, '' for staff.
CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    merchant_id         TEXT REFERENCES merchants (id),
    realm               TEXT NOT NULL,
    username            TEXT NOT NULL,
    username_key        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    printed_card_number TEXT NOT NULL,
    disabled            BOOLEAN NOT NULL,
    created_at          BIGINT NOT NULL,
    UNIQUE (kind, realm, username_key)
);
CREATE INDEX accounts_merchant ON accounts (merchant_id);

CREATE TABLE account_memberships (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    owner_type TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    PRIMARY KEY (account_id, owner_type, owner_id)
);
CREATE INDEX account_memberships_owner ON account_memberships (owner_type, owner_id);

CREATE TABLE clients (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    secret_hash         TEXT NOT NULL,
    grant_types         TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    default_scopes      TEXT NOT NULL,
    redirect_uris       TEXT NOT NULL,
    access_token_ttl    BIGINT NOT NULL,
    refresh_token_ttl   BIGINT NOT NULL,
    merchant_id         TEXT REFERENCES merchants (id),
    account_kind        TEXT NOT NULL,
    skip_consent        BOOLEAN NOT NULL,
    rotate_refresh      BOOLEAN NOT NULL,
    refresh_grace       BIGINT NOT NULL,
    require_pkce        BOOLEAN NOT NULL,
    allow_plain_pkce    BOOLEAN NOT NULL,
    access_token_format TEXT NOT NULL,
    dialect             TEXT NOT NULL,
    dialect_options     TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);
CREATE INDEX clients_merchant ON clients (merchant_id);

CREATE TABLE auth_codes (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    account_id            TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    owner_type            TEXT NOT NULL,
    owner_id              TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    nonce                 TEXT NOT NULL,
    auth_time             BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT NOT NULL
);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

-- family_id ties together the tokens of one grant, for rotation and revocation.
CREATE TABLE access_tokens (
    id         TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    owner_type TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_family ON access_tokens (family_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    id              TEXT PRIMARY KEY,
    family_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    account_id      TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    owner_type      TEXT NOT NULL,
    owner_id        TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    access_token_id TEXT NOT NULL,
    issued_at       BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    rotated_at      BIGINT NOT NULL,
    successor_id    TEXT NOT NULL,
    revoked_at      BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE consents (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    owner_type TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id, owner_type, owner_id)
);
CREATE INDEX consents_client ON consents (client_id);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    private_key TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    sign_from   BIGINT NOT NULL,
    retired_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE device_codes (
    id             TEXT PRIMARY KEY,
    user_code_hash TEXT NOT NULL UNIQUE,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes         TEXT NOT NULL,
    status         TEXT NOT NULL,
    account_id     TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    owner_type     TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    interval_ms    BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX device_codes_expires ON device_codes (expires_at);

-- Failed login counters per throttling key (account, client and address),
-- in fixed windows; kept here so every node sees the same counts.
CREATE TABLE login_failures (
    key        TEXT PRIMARY KEY,
    count      BIGINT NOT NULL,
    reset_at   BIGINT NOT NULL
);
CREATE INDEX login_failures_reset ON login_failures (reset_at);
