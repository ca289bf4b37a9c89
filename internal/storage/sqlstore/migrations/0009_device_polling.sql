-- Device authorization grant (RFC 8628): when the device last polled, for
-- slow_down, and what the approval read of the person: the account's
-- revocation epoch and when they signed in (for an ID token's auth_time).
ALTER TABLE device_codes ADD COLUMN last_polled_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE device_codes ADD COLUMN account_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE device_codes ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
