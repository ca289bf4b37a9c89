-- Revoking a token family records the family here, once, instead of updating
-- every token of it; a token reads as revoked when its family is listed.
-- Rotations then only append rows: the two family indexes, where each
-- rotation inserted into the middle of a B-tree, are gone. expires_at is when
-- the family's last token expires (0: never), after which the janitor forgets
-- the revocation.
CREATE TABLE revoked_families (
    id         TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
DROP INDEX access_tokens_family;
DROP INDEX refresh_tokens_family;
