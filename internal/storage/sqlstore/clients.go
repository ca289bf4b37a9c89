package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

const clientColumns = `id, name, secret_hash, grant_types, scopes, default_scopes, redirect_uris, access_token_ttl,
	refresh_token_ttl, merchant_id, account_kind, skip_consent, rotate_refresh, refresh_grace, require_pkce,
	allow_plain_pkce, access_token_format, dialect, dialect_options, created_at, id_token_alg, post_logout_redirect_uris,
	organization_id`

func clientArgs(c storage.Client) []any {
	return []any{c.ID, c.Name, c.SecretHash, words(c.GrantTypes), words(c.Scopes), words(c.DefaultScopes),
		uriList(c.RedirectURIs), c.AccessTokenTTL.Milliseconds(), c.RefreshTokenTTL.Milliseconds(), nullable(c.MerchantID),
		string(c.AccountKind), c.SkipConsent, c.RotateRefresh, c.RefreshGrace.Milliseconds(), c.RequirePKCE,
		c.AllowPlainPKCE, c.AccessTokenFormat, c.Dialect, jsonText(optionsOf(c)), ms(c.CreatedAt), c.IDTokenAlg,
		uriList(c.PostLogoutRedirectURIs), nullable(c.OrganizationID)}
}

// uriList stores a list of URIs (redirect URIs, post-logout redirect URIs)
// as a JSON array, [] when there are none.
func uriList(uris []string) string {
	if uris == nil {
		uris = []string{}
	}
	return jsonText(uris)
}

// fromURIList reads a list stored by uriList; an empty list reads as nil.
func fromURIList(raw string) ([]string, error) {
	var uris []string
	if err := json.Unmarshal([]byte(raw), &uris); err != nil {
		return nil, err
	}
	if len(uris) == 0 {
		return nil, nil
	}
	return uris, nil
}

// clientOptions are the typed client settings kept as one JSON object in
// the dialect_options column (its name is historical: schema version 5
// turned its free key=value strings into these fields).
type clientOptions struct {
	Audience                 string `json:"audience,omitempty"`
	ClientCredentialsRefresh bool   `json:"client_credentials_refresh,omitempty"`
	Introspect               bool   `json:"introspect,omitempty"`
	AuthMethod               string `json:"token_endpoint_auth_method,omitempty"`
}

func optionsOf(c storage.Client) clientOptions {
	return clientOptions{Audience: c.Audience, ClientCredentialsRefresh: c.ClientCredentialsRefresh, Introspect: c.Introspect,
		AuthMethod: c.AuthMethod}
}

// decodeOptions reads the column; an option this build does not know is an
// error, never silently dropped.
func decodeOptions(raw []byte) (clientOptions, error) {
	var o clientOptions
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, err
	}
	return o, nil
}

// CreateClient stores a new client; its merchant, if any, must exist.
func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		if err := checkClientRefs(ctx, tx, c); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES
			($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`, clientArgs(c)...)
		return err
	})
	return s.wrap(err, "create client %q", c.ID)
}

func checkClientRefs(ctx context.Context, tx *wtx, c storage.Client) error {
	if c.MerchantID != "" {
		if err := mustExist(ctx, tx, "merchants", c.MerchantID); err != nil {
			return fmt.Errorf("merchant %q: %w", c.MerchantID, err)
		}
	}
	if c.OrganizationID != "" {
		if err := mustExist(ctx, tx, "organizations", c.OrganizationID); err != nil {
			return fmt.Errorf("organization %q: %w", c.OrganizationID, err)
		}
	}
	return nil
}

// GetClient loads a client.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := scanClient(s.reader.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	return c, s.wrap(err, "get client %q", id)
}

// ListClients returns every client, by id.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	cs, err := list(ctx, s.reader, scanClient, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	return cs, s.wrap(err, "list clients")
}

// lockRow ends the read of a read-modify-write update. On PostgreSQL, whose
// group commit runs several transactions at once (and other nodes theirs),
// it locks the row until the transaction ends, so a concurrent update reads
// this one's result instead of the same old row (conformance:
// UpdatesLoseNothing, where all but one of 24 updates were lost without it).
// SQLite has one writer, and no FOR UPDATE.
func (s *Store) lockRow() string {
	if s.flavor.Embedded() {
		return ""
	}
	return " FOR UPDATE"
}

// UpdateClient applies fn to the stored client and saves the result; the id cannot change.
func (s *Store) UpdateClient(ctx context.Context, id string, fn func(storage.Client) (storage.Client, error)) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		old, err := scanClient(tx.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`+s.lockRow(), id))
		if err != nil {
			return err
		}
		c, err := fn(old)
		if err != nil {
			return err
		}
		c.ID, c.CreatedAt = old.ID, old.CreatedAt
		if err := checkClientRefs(ctx, tx, c); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE clients SET name = $2, secret_hash = $3, grant_types = $4, scopes = $5,
			default_scopes = $6, redirect_uris = $7, access_token_ttl = $8, refresh_token_ttl = $9, merchant_id = $10,
			account_kind = $11, skip_consent = $12, rotate_refresh = $13, refresh_grace = $14, require_pkce = $15,
			allow_plain_pkce = $16, access_token_format = $17, dialect = $18, dialect_options = $19, created_at = $20,
			id_token_alg = $21, post_logout_redirect_uris = $22, organization_id = $23
			WHERE id = $1`, clientArgs(c)...)
		return err
	})
	return s.wrap(err, "update client %q", id)
}

// DeleteClient removes a client with its codes, tokens and consents.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error { return deleteRow(ctx, tx, "clients", id) })
	return s.wrap(err, "delete client %q", id)
}

func scanClient(row scanner) (storage.Client, error) {
	var c storage.Client
	var grants, scopes, defaults, uris, kind, opts, logoutURIs string
	var merchant, organization nullString
	var access, refresh, grace, created int64
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &grants, &scopes, &defaults, &uris, &access, &refresh, &merchant,
		&kind, &c.SkipConsent, &c.RotateRefresh, &grace, &c.RequirePKCE, &c.AllowPlainPKCE, &c.AccessTokenFormat,
		&c.Dialect, &opts, &created, &c.IDTokenAlg, &logoutURIs, &organization)
	if err != nil {
		return c, err
	}
	c.GrantTypes, c.Scopes, c.DefaultScopes = fromWords(grants), fromWords(scopes), fromWords(defaults)
	c.AccessTokenTTL, c.RefreshTokenTTL, c.RefreshGrace = time.Duration(access)*time.Millisecond,
		time.Duration(refresh)*time.Millisecond, time.Duration(grace)*time.Millisecond
	c.MerchantID, c.OrganizationID, c.AccountKind, c.CreatedAt = merchant.String, organization.String, storage.AccountKind(kind), fromMS(created)
	if c.RedirectURIs, err = fromURIList(uris); err != nil {
		return c, fmt.Errorf("decode redirect URIs of client %q: %w", c.ID, err)
	}
	if c.PostLogoutRedirectURIs, err = fromURIList(logoutURIs); err != nil {
		return c, fmt.Errorf("decode post-logout redirect URIs of client %q: %w", c.ID, err)
	}
	o, err := decodeOptions([]byte(opts))
	if err != nil {
		return c, fmt.Errorf("decode options of client %q: %w", c.ID, err)
	}
	c.Audience, c.ClientCredentialsRefresh, c.Introspect, c.AuthMethod = o.Audience, o.ClientCredentialsRefresh, o.Introspect, o.AuthMethod
	return c, nil
}
