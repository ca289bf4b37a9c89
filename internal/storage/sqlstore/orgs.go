package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

// CreateMerchant stores a new merchant; its organization, if any, must exist.
func (s *Store) CreateMerchant(ctx context.Context, m storage.Merchant) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		if m.OrganizationID != "" {
			if err := mustExist(ctx, tx, "organizations", m.OrganizationID); err != nil {
				return fmt.Errorf("organization %q: %w", m.OrganizationID, err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO merchants (id, name, organization_id, created_at) VALUES ($1, $2, $3, $4)`,
			m.ID, m.Name, nullable(m.OrganizationID), ms(m.CreatedAt))
		return err
	})
	return s.wrap(err, "create merchant %q", m.ID)
}

// GetMerchant loads a merchant.
func (s *Store) GetMerchant(ctx context.Context, id string) (storage.Merchant, error) {
	m, err := scanMerchant(s.reader.QueryRowContext(ctx, `SELECT id, name, organization_id, created_at FROM merchants WHERE id = $1`, id))
	return m, s.wrap(err, "get merchant %q", id)
}

// ListMerchants returns every merchant, by id.
func (s *Store) ListMerchants(ctx context.Context) ([]storage.Merchant, error) {
	ms, err := list(ctx, s.reader, scanMerchant, `SELECT id, name, organization_id, created_at FROM merchants ORDER BY id`)
	return ms, s.wrap(err, "list merchants")
}

// DeleteMerchant removes a merchant that no account, client or membership uses.
func (s *Store) DeleteMerchant(ctx context.Context, id string) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		if err := unreferenced(ctx, tx, storage.OwnerMerchant, id); err != nil {
			return err
		}
		return deleteRow(ctx, tx, "merchants", id)
	})
	return s.wrap(err, "delete merchant %q", id)
}

func scanMerchant(row scanner) (storage.Merchant, error) {
	var m storage.Merchant
	var org nullString
	var created int64
	err := row.Scan(&m.ID, &m.Name, &org, &created)
	m.OrganizationID, m.CreatedAt = org.String, fromMS(created)
	return m, err
}

// CreateOrganization stores a new organization.
func (s *Store) CreateOrganization(ctx context.Context, o storage.Organization) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)`, o.ID, o.Name, ms(o.CreatedAt))
		return err
	})
	return s.wrap(err, "create organization %q", o.ID)
}

// GetOrganization loads an organization.
func (s *Store) GetOrganization(ctx context.Context, id string) (storage.Organization, error) {
	o, err := scanOrganization(s.reader.QueryRowContext(ctx, `SELECT id, name, created_at FROM organizations WHERE id = $1`, id))
	return o, s.wrap(err, "get organization %q", id)
}

// ListOrganizations returns every organization, by id.
func (s *Store) ListOrganizations(ctx context.Context) ([]storage.Organization, error) {
	os, err := list(ctx, s.reader, scanOrganization, `SELECT id, name, created_at FROM organizations ORDER BY id`)
	return os, s.wrap(err, "list organizations")
}

// DeleteOrganization removes an organization that no merchant or membership uses.
func (s *Store) DeleteOrganization(ctx context.Context, id string) error {
	err := s.exec(ctx, func(ctx context.Context, tx *wtx) error {
		if err := unreferenced(ctx, tx, storage.OwnerOrganization, id); err != nil {
			return err
		}
		return deleteRow(ctx, tx, "organizations", id)
	})
	return s.wrap(err, "delete organization %q", id)
}

func scanOrganization(row scanner) (storage.Organization, error) {
	var o storage.Organization
	var created int64
	err := row.Scan(&o.ID, &o.Name, &created)
	o.CreatedAt = fromMS(created)
	return o, err
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, db querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// mustExist returns storage.ErrNotFound unless table has a row with id.
// table is always a constant of this package.
func mustExist(ctx context.Context, tx *wtx, table, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ErrNotFound
	}
	return err
}

// deleteRow deletes by id; storage.ErrNotFound when there was none.
func deleteRow(ctx context.Context, tx *wtx, table, id string) error {
	return oneRow(tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id))
}

// unreferenced returns storage.ErrInUse when a membership names the owner.
// Foreign keys cover the other references; memberships point at either
// table, so they are checked here.
func unreferenced(ctx context.Context, tx *wtx, t storage.OwnerType, id string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_memberships WHERE owner_type = $1 AND owner_id = $2`, string(t), id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d accounts are members: %w", n, storage.ErrInUse)
	}
	return nil
}
