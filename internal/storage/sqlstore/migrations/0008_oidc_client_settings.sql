-- OpenID Connect client settings: the JWS algorithm of the client's ID
-- tokens (id_token_signed_response_alg; '' is RS256) and the URIs
-- RP-initiated logout may send the browser back to, JSON like redirect_uris.
ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
