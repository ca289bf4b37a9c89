package oauth

import (
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
)

func TestFamilyExpiresAt(t *testing.T) {
	end := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		client  storage.Client
		refresh time.Time
		want    time.Time
	}{
		{"refresh tokens that expire", storage.Client{AccessTokenTTL: time.Hour}, end, end.Add(time.Hour + familyMargin)},
		{"refresh tokens that never expire", storage.Client{AccessTokenTTL: time.Hour}, time.Time{}, time.Time{}},
		{"access tokens that never expire", storage.Client{}, end, time.Time{}},
	} {
		if got := familyExpiresAt(tc.client, tc.refresh); !got.Equal(tc.want) {
			t.Errorf("%s: familyExpiresAt = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCodeFamilyExpiresAt(t *testing.T) {
	codeEnd := time.Date(2026, 11, 22, 12, 5, 0, 0, time.UTC)
	code := storage.AuthCode{ExpiresAt: codeEnd}
	withRefresh := []string{GrantAuthorizationCode, GrantRefreshToken}
	for _, tc := range []struct {
		name   string
		client storage.Client
		want   time.Time
	}{
		{"no refresh tokens: the access token issued before the code expired",
			storage.Client{GrantTypes: []string{GrantAuthorizationCode}, AccessTokenTTL: time.Hour, RefreshTokenTTL: 24 * time.Hour},
			codeEnd.Add(time.Hour + familyMargin)},
		{"refresh tokens that expire",
			storage.Client{GrantTypes: withRefresh, AccessTokenTTL: time.Hour, RefreshTokenTTL: 24 * time.Hour},
			codeEnd.Add(24*time.Hour + time.Hour + familyMargin)},
		{"refresh tokens that never expire",
			storage.Client{GrantTypes: withRefresh, AccessTokenTTL: time.Hour}, time.Time{}},
	} {
		if got := codeFamilyExpiresAt(tc.client, code); !got.Equal(tc.want) {
			t.Errorf("%s: codeFamilyExpiresAt = %v, want %v", tc.name, got, tc.want)
		}
	}
}
