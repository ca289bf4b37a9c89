-- Access tokens of no family (client_credentials, password grants without a
-- refresh token) are left out of the family index, which only family
-- revocation reads: one B-tree insert less for each such token. Queries on
-- it say family_id <> '' so the planner knows the index applies.
DROP INDEX access_tokens_family;
CREATE INDEX access_tokens_family ON access_tokens (family_id) WHERE family_id <> '';
