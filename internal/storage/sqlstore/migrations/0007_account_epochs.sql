-- Revoking what an account was trusted with (a new password, a disabled
-- account) is one write to the account, whatever the number of its tokens:
-- tokens_revoked_at is when that last happened (0: never), and every token
-- and code records the value its account had when it was issued. A token
-- whose account_epoch differs from its account's tokens_revoked_at reads
-- as revoked. Finding an account's tokens instead would need an index on
-- account_id in both token tables, which every token insert would pay for.
ALTER TABLE accounts ADD COLUMN tokens_revoked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE access_tokens ADD COLUMN account_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN account_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auth_codes ADD COLUMN account_epoch BIGINT NOT NULL DEFAULT 0;
