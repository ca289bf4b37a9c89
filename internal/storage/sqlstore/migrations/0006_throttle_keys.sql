-- Throttle keys become keyed hashes (HMAC under the system secret) instead
-- of text naming the account: the old rows held usernames as typed, and so
-- sometimes a password typed into the username field. They are deleted, not
-- converted (the hash needs the secret, which the database does not hold);
-- losing at most a window of failure counts is harmless.
DELETE FROM login_failures;
-- next_at: no attempt is taken under the key before then (0: none waits).
ALTER TABLE login_failures ADD COLUMN next_at BIGINT NOT NULL DEFAULT 0;
